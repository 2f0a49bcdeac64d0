"""What the face experiments share, whatever the data: settings, loss, metrics, references.

Recipe (``ci``/``lite``): every arm starts from the pre-trained lite ``LiteCNN2d``
(``pretrain``) and is trained on ``FaceSequences`` with the paper's face recipe (SGD,
momentum 0.9, weight decay 5e-4, lr halved after 1/3 of training and then every 1/6)
``scaled`` to the profile's epochs: x0.25 in ``lite`` (30 -> 8 epochs, halved after
epochs 3, 4, 5, 6, 7), x0.1 in ``ci`` (3 epochs). ``full``: VGG16 on 300VW, unscaled
(``full.py`` lists every choice).

Loss (training) = the paper's test loss: the Euclidean distance between a predicted and
a true landmark (normalised coordinates, ``pretrain.normalise_landmarks``: image
centre 0, edges about +-1), summed over the 68 landmarks and averaged over frames
and sequences (:func:`landmark_loss`). The test ``loss`` column is the same quantity on
the test set; the headline metric stays NME (``metrics.nme``: mean point-to-point error
over the outer-eye-corner distance), overall and by frame condition: clean, occluded,
dropped, blurred, hard (occluded or dropped).

The data and backbone come from a *source* (:class:`FaceSource`): the stand-in
(``lite.py``, profiles ``ci``/``lite``) or 300VW with VGG16 (``full.py``), chosen once per
run by ``source.face_source``.

References (``kind`` "reference"): the **mean shape** (the mean training landmarks
predicted for every test frame: what a model that ignores its input reaches; a model
must beat it clearly to count as trained), and two built from the fine-tuned frame
model's test predictions: carried forward over hard frames (causal) and interpolated
between clean frames (non-causal); both know which frames are hard, the models do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from ...backbones import layer_sizes
from ...data.metrics import causal_reference, hard_mask, interpolation_reference, nme
from ...params import BACKBONE_LAYERS, matched_hidden_size
from ...train import Recipe, get_recipe, scaled
from ..arms import CELLS
from ..pretrain import LITE_BACKBONES
from ..settings import ProfileSettings, check_choice

CONDITIONS = ("clean", "occluded", "dropped", "blurred", "hard")
#: Splits a source serves (see :class:`FaceSource`).
SPLITS = ("train", "test", "validation", "lr_train", "train_plain")
#: How Table 2's other gates may start (``FaceSettings.table2_other_inits``).
TABLE2_STARTS = ("copy", "zeros")


@dataclass(frozen=True)
class FaceSettings(ProfileSettings):
    """Settings of the face experiments; ``None`` sizes = the data profile's own.

    ``seeds``: the runs of every arm; a seed fixes the new weights, dropout and the data
    order, and with ``seed_draws_data`` also the training data. ``data_seed``: the
    stand-in's draw of the test set (always), of the training set (unless
    ``seed_draws_data``) and, with +1, of the validation set.
    ``seed_draws_data`` (``ci``/``lite`` only): seed ``s`` trains on the stand-in's
    training set drawn with seed ``s`` (:meth:`train_draw`), so the spread over seeds is
    that of new data *and* new initialisations; arms of one seed share its data (paired
    differences), the test and validation sets stay those of ``data_seed``, and the lr
    grid trains on ``data_seed``'s draw. ``False`` (default): every seed trains on
    ``data_seed``'s draw (the spread is training noise only). 300VW (``full``) has one
    training set, nothing to redraw: ``True`` is refused there.

    ``lrs`` is the lr grid of every family (see ``lr.py``); ``lr_extend``: how many
    steps the grid of a family may grow beyond each edge while its chosen lr sits at that
    edge (one step at a time, by the grid's own ratio at that edge, e.g. x10 above 1e-2
    and /10 below 1e-4 for the lite grid); ``0`` (default): the grid is fixed. With
    ``lr_extend`` > 0 the lr tables get an ``at_edge`` column: whether the family's
    chosen lr is still at an edge of the rates it tried. ``base_lr`` is only the paper's
    rate used to fine-tune VGG16 frame by frame in ``full``.
    ``table2_other_inits``: how the other gates of Table 2's PreLSTM/PreGRU arms start,
    among "copy" (copies of ``W_xy``, the paper; arms keep their names, ``lstm-fc6``)
    and "zeros" (zero input weights, biased gates; arms ``lstm-fc6-zeros``); "copy" is
    always run (it is the paper's and Table 2's reference column); VRNN has no other
    gates and runs once.
    ``one_seed_sizes``: traditional hidden sizes run with the first seed only (cost).

    ``lite`` turns the evidence options on: 10 seeds for every arm (every Table 1 size
    included), each on its own training draw, a grid that may grow two steps beyond an
    edge, and Table 2 with both starts of the other gates. The dataclass defaults (and
    ``ci``, which adds its own small changes) keep the options off.
    ``threads``: torch threads while a face experiment runs (``registry.num_threads``;
    these small models run several times faster on one thread than on two busy ones).
    ``cells``: the cells run; ``n_train``/``n_test``: the stand-in's sizes;
    ``epoch_scale``: the face recipe's epochs scaled (:meth:`recipe_at`);
    ``batch_size``: training batch; ``hidden_ratios``: Table 1's sweep (x fc7's size);
    ``cache_trunk``: trunk frozen and its features computed once (``ci``/``lite``).

    ``gating_epoch_scale``: the face recipe's scale for the ``gating`` arms (``None``:
    ``epoch_scale``); default 1.0, the paper's 30 epochs unscaled (``ci``: 0.2, 6
    epochs; ``full``: 1.0 like its ``epoch_scale``), because after the 8 epochs of the
    lite ``epoch_scale`` no gate unit of any arm is ever saturated (the chapter's plots
    are empty); the lr of each family is still the one chosen on the shared grid (at
    ``epoch_scale``), and a run whose epochs differ from the other face experiments'
    never shares their checkpoints (the epochs are part of the key).
    ``gating_traditional``: the ``gating`` experiment also runs, for each gated cell, the
    traditional 2-layer RNN on fc7 at the parameter-matched size (``{cell}-trad-matched``,
    as in Table 1): the paper's gating discussion compares PreRNN with it.
    ``gating_seeds``: the ``gating`` experiment runs the first this many of its seeds
    (``None``: all). ``lite``: 5, because its 30-epoch runs cost about 4 x a run of the
    other experiments (about 290 s per seed for its 12 arms on one thread), so 10 seeds
    would take about 50 minutes of the suite's hour.
    ``gating_min_fraction``: a gate unit counts as saturated in the ``gating`` counts
    when it is below 0.1 (or above 0.9) on more than this fraction of the test steps
    (``gates.saturated_units``).

    Full profile only (ignored by ``ci``/``lite``; see ``full.py``): ``data_root``
    (300VW), ``weights`` ("imagenet", "random" or a local VGG16 state_dict path),
    ``train_videos`` / ``test_videos`` (``None``: 300VW's official lists), ``n_val_videos``
    (the last ones of the training videos by id, held out for the lr choice), ``seq_len``
    (frames per window), ``image_size`` (face crop side, px) and ``num_workers`` (loader
    processes).
    """

    PROFILE_CHANGES = {
        "ci": {"seeds": (0,), "epoch_scale": 0.1, "hidden_ratios": (1 / 8, 1),
               "lrs": (1e-3, 1e-2), "gating_epoch_scale": 0.2},
        "lite": {"seeds": tuple(range(10)), "one_seed_sizes": (), "lr_extend": 2,
                 "seed_draws_data": True, "table2_other_inits": ("copy", "zeros"),
                 "gating_seeds": 5},
        "full": {"seeds": (0, 1, 2), "epoch_scale": 1.0, "cache_trunk": False,
                 "batch_size": 8, "threads": None, "one_seed_sizes": (), "lrs": (1e-4,),
                 "num_workers": 4},
    }

    seeds: tuple[int, ...] = (0, 1, 2)
    cells: tuple[str, ...] = CELLS
    n_train: int | None = None
    n_test: int | None = None
    data_seed: int = 0
    epoch_scale: float = 0.25
    base_lr: float = 1e-4
    batch_size: int = 16
    hidden_ratios: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2)
    cache_trunk: bool = True
    data_root: str | None = None
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    threads: int | None = 1
    one_seed_sizes: tuple[int, ...] = (512,)
    weights: str = "imagenet"
    train_videos: tuple[str, ...] | None = None
    test_videos: tuple[str, ...] | None = None
    n_val_videos: int = 5
    seq_len: int = 16
    image_size: int = 224
    num_workers: int = 0
    lr_extend: int = 0
    seed_draws_data: bool = False
    table2_other_inits: tuple[str, ...] = ("copy",)
    gating_epoch_scale: float | None = 1.0
    gating_traditional: bool = True
    gating_min_fraction: float = 0.1
    gating_seeds: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.lr_extend, int) or self.lr_extend < 0:
            raise ValueError(f"FaceSettings.lr_extend = {self.lr_extend!r}: the number of "
                             "grid steps beyond an edge, a whole number >= 0")
        for start in self.table2_other_inits:
            check_choice("table2_other_inits start", start, TABLE2_STARTS)
        if "copy" not in self.table2_other_inits or \
                len(set(self.table2_other_inits)) < len(self.table2_other_inits):
            raise ValueError(f"FaceSettings.table2_other_inits = {self.table2_other_inits}: "
                             "must hold 'copy' (the paper's start, Table 2's reference) "
                             "and each start once, e.g. copy,zeros")
        if self.gating_epoch_scale is not None and not self.gating_epoch_scale > 0:
            raise ValueError(f"FaceSettings.gating_epoch_scale = {self.gating_epoch_scale!r}:"
                             " the gating arms' scale of the face recipe, a number > 0 "
                             "(or None: epoch_scale)")
        if self.gating_seeds is not None and (not isinstance(self.gating_seeds, int)
                                              or self.gating_seeds < 1):
            raise ValueError(f"FaceSettings.gating_seeds = {self.gating_seeds!r}: how many "
                             "of the seeds the gating experiment runs, a whole number >= 1 "
                             "(or None: all)")
        if not 0.0 <= self.gating_min_fraction < 1.0:
            raise ValueError(f"FaceSettings.gating_min_fraction = {self.gating_min_fraction!r}"
                             ": a fraction of the test steps in [0, 1)")
        if self.seed_draws_data and self.full:
            raise ValueError("FaceSettings.seed_draws_data: --profile full trains on 300VW's "
                             "one set of training videos, there is no training set to "
                             "redraw per seed (a seed changes the initialisation, the "
                             "augmentation and the data order only); leave it false")

    def train_draw(self, seed: int) -> int | None:
        """The draw the training data of run seed ``seed`` come from: ``seed`` with
        ``seed_draws_data``, else ``None`` (the fixed training set: ``data_seed``'s draw
        of the stand-in, 300VW's training videos).

        >>> FaceSettings().train_draw(3), FaceSettings(seed_draws_data=True).train_draw(3)
        (None, 3)
        """
        return seed if self.seed_draws_data else None

    def recipe_at(self, lr: float) -> Recipe:
        """The scaled face recipe with base lr ``lr``."""
        return scaled(get_recipe("face", base_lr=lr), self.epoch_scale)

    @property
    def recipe(self) -> Recipe:
        return self.recipe_at(self.base_lr)

    @property
    def fc_layers(self) -> list[tuple[int, int]]:
        """``(in, out)`` of fc6 and fc7 of the profile's backbone: VGG16
        (``params.BACKBONE_LAYERS``) in ``full``, the lite ``LiteCNN2d`` otherwise.

        >>> FaceSettings.for_profile("full").fc_layers, FaceSettings().fc_layers
        ([(25088, 4096), (4096, 4096)], [(1024, 256), (256, 256)])
        """
        if self.full:
            return [BACKBONE_LAYERS["vgg16"][n] for n in ("fc6", "fc7")]
        with torch.device("meta"):  # shapes only: no weights drawn, the RNG untouched
            return layer_sizes(LITE_BACKBONES[("faces", "rgb")]())

    @property
    def fc_size(self) -> int:
        """fc7's output size: the traditional arms' feature size (4096 VGG16, 256 lite)."""
        return self.fc_layers[-1][1]

    def matched_hidden(self, cell: str) -> int:
        """The traditional hidden size with as many weights as PreRNN adds to fc6+fc7
        (``params.matched_hidden_size``).

        >>> [FaceSettings.for_profile("full").matched_hidden(c) for c in CELLS]
        [2731, 5762, 5499]
        >>> FaceSettings().matched_hidden("lstm")
        314
        """
        return matched_hidden_size(cell, layer_sizes=self.fc_layers)

    @property
    def eval_batch_size(self) -> int:
        """Batch size of evaluation loaders: 64 sequences of cached features, else the
        training batch size (full frames through VGG16 fill a GPU's memory quickly)."""
        return 64 if self.cache_trunk else self.batch_size


class FaceSource(Protocol):
    """Where a face run's data and backbone come from (``lite.py`` or ``full.py``).

    ``data(split)``: samples ``{"x", "y", "flags"}`` (``x`` trunk features ``(T, F)``
    when cached, else frames ``(T, 3, S, S)``; ``y`` normalised landmarks
    ``(T, 68, 2)``; ``flags`` bool ``(T,)``) of a split of :data:`SPLITS`: "train" (the
    final runs' training set), "test", "validation" (the lr choice's scoring set, never
    the test set), "lr_train" (the lr grid's training set) and "train_plain" (training
    without augmentation: the mean-shape reference); ``draw`` picks the draw of a
    training split (``FaceSettings.train_draw``; ``None``: the fixed training set;
    "test" and "validation" never change). ``backbone()``: the pre-trained
    network every arm starts from. ``grid_train_split``: the split the lr grid trains on.
    ``validation_label``: what "validation" is, for the lr CSVs. ``metric``: what our
    side of a paper table measures, and ``test_data`` on what. ``checkpoint_data(split)``:
    what a checkpoint key must add so that runs on other data never share a checkpoint.
    """

    settings: FaceSettings
    grid_train_split: str
    validation_label: str
    metric: str
    test_data: str

    def data(self, split: str, draw: int | None = None): ...

    def backbone(self) -> nn.Module: ...

    def checkpoint_data(self, split: str) -> dict | None: ...


# --- loss and metrics -------------------------------------------------------------------
def landmark_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The paper's loss: Euclidean landmark distance summed over landmarks, mean over frames.

    ``pred`` ``(N, T, 136)`` or ``(N, T, 68, 2)``, ``target`` ``(N, T, 68, 2)``, both in
    normalised coordinates; a tiny epsilon keeps the gradient finite at distance 0.
    """
    d = pred.reshape(target.shape) - target
    return (d.pow(2).sum(-1) + 1e-16).sqrt().sum(-1).mean()


def face_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """Training loss: :func:`landmark_loss` of the model's predictions."""
    return landmark_loss(model(batch["x"]), batch["y"])


def nme_by_condition(pred: torch.Tensor, target: torch.Tensor, flags: dict) -> dict:
    """NME overall and per condition; ``pred``/``target`` ``(N, T, 68, 2)``."""
    per = nme(pred, target, reduction="none")                               # (N, T)
    masks = {"clean": ~(flags["occluded"] | flags["dropped"] | flags["blurred"]),
             "occluded": flags["occluded"], "dropped": flags["dropped"],
             "blurred": flags["blurred"], "hard": hard_mask(flags)}
    out = {"nme": per.mean().item()}
    for c in CONDITIONS:
        out[f"nme_{c}"] = per[masks[c]].mean().item() if masks[c].any() else float("nan")
    return out


def predict(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Predictions, targets ``(N, T, 68, 2)`` and flags over a loader."""
    device = next(model.parameters()).device
    preds, ys, flags = [], [], {}
    for b in loader:
        preds.append(model(b["x"].to(device)).cpu().view(*b["y"].shape))
        ys.append(b["y"])
        for k, v in b["flags"].items():
            flags.setdefault(k, []).append(v)
    return torch.cat(preds), torch.cat(ys), {k: torch.cat(v).bool() for k, v in flags.items()}


def face_eval(model: nn.Module, loader) -> dict[str, float]:
    """Test loss (:func:`landmark_loss`, the training loss) and NME by condition."""
    pred, y, flags = predict(model, loader)
    return {"loss": landmark_loss(pred, y).item(), **nme_by_condition(pred, y, flags)}


def mean_shape(train, batch_size: int = 64, num_workers: int = 0) -> torch.Tensor:
    """The mean training landmarks ``(68, 2)`` over sequences and frames; ``train`` a list
    of samples or a Dataset (read through a loader with ``num_workers`` processes)."""
    if isinstance(train, list):
        return torch.stack([s["y"] for s in train]).flatten(0, 1).mean(0)
    loader = torch.utils.data.DataLoader(train, batch_size=batch_size, num_workers=num_workers)
    return torch.cat([b["y"] for b in loader]).flatten(0, 1).mean(0)    # (68, 2)


def references(model: nn.Module, test, train=None, batch_size: int = 64,
               num_workers: int = 0) -> list[dict]:
    """Reference rows: mean shape (from ``train``), causal and interpolation (from the
    frame model's test predictions)."""
    loader = torch.utils.data.DataLoader(test, batch_size=batch_size, num_workers=num_workers)
    with torch.no_grad():
        pred, y, flags = predict(model.eval(), loader)
    preds = {"causal_reference": causal_reference(pred, flags),
             "interpolation_reference": interpolation_reference(pred, flags)}
    if train is not None:
        mean = mean_shape(train, batch_size, num_workers)
        preds = {"mean_shape_reference": mean.expand_as(y), **preds}
    return [{"arm": name, "kind": "reference", "loss": landmark_loss(p, y).item(),
             **nme_by_condition(p, y, flags)} for name, p in preds.items()]
