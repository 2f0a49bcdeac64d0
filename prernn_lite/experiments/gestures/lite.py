"""The gesture experiment's ``ci``/``lite`` setup: the gesture stand-in and the lite 3-D CNN.

The stand-in's gestures are four strokes (one per clip) whose *order* is the class
(``data.gestures``: 12 classes, each using every direction once), and ``LiteCNN3d`` is
pre-trained on single clips to name the stroke's direction; its head names 4
directions, the task 12 orders, hence the new head of every arm. The trunk is frozen
and its features cached (``features.cache_features``).

:func:`order_references` computes from the test labels what chance, one clip (direction
and position known) and the bag of strokes allow; the clip model scores every clip
without its position, and a clip shows only its own stroke (``data.gestures``), so
``bag`` (1/12) bounds it.
"""

from __future__ import annotations

import pandas as pd
import torch

from ...data.gestures import GESTURE_CLASSES, GestureSequences
from ..arms import Arm
from ..features import cache_features
from ..pretrain import pretrained_backbone
from ..runner import run_arm
from .common import (
    GestureSettings,
    GestureSetup,
    evaluate_sequences,
    score_loss,
    sequence_scores,
    with_new_head,
)


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
    net, test = with_new_head(data["backbone"], s.classes, seed), data["test"]
    model, metrics, hist = run_arm(arm, net, data["train"], test, s.recipe(), seed,
                                   score_loss, evaluate_sequences, batch_size=s.batch_size)
    with torch.no_grad():
        return metrics, hist, sequence_scores(model.eval(), test.x).argmax(-1)


def lite_setup(s: GestureSettings) -> GestureSetup:
    """``ci``/``lite``: the stand-in's cached features and the stroke-order references."""
    data = load_gestures(s)
    return GestureSetup(data["backbone"], data["test"].y, order_references(data["test"].y),
                        lambda arm, seed: fit_arm(arm, seed, data, s))
