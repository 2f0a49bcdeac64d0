"""The face experiments' learning rate: one grid per arm family, chosen on validation.

The same tuning budget for every arm *family* (:func:`lr_family`): the
frame model; the traditional RNN of each cell (tuned at its parameter-matched size; the
other hidden sizes of the sweep share that lr); and the PreRNN of each cell and start
(``mode``, ``other_init``, ``init``: e.g. ``lstm-gate-copy-pretrained``, tuned on
fc6+fc7; the fc6-only, fc7-only and +random-third-layer variants share it). Each family
is trained once (seed = the profile's first seed) at every lr of a grid fixed before any
run (``lite``: 1e-4, 1e-3, 1e-2, spaced x10 around the paper's 1e-4; ``ci``: 1e-3, 1e-2;
``full``: ``faces_full``) and scored by NME on *validation* sequences (``ci``/``lite``:
the ``FaceSequences`` test split drawn with data seed + 1; ``full``: held-out training
videos; never the test set); rule (:func:`choose_lr`): the smallest lr whose validation
NME is within 1 % of the family's best; diverged runs are never chosen. Then every arm is
trained with its family's lr for every seed. The grid is shared by all face experiments
(``face_lr_<p>_runs.csv``, ``face_lr_<p>_summary.csv`` with a ``chosen`` column); each
experiment also writes the rows of its own families to ``<name>_<p>_lr.csv`` and the
chosen lr of every arm as ``base_lr`` in its runs/summary CSVs.

A training run is fully determined by (arm settings, lr, seed, recipe): its checkpoint is
kept under ``checkpoints/faces_<p>/`` by that key (:func:`shared_checkpoint`), so the
seed-0 grid run at the chosen lr (``ci``/``lite``: trained on the same data) and the same
arm in another experiment (e.g. Table 1's PreRNN = Table 2's fc6+fc7) are trained once
and only evaluated again (``init``, which records curves on the test set, trains its own).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd

from .common import Arm, append_row, read_results_csv, result_path, run_arm
from .faces_common import (
    FaceSettings,
    backbone_for,
    face_data,
    face_eval,
    face_loss,
    matched_hidden,
    validation_label,
)

#: checkpoints fully trained by this process (reused even without ``resume``)
_TRAINED: set[str] = set()


def grid_train_split(settings: FaceSettings) -> str:
    """The lr grid's training split: "lr_train" in ``full`` (validation videos held out),
    "train" in ``ci``/``lite`` (the same data; their grid runs are reused as final runs)."""
    return "lr_train" if settings.profile == "full" else "train"


def lr_family(arm: Arm) -> str:
    """The family whose tuned lr ``arm`` uses (see the module docstring)."""
    if arm.kind == "frame":
        return "frame"
    if arm.kind == "traditional":
        return f"{arm.cell}-trad"
    if arm.cell == "vrnn":
        return f"vrnn-{arm.init}"
    return f"{arm.cell}-{arm.mode}-{arm.other_init}-{arm.init}"


def family_arm(arm: Arm, settings: FaceSettings | None = None) -> Arm:
    """The arm a family is tuned with: the frame model, the matched-size traditional
    RNN (:func:`matched_hidden` of ``settings``; lite sizes when ``None``), or the PreRNN
    of that cell and start on fc6+fc7 (no extra layer)."""
    fam = lr_family(arm)
    if arm.kind == "frame":
        return Arm("frame", "frame")
    if arm.kind == "traditional":
        return Arm(f"{arm.cell}-trad-matched", "traditional", arm.cell,
                   hidden_size=matched_hidden(settings or FaceSettings(), arm.cell)[0])
    return Arm(fam, cell=arm.cell, mode=arm.mode, init=arm.init, other_init=arm.other_init)


def shared_checkpoint(out_dir: Path, settings: FaceSettings, arm: Arm, lr: float,
                      seed: int, train_split: str = "train") -> Path:
    """``checkpoints/faces_<p>/<family>-<hash of the arm's settings>_e<E>_lr<lr>_s<seed>``,
    ``_<train_split>`` appended unless it is "train"; in ``full`` the hash also covers
    the data (backbone weights, window length, image size, training videos)."""
    cfg = {k: v for k, v in arm.describe().items() if k != "arm"}
    if settings.profile == "full":
        from .faces_full import checkpoint_data
        cfg["data"] = checkpoint_data(settings, train_split)
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]
    tag = "" if train_split == "train" else f"_{train_split}"
    return Path(out_dir) / "checkpoints" / f"faces_{settings.profile}" / \
        f"{lr_family(arm)}-{key}_e{settings.recipe_at(lr).epochs}_lr{lr:g}_s{seed}{tag}"


def train_arm(arm: Arm, settings: FaceSettings, lr: float, seed: int, eval_set, ckpt: Path,
              resume: bool, curves: bool = False, runner=None, train_split: str = "train"):
    """``run_arm`` (or ``runner``) on the face task: ``face_data(settings, train_split)``,
    ``landmark_loss``, base lr ``lr``; a checkpoint finished by this process is reused
    even without ``resume``."""
    runner = runner or run_arm
    out = runner(arm, backbone_for(settings), face_data(settings, train_split), eval_set,
                 settings.recipe_at(lr), seed, face_loss, face_eval,
                 batch_size=settings.batch_size, cached=settings.cache_trunk,
                 checkpoint_dir=ckpt, resume=resume or str(ckpt) in _TRAINED, curves=curves,
                 num_workers=settings.num_workers)
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
    (trained on :func:`grid_train_split`, scored on the "validation" split, first seed);
    returns ``{family: chosen lr}`` and the grid rows of these families with a ``chosen``
    column. A one-value grid is not run (nothing to choose): its rows say "not tuned"."""
    fams = {lr_family(a): family_arm(a, settings) for a in arms}
    if len(settings.lrs) == 1:
        return _not_tuned(fams, settings)
    path = result_path(out_dir, "face_lr", settings.profile, "runs")
    seed, split = settings.seeds[0], grid_train_split(settings)
    val = face_data(settings, "validation")  # never the test set
    for fam, rep in fams.items():
        for lr in settings.lrs:
            if _grid_done(path, fam, lr, seed):
                continue
            row = {"lr_family": fam, **rep.describe(), "seed": seed, "base_lr": lr,
                   "split": validation_label(settings)}
            try:
                _, m, _ = train_arm(rep, settings, lr, seed, val, shared_checkpoint(
                    out_dir, settings, rep, lr, seed, split), resume, train_split=split)
                row.update(m, status="ok")
            except FloatingPointError as err:
                row.update(nme=float("nan"), status="diverged")
                print(f"  lr {lr:g} {fam}: diverged ({err})", flush=True)
            append_row(path, row)
            print(f"  lr {lr:g} {fam:<26} val nme {row['nme']:.4f}", flush=True)
    grid = read_results_csv(path)
    grid = grid[grid["lr_family"].isin(list(fams)) & (grid["seed"] == seed)
                & (grid["status"] != "not tuned")
                & grid["base_lr"].apply(lambda v: any(abs(v - lr) < lr * 1e-6
                                                      for lr in settings.lrs))]
    chosen = {f: choose_lr(g) for f, g in grid.groupby("lr_family", sort=False)}
    grid = grid.assign(chosen=[chosen[f] == lr for f, lr in zip(grid["lr_family"],
                                                                 grid["base_lr"], strict=True)])
    return chosen, grid.reset_index(drop=True)


def _grid_done(path: Path, fam: str, lr: float, seed: int) -> bool:
    """Whether ``path`` already holds the grid run (``fam``, ``lr``, ``seed``)."""
    if not path.is_file():
        return False
    done = pd.read_csv(path)
    ran = done["status"] != "not tuned" if "status" in done else True
    return bool(((done["lr_family"] == fam) & (done["base_lr"].sub(lr).abs() < lr * 1e-6)
                 & (done["seed"] == seed) & ran).any())


def _not_tuned(fams: dict[str, Arm], settings: FaceSettings
               ) -> tuple[dict[str, float], pd.DataFrame]:
    """``tune_lrs`` of a one-value grid: that lr for every family, nothing trained."""
    (lr,) = settings.lrs
    rows = [{"lr_family": fam, **rep.describe(), "seed": settings.seeds[0], "base_lr": lr,
             "split": "none (one lr: not tuned)", "nme": float("nan"),
             "status": "not tuned", "chosen": True} for fam, rep in fams.items()]
    return dict.fromkeys(fams, lr), pd.DataFrame(rows)
