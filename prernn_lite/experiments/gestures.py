"""Dynamic gestures: why order matters, and what PreRNN makes of a clip network.

On nvGesture the paper makes C3D's fc6 and fc7 recurrent. Our stand-in's gestures are
four strokes (one per clip) whose *order* is the class (``data.gestures``: 12 classes,
each using every direction once), and ``LiteCNN3d`` is pre-trained on single clips to
name the stroke's direction. Three kinds of model are compared for each cell (VRNN,
LSTM, GRU):

- PreRNN: fc6+fc7 of the clip network made recurrent (gate-dependent, pre-trained
  ``W_xy``, ``W_hh = 0``);
- a traditional 2-layer RNN on fc7, hidden size matched to PreRNN's added weights;
- the clip-level network, each clip scored alone and the scores averaged over the
  sequence: a bag of clips, which cannot tell two orders of the same strokes apart.

The pre-trained head names 4 directions, the task 12 orders, so every arm gets a new
12-way head (PreRNN and the clip model the same seeded start; the traditional arm its
own, of its hidden size). A sequence model's score is its last step (only then has it
seen the whole order); the clip model's is the mean over clips; each arm is trained with
cross-entropy on the score it is evaluated by. :func:`order_references` computes from the
test labels what chance, one clip (direction and position known) and the bag of strokes
allow; the clip model scores every clip without its position, and a clip shows only its
own stroke (``data.gestures``), so ``bag`` (1/12) bounds it. Recipe: the paper's gesture
plateau rule (SGD, lr 3e-3, /10 after ``patience`` epochs without a new best training
loss, stop at 3e-7), patience ``scaled`` with the epochs, plus an epoch cap (the paper
gives none); lr fixed a priori (the paper's).

``--profile full`` runs the same arms on nvGesture with C3D fine-tuned from Sports-1M
(``--data-root ROOT --weights C3D_FILE``): :mod:`gestures_full`, which tells its choices.
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import FrameModel, replace_head
from ..data.gestures import GESTURE_CLASSES, GestureSequences
from ..data.metrics import accuracy
from ..train import Recipe, get_recipe, scaled
from .actions import cache_features, matched_sizes
from .common import (
    CELLS,
    Arm,
    FeatureModel,
    _PerFrame,
    append_row,
    check_choice,
    done_runs,
    pretrained_backbone,
    read_results_csv,
    register,
    result_path,
    run_arm,
    write_results,
)


@dataclass(frozen=True)
class GestureSettings:
    """Settings of ``gesture``; :meth:`for_profile` gives each profile's defaults.

    ``epoch_scale`` scales the plateau patience (40 epochs); ``max_epochs`` caps
    training; ``lr`` is the paper's 3e-3 for every arm; ``other_init`` as in
    ``actions.Table3Settings`` (zeros: every Pre cell starts as the pre-trained layer);
    ``n_train``/``n_test`` override the stand-in's number of sequences (full: keep the
    list's first ``n`` videos, for smoke runs).

    Full profile only (:mod:`gestures_full`, nvGesture + C3D; ``ci``/``lite`` ignore
    them): ``data_root`` (``--data-root``: the folder holding the nvGesture list files),
    ``weights`` (``--weights``: :data:`gestures_full.C3D_WEIGHTS`, loaded by
    ``c3d(weights=...)``), ``stream`` ("color" or "depth"), ``num_clips`` T and
    ``clip_len`` L of each sequence, ``image_size`` (C3D needs 112), ``num_classes`` of
    the new head (``None``: the stand-in's 12), ``pixel_mean`` subtracted from RGB in
    0–255, ``augment`` (random scale and crop per training sequence), ``num_workers``
    (loader processes) and ``amp`` (``Recipe.amp``).
    """

    profile: str = "lite"
    cells: tuple[str, ...] = CELLS
    seeds: tuple[int, ...] = (0, 1, 2)
    lr: float = 3e-3
    epoch_scale: float = 0.1
    max_epochs: int = 40
    batch_size: int = 16
    other_init: str = "zeros"
    n_train: int | None = None
    n_test: int | None = None
    data_root: str | None = None
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

    @classmethod
    def for_profile(cls, profile: str) -> GestureSettings:
        """``ci``: 1 seed, patience 1, 4 epochs; ``lite``: 3 seeds, patience 4, <= 40
        epochs; ``full``: nvGesture + C3D, patience 40 (unscaled), <= 300 epochs, batches
        of 8 sequences of 5 × 16 frames, <= 8 loader processes, bf16 on a GPU."""
        check_choice("profile", profile, ("ci", "lite", "full"))
        if profile == "ci":
            return cls(profile="ci", seeds=(0,), epoch_scale=0.025, max_epochs=4)
        if profile == "full":
            return cls(profile="full", epoch_scale=1.0, max_epochs=300, batch_size=8,
                       num_clips=5, clip_len=16, image_size=112, num_classes=25,
                       num_workers=min(8, os.cpu_count() or 1),
                       amp="bf16" if torch.cuda.is_available() else False)
        return cls()

    def recipe(self) -> Recipe:
        """The paper's gesture recipe: patience scaled, epochs capped at ``max_epochs``."""
        return scaled(get_recipe("gesture", base_lr=self.lr), self.epoch_scale).replace(
            epochs=self.max_epochs, amp=self.amp)


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
    """The clip model: a ``FrameModel``, or a ``FeatureModel`` whose one stage is per clip."""
    return isinstance(model, FrameModel) or (
        isinstance(model, FeatureModel) and isinstance(model.stages[0], _PerFrame))


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


def order_references(labels: torch.Tensor, classes=GESTURE_CLASSES) -> pd.DataFrame:
    """Best accuracies that the test labels allow with less than the whole order.

    ``chance``: always the most frequent class. ``one_clip``: knowing one clip's stroke
    and its position (best position), i.e. the Bayes accuracy when the label is guessed
    from ``classes[label][t]``. ``bag``: knowing the strokes but not their order.
    """
    n = len(labels)

    def bayes(key) -> float:  # sum over groups of the largest class count, over n
        groups: dict = {}
        for y in labels.tolist():
            groups.setdefault(key(classes[y]), []).append(y)
        return sum(max(g.count(c) for c in set(g)) for g in groups.values()) / n

    T = len(classes[0])
    rows = [("chance", bayes(lambda order: ()), "the most frequent class"),
            ("one_clip", max(bayes(lambda order, t=t: order[t]) for t in range(T)),
             "one clip's stroke and its position known"),
            ("bag", bayes(lambda order: tuple(sorted(order))),
             "all strokes known, their order not")]
    return pd.DataFrame(rows, columns=["reference", "accuracy", "meaning"])


def load_gestures(s: GestureSettings) -> dict:
    """Pre-trained clip network and cached train/test trunk features of the sequences."""
    sizes = {k: v for k, v in (("n_train", s.n_train), ("n_test", s.n_test)) if v}
    net = pretrained_backbone("gestures", "rgb")
    data = {split: cache_features(net, GestureSequences(split, s.profile, **sizes), "clips")
            for split in ("train", "test")}
    return {"backbone": net, **data}


def fit_arm(arm: Arm, seed: int, data: dict, s: GestureSettings
            ) -> tuple[dict, object, torch.Tensor]:
    """Train and test one arm on cached trunk features, the whole test set at once:
    ``run_arm``'s metrics and history, test predictions (N,)."""
    net, test = with_new_head(data["backbone"], num_classes(s), seed), data["test"]
    model, metrics, hist = run_arm(arm, net, data["train"], test, s.recipe(), seed,
                                   score_loss, evaluate_sequences, batch_size=s.batch_size)
    with torch.no_grad():
        return metrics, hist, sequence_scores(model.eval(), test.x).argmax(-1)


def num_classes(s: GestureSettings) -> int:
    """The new head's classes: ``s.num_classes``, or the stand-in's 12."""
    return s.num_classes or len(GESTURE_CLASSES)


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


def _check_resume(done: pd.DataFrame, extra: dict, path: Path) -> None:
    """Refuse to resume a runs file whose rows hold other ``extra`` values (full: stream)."""
    for key, value in extra.items():
        if key in done and (done[key] != value).any():
            raise ValueError(f"{path} holds runs of {key} {sorted(set(done[key]))}, not "
                             f"{value!r}: use another --out per {key}, or --no-resume")


def run_arms(s: GestureSettings, seeds, out_dir: Path, resume: bool, data: dict,
             refs: pd.DataFrame, fit, extra: dict | None = None, row_written=None,
             names: list[str] | None = None) -> pd.DataFrame:
    """Every arm and seed not yet done; writes the sizes, references, runs, predictions,
    confusion and summary CSVs. ``fit(arm, seed)`` gives ``(metrics, history, test
    predictions)``; ``extra`` columns go into each row; ``row_written(arm, seed)`` is called
    once its row is on disk; ``names`` as in :func:`write_confusion`."""
    K, extra, test = num_classes(s), extra or {}, data["test"]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    sizes = matched_sizes(s.cells, data["backbone"])
    sizes.to_csv(result_path(out_dir, "gesture", s.profile, "sizes"), index=False,
                 float_format="%.6g")
    refs.to_csv(result_path(out_dir, "gesture", s.profile, "references"), index=False,
                float_format="%.6g")
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    runs_path = result_path(out_dir, "gesture", s.profile, "runs")
    preds_path = result_path(out_dir, "gesture", s.profile, "predictions")
    done = done_runs(runs_path, resume)
    _check_resume(done, extra, runs_path)
    done_runs(preds_path, resume)  # removes old predictions without resume
    recipe = s.recipe()
    for arm in gesture_arms(s.cells, hidden, s.other_init):
        for seed in seeds:
            if ((done["arm"] == arm.name) & (done["seed"] == seed)).any():
                continue
            start = time.perf_counter()
            metrics, hist, pred = fit(arm, seed)
            preds = pd.DataFrame({"arm": arm.name, "seed": seed, "index": range(len(pred)),
                                  "true": test.y.numpy(), "pred": pred.numpy()})
            preds.to_csv(preds_path, mode="a", header=not preds_path.is_file(), index=False)
            row = {**arm.describe(), "seed": seed, "accuracy": metrics["accuracy"],
                   "epochs": metrics["epochs"], "lr": recipe.base_lr,
                   "final_lr": hist.lr[-1], "stop_reason": hist.stop_reason,
                   "seconds": time.perf_counter() - start, **extra}
            append_row(runs_path, row)
            if row_written is not None:
                row_written(arm, seed)
            print(f"  {arm.name:<18} seed {seed}: accuracy {row['accuracy']:.3f} "
                  f"({row['epochs']} epochs, {hist.stop_reason})", flush=True)
    runs = read_results_csv(runs_path)
    runs = runs[runs["seed"].isin(seeds)]
    preds = read_results_csv(preds_path)
    preds = preds[preds["seed"].isin(seeds)].drop_duplicates(["arm", "seed", "index"],
                                                             keep="last")
    matrices = {arm: confusion(torch.tensor(g["pred"].values), torch.tensor(g["true"].values), K)
                for arm, g in preds.groupby("arm", sort=False)}
    write_confusion(matrices, result_path(out_dir, "gesture", s.profile, "confusion"), names)
    write_results(runs, "gesture", s.profile, out_dir)
    return runs


@register("gesture", GestureSettings.for_profile)
def run_gesture(settings: GestureSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """PreRNN vs traditional vs the clip-level model: the stand-in, or (full) nvGesture."""
    if settings.profile == "full":
        from .gestures_full import run_full  # it imports this module: loaded on use

        return run_full(settings, seeds, out_dir, resume)
    data = load_gestures(settings)
    return run_arms(settings, seeds, out_dir, resume, data, order_references(data["test"].y),
                    lambda arm, seed: fit_arm(arm, seed, data, settings))


def ci_settings(**changes) -> GestureSettings:
    """``ci`` settings with some fields replaced (tests shrink them further)."""
    return replace(GestureSettings.for_profile("ci"), **changes)
