"""What the face experiments share: settings, data, loss, metrics, references, lr choice.

Recipe: every arm starts from the pre-trained lite ``LiteCNN2d`` (``pretrain``) and is
trained on ``FaceSequences`` with the paper's face recipe (SGD, momentum 0.9, weight decay
5e-4, lr halved after 1/3 of training and then every 1/6) ``scaled`` to the profile's
epochs: x0.25 in ``lite`` (30 -> 8 epochs, halved after epochs 3, 4, 5, 6, 7), x0.1 in
``ci`` (3 epochs).

Loss (training) = the paper's test loss: the Euclidean distance between a predicted and
a true landmark (normalised coordinates, ``pretrain.normalise_landmarks``: image
centre 0, edges about +-1), summed over the 68 landmarks and averaged over frames
and sequences (:func:`landmark_loss`). The test ``loss`` column is the same quantity on
the test set; the headline metric stays NME (``metrics.nme``: mean point-to-point error
over the outer-eye-corner distance), overall and by frame condition: clean, occluded,
dropped, blurred, hard (occluded or dropped).

Learning rate, the same tuning budget for every arm *family* (:func:`lr_family`): the
frame model; the traditional RNN of each cell (tuned at its parameter-matched size; the
other hidden sizes of the sweep share that lr); and the PreRNN of each cell and start
(``mode``, ``other_init``, ``init``: e.g. ``lstm-gate-copy-pretrained``, tuned on
fc6+fc7; the fc6-only, fc7-only and +random-third-layer variants share it). Each family
is trained once (seed = the profile's first seed) at every lr of a grid fixed before any
run (``lite``: 1e-4, 1e-3, 1e-2, spaced x10 around the paper's 1e-4; ``ci``: 1e-3, 1e-2)
and scored by NME on *validation* sequences (``FaceSequences`` test split drawn with data
seed + 1, never the test set); rule (:func:`choose_lr`): the smallest lr whose validation
NME is within 1 % of the family's best; diverged runs are never chosen. Then every arm is
trained with its family's lr for every seed. The grid is shared by all face experiments
(``face_lr_<p>_runs.csv``, ``face_lr_<p>_summary.csv`` with a ``chosen`` column); each
experiment also writes the rows of its own families to ``<name>_<p>_lr.csv`` and the
chosen lr of every arm as ``base_lr`` in its runs/summary CSVs.

A training run is fully determined by (arm settings, lr, seed, recipe): its checkpoint is
kept under ``checkpoints/faces_<p>/`` by that key (:func:`shared_checkpoint`), so the
seed-0 grid run at the chosen lr and the same arm in another experiment (e.g. Table 1's
PreRNN = Table 2's fc6+fc7) are trained once and only evaluated again (``init``, which
records curves on the test set, trains its own).

References (``kind`` "reference"): the **mean shape** (the mean training landmarks
predicted for every test frame: what a model that ignores its input reaches; a model
must beat it clearly to count as trained), and two built from the fine-tuned frame
model's test predictions: carried forward over hard frames (causal) and interpolated
between clean frames (non-causal); both know which frames are hard, the models do not.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..data.metrics import causal_reference, hard_mask, interpolation_reference, nme
from ..train import get_recipe, scaled
from .common import (
    CELLS,
    Arm,
    append_row,
    check_choice,
    matched_size,
    pretrained_backbone,
    result_path,
    run_arm,
)
from .pretrain import normalise_landmarks

CONDITIONS = ("clean", "occluded", "dropped", "blurred", "hard")
#: checkpoints fully trained by this process (reused even without ``resume``)
_TRAINED: set[str] = set()


@dataclass(frozen=True)
class FaceSettings:
    """Settings of the face experiments; ``None`` sizes = the data profile's own.

    ``lrs`` is the lr grid of every family (see the module docstring); ``base_lr`` is
    only the paper's rate used to fine-tune VGG16 frame by frame in ``full``.
    ``one_seed_sizes``: traditional hidden sizes run with the first seed only (cost).
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

    @classmethod
    def for_profile(cls, profile: str) -> FaceSettings:
        check_choice("profile", profile, ("ci", "lite", "full"))
        if profile == "ci":
            return cls(profile="ci", seeds=(0,), epoch_scale=0.1, hidden_ratios=(1 / 8, 1),
                       lrs=(1e-3, 1e-2))
        if profile == "full":
            return cls(profile="full", seeds=(0, 1, 2), epoch_scale=1.0, cache_trunk=False,
                       batch_size=8, threads=None, one_seed_sizes=())
        return cls()

    def recipe_at(self, lr: float):
        """The scaled face recipe with base lr ``lr``."""
        return scaled(get_recipe("face", base_lr=lr), self.epoch_scale)

    @property
    def recipe(self):
        return self.recipe_at(self.base_lr)

# --- data -------------------------------------------------------------------------------
@cache
def face_data(settings: FaceSettings, split: str, seed_offset: int = 0) -> list[dict]:
    """Samples ``{"x", "y", "flags"}``: ``x`` trunk features (cached) or frames."""
    from ..data.faces import FaceSequences

    if settings.profile == "full":
        from .faces import _vw300
        return _vw300(settings, split)
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


def backbone_for(settings: FaceSettings) -> nn.Module:
    """The pre-trained backbone: the lite weights; or (full) ImageNet VGG16 with a new
    136-output head, first fine-tuned frame by frame on 300VW (our ``pretrain`` there,
    stored under ``results/checkpoints/faces_full_frame.pt`` and reused)."""
    if settings.profile != "full":
        return pretrained_backbone("faces")
    from torchvision.models import VGG16_Weights

    from ..backbones import vgg16
    from .common import results_dir
    model = vgg16(weights=VGG16_Weights.IMAGENET1K_V1)
    model.classifier[6] = nn.Linear(4096, 136)
    path = results_dir() / "checkpoints" / "faces_full_frame.pt"
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model
    frame, _, _ = run_arm(Arm("frame", "frame"), model, face_data(settings, "train"),
                          face_data(settings, "test"), settings.recipe, 0, face_loss,
                          face_eval, batch_size=settings.batch_size, cached=False,
                          checkpoint_dir=path.with_suffix(""))
    torch.save(frame.model.state_dict(), path)
    return frame.model.cpu()


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


def mean_shape(train: list[dict]) -> torch.Tensor:
    """The mean training landmarks ``(68, 2)`` over sequences and frames."""
    return torch.stack([s["y"] for s in train]).flatten(0, 1).mean(0)


def references(model: nn.Module, test: list[dict], train: list[dict] | None = None
               ) -> list[dict]:
    """Reference rows: mean shape (from ``train``), causal and interpolation (from the
    frame model's test predictions)."""
    loader = torch.utils.data.DataLoader(test, batch_size=64)
    with torch.no_grad():
        pred, y, flags = predict(model.eval(), loader)
    preds = {"causal_reference": causal_reference(pred, flags),
             "interpolation_reference": interpolation_reference(pred, flags)}
    if train is not None:
        preds = {"mean_shape_reference": mean_shape(train).expand_as(y), **preds}
    return [{"arm": name, "kind": "reference", "loss": landmark_loss(p, y).item(),
             **nme_by_condition(p, y, flags)} for name, p in preds.items()]


# --- lr choice and shared runs ----------------------------------------------------------
def lite_matched(cell: str, fc_in: int = 1024, fc: int = 256) -> tuple[int, float]:
    """Parameter-matched traditional size for the lite backbone (fc6 1024->256, fc7)."""
    return matched_size(cell, [(fc_in, fc), (fc, fc)], feature_size=fc)


def lr_family(arm: Arm) -> str:
    """The family whose tuned lr ``arm`` uses (see the module docstring)."""
    if arm.kind == "frame":
        return "frame"
    if arm.kind == "traditional":
        return f"{arm.cell}-trad"
    if arm.cell == "vrnn":
        return f"vrnn-{arm.init}"
    return f"{arm.cell}-{arm.mode}-{arm.other_init}-{arm.init}"


def family_arm(arm: Arm) -> Arm:
    """The arm a family is tuned with: the frame model, the matched-size traditional
    RNN, or the PreRNN of that cell and start on fc6+fc7 (no extra layer)."""
    fam = lr_family(arm)
    if arm.kind == "frame":
        return Arm("frame", "frame")
    if arm.kind == "traditional":
        return Arm(f"{arm.cell}-trad-matched", "traditional", arm.cell,
                   hidden_size=lite_matched(arm.cell)[0])
    return Arm(fam, cell=arm.cell, mode=arm.mode, init=arm.init, other_init=arm.other_init)


def shared_checkpoint(out_dir: Path, settings: FaceSettings, arm: Arm, lr: float,
                      seed: int) -> Path:
    """``checkpoints/faces_<p>/<family>-<hash of the arm's settings>_e<E>_lr<lr>_s<seed>``."""
    cfg = {k: v for k, v in arm.describe().items() if k != "arm"}
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return Path(out_dir) / "checkpoints" / f"faces_{settings.profile}" / \
        f"{lr_family(arm)}-{key}_e{settings.recipe_at(lr).epochs}_lr{lr:g}_s{seed}"


def train_arm(arm: Arm, settings: FaceSettings, lr: float, seed: int, eval_set, ckpt: Path,
              resume: bool, curves: bool = False, runner=run_arm):
    """``run_arm`` on the face task (training set, ``landmark_loss``) with base lr ``lr``;
    a checkpoint finished by this process is reused even without ``resume``."""
    out = runner(arm, backbone_for(settings), face_data(settings, "train"), eval_set,
                 settings.recipe_at(lr), seed, face_loss, face_eval,
                 batch_size=settings.batch_size, cached=settings.cache_trunk,
                 checkpoint_dir=ckpt, resume=resume or str(ckpt) in _TRAINED, curves=curves)
    _TRAINED.add(str(ckpt))
    return out


def choose_lr(rows: pd.DataFrame, tolerance: float = 0.01) -> float:
    """The smallest lr whose validation NME is within ``tolerance`` of the best (NaN =
    diverged, never chosen); ``rows`` holds ``base_lr`` and ``nme`` (or ``nme_mean``)."""
    col = "nme" if "nme" in rows else "nme_mean"
    ok = rows[rows[col].apply(lambda v: isinstance(v, float) and math.isfinite(v))]
    if ok.empty:
        raise FloatingPointError("every lr of the grid diverged")
    best = ok[col].min()
    return float(ok[ok[col] <= best * (1 + tolerance)]["base_lr"].min())


def tune_lrs(arms: list[Arm], settings: FaceSettings, out_dir: Path, resume: bool = True
             ) -> tuple[dict[str, float], pd.DataFrame]:
    """Run the lr grid of every family of ``arms`` not yet in ``face_lr_<p>_runs.csv``
    (validation sequences, first seed); returns ``{family: chosen lr}`` and the grid rows
    of these families with a ``chosen`` column."""
    path = result_path(out_dir, "face_lr", settings.profile, "runs")
    seed = settings.seeds[0]
    fams = {lr_family(a): family_arm(a) for a in arms}
    val = face_data(settings, "test", 1)  # independent of the test set (data seed + 1)
    for fam, rep in fams.items():
        for lr in settings.lrs:
            done = pd.read_csv(path) if path.is_file() else pd.DataFrame(
                columns=["lr_family", "base_lr", "seed", "epochs"])
            if ((done["lr_family"] == fam) & (done["base_lr"].sub(lr).abs() < lr * 1e-6)
                    & (done["seed"] == seed)).any():
                continue
            row = {"lr_family": fam, **rep.describe(), "seed": seed, "base_lr": lr,
                   "split": "validation (data seed +1)"}
            try:
                _, m, _ = train_arm(rep, settings, lr, seed, val,
                                    shared_checkpoint(out_dir, settings, rep, lr, seed), resume)
                row.update(m, status="ok")
            except FloatingPointError as err:
                row.update(nme=float("nan"), status="diverged")
                print(f"  lr {lr:g} {fam}: diverged ({err})", flush=True)
            append_row(path, row)
            print(f"  lr {lr:g} {fam:<26} val nme {row['nme']:.4f}", flush=True)
    grid = pd.read_csv(path, keep_default_na=False, na_values=[""])
    grid = grid[grid["lr_family"].isin(list(fams)) & (grid["seed"] == seed)
                & grid["base_lr"].apply(lambda v: any(abs(v - lr) < lr * 1e-6
                                                      for lr in settings.lrs))]
    chosen = {f: choose_lr(g) for f, g in grid.groupby("lr_family", sort=False)}
    grid = grid.assign(chosen=[chosen[f] == lr for f, lr in zip(grid["lr_family"],
                                                                 grid["base_lr"], strict=True)])
    return chosen, grid.reset_index(drop=True)
