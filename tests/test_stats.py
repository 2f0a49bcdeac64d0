"""prernn_lite.stats against hand computations, closed forms, printed t tables and scipy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prernn_lite.stats import (
    Interval,
    compare,
    mean_ci,
    paired_difference,
    summary_table,
    t_quantile,
    unpaired_difference,
    verdict,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"


# Independent references for the t distribution -----------------------------------------
def t1(p: float) -> float:  # 1 dof is the Cauchy distribution
    return math.tan(math.pi * (p - 0.5))


def t2(p: float) -> float:  # 2 dof: F(t) = 1/2 + t / (2 sqrt(2 + t²)), solved for t
    return (2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p)))


def t4(p: float) -> float:  # 4 dof: closed form via a cubic (Hill 1970)
    a = 4 * p * (1 - p)
    return math.copysign(2 * math.sqrt(math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a) - 1),
                         p - 0.5)


def t_mass(q: float, dof: float, points: int = 400_001) -> float:
    """P(0 < T < q), integrating the t density numerically (trapezoid rule)."""
    x = np.linspace(0.0, q, points)
    c = math.exp(math.lgamma((dof + 1) / 2) - math.lgamma(dof / 2)) / math.sqrt(dof * math.pi)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2: trapz
    return float(trapezoid(c * (1 + x**2 / dof) ** (-(dof + 1) / 2), x))


# t quantile --------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.6, 0.9, 0.95, 0.975, 0.995, 0.9995, 0.3, 0.025])
@pytest.mark.parametrize(("dof", "exact"), [(1, t1), (2, t2), (4, t4)])
def test_t_quantile_matches_closed_forms(p, dof, exact):
    assert t_quantile(p, dof) == pytest.approx(exact(p), rel=1e-10)


# A printed table (two decimals' rounding: 3 decimals shown) ---------------------------------
@pytest.mark.parametrize(("p", "dof", "table"), [
    (0.975, 3, 3.182), (0.975, 5, 2.571), (0.975, 9, 2.262), (0.975, 10, 2.228),
    (0.975, 29, 2.045), (0.975, 30, 2.042), (0.975, 120, 1.980), (0.995, 3, 5.841),
    (0.995, 5, 4.032), (0.995, 10, 3.169), (0.995, 30, 2.750), (0.95, 5, 2.015),
    (0.95, 10, 1.812),
])
def test_t_quantile_matches_printed_table(p, dof, table):
    assert round(t_quantile(p, dof), 3) == table


@pytest.mark.parametrize("dof", [1.5, 3.964, 7.5, 25.3])
@pytest.mark.parametrize("p", [0.9, 0.975, 0.995])
def test_t_quantile_fractional_dof_integrates_to_p(p, dof):
    assert t_mass(t_quantile(p, dof), dof) == pytest.approx(p - 0.5, abs=1e-9)


@pytest.mark.parametrize("dof", [200, 1_000, 10_000])
def test_t_quantile_large_dof_matches_cornish_fisher(dof):
    z = 1.959963984540054  # normal 0.975 quantile
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    assert t_quantile(0.975, dof) == pytest.approx(z + g1 / dof + g2 / dof**2 + g3 / dof**3,
                                                   abs=1e-9)
    assert t_quantile(0.975, math.inf) == pytest.approx(z, abs=1e-12)


def test_t_quantile_refuses_bad_arguments():
    with pytest.raises(ValueError, match="between 0 and 1"):
        t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="positive"):
        t_quantile(0.975, 0)
    assert math.isnan(t_quantile(0.975, math.nan))


# mean_ci -------------------------------------------------------------------------------------
def test_mean_ci_hand_example():
    # 2, 4, 6: mean 4, s = 2, s/√3, t with 2 dof.
    iv = mean_ci([2.0, 4.0, 6.0])
    half = t2(0.975) * 2 / math.sqrt(3)
    assert (iv.mean, iv.n, iv.std, iv.n_failed, iv.dof) == (4.0, 3, 2.0, 0, 2.0)
    assert iv.low == pytest.approx(4 - half, rel=1e-12)
    assert iv.high == pytest.approx(4 + half, rel=1e-12)
    assert round(iv.low, 3) == -0.968 and round(iv.high, 3) == 8.968  # as in the docstring


def test_mean_ci_five_seeds_and_other_level():
    iv = mean_ci(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))  # s² = (4 + 1 + 0 + 1 + 4) / 4 = 2.5
    half = t4(0.975) * math.sqrt(2.5 / 5)
    assert (iv.low, iv.high) == pytest.approx((3 - half, 3 + half), rel=1e-12)
    iv90 = mean_ci({0: 2.0, 1: 4.0, 2: 6.0}, level=0.90)  # dict seed -> value
    assert iv90.high - iv90.mean == pytest.approx(t2(0.95) * 2 / math.sqrt(3), rel=1e-12)
    assert iv90.high < mean_ci([2.0, 4.0, 6.0]).high  # a lower level gives a narrower interval


def test_mean_ci_one_seed_gives_nan_bounds_not_an_error():
    iv = mean_ci([0.7])
    assert iv.mean == 0.7 and iv.n == 1
    assert math.isnan(iv.low) and math.isnan(iv.high) and math.isnan(iv.std)
    assert verdict(iv) == "="


def test_mean_ci_identical_seeds_give_a_zero_width_interval():
    iv = mean_ci([0.25, 0.25, 0.25])
    assert (iv.low, iv.mean, iv.high, iv.std) == (0.25, 0.25, 0.25, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_mean_ci_failed_run_is_not_dropped_by_default(bad):
    iv = mean_ci([0.5, bad, 0.7])
    assert math.isnan(iv.mean) and math.isnan(iv.low) and math.isnan(iv.high)
    assert (iv.n, iv.n_failed) == (3, 1)


def test_mean_ci_dropna_leaves_failed_runs_out_and_counts_them():
    iv = mean_ci(pd.Series([0.5, math.nan, 0.7]), dropna=True)
    half = t1(0.975) * 0.1  # s = √0.02 over 0.5 and 0.7, s/√2 = 0.1
    assert (iv.n, iv.n_failed) == (2, 1)
    assert (iv.mean, iv.low, iv.high) == pytest.approx((0.6, 0.6 - half, 0.6 + half), rel=1e-12)
    everything_failed = mean_ci([math.nan, math.inf], dropna=True)
    assert (everything_failed.n, everything_failed.n_failed) == (0, 2)
    assert math.isnan(everything_failed.mean) and math.isnan(everything_failed.high)


@pytest.mark.parametrize(("values", "level", "match"), [
    ([], 0.95, "one value per seed"), ([[1.0, 2.0]], 0.95, "one value per seed"),
    ([1.0, 2.0], 95, "level"), ([1.0, 2.0], 0.0, "level"),
])
def test_mean_ci_refuses_bad_input(values, level, match):
    with pytest.raises(ValueError, match=match):
        mean_ci(values, level)


# Paired and unpaired differences -------------------------------------------------------------
def test_paired_difference_hand_example_and_alignment_by_seed():
    iv = paired_difference({0: 12, 1: 23, 2: 34}, {2: 30, 0: 10, 1: 20})  # differences 2, 3, 4
    half = t2(0.975) * 1 / math.sqrt(3)
    assert (iv.mean, iv.n, iv.std) == (3.0, 3, 1.0)
    assert (iv.low, iv.high) == pytest.approx((3 - half, 3 + half), rel=1e-12)
    a = pd.Series([12.0, 23.0, 34.0], index=[7, 8, 9])
    b = pd.Series([30.0, 10.0, 20.0], index=[9, 7, 8])  # seed order differs from a's
    assert paired_difference(a, b) == paired_difference(a, b.sort_index())
    assert paired_difference(a, b).mean == 3.0


def test_pairing_detects_a_gap_that_unpaired_does_not():
    # Seeds differ a lot in difficulty (shared by both arms); arm a is always a bit better.
    base = np.array([0.60, 0.75, 0.90, 0.70, 0.82])
    gap = np.array([0.020, 0.030, 0.025, 0.022, 0.028])
    a, b = pd.Series(base + gap), pd.Series(base)
    paired, unpaired = paired_difference(a, b), unpaired_difference(a, b)
    half = t4(0.975) * gap.std(ddof=1) / math.sqrt(5)
    assert (paired.low, paired.high) == pytest.approx((gap.mean() - half, gap.mean() + half))
    assert paired.mean == pytest.approx(unpaired.mean)
    assert verdict(paired) == ">" and verdict(unpaired) == "="
    assert unpaired.low < 0 < unpaired.high


def test_welch_hand_example():
    iv = unpaired_difference([12, 23, 34], [10, 20, 30])
    va, vb = 121 / 3, 100 / 3  # s² / n of each arm
    dof = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)
    assert (iv.mean, iv.n) == (3.0, 6) and math.isnan(iv.std)
    assert iv.se == pytest.approx(math.sqrt(va + vb), rel=1e-12)
    assert iv.dof == pytest.approx(dof, rel=1e-12) and round(dof, 3) == 3.964
    assert iv.high - iv.mean == pytest.approx(iv.mean - iv.low, rel=1e-12)
    assert t_mass((iv.high - iv.mean) / iv.se, dof) == pytest.approx(0.475, abs=1e-9)


def test_welch_equal_spreads_has_pooled_dof():
    iv = unpaired_difference([1.0, 2.0, 3.0], [11.0, 12.0, 13.0])  # s² = 1 each: dof = 4
    half = t4(0.975) * math.sqrt(2 / 3)
    assert iv.dof == pytest.approx(4.0, rel=1e-12)
    assert (iv.low, iv.high) == pytest.approx((-10 - half, -10 + half), rel=1e-12)
    assert verdict(iv) == "<" and verdict(iv, higher_is_better=False) == ">"


def test_welch_needs_two_runs_per_arm_and_reports_failures():
    one = unpaired_difference([0.5], [0.1, 0.2, 0.3])
    assert one.mean == pytest.approx(0.3) and math.isnan(one.low) and one.n == 4
    failed = unpaired_difference([0.5, math.nan, 0.7], [0.1, 0.2])
    assert math.isnan(failed.mean) and failed.n_failed == 1
    kept = unpaired_difference([0.5, math.nan, 0.7], [0.1, 0.2], dropna=True)
    assert (kept.mean, kept.n, kept.n_failed) == (pytest.approx(0.45), 4, 1)


def test_paired_difference_refuses_mismatched_seeds_naming_them():
    with pytest.raises(ValueError, match=r"only in a: \[3\], only in b: \[4\]"):
        paired_difference({0: 1.0, 1: 2.0, 3: 3.0}, {0: 1.0, 1: 2.0, 4: 3.0})
    with pytest.raises(ValueError, match=r"only in a: \[2\], only in b: \[\]"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"more than one value for seed\(s\) \[1\]"):
        paired_difference(pd.Series([1.0, 2.0, 3.0], index=[0, 1, 1]), [1.0, 2.0, 3.0])


def test_paired_difference_failed_seed():
    a, b = {0: 0.9, 1: 0.8, 2: 0.85}, {0: 0.7, 1: math.nan, 2: 0.75}
    iv = paired_difference(a, b)
    assert math.isnan(iv.mean) and (iv.n, iv.n_failed) == (3, 1) and verdict(iv) == "="
    kept = paired_difference(a, b, dropna=True)  # differences 0.2 and 0.1
    half = t1(0.975) * math.sqrt(0.005) / math.sqrt(2)
    assert (kept.n, kept.n_failed) == (2, 1)
    assert (kept.low, kept.high) == pytest.approx((0.15 - half, 0.15 + half), rel=1e-9)


# The rule ------------------------------------------------------------------------------------
def _iv(low: float, high: float) -> Interval:
    return Interval((low + high) / 2, low, high, 3, 1.0, 0, 1.0, 2.0, 0.95)


@pytest.mark.parametrize(("low", "high", "higher", "lower"), [
    (0.01, 0.05, ">", "<"),  # a − b surely positive: a better on accuracy, worse on NME
    (-0.05, -0.01, "<", ">"),  # a − b surely negative: a lower NME is better
    (-0.01, 0.05, "=", "="), (0.0, 0.05, "=", "="), (-0.05, 0.0, "=", "="),
    (math.nan, math.nan, "=", "="),
])
def test_verdict_direction(low, high, higher, lower):
    assert verdict(_iv(low, high)) == higher
    assert verdict(_iv(low, high), higher_is_better=False) == lower


# compare and summary_table on tables shaped like results/*_runs.csv --------------------------
def face_runs() -> pd.DataFrame:
    """Like results/table1_lite_runs.csv: arm-major rows, a reference with one seed."""
    rows = [
        ("frame", "frame", "", 0, 0.1387), ("frame", "frame", "", 1, 0.1420),
        ("frame", "frame", "", 2, 0.1351),
        ("lstm/prernn_gate", "prernn", "lstm", 2, 0.1264),  # seeds out of order on purpose
        ("lstm/prernn_gate", "prernn", "lstm", 0, 0.1301),
        ("lstm/prernn_gate", "prernn", "lstm", 1, 0.1342),
        ("mean_shape_reference", "reference", "", 0, 0.3346),
    ]
    df = pd.DataFrame(rows, columns=["arm", "kind", "cell", "seed", "nme"])
    df["base_lr"], df["nme_clean"], df["status"] = 0.01, df["nme"] - 0.05, "ok"
    return df


def test_compare_pairs_by_seed_on_a_runs_table():
    c = compare(face_runs(), "lstm/prernn_gate", "frame", "nme", higher_is_better=False)
    d = np.array([0.1301 - 0.1387, 0.1342 - 0.1420, 0.1264 - 0.1351])  # per seed 0, 1, 2
    half = t2(0.975) * d.std(ddof=1) / math.sqrt(3)
    assert c.paired and c.n == 3 and c.n_failed == 0 and c.metric == "nme"
    assert c.mean_a == pytest.approx((0.1301 + 0.1342 + 0.1264) / 3)
    assert c.mean_b == pytest.approx((0.1387 + 0.1420 + 0.1351) / 3)
    assert c.diff == pytest.approx(d.mean()) == pytest.approx(c.mean_a - c.mean_b)
    assert (c.low, c.high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert c.verdict == ">"  # lower NME on every seed, interval wholly below 0
    assert compare(face_runs(), "frame", "lstm/prernn_gate", "nme",
                   higher_is_better=False).verdict == "<"


def test_compare_unpaired_when_seeds_differ():
    runs = face_runs()
    c = compare(runs, "frame", "mean_shape_reference", "nme", higher_is_better=False)
    assert not c.paired and c.n == 4 and c.verdict == "="  # one reference run: no interval
    assert math.isnan(c.low) and c.diff == pytest.approx(c.mean_a - 0.3346)
    with pytest.raises(ValueError, match=r"only in a: \[1, 2\]"):
        compare(runs, "frame", "mean_shape_reference", "nme", paired=True)
    forced = compare(runs, "lstm/prernn_gate", "frame", "nme", paired=False)
    welch = unpaired_difference([0.1264, 0.1301, 0.1342], [0.1387, 0.1420, 0.1351])
    paired = compare(runs, "lstm/prernn_gate", "frame", "nme")
    assert not forced.paired and paired.paired
    assert (forced.low, forced.high) == pytest.approx((welch.low, welch.high), rel=1e-12)
    assert forced.high - forced.low > 5 * (paired.high - paired.low)  # shared seeds: pair them


def test_compare_refuses_unknown_arm_missing_column_and_sweeps():
    runs = face_runs()
    with pytest.raises(ValueError, match="arms: \\['frame', 'lstm/prernn_gate'"):
        compare(runs, "gru/prernn_gate", "frame", "nme")
    with pytest.raises(ValueError, match="no column\\(s\\) \\['accuracy'\\]"):
        compare(runs, "frame", "lstm/prernn_gate", "accuracy")
    sweep = pd.concat([runs, runs.assign(base_lr=0.001)])  # like results/face_lr_*_runs.csv
    with pytest.raises(ValueError, match=r"several rows for seed \[2, 0, 1\]"):
        compare(sweep, "lstm/prernn_gate", "frame", "nme")
    with pytest.raises(ValueError, match="select one row per seed"):
        summary_table(sweep, "nme")


def test_compare_with_a_diverged_run():
    runs = face_runs()
    runs.loc[(runs.arm == "frame") & (runs.seed == 2), "nme"] = math.nan
    c = compare(runs, "lstm/prernn_gate", "frame", "nme", higher_is_better=False)
    assert math.isnan(c.diff) and c.n_failed == 1 and c.verdict == "="
    kept = compare(runs, "lstm/prernn_gate", "frame", "nme", higher_is_better=False,
                   dropna=True)
    assert (kept.n, kept.n_failed) == (2, 1)
    assert kept.mean_a == pytest.approx((0.1301 + 0.1342) / 2)  # seed 2 left out of both arms
    assert kept.mean_b == pytest.approx((0.1387 + 0.1420) / 2)
    assert kept.diff == pytest.approx(kept.mean_a - kept.mean_b)


def test_compare_accuracy_table_higher_is_better():
    runs = pd.DataFrame({  # like results/table3_lite_runs.csv
        "arm": ["vrnn/prernn_pretrained"] * 3 + ["vrnn/prernn_random"] * 3,
        "column": ["prernn_pretrained"] * 3 + ["prernn_random"] * 3,
        "seed": [0, 1, 2, 0, 1, 2],
        "spatial_accuracy": [0.75, 0.766667, 0.741667, 0.65, 0.675, 0.641667],
    })
    c = compare(runs, "vrnn/prernn_pretrained", "vrnn/prernn_random", "spatial_accuracy")
    d = np.array([0.10, 0.091667, 0.10])
    assert c.paired and c.diff == pytest.approx(d.mean())
    assert c.low == pytest.approx(d.mean() - t2(0.975) * d.std(ddof=1) / math.sqrt(3))
    assert c.verdict == ">"


def test_summary_table_first_appearance_order_and_hand_values():
    runs = pd.DataFrame({"arm": ["zeta", "alpha", "zeta", "alpha", "mid"],
                         "seed": [0, 0, 1, 1, 0], "acc": [0.5, 0.9, 0.7, math.nan, 0.4]})
    table = summary_table(runs, "acc")
    assert list(table.index) == ["zeta", "alpha", "mid"] and table.index.name == "arm"
    assert list(table.columns) == ["mean", "low", "high", "n", "std", "n_failed"]
    half = t1(0.975) * 0.1
    assert table.loc["zeta", ["mean", "low", "high"]].tolist() == pytest.approx(
        [0.6, 0.6 - half, 0.6 + half])
    assert table.loc["alpha", "n_failed"] == 1 and math.isnan(table.loc["alpha", "mean"])
    assert table.loc["mid", "n"] == 1 and math.isnan(table.loc["mid", "high"])
    assert summary_table(runs, "acc", dropna=True).loc["alpha", "mean"] == 0.9


def test_summary_table_on_the_real_runs_csv():
    path = RESULTS / "table3_lite_runs.csv"
    if not path.exists():
        pytest.skip(f"{path} not present")
    runs = pd.read_csv(path)
    table = summary_table(runs, "fused_accuracy")
    ref = runs.groupby("arm", sort=False)["fused_accuracy"].agg(["mean", "std", "count"])
    assert list(table.index) == list(pd.unique(runs["arm"]))
    np.testing.assert_allclose(table["mean"], ref["mean"], rtol=1e-12)
    np.testing.assert_allclose(table["std"], ref["std"], rtol=1e-12)
    assert (table["n"] == ref["count"]).all()
    exact = {2: t1, 3: t2, 5: t4}  # seeds -> closed-form t quantile (n - 1 dof)
    spread = table[(table["std"] > 0) & table["n"].isin(list(exact))]
    if spread.empty:
        pytest.skip("no arm with 2, 3 or 5 seeds and a spread in the CSV")
    t = (spread["high"] - spread["mean"]) / (spread["std"] / np.sqrt(spread["n"]))
    np.testing.assert_allclose(t, [exact[n](0.975) for n in spread["n"]], rtol=1e-10)


# scipy, where it is installed ------------------------------------------------------------
def test_against_scipy():
    st = pytest.importorskip("scipy.stats")
    for dof in (1, 2, 3.964, 9, 57.5):
        for p in (0.9, 0.975, 0.995):
            assert t_quantile(p, dof) == pytest.approx(st.t.ppf(p, dof), rel=1e-9)
    x = np.array([0.71, 0.74, 0.69, 0.73])
    iv = mean_ci(x)
    low, high = st.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=st.sem(x))
    assert (iv.low, iv.high) == pytest.approx((low, high), rel=1e-10)
    y = np.array([0.61, 0.70, 0.58])
    ci = st.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    welch = unpaired_difference(x, y)
    assert (welch.low, welch.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    ci = st.ttest_rel(x[:3], y).confidence_interval(0.95)
    paired = paired_difference(x[:3], y)
    assert (paired.low, paired.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
