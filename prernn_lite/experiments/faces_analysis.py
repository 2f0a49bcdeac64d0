"""Initialisation and gating on the face stand-in (the book's chapters 4 and 5).

Same data, backbone, recipe, loss and lr rule as ``faces`` (``faces_common``,
``faces_lr``; every ``full``-profile choice, VGG16 on 300VW, is in ``faces_full``; there
the curves and gate records run on the trained model's device, in batches of the training
size); every arm is a PreRNN on fc6+fc7 unless said otherwise. Random-``W_xy`` arms are
families of their own (``lstm-gate-copy-random``, ...), tuned like the pre-trained ones.

- ``init``: pre-trained vs random ``W_xy`` (the paper's Table 3 ablation) for each cell,
  crossed with how the other gates start: copies of ``W_xy`` (the paper's supplementary)
  or zero input weights with biased gates (the cell starts as the pre-trained layer);
  and SIH with biased gates (``other_init="zeros"``: its start). The test loss and NME
  are recorded before training (epoch 0) and after every epoch: ``init_<p>_curves.csv``
  (columns ``arm, seed, epoch, lr, train_loss, loss, nme, nme_hard``; ``lr`` and
  ``train_loss`` are those of the epoch just trained).
- ``gating``: 1-layer (fc7) and 2-layer (fc6+fc7) PreLSTM/PreGRU, pre-trained vs random
  ``W_xy``; after training, each sigmoid gate unit's saturation on the test set
  (``gates.saturation``: fraction of steps < 0.1 and > 0.9) goes to
  ``gating_<p>_saturation.csv`` for the first seed (``arm, seed, layer, gate, unit,
  left, right``; 3 decimals), and its means over units to the runs CSV for every seed.

- ``face_lr``: the lr grid of every family of the four face experiments (validation
  sequences, first seed; ``faces_lr``): ``face_lr_<p>_summary.csv`` marks the
  ``chosen`` lr of each family. Running it first lets the others reuse its runs.

Paper side by side (``init_<p>_paper.csv``): Table 3 (UCF101 two-stream accuracy, higher
is better) against our NME (lower is better): only orderings compare.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from ..gates import saturation
from ..paper import paper_tables
from ..train import seed_everything
from .common import (
    Arm,
    FeatureModel,
    append_row,
    build_model,
    read_results_csv,
    register,
    result_path,
    summarize,
    write_results,
)
from .faces import run_arms, table1_arms, table2_arms
from .faces_common import FaceSettings, backbone_for, eval_batch_size, face_data, face_eval
from .faces_lr import choose_lr, tune_lrs  # noqa: F401  (choose_lr re-exported)

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


def _curves(settings: FaceSettings, out_dir: Path):
    path = result_path(out_dir, "init", settings.profile, "curves")
    loader = _test_loader(settings)

    def after(arm: Arm, seed: int, model, hist) -> list:
        seed_everything(seed)  # run_arm's start: the same seed gives the same weights
        start = build_model(arm, backbone_for(settings), freeze_trunk=settings.cache_trunk)
        start = FeatureModel(start) if settings.cache_trunk else start
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
        return []
    return path, after


@register("init", FaceSettings.for_profile)
def init(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Pre-trained vs random W_xy, copied vs zero-started gates, SIH; with curves."""
    path, after = _curves(settings, out_dir)
    if not resume and path.is_file():
        path.unlink()
    runs = run_arms("init", init_arms(settings), settings, seeds, out_dir, resume, after)
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
    paper["ours_metric"] = ("NME on 300VW test videos" if settings.profile == "full" else
                            "NME on the face stand-in") + " (lower is better)"
    write_results(runs, "init", settings.profile, out_dir, paper)
    return runs


def _test_loader(settings: FaceSettings) -> torch.utils.data.DataLoader:
    """The test split in order, in evaluation batches."""
    return torch.utils.data.DataLoader(face_data(settings, "test"),
                                       batch_size=eval_batch_size(settings),
                                       num_workers=settings.num_workers)


def gating_arms(settings: FaceSettings) -> list[Arm]:
    return [Arm(f"{cell}-{'+'.join(layers)}-{init}", cell=cell, layers=layers, init=init)
            for cell in settings.cells if cell != "vrnn"
            for layers in (("fc7",), ("fc6", "fc7")) for init in INITS]


@register("gating", FaceSettings.for_profile)
def gating(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Gate saturation of PreLSTM/PreGRU (1 and 2 layers, pre-trained vs random W_xy)."""
    path = result_path(out_dir, "gating", settings.profile, "saturation")
    runs_path = result_path(out_dir, "gating", settings.profile, "runs")
    if not resume and path.is_file():
        path.unlink()
    loader = _test_loader(settings)
    first = min(seeds)

    def after(arm: Arm, seed: int, model, hist) -> list:
        acts: dict = {}
        device = next(model.parameters()).device
        with torch.no_grad():
            for b in loader:
                _, gates = model.eval()(b["x"].to(device), return_gates=True)
                for layer, g in gates.items():
                    for letter, a in g.items():
                        acts.setdefault(layer, {}).setdefault(letter, []).append(a.cpu())
        acts = {la: {g: torch.cat(v, 1) for g, v in d.items()} for la, d in acts.items()}
        table = saturation(acts).round(3)
        if seed == first:
            table.insert(0, "seed", seed)
            table.insert(0, "arm", arm.name)
            table.to_csv(path, mode="a", header=not path.is_file(), index=False)
        runs = read_results_csv(runs_path)  # add the means over units to this arm's row
        sel = (runs["arm"] == arm.name) & (runs["seed"] == seed)
        runs.loc[sel, "sat_left"] = table["left"].mean()
        runs.loc[sel, "sat_right"] = table["right"].mean()
        runs.to_csv(runs_path, index=False, float_format="%.6g")
        return []

    runs = run_arms("gating", gating_arms(settings), settings, seeds, out_dir, resume, after)
    write_results(runs, "gating", settings.profile, out_dir)
    return runs


@register("face_lr", FaceSettings.for_profile)
def face_lr(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """The lr grid of every face arm family, on validation sequences (``faces_lr``)."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    settings = settings if not seeds else replace(settings, seeds=tuple(seeds))
    path = result_path(out_dir, "face_lr", settings.profile, "runs")
    if not resume and path.is_file():
        path.unlink()
    arms = (table1_arms(settings) + table2_arms(settings) + init_arms(settings)
            + gating_arms(settings))
    _, grid = tune_lrs(arms, settings, out_dir, resume)
    runs = read_results_csv(path) if path.is_file() else grid.drop(columns="chosen")
    write_results(runs, "face_lr", settings.profile, out_dir)
    grid.to_csv(result_path(out_dir, "face_lr", settings.profile, "summary"), index=False,
                float_format="%.6g")
    return runs
