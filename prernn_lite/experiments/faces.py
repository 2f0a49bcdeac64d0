"""Sequential face alignment on the face stand-in: the paper's Tables 1 and 2.

Every arm starts from the pre-trained lite ``LiteCNN2d`` (``pretrain``) and is trained on
``FaceSequences`` with the paper's face recipe (SGD, momentum 0.9, weight decay 5e-4, lr
halved after 1/3 of training and then every 1/6) ``scaled`` to the profile's epochs:
x0.25 in ``lite`` (30 -> 8 epochs, halved after epochs 3, 4, 5, 6, 7: a budget of about
15 CPU-minutes for the four face experiments), x0.1 in ``ci`` (3 epochs). The base lr is
not the paper's 1e-4 (VGG16 on 300VW): it was chosen once, on the **frame-level model
only**, by the ``face_lr`` experiment (lrs 1e-4 .. 0.3, 3 seeds, validation sequences drawn with
another data seed, never the test set; rule: the smallest lr within 1 % of the best mean
validation NME), and then used for every arm: 0.1 (``results/face_lr_lite_summary.csv``).
The grid first stopped at 3e-2, its best point; it was extended once upwards.

Targets are landmarks normalised as in ``pretrain`` (image centre 0, edges about +-1);
the loss is their MSE; the metric is NME (``metrics.nme``, outer eye corners), overall
and split by frame condition: clean (no flag), occluded, dropped, blurred, and hard
(occluded or dropped). Two rows are references built from the fine-tuned frame model's
test predictions: carried forward over hard frames (causal) and interpolated between
clean frames (non-causal); both know which frames are hard, the models do not.

In ``ci``/``lite`` the trunk is frozen and its features cached (``common``); fc6, fc7,
the recurrent layers and the head are fine-tuned, on one CPU thread (these small models
run several times faster on one thread than on two busy ones). No augmentation in ``ci``/``lite``
(cached features cannot be augmented). ``full`` runs VGG16 (ImageNet) on 300VW
(``--data-root``), fine-tuned end to end with augmentation, on a GPU.

- ``table1``: traditional VRNN/LSTM/GRU (2 layers on fc7) over hidden sizes fc/16 .. 2fc
  and the parameter-matched size, vs PreRNN on fc6+fc7 (other gates: copies of W_xy, the
  paper; and zero-started gates, the alternative).
- ``table2``: PreRNN on fc6 / fc7 / fc6+fc7 / fc6+fc7 + a random third layer.
- ``init`` and ``gating`` live in ``faces_analysis``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..data.metrics import causal_reference, hard_mask, interpolation_reference, nme
from ..paper import paper_tables
from ..train import get_recipe, scaled
from .common import (
    CELLS,
    Arm,
    append_row,
    check_choice,
    done_runs,
    matched_size,
    pretrained_backbone,
    register,
    result_path,
    run_arm,
    summarize,
    write_results,
)
from .pretrain import normalise_landmarks

CONDITIONS = ("clean", "occluded", "dropped", "blurred", "hard")
VW300_URL = "https://ibug.doc.ic.ac.uk/resources/300-VW/"


@dataclass(frozen=True)
class FaceSettings:
    """Settings of the face experiments; ``None`` sizes = the data profile's own."""

    profile: str = "lite"
    seeds: tuple[int, ...] = (0, 1, 2)
    cells: tuple[str, ...] = CELLS
    n_train: int | None = None
    n_test: int | None = None
    data_seed: int = 0
    epoch_scale: float = 0.25
    base_lr: float = 0.1
    batch_size: int = 16
    hidden_ratios: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2)
    cache_trunk: bool = True
    data_root: str | None = None
    lrs: tuple[float, ...] = (1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
    threads: int | None = 1

    @classmethod
    def for_profile(cls, profile: str) -> FaceSettings:
        check_choice("profile", profile, ("ci", "lite", "full"))
        if profile == "ci":
            return cls(profile="ci", seeds=(0,), epoch_scale=0.1, hidden_ratios=(1 / 8, 1),
                       lrs=(1e-3, 1e-2))
        if profile == "full":
            return cls(profile="full", seeds=(0, 1, 2), epoch_scale=1.0, cache_trunk=False,
                       batch_size=8, threads=None)
        return cls()

    @property
    def recipe(self):
        return scaled(get_recipe("face", base_lr=self.base_lr), self.epoch_scale)


# --- data -------------------------------------------------------------------------------
@cache
def face_data(settings: FaceSettings, split: str, seed_offset: int = 0) -> list[dict]:
    """Samples ``{"x", "y", "flags"}``: ``x`` trunk features (cached) or frames."""
    from ..data.faces import FaceSequences

    if settings.profile == "full":
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


def _vw300(settings: FaceSettings, split: str) -> list:
    """300VW windows for the full profile (a clear error without the data)."""
    from ..data.vw300 import VW300Sequences

    root = Path(settings.data_root) if settings.data_root else None
    if root is None or not root.is_dir():
        raise FileNotFoundError(
            f"300VW not found under {root or '(no --data-root given)'}: download it from "
            f"{VW300_URL} and place it so that ROOT/001/vid.avi and ROOT/001/annot/000001.pts "
            "exist, then pass --data-root ROOT")
    ds = VW300Sequences(root, "train" if split == "train" else "test", seq_len=16,
                        image_size=224)
    return _Normalised(ds, augment=split == "train")


class _Normalised(torch.utils.data.Dataset):
    """300VW windows as ``{"x", "y", "flags"}``; training windows augmented per sequence."""

    def __init__(self, ds, augment: bool) -> None:
        from ..data.augment import SequenceAugment
        self.ds, self.augment = ds, SequenceAugment("faces") if augment else None

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        s = self.ds[i]
        if self.augment is not None:
            s = self.augment(s)
        return {"x": s["frames"], "y": normalise_landmarks(s["landmarks"], 224),
                "flags": s["flags"]}


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
def face_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """MSE of normalised landmarks."""
    return F.mse_loss(model(batch["x"]), batch["y"].flatten(2))


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
    """Test loss (MSE) and NME by condition."""
    pred, y, flags = predict(model, loader)
    return {"loss": F.mse_loss(pred, y).item(), **nme_by_condition(pred, y, flags)}


def references(model: nn.Module, test: list[dict]) -> list[dict]:
    """Causal and interpolation reference rows from the frame model's predictions."""
    loader = torch.utils.data.DataLoader(test, batch_size=64)
    with torch.no_grad():
        pred, y, flags = predict(model.eval(), loader)
    rows = []
    for name, fn in (("causal_reference", causal_reference),
                     ("interpolation_reference", interpolation_reference)):
        rows.append({"arm": name, "kind": "reference", "loss": F.mse_loss(fn(pred, flags), y)
                     .item(), **nme_by_condition(fn(pred, flags), y, flags)})
    return rows


# --- running arms -----------------------------------------------------------------------
def run_arms(name: str, arms: list[Arm], settings: FaceSettings, seeds, out_dir: Path,
             resume: bool, after=None) -> pd.DataFrame:
    """Train every arm x seed not yet in the runs CSV; ``after(arm, seed, model, hist)``
    may return extra rows (dicts) to append. Returns the runs table."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    runs_path = result_path(out_dir, name, settings.profile, "runs")
    done = done_runs(runs_path, resume)
    finished = set(zip(done["arm"].astype(str), done["seed"].astype(int), strict=True))
    backbone = backbone_for(settings)
    train, test = face_data(settings, "train"), face_data(settings, "test")
    recipe = settings.recipe
    for seed in seeds:
        for arm in arms:
            if (arm.name, seed) in finished:
                continue
            ckpt = Path(out_dir) / "checkpoints" / f"{name}_{settings.profile}" / \
                f"{arm.name}_s{seed}"
            try:
                model, metrics, hist = run_arm(
                    arm, backbone, train, test, recipe, seed, face_loss, face_eval,
                    batch_size=settings.batch_size, cached=settings.cache_trunk,
                    checkpoint_dir=ckpt, resume=resume, curves=name == "init")
            except FloatingPointError as err:  # kept as a result, not hidden
                print(f"  {arm.name} seed {seed} diverged: {err}", flush=True)
                append_row(runs_path, {**arm.describe(), "seed": seed, "nme": float("nan"),
                                       "status": "diverged", "base_lr": recipe.base_lr})
                continue
            row = {**arm.describe(), "seed": seed, **metrics, "base_lr": recipe.base_lr,
                   "epoch_scale": recipe.epoch_scale, "status": "ok"}
            append_row(runs_path, row)
            print(f"  {arm.name:<28} seed {seed}: nme {metrics['nme']:.4f} "
                  f"({metrics['seconds']:.1f} s)", flush=True)
            extra = list(after(arm, seed, model, hist) if after else [])
            if arm.kind == "frame":
                extra += references(model, test)
            for r in extra:
                if "arm" in r and "seed" not in r:
                    append_row(runs_path, {**r, "seed": seed})
    return pd.read_csv(runs_path, keep_default_na=False, na_values=[""])


def hidden_sizes(settings: FaceSettings, fc: int = 256) -> list[int]:
    return [max(1, round(r * fc)) for r in settings.hidden_ratios]


def lite_matched(cell: str, fc_in: int = 1024, fc: int = 256) -> tuple[int, float]:
    """Parameter-matched traditional size for the lite backbone (fc6 1024->256, fc7)."""
    return matched_size(cell, [(fc_in, fc), (fc, fc)], feature_size=fc)


def table1_arms(settings: FaceSettings) -> list[Arm]:
    arms = [Arm("frame", "frame")]
    for cell in settings.cells:
        for h in hidden_sizes(settings):
            arms.append(Arm(f"{cell}-trad-{h}", "traditional", cell, hidden_size=h))
        arms.append(Arm(f"{cell}-trad-matched", "traditional", cell,
                        hidden_size=lite_matched(cell)[0]))
        arms.append(Arm(f"{cell}-prernn", "prernn", cell))
        if cell != "vrnn":
            arms.append(Arm(f"{cell}-prernn-zeros", "prernn", cell, other_init="zeros"))
    return arms


def table2_arms(settings: FaceSettings) -> list[Arm]:
    arms = [Arm("frame", "frame")]
    for cell in settings.cells:
        arms += [Arm(f"{cell}-fc6", cell=cell, layers=("fc6",)),
                 Arm(f"{cell}-fc7", cell=cell, layers=("fc7",)),
                 Arm(f"{cell}-fc6+fc7", cell=cell),
                 Arm(f"{cell}-fc6+fc7+random", cell=cell, extra_layers=1)]
    return arms


def side_by_side(summary: pd.DataFrame, table: str, columns: dict[str, str | None],
                 reference: str) -> pd.DataFrame:
    """Paper's numbers next to ours: ``columns`` maps a paper column to our arm suffix.

    ``*_rel`` divides by the ``reference`` column of the same cell (orderings and relative
    gaps are comparable across scales; absolute values are not).
    """
    paper = paper_tables()[table]
    rows = []
    for cell in CELLS:
        ours = summary.set_index("arm")
        ref_arm = f"{cell}-{columns[reference]}"
        if ref_arm not in ours.index:
            continue
        for col, suffix in columns.items():
            p = paper[cell][paper["columns"].index(col)] if col in paper["columns"] else None
            arm = f"{cell}-{suffix}" if suffix else None
            mean = ours.at[arm, "nme_mean"] if arm in ours.index else float("nan")
            rows.append({"cell": cell, "paper_column": col, "paper_value": p,
                         "paper_rel": None if p is None else
                         p / paper[cell][paper["columns"].index(reference)],
                         "arm": arm or "", "hidden_size": ours.at[arm, "hidden_size"]
                         if arm in ours.index else float("nan"),
                         "nme_mean": mean, "nme_std": ours.at[arm, "nme_std"]
                         if arm in ours.index else float("nan"),
                         "n": ours.at[arm, "n"] if arm in ours.index else 0,
                         "ours_rel": mean / ours.at[ref_arm, "nme_mean"]})
    out = pd.DataFrame(rows)
    out = out[out["paper_value"].notna() | (out["n"] > 0)].reset_index(drop=True)
    out["paper_metric"] = "300VW test loss (VGG16)"
    out["ours_metric"] = "NME on the face stand-in (lite CNN)"
    return out


@register("table1", FaceSettings.for_profile)
def table1(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Table 1: traditional RNNs over hidden sizes vs PreRNN (fc6+fc7)."""
    runs = run_arms("table1", table1_arms(settings), settings, seeds, out_dir, resume)
    summary = summarize(runs)
    ratio = {"256": 1 / 16, "512": 1 / 8, "1024": 1 / 4, "2048": 1 / 2, "4096": 1}
    cols = {c: (f"trad-{round(r * 256)}" if r in settings.hidden_ratios else None)
            for c, r in ratio.items()}
    cols.update({"2x fc": "trad-512" if 2 in settings.hidden_ratios else None,
                 "similar": "trad-matched", "prernn": "prernn", "prernn (zero gates)":
                 "prernn-zeros"})
    write_results(runs, "table1", settings.profile, out_dir,
                  side_by_side(summary, "table1_300vw_test_loss_2_layers", cols, "prernn"))
    return runs


@register("table2", FaceSettings.for_profile)
def table2(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Table 2: which layers to make recurrent, and a random third layer."""
    runs = run_arms("table2", table2_arms(settings), settings, seeds, out_dir, resume)
    cols = {"fc6": "fc6", "fc7": "fc7", "fc6/7": "fc6+fc7", "fc6/7+random": "fc6+fc7+random"}
    write_results(runs, "table2", settings.profile, out_dir,
                  side_by_side(summarize(runs), "table2_300vw_test_loss_hierarchy", cols,
                               "fc6/7"))
    return runs
