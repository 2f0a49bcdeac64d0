"""Initialisation and gating on the face task (the book's chapters 4 and 5), and the
shared lr grid.

Same data, backbone, recipe, loss and lr rule as ``tables.py`` (``common``, ``lr``;
every ``full``-profile choice, VGG16 on 300VW, is in ``full.py``; there the curves and
gate records run on the trained model's device, in batches of the training size); every
arm is a PreRNN on fc6+fc7 unless said otherwise. Random-``W_xy`` arms are families of
their own (``lstm-gate-copy-random``, ...), tuned like the pre-trained ones.

- ``init``: pre-trained vs random ``W_xy`` (the paper's Table 3 ablation) for each cell,
  crossed with how the other gates start: copies of ``W_xy`` (the paper's supplementary)
  or zero input weights with biased gates (the cell starts as the pre-trained layer);
  and SIH with biased gates (``other_init="zeros"``: its start). The test loss and NME
  are recorded before training (epoch 0) and after every epoch: ``init_<p>_curves.csv``
  (columns ``arm, seed, epoch, lr, train_loss, loss, nme, nme_hard``; ``lr`` and
  ``train_loss`` are those of the epoch just trained).
- ``gating``: 1-layer (fc7) and 2-layer (fc6+fc7) PreLSTM/PreGRU, pre-trained vs random
  ``W_xy``, and (``FaceSettings.gating_traditional``) the parameter-matched traditional
  2-layer LSTM/GRU on fc7 (``lstm-trad-matched``, as in Table 1), all trained for
  ``FaceSettings.gating_epoch_scale`` of the face recipe (lite: the paper's 30 epochs;
  each family's lr from the shared grid, tuned at ``epoch_scale``); after training, each
  sigmoid gate unit's saturation on the test set (``gates.saturation``: fraction of
  steps < 0.1 and > 0.9) goes to ``gating_<p>_saturation.csv`` for the first seed
  (``arm, seed, layer, gate, unit, left, right``; 3 decimals), and for every seed the
  runs CSV gets its means over units (``sat_left``, ``sat_right``) and the unit counts
  (``gates.saturated_units``): ``units``, ``sat_units_left`` / ``sat_units_right``
  (saturated on more than ``gating_min_fraction`` of the steps) and ``sat_units_ever``
  (saturated at least once).
- ``face_lr``: the lr grid of every family of the four face experiments (validation
  sequences, first seed; ``lr.py``; grown beyond an edge with ``lr_extend``):
  ``face_lr_<p>_summary.csv`` marks the ``chosen`` lr of each family (and, with
  ``lr_extend``, ``at_edge``: whether it is still at an edge of the rates tried).
  Running it first lets the others reuse its runs.

Paper side by side (``init_<p>_paper.csv``): Table 3 (UCF101 two-stream accuracy, higher
is better) against our NME (lower is better): only orderings compare.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from ...backbones import FeatureModel
from ...gates import saturated_units, saturation
from ...paper import paper_tables
from ...train import seed_everything
from ..arms import Arm, build_model
from ..registry import register
from ..results import (
    append_row,
    read_results_csv,
    result_path,
    summarize,
    write_results,
    write_table,
)
from .common import FaceSettings, FaceSource, face_eval
from .lr import run_face_arms, tune_lrs
from .source import face_source
from .tables import table1_arms, table2_arms

INITS = ("pretrained", "random")


def init_arms(settings: FaceSettings) -> list[Arm]:
    arms = [Arm("frame", "frame")]
    for cell in settings.cells:
        for init in INITS:
            if cell == "vrnn":
                arms.append(Arm(f"vrnn-{init}", cell=cell, init=init))
                continue
            arms += [Arm(f"{cell}-gate-copy-{init}", cell=cell, init=init),
                     Arm(f"{cell}-gate-zeros-{init}", cell=cell, init=init, other_init="zeros"),
                     Arm(f"{cell}-sih-zeros-{init}", cell=cell, mode="sih", init=init,
                         other_init="zeros")]
    return arms


def gating_arms(settings: FaceSettings) -> list[Arm]:
    """Per gated cell: the Pre cell on fc7 and on fc6+fc7, pre-trained and random
    ``W_xy``, then (``gating_traditional``) the matched traditional RNN."""
    arms = []
    for cell in settings.cells:
        if cell == "vrnn":  # no gates
            continue
        arms += [Arm(f"{cell}-{'+'.join(layers)}-{init}", cell=cell, layers=layers,
                     init=init) for layers in (("fc7",), ("fc6", "fc7")) for init in INITS]
        if settings.gating_traditional:
            arms.append(Arm(f"{cell}-trad-matched", "traditional", cell,
                            hidden_size=settings.matched_hidden(cell)))
    return arms


def gating_settings(settings: FaceSettings) -> FaceSettings:
    """``settings`` with the gating arms' epochs: ``epoch_scale`` = ``gating_epoch_scale``
    (unless ``None``).

    >>> gating_settings(FaceSettings()).recipe.epochs, FaceSettings().recipe.epochs
    (30, 8)
    """
    if settings.gating_epoch_scale is None:
        return settings
    return replace(settings, epoch_scale=settings.gating_epoch_scale)


def _test_loader(src: FaceSource) -> torch.utils.data.DataLoader:
    """The test split in order, in evaluation batches."""
    s = src.settings
    return torch.utils.data.DataLoader(src.data("test"), batch_size=s.eval_batch_size,
                                       num_workers=s.num_workers)


def _record_curves(src: FaceSource, path: Path):
    """An ``after`` hook that appends each run's epoch-0 and per-epoch test curves."""
    s, loader = src.settings, _test_loader(src)

    def after(arm: Arm, seed: int, model, hist) -> dict:
        seed_everything(seed)  # run_arm's start: the same seed gives the same weights
        start = build_model(arm, src.backbone(), freeze_trunk=s.cache_trunk)
        start = FeatureModel(start) if s.cache_trunk else start
        with torch.no_grad():  # on the trained model's device
            m0 = face_eval(start.to(next(model.parameters()).device).eval(), loader)
        del start
        rows = [{"epoch": 0, "lr": float("nan"), "train_loss": float("nan"), **m0}]
        rows += [{"epoch": e + 1, "lr": hist.lr[e], "train_loss": hist.train_loss[e],
                  **hist.val[e]} for e in range(hist.epochs_done)]
        for r in rows:
            append_row(path, {"arm": arm.name, "seed": seed, "epoch": r["epoch"],
                              "lr": r["lr"], "train_loss": r["train_loss"], "loss": r["loss"],
                              "nme": r["nme"], "nme_hard": r["nme_hard"]})
        return {}
    return after


@register("init", FaceSettings)
def init(settings: FaceSettings, seeds, out_dir: Path, resume: bool, context=None
         ) -> pd.DataFrame:
    """Pre-trained vs random W_xy, copied vs zero-started gates, SIH; with curves."""
    src = face_source(settings, context)
    path = result_path(out_dir, "init", settings.profile, "curves")
    if not resume and path.is_file():
        path.unlink()
    runs = run_face_arms("init", init_arms(settings), src, seeds, out_dir, resume,
                         after=_record_curves(src, path), own_checkpoints=True)
    summary = summarize(runs).set_index("arm")
    t3 = paper_tables()["table3_ucf101_split1_two_stream_accuracy"]
    rows = []
    for cell in settings.cells:
        for col, (mode, init_) in {"prernn_pretrained": ("gate", "pretrained"),
                                   "prernn_random": ("gate", "random"),
                                   "sih_pretrained": ("sih", "pretrained"),
                                   "sih_random": ("sih", "random")}.items():
            for other in ("copy", "zeros"):
                arm = f"vrnn-{init_}" if cell == "vrnn" else f"{cell}-{mode}-{other}-{init_}"
                if arm not in summary.index or (cell == "vrnn" and (other == "zeros"
                                                                    or mode == "sih")):
                    continue
                rows.append({"cell": cell, "paper_column": col,
                             "paper_accuracy": t3[cell][t3["columns"].index(col)],
                             "arm": arm, "other_init": other if cell != "vrnn" else "",
                             "nme_mean": summary.at[arm, "nme_mean"],
                             "nme_std": summary.at[arm, "nme_std"], "n": summary.at[arm, "n"]})
    paper = pd.DataFrame(rows)
    paper["paper_metric"] = "UCF101 split 1 two-stream accuracy (higher is better)"
    paper["ours_metric"] = f"NME on {src.test_data} (lower is better)"
    write_results(runs, "init", settings.profile, out_dir, paper)
    return runs


def _record_saturation(src: FaceSource, path: Path, first_seed: int):
    """An ``after`` hook: each gate unit's saturation on the test set (first seed to
    ``path``), its means over units as the run's ``sat_left``/``sat_right`` and the unit
    counts of ``gates.saturated_units`` (``units``, ``sat_units_left``/``_right`` above
    ``gating_min_fraction``, ``sat_units_ever`` above 0)."""
    loader, min_fraction = _test_loader(src), src.settings.gating_min_fraction

    def after(arm: Arm, seed: int, model, hist) -> dict:
        acts: dict = {}
        device = next(model.parameters()).device
        with torch.no_grad():
            for b in loader:
                _, gates = model.eval()(b["x"].to(device), return_gates=True)
                for layer, g in gates.items():
                    for letter, a in g.items():
                        acts.setdefault(layer, {}).setdefault(letter, []).append(a.cpu())
        acts = {la: {g: torch.cat(v, 1) for g, v in d.items()} for la, d in acts.items()}
        table = saturation(acts)  # means and counts from the unrounded fractions
        if seed == first_seed:
            units = table.round(3)
            units.insert(0, "seed", seed)
            units.insert(0, "arm", arm.name)
            units.to_csv(path, mode="a", header=not path.is_file(), index=False)
        counts = saturated_units(table, min_fraction, by=()).iloc[0]
        ever = saturated_units(table, 0.0, by=()).iloc[0]
        return {"sat_left": table["left"].mean(), "sat_right": table["right"].mean(),
                "units": int(counts["units"]), "sat_units_left": int(counts["left"]),
                "sat_units_right": int(counts["right"]),
                "sat_units_ever": int(ever["either"])}
    return after


@register("gating", FaceSettings)
def gating(settings: FaceSettings, seeds, out_dir: Path, resume: bool, context=None
           ) -> pd.DataFrame:
    """Gate saturation of PreLSTM/PreGRU (1 and 2 layers, pre-trained vs random W_xy)
    and of the matched traditional LSTM/GRU, trained for ``gating_epoch_scale``; the
    first ``gating_seeds`` of ``seeds``."""
    seeds = tuple(seeds)[:settings.gating_seeds]  # [:None]: all
    arms = gating_arms(settings)
    # every family's lr on the shared grid, at the other experiments' epochs: a grid row
    # missing here is trained with those epochs, never with the gating arms' own
    tune_lrs(arms, face_source(settings, context), out_dir)
    src = face_source(gating_settings(settings), context)
    path = result_path(out_dir, "gating", settings.profile, "saturation")
    if not resume and path.is_file():
        path.unlink()
    runs = run_face_arms("gating", arms, src, seeds, out_dir, resume,
                         after=_record_saturation(src, path, min(seeds)))
    write_results(runs, "gating", settings.profile, out_dir)
    return runs


@register("face_lr", FaceSettings)
def face_lr(settings: FaceSettings, seeds, out_dir: Path, resume: bool, context=None
            ) -> pd.DataFrame:
    """The lr grid of every face arm family, on validation sequences (``lr.py``)."""
    settings = settings if not seeds else replace(settings, seeds=tuple(seeds))
    src = face_source(settings, context)
    path = result_path(out_dir, "face_lr", settings.profile, "runs")
    if not resume and path.is_file():
        path.unlink()
    arms = (table1_arms(settings) + table2_arms(settings) + init_arms(settings)
            + gating_arms(settings))
    _, grid = tune_lrs(arms, src, out_dir, resume)
    runs = read_results_csv(path) if path.is_file() else grid.drop(columns="chosen")
    write_results(runs, "face_lr", settings.profile, out_dir)
    write_table(grid, out_dir, "face_lr", settings.profile, "summary")
    return runs
