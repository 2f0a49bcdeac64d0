"""Running arms: one arm with one seed (:func:`run_arm`), and every arm x seed with
resume (:func:`run_arms`), the loop every experiment uses.

``run_arm`` builds the arm on the backbone (``arms.build_model``), trains it with
``train.fit`` and evaluates it. With ``cached`` (the ``ci``/``lite`` default) the trunk
is frozen and its features are computed once (``features``), and a
``backbones.FeatureModel`` runs the rest; fc6, fc7, the recurrent layers and the head
are still fine-tuned. ``run_arms`` appends each finished run's rows to the runs CSV at
once, so an interrupted experiment resumes with the first arm x seed not on disk.

What one invocation of the command line shares between its experiments is explicit,
in a :class:`RunContext`: a cache of computed data (e.g. the face stand-in's trunk
features, reused by the five face experiments) and the checkpoints finished in this
invocation (reused even without ``--resume``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..backbones import FeatureModel
from ..train import Recipe, fit, seed_everything
from .arms import Arm, build_model
from .results import append_row, done_runs, read_results_csv


@dataclass
class RunContext:
    """What the experiments of one invocation share (the CLI makes one per invocation).

    ``cache``: computed data by key (:meth:`cached`); ``trained``: checkpoint folders
    finished in this invocation, which a later run reuses even without ``resume``.
    """

    cache: dict[Hashable, Any] = field(default_factory=dict)
    trained: set[str] = field(default_factory=set)

    def cached(self, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()``, computed once per ``key`` in this context."""
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


def run_arm(arm: Arm, backbone: nn.Module, train_set: Any, test_set: Any, recipe: Recipe,
            seed: int, loss_fn: Callable, evaluate: Callable[[nn.Module, Iterable], dict],
            *, batch_size: int = 16, cached: bool = True, checkpoint_dir: Path | None = None,
            resume: bool = True, curves: bool = False, num_workers: int = 0,
            device: str | None = None
            ) -> tuple[nn.Module, dict[str, float], Any]:
    """Build, train (``fit``) and evaluate one arm with one seed.

    ``train_set``/``test_set`` yield dict samples whose ``"x"`` is the model input (trunk
    features when ``cached``); ``loss_fn(model, batch)`` and ``evaluate(model, loader)``
    are the task's. The seed fixes the new weights (heads, random ``W_xy``, extra layers),
    dropout and data order. With ``curves`` ``evaluate`` also runs after every epoch.
    ``num_workers`` loads batches in that many processes (decoding videos at full
    scale); ``device`` defaults to the CPU when ``cached`` (small models), else "auto"
    (the GPU when there is one).

    Returns
    -------
    (model, metrics, history) : the trained model, ``evaluate``'s dict plus ``seconds``
        and ``epochs``, and ``fit``'s History.
    """
    seed_everything(seed)
    model = build_model(arm, backbone, freeze_trunk=cached)
    if cached:
        model = FeatureModel(model)
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen,
                       num_workers=num_workers)
    test = DataLoader(test_set, batch_size=64 if cached else batch_size,
                      num_workers=num_workers)
    start = time.perf_counter()
    hist = fit(model, train, loss_fn, recipe.replace(seed=seed), val_loader=test if curves
               else None, eval_fn=evaluate if curves else None, checkpoint_dir=checkpoint_dir,
               resume=resume, device=device or ("cpu" if cached else "auto"),
               progress=not cached)
    model.eval()
    with torch.no_grad():
        metrics = dict(evaluate(model, test))
    metrics.update(seconds=time.perf_counter() - start, epochs=hist.epochs_done)
    return model, metrics, hist


def run_arms(arms: Sequence[Arm], seeds: Sequence[int], runs_path: Path, resume: bool,
             run_one: Callable[[Arm, int], Iterable[dict[str, Any]]], *,
             seeds_outer: bool = False, skip: Callable[[Arm, int], bool] | None = None,
             written: Callable[[Arm, int], None] | None = None) -> pd.DataFrame:
    """Run every arm x seed whose row is not yet in ``runs_path``; the runs of ``seeds``.

    ``run_one(arm, seed)`` trains and tests one arm and returns its rows (its own row
    first, then any extra rows such as references); they are appended at once.
    ``seeds_outer`` loops over seeds outside arms (every arm's first seed first);
    ``skip(arm, seed)`` leaves a pair out; ``written(arm, seed)`` is called once the
    rows are on disk (e.g. to delete a large checkpoint). Without ``resume`` the runs
    file is started afresh.
    """
    done = done_runs(runs_path, resume)
    finished = set(zip(done["arm"].astype(str), done["seed"].astype(int), strict=True))
    pairs = ([(arm, seed) for seed in seeds for arm in arms] if seeds_outer
             else [(arm, seed) for arm in arms for seed in seeds])
    for arm, seed in pairs:
        if (arm.name, seed) in finished or (skip is not None and skip(arm, seed)):
            continue
        for row in run_one(arm, seed):
            append_row(runs_path, row)
        if written is not None:
            written(arm, seed)
    if not runs_path.is_file():
        return pd.DataFrame(columns=["arm", "seed"])
    runs = read_results_csv(runs_path)
    return runs[runs["seed"].isin(list(seeds))].reset_index(drop=True)
