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
NME is within 1 % of the family's best; diverged runs are never chosen. The grid always
trains on the fixed training set (``ci``/``lite``: ``data_seed``'s draw, also with
``FaceSettings.seed_draws_data``). With ``FaceSettings.lr_extend`` > 0, a family whose
choice sits at an edge of the rates it tried gets one more rate beyond that edge, by the
grid's own ratio there (lite: x10 above 1e-2, /10 below 1e-4), until its choice is
inside or ``lr_extend`` rates were added on that side (:func:`next_lr`); every rate
tried is a grid row, and the lr tables gain ``at_edge``: whether the family's choice is
still at an edge (then its rate is a bound, not a tuned value). Then every arm is
trained with its family's lr for every seed (:func:`run_face_arms`). The grid is shared
by all face experiments (``face_lr_<p>_runs.csv``, ``face_lr_<p>_summary.csv`` with a
``chosen`` column); each experiment also writes the rows of its own families to
``<name>_<p>_lr.csv`` and the chosen lr of every arm as ``base_lr`` in its runs/summary
CSVs. Grid rows already in ``face_lr_<p>_runs.csv`` are never trained again, extended
ones included: a later experiment reaches the same choices from the same rows.

A training run is fully determined by (arm settings, lr, seed, recipe, data): its
checkpoint is kept under ``checkpoints/faces_<p>/`` by that key
(:func:`shared_checkpoint`; a run on another training draw than the fixed one carries
:func:`data_tag`), so the seed-0 grid run at the chosen lr (``ci``/``lite``: trained on
the same data) and the same arm in another experiment (e.g. Table 1's PreRNN = Table 2's
fc6+fc7) are trained once and only evaluated again (``init``, which records curves on
the test set, trains its own). A checkpoint finished in this invocation
(``RunContext.trained``) is reused even without ``--resume``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from ..arms import Arm
from ..results import append_row, read_results_csv, result_path, write_table
from ..runner import run_arm, run_arms
from .common import FaceSettings, FaceSource, face_eval, face_loss, references


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


def data_tag(settings: FaceSettings, draw: int | None) -> str:
    """What a checkpoint name adds for a run on training draw ``draw``
    (``FaceSettings.train_draw``): ``_data<draw>`` unless it is the fixed training set
    (``None``, or ``data_seed``'s draw, which the lr grid trains on too).

    >>> s = FaceSettings(seed_draws_data=True)
    >>> data_tag(s, None), data_tag(s, 0), data_tag(s, 3)
    ('', '', '_data3')
    """
    return "" if draw is None or draw == settings.data_seed else f"_data{draw}"


def shared_checkpoint(out_dir: Path, src: FaceSource, arm: Arm, lr: float, seed: int,
                      train_split: str = "train", draw: int | None = None) -> Path:
    """``checkpoints/faces_<p>/<family>-<hash of the arm's settings>_e<E>_lr<lr>_s<seed>``,
    ``_<train_split>`` appended unless it is "train", then :func:`data_tag`; the hash
    also covers the source's ``checkpoint_data`` (``full``: backbone weights, window
    length, image size, videos)."""
    cfg = {k: v for k, v in arm.describe().items() if k != "arm"}
    if (data := src.checkpoint_data(train_split)) is not None:
        cfg["data"] = data
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:8]
    tag = ("" if train_split == "train" else f"_{train_split}") + data_tag(src.settings, draw)
    s = src.settings
    return Path(out_dir) / "checkpoints" / f"faces_{s.profile}" / \
        f"{lr_family(arm)}-{key}_e{s.recipe_at(lr).epochs}_lr{lr:g}_s{seed}{tag}"


def train_arm(arm: Arm, src: FaceSource, lr: float, seed: int, eval_set, ckpt: Path,
              resume: bool, curves: bool = False, train_split: str = "train",
              draw: int | None = None):
    """``run_arm`` on the face task: ``src.data(train_split, draw)``, ``landmark_loss``,
    base lr ``lr``; a checkpoint finished in this context is reused even without
    ``resume``."""
    s, trained = src.settings, src.context.trained
    out = run_arm(arm, src.backbone(), src.data(train_split, draw), eval_set, s.recipe_at(lr),
                  seed, face_loss, face_eval, batch_size=s.batch_size, cached=s.cache_trunk,
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
    (trained on ``src.grid_train_split`` of the fixed training set, scored on the
    "validation" split, first seed), growing a family's grid beyond an edge its choice
    sits at by up to ``lr_extend`` steps each way (:func:`next_lr`); returns
    ``{family: chosen lr}`` and the grid rows of these families (every rate tried) with
    a ``chosen`` column (and ``at_edge``, with ``lr_extend``: whether the family's
    choice is still at an edge of its rates). A one-value grid is not run (nothing to
    choose): its rows say "not tuned"."""
    s = src.settings
    fams = {lr_family(a): family_arm(a, s.matched_hidden) for a in arms}
    if len(s.lrs) == 1:
        return _not_tuned(fams, s)
    path = result_path(out_dir, "face_lr", s.profile, "runs")
    seed, split = s.seeds[0], src.grid_train_split
    val = src.data("validation")  # never the test set

    def run(fam: str, rep: Arm, lr: float) -> None:
        if _grid_done(path, fam, lr, seed):
            return
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

    tried: dict[str, list[float]] = {}
    for fam, rep in fams.items():
        tried[fam] = list(s.lrs)
        for lr in s.lrs:
            run(fam, rep, lr)
        while len(tried[fam]) < len(s.lrs) + 2 * s.lr_extend and (lr := next_lr(
                _family_rows(read_results_csv(path), fam, seed, tried[fam]), s.lrs,
                s.lr_extend)) is not None:
            if not _grid_done(path, fam, lr, seed):
                print(f"  lr grid of {fam}: chosen at an edge, trying {lr:g}", flush=True)
            tried[fam].append(lr)
            run(fam, rep, lr)
    grid = read_results_csv(path)
    keep = pd.Series(False, index=grid.index)
    for fam, lrs in tried.items():
        keep |= _family_rows(grid, fam, seed, lrs, mask=True)
    grid = grid[keep]
    chosen = {f: choose_lr(g) for f, g in grid.groupby("lr_family", sort=False)}
    grid = grid.assign(chosen=[chosen[f] == lr for f, lr in zip(grid["lr_family"],
                                                                 grid["base_lr"], strict=True)])
    if s.lr_extend:
        edge = {f: lr_edge(g) is not None for f, g in grid.groupby("lr_family", sort=False)}
        order = {f: i for i, f in enumerate(fams)}
        grid = grid.assign(at_edge=grid["lr_family"].map(edge),
                           _order=grid["lr_family"].map(order))
        grid = grid.sort_values(["_order", "base_lr"], kind="stable").drop(columns="_order")
    return chosen, grid.reset_index(drop=True)


def lr_edge(rows: pd.DataFrame) -> str | None:
    """Where :func:`choose_lr`'s choice sits among the rates of ``rows`` (one family):
    "low" (the smallest; also when every rate diverged), "high" (the largest) or
    ``None`` (inside: a rate on each side was tried).

    >>> rows = pd.DataFrame({"base_lr": [1e-3, 1e-2, 1e-1], "nme": [0.3, 0.2, 0.25]})
    >>> lr_edge(rows), lr_edge(rows.iloc[:2]), lr_edge(rows.iloc[1:])
    (None, 'high', 'low')
    """
    lrs = rows["base_lr"]
    try:
        chosen = choose_lr(rows)
    except FloatingPointError:
        return "low"
    return "low" if _same(chosen, lrs.min()) else "high" if _same(chosen, lrs.max()) else None


def next_lr(rows: pd.DataFrame, grid: Sequence[float], extend: int) -> float | None:
    """The next rate to try for a family whose grid runs so far are ``rows``: one step
    beyond the edge its choice sits at (:func:`lr_edge`), by the ratio of the fixed
    ``grid``'s two rates at that edge, unless ``extend`` steps were already added on
    that side; ``None`` when the choice is inside or the steps are spent.

    >>> grid = (1e-4, 1e-3, 1e-2)
    >>> rows = pd.DataFrame({"base_lr": list(grid), "nme": [0.3, 0.25, 0.2]})
    >>> next_lr(rows, grid, 2), next_lr(rows, grid, 0)
    (0.1, None)
    >>> more = pd.concat([rows, pd.DataFrame({"base_lr": [0.1, 1.0], "nme": [0.19, 0.18]})])
    >>> next_lr(more, grid, 2) is None  # two steps up taken: the choice stays at 1.0
    True
    >>> next_lr(rows.assign(nme=[0.2, 0.25, 0.3]), grid, 1)
    1e-05
    """
    low, high = sorted(grid)[:2], sorted(grid)[-2:]
    edge = lr_edge(rows)
    if edge is None:
        return None
    lrs = rows["base_lr"]
    if edge == "low":
        added, lr = lrs[lrs < low[0] * (1 - 1e-6)].nunique(), lrs.min() * low[0] / low[1]
    else:
        added, lr = lrs[lrs > high[1] * (1 + 1e-6)].nunique(), lrs.max() * high[1] / high[0]
    return None if added >= extend else float(f"{lr:.6g}")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= abs(b) * 1e-6


def _family_rows(grid: pd.DataFrame, fam: str, seed: int, lrs: Sequence[float],
                 mask: bool = False) -> pd.DataFrame | pd.Series:
    """The grid runs of ``fam`` with ``seed`` at any of ``lrs`` (or their mask)."""
    keep = ((grid["lr_family"] == fam) & (grid["seed"] == seed)
            & (grid["status"] != "not tuned")
            & grid["base_lr"].apply(lambda v: any(_same(v, lr) for lr in lrs)))
    return keep if mask else grid[keep]


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
    first seed first), each seed on its training draw (``FaceSettings.train_draw``; with
    ``seed_draws_data`` its rows say so in ``train_data``), tested on the one test set.
    ``after(arm, seed, model, hist)`` returns extra row fields for the arm's row (a
    dict) and may write files of its own; the frame arm also writes the reference rows
    (the mean shape of the seed's training draw). ``own_checkpoints``: checkpoints under
    ``checkpoints/<name>_<p>/<arm>_e<E>_lr<lr>_s<seed>`` (+ :func:`data_tag`) instead of
    the shared ones (``init``: its runs record curves). A run that diverges is kept as a
    row (``status`` "diverged"), not hidden. Returns the runs of ``seeds``.
    """
    s = src.settings
    runs_path = result_path(out_dir, name, s.profile, "runs")
    lrs, grid = tune_lrs(arms, src, out_dir)
    write_table(grid, out_dir, name, s.profile, "lr")
    test = src.data("test")
    drawn = {"train_data": "drawn with the seed"} if s.seed_draws_data else {}

    def run_one(arm: Arm, seed: int) -> list[dict]:
        lr, draw = lrs[lr_family(arm)], s.train_draw(seed)
        ckpt = (Path(out_dir) / "checkpoints" / f"{name}_{s.profile}" /
                f"{arm.name}_e{s.recipe_at(lr).epochs}_lr{lr:g}_s{seed}{data_tag(s, draw)}"
                if own_checkpoints else shared_checkpoint(out_dir, src, arm, lr, seed,
                                                          draw=draw))
        base = {**arm.describe(), "seed": seed, "lr_family": lr_family(arm), "base_lr": lr}
        try:
            model, metrics, hist = train_arm(arm, src, lr, seed, test, ckpt, resume,
                                             curves=own_checkpoints, draw=draw)
        except FloatingPointError as err:  # kept as a result, not hidden
            print(f"  {arm.name} seed {seed} diverged: {err}", flush=True)
            return [{**base, "nme": float("nan"), "status": "diverged", **drawn}]
        print(f"  {arm.name:<28} seed {seed}: lr {lr:g} nme {metrics['nme']:.4f} "
              f"({metrics['seconds']:.1f} s)", flush=True)
        row = {**base, **metrics, "epoch_scale": s.recipe_at(lr).epoch_scale, "status": "ok",
               **(after(arm, seed, model, hist) if after else {}), **drawn}
        extra = (references(model, test, src.data("train_plain", draw), s.eval_batch_size,
                            s.num_workers) if arm.kind == "frame" else [])
        return [row] + [{**r, "seed": seed, **drawn} for r in extra]

    def one_seed_only(arm: Arm, seed: int) -> bool:  # the costly sizes: first seed only
        return (arm.kind == "traditional" and arm.hidden_size in s.one_seed_sizes
                and seed != seeds[0])

    return run_arms(arms, seeds, runs_path, resume, run_one, seeds_outer=True,
                    skip=one_seed_only)
