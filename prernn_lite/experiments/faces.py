"""Sequential face alignment: the paper's Tables 1 and 2, on the face stand-in or 300VW.

Settings, data, loss (the paper's: summed Euclidean landmark distance), metrics (NME),
references (mean shape, causal, interpolation) are in ``faces_common``; the lr rule (a
fixed grid per arm family, chosen on validation sequences) and the runs shared between
experiments are in ``faces_lr``; both are re-exported here.

In ``ci``/``lite`` the trunk is frozen and its features cached (``common``); fc6, fc7,
the recurrent layers and the head are fine-tuned, on one CPU thread (these small models
run several times faster on one thread than on two busy ones). No augmentation in ``ci``/``lite``
(cached features cannot be augmented).

``full`` (``--data-root ROOT``) runs torchvision's VGG16 on 300VW, fine-tuned end to end
on a GPU; its data, backbone and every choice are in ``faces_full``.

- ``table1``: traditional VRNN/LSTM/GRU (2 layers on fc7) over hidden sizes fc/16 .. 2fc
  (``hidden_sizes``: lite 16 .. 512; full 256, 512, 1024, 2048, 4096 = the paper's
  columns, and 8192 = 2 fc) and the parameter-matched size (``matched_hidden``: lite
  from LiteCNN2d's fc6/fc7; full VGG16's, LSTM 5762, GRU 5499, VRNN 2731 where the
  paper prints 5761, 5497, 2740), vs PreRNN on fc6+fc7 (other gates: copies of W_xy, the
  paper; and zero-started gates, the alternative). The sweep sizes use the lr chosen for
  the matched size; in ``lite`` the largest size (512 = 2 fc) runs with the first seed
  only (``one_seed_sizes``: it costs as much as the rest of its cell's sweep; in ``full``
  every seed runs every size).
- ``table2``: PreRNN on fc6 / fc7 / fc6+fc7 / fc6+fc7 + a random third layer (all with
  the lr of the fc6+fc7 PreRNN of their cell).
- ``init`` and ``gating`` live in ``faces_analysis``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..paper import paper_tables
from .common import (
    CELLS,
    Arm,
    append_row,
    done_runs,
    read_results_csv,
    register,
    result_path,
    run_arm,
    summarize,
    write_results,
)
from .faces_common import (  # noqa: F401  (re-exported: the face API lives here too)
    CONDITIONS,
    FaceSettings,
    backbone_for,
    eval_batch_size,
    face_data,
    face_eval,
    face_loss,
    landmark_loss,
    lite_matched,
    matched_hidden,
    mean_shape,
    nme_by_condition,
    predict,
    references,
    validation_label,
)
from .faces_lr import lr_family, shared_checkpoint, train_arm, tune_lrs


# --- running arms -----------------------------------------------------------------------
def run_arms(name: str, arms: list[Arm], settings: FaceSettings, seeds, out_dir: Path,
             resume: bool, after=None) -> pd.DataFrame:
    """Choose each family's lr (``tune_lrs``; grid rows to ``<name>_<p>_lr.csv``), then
    train every arm x seed not yet in the runs CSV; ``after(arm, seed, model, hist)`` may
    return extra rows (dicts) to append. Returns the runs table."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    runs_path = result_path(out_dir, name, settings.profile, "runs")
    done = done_runs(runs_path, resume)
    finished = set(zip(done["arm"].astype(str), done["seed"].astype(int), strict=True))
    lrs, grid = tune_lrs(arms, settings, out_dir)
    Path(out_dir).mkdir(parents=True, exist_ok=True)  # a one-lr grid has written nothing
    grid.to_csv(result_path(out_dir, name, settings.profile, "lr"), index=False,
                float_format="%.6g")
    train, test = face_data(settings, "train_plain"), face_data(settings, "test")
    for seed in seeds:
        for arm in arms:
            if (arm.name, seed) in finished or (
                    arm.kind == "traditional" and arm.hidden_size in settings.one_seed_sizes
                    and seed != seeds[0]):
                continue
            lr, recipe = lrs[lr_family(arm)], settings.recipe_at(lrs[lr_family(arm)])
            ckpt = (Path(out_dir) / "checkpoints" / f"{name}_{settings.profile}" /
                    f"{arm.name}_s{seed}") if name == "init" else \
                shared_checkpoint(out_dir, settings, arm, lr, seed)
            base = {**arm.describe(), "seed": seed, "lr_family": lr_family(arm),
                    "base_lr": lr}
            try:
                model, metrics, hist = train_arm(arm, settings, lr, seed, test, ckpt, resume,
                                                 curves=name == "init", runner=run_arm)
            except FloatingPointError as err:  # kept as a result, not hidden
                print(f"  {arm.name} seed {seed} diverged: {err}", flush=True)
                append_row(runs_path, {**base, "nme": float("nan"), "status": "diverged"})
                continue
            append_row(runs_path, {**base, **metrics, "epoch_scale": recipe.epoch_scale,
                                   "status": "ok"})
            print(f"  {arm.name:<28} seed {seed}: lr {lr:g} nme {metrics['nme']:.4f} "
                  f"({metrics['seconds']:.1f} s)", flush=True)
            extra = list(after(arm, seed, model, hist) if after else [])
            if arm.kind == "frame":
                extra += references(model, test, train, eval_batch_size(settings),
                                    settings.num_workers)
            for r in extra:
                if "arm" in r and "seed" not in r:
                    append_row(runs_path, {**r, "seed": seed})
    return read_results_csv(runs_path)


def hidden_sizes(settings: FaceSettings, fc: int | None = None) -> list[int]:
    """Table 1's traditional sweep: ``hidden_ratios`` x fc (default: the profile's fc7
    size, ``FaceSettings.fc_size``): lite 16 .. 512, full (VGG16) 256 .. 8192.

    >>> hidden_sizes(FaceSettings.for_profile("full"))
    [256, 512, 1024, 2048, 4096, 8192]
    """
    fc = settings.fc_size if fc is None else fc
    return [max(1, round(r * fc)) for r in settings.hidden_ratios]


def table1_arms(settings: FaceSettings) -> list[Arm]:
    arms = [Arm("frame", "frame")]
    for cell in settings.cells:
        for h in hidden_sizes(settings):
            arms.append(Arm(f"{cell}-trad-{h}", "traditional", cell, hidden_size=h))
        arms.append(Arm(f"{cell}-trad-matched", "traditional", cell,
                        hidden_size=matched_hidden(settings, cell)[0]))
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


def ours_metric(settings: FaceSettings) -> str:
    """What our side of a paper table measures."""
    return "NME on 300VW test videos (VGG16)" if settings.profile == "full" else \
        "NME on the face stand-in (lite CNN)"


def side_by_side(summary: pd.DataFrame, table: str, columns: dict[str, str | None],
                 reference: str, metric: str = "NME on the face stand-in (lite CNN)"
                 ) -> pd.DataFrame:
    """Paper's numbers next to ours: ``columns`` maps a paper column to our arm suffix.

    ``*_rel`` divides by the ``reference`` column of the same cell (orderings and relative
    gaps are comparable across scales; absolute values are not). ``metric`` names ours.
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
    out["ours_metric"] = metric
    return out


@register("table1", FaceSettings.for_profile)
def table1(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Table 1: traditional RNNs over hidden sizes vs PreRNN (fc6+fc7)."""
    runs = run_arms("table1", table1_arms(settings), settings, seeds, out_dir, resume)
    summary = summarize(runs)
    fc = settings.fc_size  # the paper's columns are VGG16's fc/16 .. fc (256 .. 4096)
    ratio = {"256": 1 / 16, "512": 1 / 8, "1024": 1 / 4, "2048": 1 / 2, "4096": 1, "2x fc": 2}
    cols = {c: (f"trad-{round(r * fc)}" if r in settings.hidden_ratios else None)
            for c, r in ratio.items()}
    cols.update({"similar": "trad-matched", "prernn": "prernn", "prernn (zero gates)":
                 "prernn-zeros"})
    write_results(runs, "table1", settings.profile, out_dir,
                  side_by_side(summary, "table1_300vw_test_loss_2_layers", cols, "prernn",
                               ours_metric(settings)))
    return runs


@register("table2", FaceSettings.for_profile)
def table2(settings: FaceSettings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Table 2: which layers to make recurrent, and a random third layer."""
    runs = run_arms("table2", table2_arms(settings), settings, seeds, out_dir, resume)
    cols = {"fc6": "fc6", "fc7": "fc7", "fc6/7": "fc6+fc7", "fc6/7+random": "fc6+fc7+random"}
    write_results(runs, "table2", settings.profile, out_dir,
                  side_by_side(summarize(runs), "table2_300vw_test_loss_hierarchy", cols,
                               "fc6/7", ours_metric(settings)))
    return runs
