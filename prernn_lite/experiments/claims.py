"""The paper's claims, decided by the result files: experiment ``claims`` (trains nothing).

Each claim of the paper (Yang, Molchanov & Kautz, CVPR 2018) becomes a list of
comparisons of two arms ``a`` and ``b`` of the runs CSVs (``<name>_<profile>_runs.csv``),
oriented so that the claim says "``a`` beats ``b``" (:data:`CLAIMS`). A comparison is one
:func:`prernn_lite.stats.compare`: our means, the difference ``a − b`` with its 95 %
interval, and the stats verdict. Its **claim verdict** sets it against the paper's
ordering of the same two columns (``paper_order``; where the paper has no number for them,
the ordering the claim states): **agrees** when our interval lies wholly on the paper's
side of 0, **disagrees** when wholly on the other side, **cannot tell** when it holds 0
(or is NaN: one seed, a failed run). Claims 2b and 6 have rules of their own
(:data:`DIMINISHING`, :data:`SAME_MARGIN`). :func:`claims_summary` counts the verdicts per
claim, task and metric and names the weakest comparison (the headline). Read both tables
with ``load_results("claims", profile, "summary" | "comparisons")``.

**Pairing.** Arms are compared seed by seed (:func:`~prernn_lite.stats.paired_difference`)
when the two runs of a seed share that seed's data, else with Welch's interval. Within an
experiment they always do (one seed: one training draw, one data order for every arm), so
``compare`` pairs exactly when both arms hold the same seeds. Across the face experiments
(claim 4: ``init`` against ``table1``) seed ``s`` trains on the same data in both when
their rows say the same ``train_data``: "drawn with the seed" in both
(``FaceSettings.seed_draws_data``: seed ``s`` trains on draw ``s`` in every experiment), or
the column absent or empty in both (every seed on ``data_seed``'s one draw). A mix (one
file re-run with its own draws, the other not) is compared unpaired.

A claim whose experiment has not been run is reported as ``not run``; an arm missing from
a file (e.g. Table 2's ``*-zeros`` arms, Table 1's ``-zeros`` PreRNNs) gives no comparison.

>>> _claim_verdict(">", "a")   # our interval above 0 where the paper says a beats b
'agrees'
>>> _claim_verdict("<", "a"), _claim_verdict("=", "b"), _claim_verdict("<", "b")
('disagrees', 'cannot tell', 'agrees')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..paper import paper_tables
from ..stats import Comparison, compare, mean_ci, paired_difference, verdict
from .faces.common import FaceSettings
from .registry import register
from .results import read_results_csv, result_path, results_dir, write_table
from .settings import ProfileSettings

__all__ = ["CLAIMS", "DIMINISHING", "SAME_MARGIN", "ClaimsSettings", "claims_summary",
           "comparisons", "relative_verdict", "weakest"]

#: claim id -> the claim, as "a beats b" (a: the first arm of each comparison)
CLAIMS = {
    "C1": "PreRNN beats traditional RNNs of every hidden size",
    "C2a": "traditional RNNs improve with hidden size",
    "C2b": "traditional RNNs improve with diminishing gains",
    "C3": "pre-trained W_xy beats random W_xy in the same structure",
    "C4": "PreRNN with random W_xy still beats a traditional RNN",
    "C5": "a randomly initialised third layer hurts",
    "C6": "SIH is about as good as gate-dependent",
    "C7": "the sequence model beats the frame level",
}
#: claim -> task -> the experiments it reads
SOURCES = {"C1": {"faces": ("table1",), "actions": ("table3",), "gestures": ("gesture",)},
           "C2a": {"faces": ("table1",)}, "C2b": {"faces": ("table1",)},
           "C3": {"faces": ("init", "gating"), "actions": ("table3",)},
           "C4": {"faces": ("init", "table1"), "actions": ("table3",)},
           "C5": {"faces": ("table2",)}, "C6": {"faces": ("init",), "actions": ("table3",)},
           "C7": {"faces": ("table1",), "actions": ("table3",), "gestures": ("gesture",)}}
#: task -> (metric, higher is better): NME of the landmarks, accuracy of the fused and of
#: the spatial stream (the temporal stream of the action stand-in is nearly solved)
METRICS = {"faces": (("nme", False),),
           "actions": (("fused_accuracy", True), ("spatial_accuracy", True)),
           "gestures": (("accuracy", True),)}
#: Claim 6's rule: "about as good" when the whole 95 % interval of the relative difference
#: ``(a − b) / |mean_b|`` lies within ±SAME_MARGIN (agrees), wholly outside it (disagrees),
#: otherwise cannot tell. The interval of ``a − b`` is divided by ``|mean_b|`` taken as known.
SAME_MARGIN = 0.05
#: Claim 2b's rule, "diminishing gains": over Table 1's smallest, geometric-middle and
#: largest sizes of the paper's range (its columns 256, 1024, 4096; ours fc/16, fc/4, fc),
#: the gain of the lower half ``e(256) − e(1024)`` beats that of the upper half
#: ``e(1024) − e(4096)``; a seed-by-seed difference (the error curve's curvature in log
#: size), judged against the same difference of the paper's numbers.
DIMINISHING = ("256", "1024", "4096")
#: Table 1's columns: our hidden size / fc7's size -> the paper's column
SWEEP = {1 / 16: "256", 1 / 8: "512", 1 / 4: "1024", 1 / 2: "2048", 1: "4096", 2: "2x fc"}
COLUMNS = ["claim", "claim_text", "task", "source", "cell", "a", "b", "metric",
           "higher_is_better", "paper_a", "paper_b", "paper_order", "mean_a", "mean_b",
           "diff", "low", "high", "n", "n_failed", "paired", "stats_verdict", "rel_low",
           "rel_high", "verdict"]


@dataclass(frozen=True)
class ClaimsSettings(ProfileSettings):
    """``claims`` reads the runs of its profile (every profile); it trains nothing, so it
    has no seeds (``seeds`` is empty) and ``margin`` is claim 6's :data:`SAME_MARGIN`."""

    PROFILE_CHANGES = {"ci": {}, "lite": {}, "full": {}}
    seeds: tuple[int, ...] = ()
    margin: float = SAME_MARGIN


def _claim_verdict(stats_verdict: str, paper_order: str) -> str:
    """Our stats verdict (``>`` a clearly better) against the paper's order ("a"/"b")."""
    if stats_verdict == "=" or paper_order not in ("a", "b"):
        return "cannot tell"
    return "agrees" if (stats_verdict == ">") == (paper_order == "a") else "disagrees"


def relative_verdict(low: float, high: float, mean_b: float, margin: float = SAME_MARGIN
                     ) -> tuple[float, float, str]:
    """Claim 6: the interval ``[low, high]`` of ``a − b`` relative to ``|mean_b|``, and
    whether it lies within ``±margin`` ("agrees"), wholly outside ("disagrees") or neither.

    By hand: [−0.002, 0.004] / 0.1 = [−2 %, 4 %], within ±5 %; [0.006, 0.009] / 0.1 =
    [6 %, 9 %], wholly above 5 %; [−0.002, 0.009] / 0.1 reaches past 5 %.

    >>> [relative_verdict(lo, hi, 0.1)[2] for lo, hi in
    ...  ((-0.002, 0.004), (0.006, 0.009), (-0.002, 0.009))]
    ['agrees', 'disagrees', 'cannot tell']
    """
    rel_low, rel_high = low / abs(mean_b), high / abs(mean_b)
    if -margin <= rel_low and rel_high <= margin:
        return rel_low, rel_high, "agrees"
    if rel_low > margin or rel_high < -margin:
        return rel_low, rel_high, "disagrees"
    return rel_low, rel_high, "cannot tell"


def _paper_order(pa: float | None, pb: float | None, hib: bool) -> str:
    """"a"/"b": which the paper's numbers rank better; "claim" without numbers; "tie"."""
    if pa is None or pb is None or not (math.isfinite(pa) and math.isfinite(pb)):
        return "a (claim)"
    return "tie" if pa == pb else "a" if (pa > pb) == hib else "b"


def _draws(runs: pd.DataFrame) -> set[str]:
    """The ``train_data`` values of some runs ("" for a missing column or empty cell)."""
    if "train_data" not in runs:
        return {""}
    return {"" if pd.isna(v) else str(v) for v in runs["train_data"]}


class _Builder:
    """Collects the comparisons of one profile (``runs[name]``: that runs CSV or None)."""

    def __init__(self, runs: dict[str, pd.DataFrame | None], margin: float) -> None:
        self.runs, self.margin, self.rows = runs, margin, []

    def arms(self, name: str) -> list[str]:
        r = self.runs.get(name)
        return [] if r is None else pd.unique(r["arm"]).tolist()

    def add(self, claim, task, cell, a, b, metric, hib, paper=(None, None), source=None,
            b_source=None, b_value=None) -> None:
        """Compare arm ``a`` of ``source`` with arm ``b`` of ``b_source`` (default the
        same experiment) or with the constant ``b_value`` (a reference)."""
        ra = self.runs[source]
        rows_a = ra[ra["arm"] == a]
        if b_value is not None:  # a reference without seeds: the interval of a − c
            iv = mean_ci(rows_a[metric].to_numpy(float) - b_value)
            c = Comparison(a, b, metric, iv.mean + b_value, b_value, iv.mean, iv.low,
                           iv.high, iv.n, False, verdict(iv, hib), iv.n_failed, iv.level)
        else:
            rb = self.runs[b_source or source]
            rows_b = rb[rb["arm"] == b]
            both = pd.concat([rows_a.assign(arm="a"), rows_b.assign(arm="b")])
            paired = None if b_source in (None, source) or \
                _draws(rows_a) == _draws(rows_b) else False
            c = compare(both, "a", "b", metric, higher_is_better=hib, paired=paired)
        self.record(claim, task, cell, a, b, metric, hib, paper,
                    source + (f" vs {b_source}" if b_source else ""), c)

    def record(self, claim, task, cell, a, b, metric, hib, paper, source,
               c: Comparison) -> None:
        order = _paper_order(*paper, hib)
        if claim == "C6" and order in ("a", "b", "tie") and \
                abs(paper[0] - paper[1]) <= self.margin * abs(paper[1]):
            order = "about equal"
        row = {"claim": claim, "claim_text": CLAIMS[claim], "task": task, "source": source,
               "cell": cell, "a": a, "b": b, "metric": metric, "higher_is_better": hib,
               "paper_a": paper[0], "paper_b": paper[1], "paper_order": order,
               "mean_a": c.mean_a, "mean_b": c.mean_b, "diff": c.diff, "low": c.low,
               "high": c.high, "n": c.n, "n_failed": c.n_failed, "paired": c.paired,
               "stats_verdict": c.verdict, "rel_low": math.nan, "rel_high": math.nan}
        if claim == "C6":
            row["rel_low"], row["rel_high"], row["verdict"] = relative_verdict(
                c.low, c.high, c.mean_b, self.margin)
        else:
            row["verdict"] = _claim_verdict(c.verdict, order.split()[0])
        self.rows.append(row)


def _paper(table: str) -> dict:
    return paper_tables()[table]


def _faces(bld: _Builder, fc: int) -> None:
    p1, p2 = _paper("table1_300vw_test_loss_2_layers"), _paper(
        "table2_300vw_test_loss_hierarchy")

    def v1(cell, col):
        return p1[cell][p1["columns"].index(col)] if col in p1["columns"] else None

    t1, init = bld.arms("table1"), bld.arms("init")
    for cell in ("vrnn", "lstm", "gru"):
        sweep = sorted((int(a.rsplit("-", 1)[1]), a) for a in t1
                       if a.startswith(f"{cell}-trad-") and a.rsplit("-", 1)[1].isdigit())
        col = {a: SWEEP.get(h / fc, "") for h, a in sweep}
        trad = [a for _, a in sweep] + [a for a in t1 if a == f"{cell}-trad-matched"]
        col[f"{cell}-trad-matched"] = "similar"
        pre = [a for a in (f"{cell}-prernn", f"{cell}-prernn-zeros") if a in t1]
        for a in pre:  # C1: PreRNN (each start) vs every traditional size; C7: vs frame
            for b in trad:
                bld.add("C1", "faces", cell, a, b, "nme", False,
                        (v1(cell, "prernn"), v1(cell, col[b])), "table1")
            if "frame" in t1:
                bld.add("C7", "faces", cell, a, "frame", "nme", False, source="table1")
        for (_, b), (_, a) in zip(sweep[:-1], sweep[1:], strict=True):  # C2a: each step
            bld.add("C2a", "faces", cell, a, b, "nme", False,
                    (v1(cell, col[a]), v1(cell, col[b])), "table1")
        _diminishing(bld, cell, {col[a]: a for _, a in sweep}, v1)
        for a in [a for a in init if a.startswith(f"{cell}-") and a.endswith("-random")]:
            if f"{cell}-trad-matched" in t1:  # C4: random-W_xy PreRNN vs matched trad
                bld.add("C4", "faces", cell, a, f"{cell}-trad-matched", "nme", False,
                        source="init", b_source="table1")
        for name in ("init", "gating"):  # C3: each pre-trained arm vs its random twin
            for a in [a for a in bld.arms(name)
                      if a.startswith(f"{cell}-") and a.endswith("-pretrained")]:
                if (b := a.removesuffix("-pretrained") + "-random") in bld.arms(name):
                    bld.add("C3", "faces", cell, a, b, "nme", False, source=name)
        for init_ in ("pretrained", "random"):  # C6: SIH vs each gate-dependent start
            a = f"{cell}-sih-zeros-{init_}"
            for b in (f"{cell}-gate-copy-{init_}", f"{cell}-gate-zeros-{init_}"):
                if a in init and b in init:
                    bld.add("C6", "faces", cell, a, b, "nme", False, source="init")
        t2 = bld.arms("table2")
        for tag in ("", "-zeros"):  # C5: two pre-trained layers vs + a random third
            a, b = f"{cell}-fc6+fc7{tag}", f"{cell}-fc6+fc7+random{tag}"
            if a in t2 and b in t2:
                col2 = p2["columns"].index
                bld.add("C5", "faces", cell, a, b, "nme", False,
                        (p2[cell][col2("fc6/7")], p2[cell][col2("fc6/7+random")]), "table2")


def _diminishing(bld: _Builder, cell: str, arm_of: dict[str, str], v1) -> None:
    """Claim 2b (:data:`DIMINISHING`) for one cell, when the three sizes ran."""
    if not all(c in arm_of for c in DIMINISHING):
        return
    runs = bld.runs["table1"]
    e = [runs[runs["arm"] == arm_of[c]].set_index("seed")["nme"] for c in DIMINISHING]
    seeds = sorted(set(e[0].index) & set(e[1].index) & set(e[2].index))
    e = [x.loc[seeds] for x in e]
    low_gain, high_gain = e[0] - e[1], e[1] - e[2]  # per seed; positive: an improvement
    iv = paired_difference(low_gain, high_gain)
    s, m, g = DIMINISHING
    c = Comparison(f"gain {s}->{m}", f"gain {m}->{g}", "nme", float(low_gain.mean()),
                   float(high_gain.mean()), iv.mean, iv.low, iv.high, iv.n, True,
                   verdict(iv), iv.n_failed, iv.level)
    p = [v1(cell, col) for col in DIMINISHING]
    bld.record("C2b", "faces", cell, c.a, c.b, "nme gain", True,
               (p[0] - p[1], p[1] - p[2]), "table1", c)


def _actions(bld: _Builder) -> None:
    p3 = _paper("table3_ucf101_split1_two_stream_accuracy")
    arms = bld.arms("table3")
    for cell in ("vrnn", "lstm", "gru"):
        def v(col, cell=cell):
            return p3[cell][p3["columns"].index(col)]

        pairs = []
        for s in ("prernn", "sih"):
            pre, rnd, trad = f"{s}_pretrained", f"{s}_random", "traditional"
            pairs += [("C1", pre, trad), ("C3", pre, rnd), ("C4", rnd, trad),
                      ("C7", pre, "frame")]
        pairs += [("C6", "sih_pretrained", "prernn_pretrained"),
                  ("C6", "sih_random", "prernn_random")]
        for metric, hib in METRICS["actions"]:
            for claim, a, b in pairs:
                arm_a, arm_b = f"{cell}/{a}", b if b == "frame" else f"{cell}/{b}"
                if arm_a in arms and arm_b in arms:
                    paper = (None, None) if b == "frame" else (v(a), v(b))
                    bld.add(claim, "actions", cell, arm_a, arm_b, metric, hib, paper,
                            "table3")


def _gestures(bld: _Builder, references: pd.DataFrame | None) -> None:
    arms = bld.arms("gesture")
    bag = None if references is None else references.set_index("reference")[
        "accuracy"].get("bag")
    for cell in ("vrnn", "lstm", "gru"):
        a = f"{cell}/prernn"
        if a not in arms:
            continue
        if f"{cell}/traditional" in arms:
            bld.add("C1", "gestures", cell, a, f"{cell}/traditional", "accuracy", True,
                    source="gesture")
        if "clip" in arms:
            bld.add("C7", "gestures", cell, a, "clip", "accuracy", True, source="gesture")
        if bag is not None:  # the best an order-blind model can do: all strokes known
            bld.add("C7", "gestures", cell, a, "reference: bag", "accuracy", True,
                    source="gesture", b_value=float(bag))


def _load(name: str, profile: str, kind: str, out_dir: Path) -> pd.DataFrame | None:
    path = result_path(out_dir, name, profile, kind)
    return read_results_csv(path) if path.is_file() else None


def comparisons(profile: str, out_dir: str | Path | None = None,
                margin: float = SAME_MARGIN, fc: int | None = None) -> pd.DataFrame:
    """Every comparison of every claim (:data:`COLUMNS`, one row each) from the runs
    CSVs of ``profile`` under ``out_dir`` (default ``results/``); ``fc``: the size of fc7
    that Table 1's hidden sizes are fractions of (default: the profile's backbone)."""
    out = Path(out_dir) if out_dir else results_dir()
    names = sorted({n for task in SOURCES.values() for ns in task.values() for n in ns})
    bld = _Builder({n: _load(n, profile, "runs", out) for n in names}, margin)
    fc = FaceSettings.for_profile(profile).fc_size if fc is None else fc
    _faces(bld, fc)
    _actions(bld)
    _gestures(bld, _load("gesture", profile, "references", out))
    frame = pd.DataFrame(bld.rows, columns=COLUMNS)
    order = {c: i for i, c in enumerate(CLAIMS)}
    return frame.sort_values("claim", key=lambda s: s.map(order), kind="stable"
                             ).reset_index(drop=True)


def _headline(group: pd.DataFrame) -> pd.Series:
    """The weakest comparison for the claim: the smallest bound on the claim's side
    (claim 6: the widest relative bound); a NaN interval is the weakest of all."""
    if group["claim"].iloc[0] == "C6":
        worst = group[["rel_low", "rel_high"]].abs().max(axis=1).fillna(np.inf)
        return group.loc[worst.idxmax()]
    toward_a = np.where(group["higher_is_better"], group["low"], -group["high"])
    return group.iloc[int(np.argmin(np.nan_to_num(toward_a, nan=-np.inf)))]


def weakest(comps: pd.DataFrame, by: tuple[str, ...] = ("claim", "task", "metric", "cell")
            ) -> pd.DataFrame:
    """The weakest comparison (:func:`_headline`) of each group of ``by``, with the group's
    size ``n_comparisons`` and how many agree (``n_agree``); groups in order of appearance."""
    rows = []
    for _, g in comps.groupby(list(by), sort=False):
        rows.append(_headline(g).to_dict() | {
            "n_comparisons": len(g), "n_agree": int((g["verdict"] == "agrees").sum())})
    return pd.DataFrame(rows)


def _overall(counts: pd.Series) -> str:
    """The verdict word of a claim from its comparisons' verdict counts.

    >>> _overall(pd.Series({"agrees": 3})), _overall(pd.Series({"agrees": 2, "cannot tell": 1}))
    ('agrees', 'agrees in part')
    >>> _overall(pd.Series({"disagrees": 1, "cannot tell": 4})), _overall(
    ...     pd.Series({"agrees": 1, "disagrees": 1}))
    ('disagrees in part', 'mixed')
    """
    words = {w for w, k in counts.items() if k > 0}
    if len(words) == 1:
        return words.pop()
    if {"agrees", "disagrees"} <= words:
        return "mixed"
    return "agrees in part" if "agrees" in words else "disagrees in part"


def claims_summary(comps: pd.DataFrame, missing: dict[str, list[str]] | None = None
                   ) -> pd.DataFrame:
    """One row per claim, task and metric: the paper's ordering (how many of the paper's
    comparisons rank ``a`` first; claim 6: call the two about equal), the verdict counts,
    the headline comparison (:func:`_headline`) and a verdict word (:func:`_overall`):
    agrees / disagrees / cannot tell when every comparison says so, "agrees in part" or
    "disagrees in part" when the others cannot tell, mixed when some agree and some
    disagree; "not run" when an experiment it reads is missing (``missing``: task ->
    experiments not run) and nothing was compared."""
    rows = []
    for claim, tasks in SOURCES.items():
        for task, names in tasks.items():
            absent = [n for n in names if n in (missing or {}).get(task, [])]
            for metric, _ in METRICS[task]:
                metric = "nme gain" if claim == "C2b" else metric
                g = comps[(comps["claim"] == claim) & (comps["task"] == task)
                          & (comps["metric"] == metric)]
                row = {"claim": claim, "claim_text": CLAIMS[claim], "task": task,
                       "metric": metric, "sources": ", ".join(names),
                       "not_run": ", ".join(absent), "comparisons": len(g)}
                counts = g["verdict"].value_counts()
                for word in ("agrees", "disagrees", "cannot tell"):
                    row[word.replace(" ", "_")] = int(counts.get(word, 0))
                numbers = g[~g["paper_order"].str.endswith("(claim)")]
                said = "about equal" if claim == "C6" else "a"  # what the claim says
                word = "about equal" if claim == "C6" else "a first"
                row["paper"] = (f"{word} in {int((numbers.paper_order == said).sum())} of "
                                f"{len(numbers)}" if len(numbers) else
                                "as claimed (no paper numbers)" if len(g) else "")
                if len(g):
                    h = _headline(g)
                    row.update({f"headline_{k}": h[k] for k in (
                        "cell", "a", "b", "diff", "low", "high", "rel_low", "rel_high",
                        "verdict")})
                    row["verdict"] = _overall(counts)
                else:
                    row["verdict"] = "not run" if absent else "no comparisons"
                rows.append(row)
    return pd.DataFrame(rows)


@register("claims", ClaimsSettings)
def run_claims(settings: ClaimsSettings, seeds, out_dir: Path, resume: bool, context=None
               ) -> pd.DataFrame:
    """Write ``claims_<profile>_comparisons.csv`` and ``..._summary.csv`` from the runs
    CSVs under ``out_dir`` (nothing trains; ``seeds`` and ``resume`` are not read)."""
    comps = comparisons(settings.profile, out_dir, settings.margin)
    missing: dict[str, list[str]] = {}
    for tasks in SOURCES.values():
        for task, names in tasks.items():
            for n in names:
                if not result_path(out_dir, n, settings.profile, "runs").is_file():
                    missing.setdefault(task, []).append(n)
    summary = claims_summary(comps, missing)
    write_table(comps, out_dir, "claims", settings.profile, "comparisons")
    write_table(summary, out_dir, "claims", settings.profile, "summary")
    print(summary[["claim", "task", "metric", "comparisons", "agrees", "disagrees",
                   "cannot_tell", "verdict"]].to_string(index=False), flush=True)
    return comps
