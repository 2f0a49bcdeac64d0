"""What the face experiments share: settings, data, loss, metrics, references.

Recipe (``ci``/``lite``; ``full``: ``faces_full``): every arm starts from the pre-trained
lite ``LiteCNN2d`` (``pretrain``) and is trained on ``FaceSequences`` with the paper's face
recipe (SGD, momentum 0.9, weight decay 5e-4, lr halved after 1/3 of training and then
every 1/6) ``scaled`` to the profile's epochs: x0.25 in ``lite`` (30 -> 8 epochs, halved
after epochs 3, 4, 5, 6, 7), x0.1 in ``ci`` (3 epochs).

Loss (training) = the paper's test loss: the Euclidean distance between a predicted and
a true landmark (normalised coordinates, ``pretrain.normalise_landmarks``: image
centre 0, edges about +-1), summed over the 68 landmarks and averaged over frames
and sequences (:func:`landmark_loss`). The test ``loss`` column is the same quantity on
the test set; the headline metric stays NME (``metrics.nme``: mean point-to-point error
over the outer-eye-corner distance), overall and by frame condition: clean, occluded,
dropped, blurred, hard (occluded or dropped).

Learning rate (a grid per arm family, chosen on validation) and shared runs: ``faces_lr``.

Full profile (``--profile full --data-root ROOT``: VGG16 on 300VW, on a GPU): every choice
is listed in ``faces_full``, which holds its data and backbone; the functions here call
into it for ``full``.

References (``kind`` "reference"): the **mean shape** (the mean training landmarks
predicted for every test frame: what a model that ignores its input reaches; a model
must beat it clearly to count as trained), and two built from the fine-tuned frame
model's test predictions: carried forward over hard frames (causal) and interpolated
between clean frames (non-causal); both know which frames are hard, the models do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from torch import nn

from ..data.metrics import causal_reference, hard_mask, interpolation_reference, nme
from ..params import BACKBONE_LAYERS
from ..train import get_recipe, scaled
from .common import CELLS, check_choice, matched_size, pretrained_backbone
from .pretrain import normalise_landmarks

CONDITIONS = ("clean", "occluded", "dropped", "blurred", "hard")
#: Splits of :func:`face_data` (see its docstring).
SPLITS = ("train", "test", "validation", "lr_train", "train_plain")
#: (in, out) of the lite backbone's fc6 and fc7 (``LiteCNN2d``, 64 px frames, fc 256).
LITE_FC_LAYERS = {"fc6": (1024, 256), "fc7": (256, 256)}


@dataclass(frozen=True)
class FaceSettings:
    """Settings of the face experiments; ``None`` sizes = the data profile's own.

    ``lrs`` is the lr grid of every family (see ``faces_lr``); ``base_lr`` is
    only the paper's rate used to fine-tune VGG16 frame by frame in ``full``.
    ``one_seed_sizes``: traditional hidden sizes run with the first seed only (cost).

    Full profile only (ignored by ``ci``/``lite``; see ``faces_full``): ``data_root``
    (300VW), ``weights`` ("imagenet", "random" or a local VGG16 state_dict path),
    ``train_videos`` / ``test_videos`` (``None``: 300VW's official lists), ``n_val_videos``
    (the last ones of the training videos by id, held out for the lr choice), ``seq_len``
    (frames per window), ``image_size`` (face crop side, px) and ``num_workers`` (loader
    processes).
    """

    profile: str = "lite"
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

    @classmethod
    def for_profile(cls, profile: str) -> FaceSettings:
        check_choice("profile", profile, ("ci", "lite", "full"))
        if profile == "ci":
            return cls(profile="ci", seeds=(0,), epoch_scale=0.1, hidden_ratios=(1 / 8, 1),
                       lrs=(1e-3, 1e-2))
        if profile == "full":
            return cls(profile="full", seeds=(0, 1, 2), epoch_scale=1.0, cache_trunk=False,
                       batch_size=8, threads=None, one_seed_sizes=(), lrs=(1e-4,),
                       num_workers=4)
        return cls()

    def recipe_at(self, lr: float):
        """The scaled face recipe with base lr ``lr``."""
        return scaled(get_recipe("face", base_lr=lr), self.epoch_scale)

    @property
    def recipe(self):
        return self.recipe_at(self.base_lr)

    @property
    def fc_layers(self) -> dict[str, tuple[int, int]]:
        """``{"fc6": (in, out), "fc7": (in, out)}`` of the profile's backbone: VGG16
        (``params.BACKBONE_LAYERS``) in ``full``, the lite ``LiteCNN2d`` otherwise.

        >>> FaceSettings.for_profile("full").fc_layers["fc6"], FaceSettings().fc_size
        ((25088, 4096), 256)
        """
        return dict(BACKBONE_LAYERS["vgg16"] if self.profile == "full" else LITE_FC_LAYERS)

    @property
    def fc_size(self) -> int:
        """fc7's output size: the traditional arms' feature size (4096 VGG16, 256 lite)."""
        return self.fc_layers["fc7"][1]


def matched_hidden(settings: FaceSettings, cell: str) -> tuple[int, float]:
    """Traditional hidden size with as many weights as PreRNN adds to the profile's fc6
    and fc7 (``common.matched_size``): ``(rounded, exact)``.

    >>> [matched_hidden(FaceSettings.for_profile("full"), c)[0] for c in CELLS]
    [2731, 5762, 5499]
    """
    fc = settings.fc_layers
    return matched_size(cell, [fc["fc6"], fc["fc7"]], feature_size=fc["fc7"][1])


def lite_matched(cell: str) -> tuple[int, float]:
    """Parameter-matched traditional size for the lite backbone (fc6 1024->256, fc7):
    :func:`matched_hidden` of the ``lite`` settings.

    >>> lite_matched("lstm")[0]
    314
    """
    return matched_hidden(FaceSettings(), cell)


# --- data -------------------------------------------------------------------------------
@cache
def face_data(settings: FaceSettings, split: str) -> list[dict] | torch.utils.data.Dataset:
    """Samples ``{"x", "y", "flags"}``: ``x`` trunk features ``(T, F)`` (cached) or frames
    ``(T, 3, S, S)``, ``y`` normalised landmarks ``(T, 68, 2)``, ``flags`` bool ``(T,)``.

    ``split``: "train" (the final runs' training set), "test", "validation" (the lr
    choice's scoring set), "lr_train" (the lr grid's training set) or "train_plain" (the
    training set without augmentation: the mean-shape reference). ``ci``/``lite``:
    ``FaceSequences``; "validation" is its test split drawn with data seed + 1, and
    "lr_train" and "train_plain" are "train". ``full``: 300VW windows
    (``faces_full.vw300_data``; videos of each split: ``faces_full.vw300_split_videos``).
    """
    check_choice("face data split", split, SPLITS)
    if settings.profile == "full":
        from .faces_full import vw300_data
        return vw300_data(settings, split)
    if split in ("lr_train", "train_plain"):
        return face_data(settings, "train")
    if split == "validation":
        return _standin(settings, "test", seed_offset=1)
    return _standin(settings, split)


def _standin(settings: FaceSettings, split: str, seed_offset: int = 0) -> list[dict]:
    """The face stand-in's ``split`` (data seed + ``seed_offset``), trunk features cached."""
    from ..data.faces import FaceSequences

    n = settings.n_train if split == "train" else settings.n_test
    key = "n_train" if split == "train" else "n_test"
    ds = FaceSequences(split, settings.profile, seed=settings.data_seed + seed_offset,
                       **({key: n} if n else {}))
    backbone = pretrained_backbone("faces")
    out = []
    for i in range(0, len(ds), 32):
        items = [ds[j] for j in range(i, min(i + 32, len(ds)))]
        frames = torch.stack([s["frames"] for s in items])               # (n, T, 3, S, S)
        x = _features(backbone, frames) if settings.cache_trunk else frames
        for k, s in enumerate(items):
            out.append({"x": x[k], "y": normalise_landmarks(s["landmarks"], frames.shape[-1]),
                        "flags": s["flags"]})
    return out


def _features(backbone: nn.Module, frames: torch.Tensor) -> torch.Tensor:
    from .common import trunk_features
    return trunk_features(backbone, frames)


def validation_label(settings: FaceSettings) -> str:
    """What the lr grid is scored on, for the ``split`` column of the lr CSVs."""
    if settings.profile != "full":
        return "validation (data seed +1)"
    from .faces_full import vw300_split_videos
    val = " ".join(vw300_split_videos(settings)["validation"])
    return f"validation (held-out training videos {val})"


def eval_batch_size(settings: FaceSettings) -> int:
    """Batch size of evaluation loaders: 64 sequences of cached features, else the
    training batch size (full frames through VGG16 fill a GPU's memory quickly)."""
    return 64 if settings.cache_trunk else settings.batch_size


def backbone_for(settings: FaceSettings) -> nn.Module:
    """The pre-trained backbone: the lite weights; or (``full``) VGG16 with a new
    136-output head, first fine-tuned frame by frame on 300VW's lr-training videos
    (``faces_full.vgg16_face_backbone``)."""
    if settings.profile != "full":
        return pretrained_backbone("faces")
    from .faces_full import vgg16_face_backbone
    return vgg16_face_backbone(settings)


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
