"""The face experiments' learning rate (one grid per arm family, chosen on validation),
their shared runs, and the loop that trains a face experiment's arms.

The same tuning budget for every arm *family* (:func:`lr_family`): the
frame model; the traditional RNN of each cell (tuned at its parameter-matched size; the
other hidden sizes of the sweep share that lr); and the PreRNN of each cell and start
(``mode``, ``other_init``, ``init``: e.g. ``lstm-gate-copy-pretrained``, tuned on
fc6+fc7; the fc6-only, fc7-only and +random-third-layer variants share it). Each family
is trained once (seed = the profile's first seed) at every lr of a grid fixed before any
run (``lite``: 1e-4, 1e-3, 1e-2, spaced x10 around the paper's 1e-4; ``ci``: 1e-3, 1e-2;
``full``: ``full.py``) and scored by NME on *validation* sequences (``ci``/``lite``:
the ``FaceSequences`` test split drawn with data seed + 1; ``full``: held-out training
videos; never the test set); rule (:func:`choose_lr`): the smallest lr whose validation
NME is within 1 % of the family's best; diverged runs are never chosen. Then every arm is
trained with its family's lr for every seed (:func:`run_face_arms`). The grid is shared
by all face experiments (``face_lr_<p>_runs.csv``, ``face_lr_<p>_summary.csv`` with a
``chosen`` column); each experiment also writes the rows of its own families to
``<name>_<p>_lr.csv`` and the chosen lr of every arm as ``base_lr`` in its runs/summary
CSVs.

A training run is fully determined by (arm settings, lr, seed, recipe, data): its
checkpoint is kept under ``checkpoints/faces_<p>/`` by that key
(:func:`shared_checkpoint`), so the seed-0 grid run at the chosen lr (``ci``/``lite``:
trained on the same data) and the same arm in another experiment (e.g. Table 1's
PreRNN = Table 2's fc6+fc7) are trained once and only evaluated again (``init``, which
records curves on the test set, trains its own). A checkpoint finished in this
invocation (``RunContext.trained``) is reused even without ``--resume``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..arms import Arm
from ..results import append_row, read_results_csv, result_path, write_table
from ..runner import run_arm, run_arms
from .common import FaceSource, face_eval, face_loss, references


def lr_family(arm: Arm) -> str:
    """The family whose tuned lr ``arm`` uses (see the module docstring)."""
    if arm.kind == "frame":
        return "frame"
    if arm.kind == "traditional":
        return f"{arm.cell}-trad"
    if arm.cell == "vrnn":
        return f"vrnn-{arm.init}"
    return f"{arm.cell}-{arm.mode}-{arm.other_init}-{arm.init}"


def family_arm(arm: Arm, matched: Callable[[str], int]) -> Arm:
    """The arm a family is tuned with: the frame model, the traditional RNN of the
    matched size (``matched(cell)``, e.g. ``FaceSettings.matched_hidden``), or the
    PreRNN of that cell and start on fc6+fc7 (no extra layer)."""
    if arm.kind == "frame":
        return Arm("frame", "frame")
    if arm.kind == "traditional":
        return Arm(f"{arm.cell}-trad-matched", "traditional", arm.cell,
                   hidden_size=matched(arm.cell))
    return Arm(lr_family(arm), cell=arm.cell, mode=arm.mode, init=arm.init,
               other_init=arm.other_init)


def shared_checkpoint(out_dir: Path, src: FaceSource, arm: Arm, lr: float, seed: int,
                      train_split: str = "train") -> Path:
    """``checkpoints/faces_<p>/<family>-<hash of the arm's settings>_e<E>_lr<lr>_s<seed>``,
    ``_<train_split>`` appended unless it is "train"; the hash also covers the source's
    ``checkpoint_data`` (``full``: backbone weights, window length, image size, videos)."""
    cfg = {k: v for k, v in arm.describe().items() if k != "arm"}
    if (data := src.checkpoint_data(train_split)) is not None:
        cfg["data"] = data
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]
    tag = "" if train_split == "train" else f"_{train_split}"
    s = src.settings
    return Path(out_dir) / "checkpoints" / f"faces_{s.profile}" / \
        f"{lr_family(arm)}-{key}_e{s.recipe_at(lr).epochs}_lr{lr:g}_s{seed}{tag}"


def train_arm(arm: Arm, src: FaceSource, lr: float, seed: int, eval_set, ckpt: Path,
              resume: bool, curves: bool = False, train_split: str = "train"):
    """``run_arm`` on the face task: ``src.data(train_split)``, ``landmark_loss``, base lr
    ``lr``; a checkpoint finished in this context is reused even without ``resume``."""
    s, trained = src.settings, src.context.trained
    out = run_arm(arm, src.backbone(), src.data(train_split), eval_set, s.recipe_at(lr), seed,
                  face_loss, face_eval, batch_size=s.batch_size, cached=s.cache_trunk,
                  checkpoint_dir=ckpt, resume=resume or str(ckpt) in trained, curves=curves,
                  num_workers=s.num_workers)
    trained.add(str(ckpt))
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


def tune_lrs(arms: list[Arm], src: FaceSource, out_dir: Path, resume: bool = True
             ) -> tuple[dict[str, float], pd.DataFrame]:
    """Run the lr grid of every family of ``arms`` not yet in ``face_lr_<p>_runs.csv``
    (trained on ``src.grid_train_split``, scored on the "validation" split, first seed);
    returns ``{family: chosen lr}`` and the grid rows of these families with a ``chosen``
    column. A one-value grid is not run (nothing to choose): its rows say "not tuned"."""
    s = src.settings
    fams = {lr_family(a): family_arm(a, s.matched_hidden) for a in arms}
    if len(s.lrs) == 1:
        return _not_tuned(fams, s)
    path = result_path(out_dir, "face_lr", s.profile, "runs")
    seed, split = s.seeds[0], src.grid_train_split
    val = src.data("validation")  # never the test set
    for fam, rep in fams.items():
        for lr in s.lrs:
            if _grid_done(path, fam, lr, seed):
                continue
            row = {"lr_family": fam, **rep.describe(), "seed": seed, "base_lr": lr,
                   "split": src.validation_label}
            try:
                _, m, _ = train_arm(rep, src, lr, seed, val, shared_checkpoint(
                    out_dir, src, rep, lr, seed, split), resume, train_split=split)
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
                                                      for lr in s.lrs))]
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


def _not_tuned(fams: dict[str, Arm], settings) -> tuple[dict[str, float], pd.DataFrame]:
    """``tune_lrs`` of a one-value grid: that lr for every family, nothing trained."""
    (lr,) = settings.lrs
    rows = [{"lr_family": fam, **rep.describe(), "seed": settings.seeds[0], "base_lr": lr,
             "split": "none (one lr: not tuned)", "nme": float("nan"),
             "status": "not tuned", "chosen": True} for fam, rep in fams.items()]
    return dict.fromkeys(fams, lr), pd.DataFrame(rows)


def run_face_arms(name: str, arms: list[Arm], src: FaceSource, seeds, out_dir: Path,
                  resume: bool, after=None, own_checkpoints: bool = False) -> pd.DataFrame:
    """Choose each family's lr (:func:`tune_lrs`; grid rows to ``<name>_<p>_lr.csv``),
    then train every arm x seed not yet in the runs CSV (``runner.run_arms``, every arm's
    first seed first). ``after(arm, seed, model, hist)`` returns extra row fields for
    the arm's row (a dict) and may write files of its own; the frame arm also writes the
    reference rows. ``own_checkpoints``: checkpoints under ``checkpoints/<name>_<p>/``
    instead of the shared ones (``init``: its runs record curves). A run that diverges
    is kept as a row (``status`` "diverged"), not hidden. Returns the runs of ``seeds``.
    """
    s = src.settings
    runs_path = result_path(out_dir, name, s.profile, "runs")
    lrs, grid = tune_lrs(arms, src, out_dir)
    write_table(grid, out_dir, name, s.profile, "lr")
    train, test = src.data("train_plain"), src.data("test")

    def run_one(arm: Arm, seed: int) -> list[dict]:
        lr = lrs[lr_family(arm)]
        ckpt = (Path(out_dir) / "checkpoints" / f"{name}_{s.profile}" / f"{arm.name}_s{seed}"
                if own_checkpoints else shared_checkpoint(out_dir, src, arm, lr, seed))
        base = {**arm.describe(), "seed": seed, "lr_family": lr_family(arm), "base_lr": lr}
        try:
            model, metrics, hist = train_arm(arm, src, lr, seed, test, ckpt, resume,
                                             curves=own_checkpoints)
        except FloatingPointError as err:  # kept as a result, not hidden
            print(f"  {arm.name} seed {seed} diverged: {err}", flush=True)
            return [{**base, "nme": float("nan"), "status": "diverged"}]
        print(f"  {arm.name:<28} seed {seed}: lr {lr:g} nme {metrics['nme']:.4f} "
              f"({metrics['seconds']:.1f} s)", flush=True)
        row = {**base, **metrics, "epoch_scale": s.recipe_at(lr).epoch_scale, "status": "ok",
               **(after(arm, seed, model, hist) if after else {})}
        extra = (references(model, test, train, s.eval_batch_size, s.num_workers)
                 if arm.kind == "frame" else [])
        return [row] + [{**r, "seed": seed} for r in extra]

    def one_seed_only(arm: Arm, seed: int) -> bool:  # the costly sizes: first seed only
        return (arm.kind == "traditional" and arm.hidden_size in s.one_seed_sizes
                and seed != seeds[0])

    return run_arms(arms, seeds, runs_path, resume, run_one, seeds_outer=True,
                    skip=one_seed_only)
