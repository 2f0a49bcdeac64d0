"""Sequential face alignment: the paper's Tables 1 and 2, on the face stand-in or 300VW.

Every face experiment starts the same way: ``source.face_source(settings, context)``
picks the data and backbone once (``lite.py``: the stand-in and the lite CNN, trunk
features cached, fc6, fc7, the recurrent layers and the head fine-tuned on one CPU
thread; ``full.py``: VGG16 on 300VW, fine-tuned end to end on a GPU), then
``lr.run_face_arms`` chooses each arm family's lr on validation and trains every
arm x seed; the results go to ``<name>_<profile>_{runs,summary,paper,lr}.csv``.

- ``table1``: traditional VRNN/LSTM/GRU (2 layers on fc7) over hidden sizes fc/16 .. 2fc
  (:func:`hidden_sizes`: lite 16 .. 512; full 256, 512, 1024, 2048, 4096 = the paper's
  columns, and 8192 = 2 fc) and the parameter-matched size
  (``FaceSettings.matched_hidden``: lite from LiteCNN2d's fc6/fc7; full VGG16's, LSTM
  5762, GRU 5499, VRNN 2731 where the paper prints 5761, 5497, 2740), vs PreRNN on
  fc6+fc7 (other gates: copies of W_xy, the paper; and zero-started gates, the
  alternative). The sweep sizes use the lr chosen for the matched size; in ``lite`` the
  largest size (512 = 2 fc) runs with the first seed only (``one_seed_sizes``: it costs
  as much as the rest of its cell's sweep; in ``full`` every seed runs every size).
- ``table2``: PreRNN on fc6 / fc7 / fc6+fc7 / fc6+fc7 + a random third layer (all with
  the lr of the fc6+fc7 PreRNN of their cell and start), for each start of the other
  gates in ``FaceSettings.table2_other_inits``: copies of W_xy (the paper's; arms
  ``lstm-fc6``, ...) and, when asked, zero-started gates (``lstm-fc6-zeros``, ...,
  side by side as ``fc6 (zero gates)``, ...).
- ``init``, ``gating`` and ``face_lr`` are in ``analysis.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...paper import paper_tables
from ..arms import CELLS, Arm
from ..registry import register
from ..results import summarize, write_results
from .common import FaceSettings
from .lr import run_face_arms
from .source import face_source


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
                        hidden_size=settings.matched_hidden(cell)))
        arms.append(Arm(f"{cell}-prernn", "prernn", cell))
        if cell != "vrnn":
            arms.append(Arm(f"{cell}-prernn-zeros", "prernn", cell, other_init="zeros"))
    return arms


#: Table 2's hierarchies: arm suffix -> (layers made recurrent, extra random layers)
TABLE2_LAYERS = {"fc6": (("fc6",), 0), "fc7": (("fc7",), 0), "fc6+fc7": (("fc6", "fc7"), 0),
                 "fc6+fc7+random": (("fc6", "fc7"), 1)}


def table2_arms(settings: FaceSettings) -> list[Arm]:
    """The frame model, then per cell the four hierarchies of :data:`TABLE2_LAYERS` for
    each start of ``table2_other_inits`` ("copy": ``lstm-fc6``; "zeros":
    ``lstm-fc6-zeros``); VRNN, which has no other gates, once.

    >>> s = FaceSettings(cells=("vrnn", "gru"), table2_other_inits=("copy", "zeros"))
    >>> [a.name for a in table2_arms(s)][4:7], len(table2_arms(s))
    (['vrnn-fc6+fc7+random', 'gru-fc6', 'gru-fc7'], 13)
    """
    arms = [Arm("frame", "frame")]
    for cell in settings.cells:
        for other in ("copy",) if cell == "vrnn" else settings.table2_other_inits:
            tag = "" if other == "copy" else f"-{other}"
            arms += [Arm(f"{cell}-{suffix}{tag}", cell=cell, layers=layers,
                         extra_layers=extra, other_init=other)
                     for suffix, (layers, extra) in TABLE2_LAYERS.items()]
    return arms


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


@register("table1", FaceSettings)
def table1(settings: FaceSettings, seeds, out_dir: Path, resume: bool, context=None
           ) -> pd.DataFrame:
    """Table 1: traditional RNNs over hidden sizes vs PreRNN (fc6+fc7)."""
    src = face_source(settings, context)
    runs = run_face_arms("table1", table1_arms(settings), src, seeds, out_dir, resume)
    fc = settings.fc_size  # the paper's columns are VGG16's fc/16 .. fc (256 .. 4096)
    ratio = {"256": 1 / 16, "512": 1 / 8, "1024": 1 / 4, "2048": 1 / 2, "4096": 1, "2x fc": 2}
    cols = {c: (f"trad-{round(r * fc)}" if r in settings.hidden_ratios else None)
            for c, r in ratio.items()}
    cols.update({"similar": "trad-matched", "prernn": "prernn", "prernn (zero gates)":
                 "prernn-zeros"})
    write_results(runs, "table1", settings.profile, out_dir,
                  side_by_side(summarize(runs), "table1_300vw_test_loss_2_layers", cols,
                               "prernn", src.metric))
    return runs


@register("table2", FaceSettings)
def table2(settings: FaceSettings, seeds, out_dir: Path, resume: bool, context=None
           ) -> pd.DataFrame:
    """Table 2: which layers to make recurrent, and a random third layer."""
    src = face_source(settings, context)
    runs = run_face_arms("table2", table2_arms(settings), src, seeds, out_dir, resume)
    paper = {"fc6": "fc6", "fc7": "fc7", "fc6/7": "fc6+fc7", "fc6/7+random": "fc6+fc7+random"}
    cols = dict(paper)
    if "zeros" in settings.table2_other_inits:  # ours only, next to the paper's copies
        cols.update({f"{col} (zero gates)": f"{suffix}-zeros" for col, suffix in paper.items()})
    write_results(runs, "table2", settings.profile, out_dir,
                  side_by_side(summarize(runs), "table2_300vw_test_loss_hierarchy", cols,
                               "fc6/7", src.metric))
    return runs
