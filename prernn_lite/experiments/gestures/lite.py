"""The gesture experiment's ``ci``/``lite`` setup: the gesture stand-in and the lite 3-D CNN.

The stand-in's gestures are four strokes (one per clip) whose *order* is the class
(``data.gestures``: 12 classes, each using every direction once), and ``LiteCNN3d`` is
pre-trained on single clips to name the stroke's direction; its head names 4
directions, the task 12 orders, hence the new head of every arm. The trunk is frozen
and its features cached (``features.cache_features``). Some clips lose their stroke
(``GestureProfile.p_drop_clip``): the hand rests, and that clip names no direction.

A seed draws its own training sequences (``GestureSettings.seed_draws_data``) as well as
the arm's initialisation; every seed is tested on the same test set (seed 0's), so arms
of one seed share their data and can be compared pair by pair.

:func:`order_references` computes from the test labels (and which strokes are visible)
what chance, one clip (direction and position known), the bag of strokes and the visible
strokes allow; :func:`ordered_clip_reference` is the simple causal temporal reference:
the pre-trained clip network's direction read-out of each clip, combined in order with
no training. The clip model scores every clip without its position, and a clip shows
only its own stroke (``data.gestures``), so ``bag`` (1/12) bounds it.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import torch

from ...data.gestures import DIRECTIONS, GESTURE_CLASSES, GestureSequences
from ..arms import Arm, matched_sizes
from ..features import FeatureSet, cache_features
from ..lr_grid import mark_choices, run_grid
from ..pretrain import pretrained_backbone
from ..runner import run_arm
from .common import (
    GestureSettings,
    GestureSetup,
    evaluate_sequences,
    gesture_arms,
    score_loss,
    sequence_scores,
    with_new_head,
)


def order_references(labels: torch.Tensor, classes=GESTURE_CLASSES,
                     shown: torch.Tensor | None = None) -> pd.DataFrame:
    """Best accuracies that the test labels allow with less than the whole order.

    ``chance``: always the most frequent class. ``one_clip``: knowing one clip's stroke
    and its position (best position), i.e. the Bayes accuracy when the label is guessed
    from ``classes[label][t]``. ``bag``: knowing the strokes but not their order. Given
    ``shown`` (N, T) (which clips kept their stroke), ``strokes_seen``: knowing every
    visible stroke and its position, nothing of a dropped one: the most any model can
    reach on these test sequences.

    >>> refs = order_references(torch.arange(12), shown=torch.ones(12, 4, dtype=torch.bool))
    >>> refs.set_index("reference")["accuracy"].round(3).to_dict()
    {'chance': 0.083, 'one_clip': 0.333, 'bag': 0.083, 'strokes_seen': 1.0}
    """
    n = len(labels)

    def bayes(key) -> float:  # sum over groups of the largest class count, over n
        groups: dict = {}
        for i, y in enumerate(labels.tolist()):
            groups.setdefault(key(i, classes[y]), []).append(y)
        return sum(max(g.count(c) for c in set(g)) for g in groups.values()) / n

    T = len(classes[0])
    rows = [("chance", bayes(lambda i, order: ()), "the most frequent class"),
            ("one_clip", max(bayes(lambda i, order, t=t: order[t]) for t in range(T)),
             "one clip's stroke and its position known"),
            ("bag", bayes(lambda i, order: tuple(sorted(order))),
             "all strokes known, their order not")]
    if shown is not None:
        seen = shown.tolist()
        rows.append(("strokes_seen",
                     bayes(lambda i, order: tuple(d if seen[i][t] else None
                                                  for t, d in enumerate(order))),
                     "every visible stroke and its position known (the ceiling)"))
    return pd.DataFrame(rows, columns=["reference", "accuracy", "meaning"])


def ordered_clip_reference(log_probs: torch.Tensor, labels: torch.Tensor,
                           classes=GESTURE_CLASSES) -> float:
    """Accuracy of reading the clip network's directions in order, without training.

    ``log_probs`` (N, T, D): each clip's log-probabilities of the D directions
    (``DIRECTIONS``) from the pre-trained clip network. A class's score is the sum over
    clips of the log-probability of the direction it puts at that place; the answer is
    the best class (causal: after t clips the running sum ranks the classes so far).

    >>> lp = torch.full((1, 4, 4), -9.0)
    >>> for t, d in enumerate(GESTURE_CLASSES[5]):
    ...     lp[0, t, DIRECTIONS.index(d)] = 0.0
    >>> ordered_clip_reference(lp, torch.tensor([5]))
    1.0
    """
    index = torch.tensor([[DIRECTIONS.index(d) for d in order] for order in classes])  # (K, T)
    T = index.shape[1]
    picked = log_probs[:, torch.arange(T)[None], index]                  # (N, K, T)
    pred = picked.sum(-1).argmax(-1)
    return (pred == labels).float().mean().item()


@torch.no_grad()
def clip_log_probs(net: torch.nn.Module, dataset, chunk: int = 64) -> torch.Tensor:
    """The clip network's direction log-probabilities of every clip: (N, T, D)."""
    out = []
    for start in range(0, len(dataset), chunk):
        clips = torch.stack([dataset[i]["clips"]
                             for i in range(start, min(start + chunk, len(dataset)))])
        out.append(net(clips.flatten(0, 1)).log_softmax(-1).unflatten(0, clips.shape[:2]))
    return torch.cat(out)


def _sizes(s: GestureSettings) -> dict:
    return {k: v for k, v in (("n_train", s.n_train), ("n_test", s.n_test)) if v}


def load_gestures(s: GestureSettings) -> dict:
    """Pre-trained clip network, cached trunk features of seed 0's training sequences
    (``train``) and of the test sequences (``test``), which clips of the test set show
    their stroke (``test_shown`` (N, T)) and the clip network's read-out of them
    (``test_log_probs`` (N, T, D)); :func:`train_set` adds other seeds' training data."""
    net = pretrained_backbone("gestures", "rgb")
    test = GestureSequences("test", s.profile, **_sizes(s))
    data = {"backbone": net, "test": cache_features(net, test, "clips"),
            "test_shown": torch.stack([test[i]["shown"] for i in range(len(test))]),
            "test_log_probs": clip_log_probs(net, test), "train_sets": {}}
    data["train"] = train_set(data, s, 0)
    return data


def train_set(data: dict, s: GestureSettings, seed: int) -> FeatureSet:
    """Cached trunk features of the training sequences of ``seed`` (seed 0's for every
    seed when ``s.seed_draws_data`` is False), computed once per seed."""
    key = seed if s.seed_draws_data else 0
    if key not in data["train_sets"]:
        seqs = GestureSequences("train", s.profile, seed=key, **_sizes(s))
        data["train_sets"][key] = cache_features(data["backbone"], seqs, "clips")
    return data["train_sets"][key]


def fit_arm(arm: Arm, seed: int, data: dict, s: GestureSettings,
            test: FeatureSet | None = None) -> tuple[dict, object, torch.Tensor]:
    """Train and test one arm on cached trunk features (seed ``seed``'s training set),
    the whole test set (``data["test"]``, or ``test``) at once: ``run_arm``'s metrics and
    history, test predictions (N,)."""
    net = with_new_head(data["backbone"], s.classes, seed)
    test = data["test"] if test is None else test
    model, metrics, hist = run_arm(arm, net, train_set(data, s, seed), test,
                                   s.recipe(arm.name),
                                   seed, score_loss, evaluate_sequences,
                                   batch_size=s.batch_size)
    with torch.no_grad():
        return metrics, hist, sequence_scores(model.eval(), test.x).argmax(-1)


def references(data: dict) -> pd.DataFrame:
    """:func:`order_references` with the visible strokes, then ``ordered_clips``."""
    labels = data["test"].y
    refs = order_references(labels, shown=data["test_shown"])
    ordered = ordered_clip_reference(data["test_log_probs"], labels)
    row = pd.DataFrame([("ordered_clips", ordered, "the pre-trained clip network's "
                         "directions read in order, no training (causal)")],
                       columns=refs.columns)
    return pd.concat([refs, row], ignore_index=True)


def lite_setup(s: GestureSettings) -> GestureSetup:
    """``ci``/``lite``: the stand-in's cached features and the references."""
    data = load_gestures(s)
    return GestureSetup(data["backbone"], data["test"].y, references(data),
                        lambda arm, seed: fit_arm(arm, seed, data, s))


#: the lr grid of ``gesture_lr`` (it grows beyond an edge its choice sits at)
LR_GRID = (1e-3, 3e-3, 1e-2, 3e-2)


def choose_lrs(s: GestureSettings, grid: tuple[float, ...] = LR_GRID, seed: int = 0
               ) -> pd.DataFrame:
    """Validation accuracy of every arm per lr (seed ``seed``, its training draw);
    ``chosen`` marks each arm's rate, ``at_edge`` whether it is still at an edge of the
    rates tried (``lr_grid``: ties to the paper's 3e-3, then the smaller rate; up to
    ``s.lr_extend`` rates beyond each edge). Validation sequences are the test split
    drawn with seed 1 (never the test set, seed 0's, nor a training draw)."""
    net = pretrained_backbone("gestures", "rgb")
    data = {"backbone": net, "train_sets": {}}  # the test set is not needed here
    val = cache_features(net, GestureSequences("test", s.profile, seed=1, **_sizes(s)),
                         "clips")
    sizes = matched_sizes(s.cells, net)
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    rows = []
    for arm in gesture_arms(s.cells, hidden, s.other_init):
        def score(lr: float, arm: Arm = arm) -> dict:
            metrics, _, _ = fit_arm(arm, seed, data, replace(s, arm_lrs=((arm.name, lr),)),
                                    test=val)
            return {"seed": seed, "val_accuracy": metrics["accuracy"],
                    "epochs": metrics["epochs"]}

        rows += [{"arm": arm.name, **r}
                 for r in run_grid(score, grid, s.lr_extend, s.lr, arm.name)]
    return mark_choices(pd.DataFrame(rows), "arm")
