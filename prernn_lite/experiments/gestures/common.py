"""What the gesture experiment shares, whatever the data: settings, arms, scores, the loop.

On nvGesture the paper makes C3D's fc6 and fc7 recurrent. Three kinds of model are
compared for each cell (VRNN, LSTM, GRU):

- PreRNN: fc6+fc7 of the clip network made recurrent (gate-dependent, pre-trained
  ``W_xy``, ``W_hh = 0``);
- a traditional 2-layer RNN on fc7, hidden size matched to PreRNN's added weights
  (``arms.matched_sizes``);
- the clip-level network, each clip scored alone and the scores averaged over the
  sequence: a bag of clips, which cannot tell two orders of the same clips apart.

Every arm gets a new head for the task's classes (PreRNN and the clip model the same
seeded start, :func:`with_new_head`; the traditional arm its own, of its hidden size).
A sequence model's score is its last step (only then has it seen the whole gesture);
the clip model's is the mean over clips; each arm is trained with cross-entropy on the
score it is evaluated by. Recipe: the paper's gesture plateau rule (SGD, lr 3e-3, /10
after ``patience`` epochs without a new best training loss, stop at 3e-7), patience
``scaled`` with the epochs, plus an epoch cap (the paper gives none); the paper's lr at
full scale, each arm's own lr chosen on validation sequences in ``ci``/``lite``
(``gesture_lr``: the paper's rate left the traditional LSTM far under-trained there).

The data come from a :class:`GestureSetup`: the stand-in (``lite.py``) or nvGesture with
C3D (``full.py``), chosen once per run by ``experiment.py``; :func:`run_gesture_arms`
trains every arm x seed on it and writes the CSVs.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ...backbones import FeatureModel, FrameModel, replace_head
from ...data.gestures import GESTURE_CLASSES
from ...data.metrics import accuracy
from ...train import Recipe, get_recipe, scaled
from ..arms import CELLS, Arm, matched_sizes
from ..results import read_results_csv, result_path, write_results, write_table
from ..runner import run_arms
from ..settings import ProfileSettings, check_choice, cuda_amp

#: each arm's rate as ``gesture_lr`` chose it on lite's validation sequences
#: (``results/gesture_lite_lr.csv``; ``ci`` uses the same)
LITE_ARM_LRS: tuple[tuple[str, float], ...] = (
    ("vrnn/prernn", 1e-2), ("vrnn/traditional", 3e-3), ("lstm/prernn", 1e-2),
    ("lstm/traditional", 1e-2), ("gru/prernn", 1e-2), ("gru/traditional", 1e-2),
    ("clip", 3e-3))


@dataclass(frozen=True)
class GestureSettings(ProfileSettings):
    """Settings of ``gesture``; :meth:`for_profile` gives each profile's defaults:
    ``ci``: 1 seed, patience 1, 4 epochs; ``lite``: 5 seeds, patience 4, <= 40 epochs;
    ``full``: nvGesture + C3D, 3 seeds (GPU time), patience 40 (unscaled), <= 300 epochs,
    batches of 8 sequences of 5 × 16 frames, <= 8 loader processes, bf16 on a GPU.

    ``seed_draws_data``: seed ``s`` trains on the stand-in's training sequences drawn
    with seed ``s`` (False: every seed on seed 0's; the test set is always seed 0's, and
    nvGesture has one training set). ``epoch_scale`` scales the plateau patience (40
    epochs); ``max_epochs`` caps training; ``lr`` is the paper's 3e-3, used by every arm
    not in ``arm_lrs``, the rates ``gesture_lr`` chose per arm on validation sequences
    (``ci``/``lite``; ``full`` trains every arm at the paper's rate); ``lr_extend``: how
    many rates ``gesture_lr`` may add beyond an edge of its grid;
    ``other_init`` as in ``actions.Table3Settings`` (zeros: every Pre cell starts as the
    pre-trained layer);
    ``n_train``/``n_test`` override the stand-in's number of sequences (full: keep the
    list's first ``n`` videos, for smoke runs); ``threads``: torch threads while the
    experiment runs, 1 in ``ci``/``lite`` (the committed CSVs then reproduce on any
    machine), torch's default in ``full``.

    Full profile only (``full.py``, nvGesture + C3D; ``ci``/``lite`` ignore them):
    ``data_root`` (``--data-root``: the folder holding the nvGesture list files),
    ``train_list``/``test_list`` (a list file to use instead of looking one up under
    ``data_root``: ``data.nvgesture.find_nvgesture_list``),
    ``weights`` (``--weights``: ``full.C3D_WEIGHTS``, loaded by ``c3d(weights=...)``),
    ``stream`` ("color" or "depth"), ``num_clips`` T and ``clip_len`` L of each
    sequence, ``image_size`` (C3D needs 112), ``num_classes`` of the new head (``None``:
    the stand-in's 12), ``pixel_mean`` subtracted from RGB in 0–255, ``augment`` (random
    scale and crop per training sequence), ``num_workers`` (loader processes) and
    ``amp`` (``Recipe.amp``, used only when CUDA is available).
    """

    FULL_ONLY = ("data_root", "train_list", "test_list", "weights")
    PROFILE_CHANGES = {
        "ci": {"seeds": (0,), "epoch_scale": 0.025, "max_epochs": 4, "arm_lrs": LITE_ARM_LRS},
        "lite": {"arm_lrs": LITE_ARM_LRS},
        "full": {"seeds": (0, 1, 2), "epoch_scale": 1.0, "max_epochs": 300, "batch_size": 8,
                 "num_clips": 5, "clip_len": 16, "image_size": 112, "num_classes": 25,
                 "num_workers": min(8, os.cpu_count() or 1), "amp": "bf16", "threads": None},
    }

    cells: tuple[str, ...] = CELLS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    seed_draws_data: bool = True
    lr: float = 3e-3
    arm_lrs: tuple[tuple[str, float], ...] = ()
    lr_extend: int = 2
    epoch_scale: float = 0.1
    max_epochs: int = 40
    batch_size: int = 16
    other_init: str = "zeros"
    n_train: int | None = None
    n_test: int | None = None
    data_root: str | None = None
    train_list: str | None = None
    test_list: str | None = None
    weights: str | None = None
    stream: str = "color"
    num_clips: int = 5
    clip_len: int = 16
    image_size: int = 112
    num_classes: int | None = None
    pixel_mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    augment: bool = True
    num_workers: int = 0
    amp: bool | str = False
    threads: int | None = 1

    def recipe(self, arm: str | None = None) -> Recipe:
        """The paper's gesture recipe at ``arm``'s rate (``arm_lrs``, else ``lr``):
        patience scaled, epochs capped at ``max_epochs``, ``amp`` on a GPU only
        (``settings.cuda_amp``).

        >>> s = GestureSettings(arm_lrs=(("lstm/traditional", 0.03),))
        >>> s.recipe("lstm/traditional").base_lr, s.recipe("lstm/prernn").base_lr
        (0.03, 0.003)
        """
        lr = dict(self.arm_lrs).get(arm, self.lr)
        return scaled(get_recipe("gesture", base_lr=lr), self.epoch_scale).replace(
            epochs=self.max_epochs, amp=cuda_amp(self.amp))

    @property
    def classes(self) -> int:
        """The new head's classes: ``num_classes``, or the stand-in's 12."""
        return self.num_classes or len(GESTURE_CLASSES)


def gesture_arms(cells, hidden: dict[str, int], other_init: str = "zeros") -> list[Arm]:
    """``"<cell>/prernn"``, ``"<cell>/traditional"`` per cell, then ``"clip"``."""
    arms = []
    for cell in cells:
        check_choice("cell", cell, CELLS)
        arms += [Arm(f"{cell}/prernn", "prernn", cell, other_init=other_init),
                 Arm(f"{cell}/traditional", "traditional", cell, hidden_size=hidden[cell])]
    return arms + [Arm("clip", "frame")]


def with_new_head(backbone: nn.Module, num_classes: int, seed: int) -> nn.Module:
    """A copy of ``backbone`` whose head fc8 is a new seeded ``num_classes``-way layer."""
    net = copy.deepcopy(backbone)
    torch.manual_seed(seed)
    return replace_head(net, num_classes)


def _is_bag(model: nn.Module) -> bool:
    """The clip model: a ``FrameModel``, or a ``FeatureModel`` without recurrent layers."""
    return isinstance(model, FrameModel) or (isinstance(model, FeatureModel)
                                             and not model.cells())


def sequence_scores(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Last-step logits of a sequence model, clip-mean logits of the clip model."""
    out = model(x)                                                         # (N, T, C)
    return out.mean(1) if _is_bag(model) else out[:, -1]


def score_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """Cross-entropy of the sequence score (:func:`sequence_scores`)."""
    return F.cross_entropy(sequence_scores(model, batch["x"]), batch["y"])


def evaluate_sequences(model: nn.Module, loader) -> dict[str, float]:
    """Sequence accuracy over ``loader``."""
    scores, labels = [], []
    for batch in loader:
        scores.append(sequence_scores(model, batch["x"]))
        labels.append(batch["y"])
    return {"accuracy": accuracy(torch.cat(scores), torch.cat(labels))}


def confusion(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts ``C[true, predicted]``: ``(num_classes, num_classes)``.

    >>> confusion(torch.tensor([0, 1, 1]), torch.tensor([0, 0, 1]), 2).tolist()
    [[1, 1], [0, 1]]
    """
    if pred.shape != labels.shape:
        raise ValueError(f"pred and labels differ in shape: {tuple(pred.shape)} vs "
                         f"{tuple(labels.shape)}")
    idx = labels * num_classes + pred
    return torch.bincount(idx, minlength=num_classes ** 2).view(num_classes, num_classes)


def write_confusion(matrices: dict[str, torch.Tensor], path: Path,
                    names: list[str] | None = None) -> pd.DataFrame:
    """Long-wide CSV: one row per (arm, true class), one column per predicted class.

    The true class is named by its stroke order (``true_order``, the stand-in) or, given
    ``names``, by ``true_class`` (nvGesture: ``class_01`` ... as its folders).
    """
    rows = []
    for arm, m in matrices.items():
        for t, counts in enumerate(m.tolist()):
            name = {"true_order": "-".join(GESTURE_CLASSES[t])} if names is None \
                else {"true_class": names[t]}
            rows.append({"arm": arm, "true": t, **name,
                         **{f"pred_{p}": c for p, c in enumerate(counts)}})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


class GestureSetup(NamedTuple):
    """What :func:`run_gesture_arms` takes from a profile (``lite.py`` or ``full.py``).

    ``backbone``: the pre-trained clip network (its layers fix the matched sizes);
    ``test_labels`` ``(N,)``; ``references``: what the labels alone allow;
    ``fit(arm, seed)`` -> (metrics, history, test predictions ``(N,)``); ``extra``:
    columns added to every row (and checked on resume); ``written(arm, seed)``: called
    once a run's row is on disk; ``names``: class names for the confusion CSV (``None``:
    the stand-in's stroke orders).
    """

    backbone: nn.Module
    test_labels: torch.Tensor
    references: pd.DataFrame
    fit: Callable[[Arm, int], tuple[dict, object, torch.Tensor]]
    extra: dict | None = None
    written: Callable[[Arm, int], None] | None = None
    names: list[str] | None = None


def _check_resume(done: pd.DataFrame, extra: dict, path: Path) -> None:
    """Refuse to resume a runs file whose rows hold other ``extra`` values (full: stream)."""
    for key, value in extra.items():
        if key in done and (done[key] != value).any():
            raise ValueError(f"{path} holds runs of {key} {sorted(set(done[key]))}, not "
                             f"{value!r}: use another --out per {key}, or --no-resume")


def run_gesture_arms(s: GestureSettings, setup: GestureSetup, seeds, out_dir: Path,
                     resume: bool) -> pd.DataFrame:
    """Every arm and seed not yet done (``runner.run_arms``); writes the sizes,
    references, runs, predictions, confusion and summary CSVs."""
    extra = setup.extra or {}
    sizes = matched_sizes(s.cells, setup.backbone)
    write_table(sizes, out_dir, "gesture", s.profile, "sizes")
    write_table(setup.references, out_dir, "gesture", s.profile, "references")
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    runs_path = result_path(out_dir, "gesture", s.profile, "runs")
    preds_path = result_path(out_dir, "gesture", s.profile, "predictions")
    if resume and runs_path.is_file():
        _check_resume(read_results_csv(runs_path), extra, runs_path)
    if not resume and preds_path.is_file():
        preds_path.unlink()  # old predictions go with the old runs
    def run_one(arm: Arm, seed: int) -> list[dict]:
        start = time.perf_counter()
        metrics, hist, pred = setup.fit(arm, seed)
        preds = pd.DataFrame({"arm": arm.name, "seed": seed, "index": range(len(pred)),
                              "true": setup.test_labels.numpy(), "pred": pred.numpy()})
        preds.to_csv(preds_path, mode="a", header=not preds_path.is_file(), index=False)
        row = {**arm.describe(), "seed": seed, "accuracy": metrics["accuracy"],
               "epochs": metrics["epochs"], "lr": s.recipe(arm.name).base_lr,
               "final_lr": hist.lr[-1],
               "stop_reason": hist.stop_reason, "seconds": time.perf_counter() - start,
               **extra}
        print(f"  {arm.name:<18} seed {seed}: accuracy {row['accuracy']:.3f} "
              f"({row['epochs']} epochs, {hist.stop_reason})", flush=True)
        return [row]

    runs = run_arms(gesture_arms(s.cells, hidden, s.other_init), seeds, runs_path, resume,
                    run_one, written=setup.written)
    preds = read_results_csv(preds_path)
    preds = preds[preds["seed"].isin(seeds)].drop_duplicates(["arm", "seed", "index"],
                                                             keep="last")
    matrices = {arm: confusion(torch.tensor(g["pred"].values), torch.tensor(g["true"].values),
                               s.classes)
                for arm, g in preds.groupby("arm", sort=False)}
    write_confusion(matrices, result_path(out_dir, "gesture", s.profile, "confusion"),
                    setup.names)
    write_results(runs, "gesture", s.profile, out_dir)
    return runs
