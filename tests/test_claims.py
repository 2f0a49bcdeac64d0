"""``experiments.claims``: the paper's claims from small runs CSVs whose answers are known.

Each file below is written by hand; the expected intervals are computed by hand too (t
quantile with 2 dof: 4.3027), never read back from the code under test.
"""

import math

import pandas as pd
import pytest

from prernn_lite.experiments import EXPERIMENTS, load_results
from prernn_lite.experiments.__main__ import chains_of, main
from prernn_lite.experiments.claims import claims_summary, comparisons
from prernn_lite.paper import paper_tables

T975_2 = 4.302653  # t quantile 0.975, 2 dof
FC = 256  # Table 1's hidden sizes are fractions of fc7's size: 16 = the paper's 256


def _write(folder, name, arms: dict[str, list[float]], metric="nme", profile="lite",
           **columns):
    rows = [{"arm": arm, "seed": seed, metric: v, **columns}
            for arm, values in arms.items() for seed, v in enumerate(values)]
    pd.DataFrame(rows).to_csv(folder / f"{name}_{profile}_runs.csv", index=False)


def _row(comps, claim, a, b, metric=None):
    rows = comps[(comps.claim == claim) & (comps.a == a) & (comps.b == b)]
    if metric:
        rows = rows[rows.metric == metric]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture
def faces(tmp_path):
    _write(tmp_path, "table1", {
        "frame": [0.20, 0.21, 0.22],
        "lstm-trad-16": [0.30, 0.32, 0.31],
        "lstm-trad-64": [0.11, 0.10, 0.13],   # a tie with PreRNN
        "lstm-trad-256": [0.05, 0.07, 0.06],  # beats PreRNN: a clear loss for claim 1
        "lstm-trad-matched": [0.15, 0.17, 0.16],  # loses to PreRNN: a clear win
        "lstm-prernn": [0.10, 0.11, 0.12],
    })
    return tmp_path


def test_a_clear_win_a_clear_loss_and_a_tie(faces):
    comps = comparisons("lite", faces, fc=FC)
    win = _row(comps, "C1", "lstm-prernn", "lstm-trad-matched")
    # differences -0.05, -0.06, -0.04: mean -0.05, s = 0.01
    half = T975_2 * 0.01 / math.sqrt(3)
    assert win["diff"] == pytest.approx(-0.05)
    assert (win.low, win.high) == pytest.approx((-0.05 - half, -0.05 + half))
    assert win.paired and win.n == 3 and win.stats_verdict == ">"
    p1 = paper_tables()["table1_300vw_test_loss_2_layers"]
    assert (win.paper_a, win.paper_b) == (p1["lstm"][6], p1["lstm"][5])  # prernn, similar
    assert win.paper_order == "a" and win.verdict == "agrees"
    loss = _row(comps, "C1", "lstm-prernn", "lstm-trad-256")  # the paper's 4096 column
    assert loss.paper_b == p1["lstm"][4] and loss.verdict == "disagrees"
    tie = _row(comps, "C1", "lstm-prernn", "lstm-trad-64")  # differences -.01, .01, -.01
    assert tie.low < 0 < tie.high and tie.verdict == "cannot tell"


def test_the_sequence_model_without_paper_numbers_is_judged_by_the_claim(faces):
    row = _row(comparisons("lite", faces, fc=FC), "C7", "lstm-prernn", "frame")
    assert math.isnan(row.paper_a) and row.paper_order == "a (claim)"
    assert row["diff"] == pytest.approx(-0.10) and row.verdict == "agrees"


def test_steps_up_the_sweep_and_diminishing_gains(faces):
    comps = comparisons("lite", faces, fc=FC)
    step = _row(comps, "C2a", "lstm-trad-64", "lstm-trad-16")  # 16 -> 64 is no step
    assert step.verdict == "agrees"  # errors fall by 0.19, 0.22, 0.18
    assert set(comps[comps.claim == "C2a"].b) == {"lstm-trad-16", "lstm-trad-64"}
    gains = _row(comps, "C2b", "gain 256->1024", "gain 1024->4096")
    # per seed: gain 16->64 = 0.19, 0.22, 0.18; gain 64->256 = 0.06, 0.03, 0.07
    assert (gains.mean_a, gains.mean_b) == pytest.approx((0.59 / 3, 0.16 / 3))
    assert gains["diff"] == pytest.approx(0.43 / 3) and gains.verdict == "agrees"
    p = paper_tables()["table1_300vw_test_loss_2_layers"]["lstm"]
    assert (gains.paper_a, gains.paper_b) == pytest.approx((p[0] - p[2], p[2] - p[4]))


def test_a_missing_arm_gives_no_comparison_and_a_missing_file_is_not_run(faces):
    comps = comparisons("lite", faces, fc=FC)
    assert not comps.a.str.contains("zeros").any()  # no lstm-prernn-zeros in the file
    assert set(comps.claim) == {"C1", "C2a", "C2b", "C7"}
    summary = claims_summary(comps, {"faces": ["table2", "init", "gating"]})
    by = summary.set_index(["claim", "task"])
    assert by.loc[("C5", "faces"), "verdict"] == "not run"
    assert (by.loc[("C3", "actions"), "verdict"] == "no comparisons").all()  # 2 metrics
    c1 = by.loc[("C1", "faces")]
    assert (c1.comparisons, c1.agrees, c1.disagrees, c1.cannot_tell) == (4, 2, 1, 1)
    assert c1.verdict == "mixed" and c1.paper == "a first in 4 of 4"
    assert c1.headline_b == "lstm-trad-256"  # the weakest comparison for the claim


def test_a_failed_run_is_never_dropped(tmp_path):
    _write(tmp_path, "gesture", {"vrnn/prernn": [0.9, float("nan"), 0.8],
                                 "vrnn/traditional": [0.5, 0.4, 0.45],
                                 "clip": [0.1, 0.1, 0.2]}, metric="accuracy")
    comps = comparisons("lite", tmp_path, fc=FC)
    row = _row(comps, "C1", "vrnn/prernn", "vrnn/traditional")
    assert math.isnan(row["diff"]) and row.n_failed == 1 and row.verdict == "cannot tell"


def test_a_reference_without_seeds_is_a_constant(tmp_path):
    _write(tmp_path, "gesture", {"gru/prernn": [0.7, 0.75, 0.8]}, metric="accuracy")
    pd.DataFrame({"reference": ["chance", "bag"], "accuracy": [0.1, 0.5],
                  "meaning": ["", ""]}).to_csv(tmp_path / "gesture_lite_references.csv",
                                              index=False)
    row = _row(comparisons("lite", tmp_path, fc=FC), "C7", "gru/prernn", "reference: bag")
    half = T975_2 * 0.05 / math.sqrt(3)  # s of 0.7, 0.75, 0.8 is 0.05
    assert (row["diff"], row.low, row.high) == pytest.approx((0.25, 0.25 - half, 0.25 + half))
    assert not row.paired and row.verdict == "agrees"


def test_claim_6_is_about_equal_within_the_margin(tmp_path):
    _write(tmp_path, "init", {"gru-sih-zeros-pretrained": [0.101, 0.099, 0.100],
                              "gru-gate-copy-pretrained": [0.100, 0.100, 0.100],
                              "gru-gate-zeros-pretrained": [0.080, 0.081, 0.079]})
    comps = comparisons("lite", tmp_path, fc=FC)
    same = _row(comps, "C6", "gru-sih-zeros-pretrained", "gru-gate-copy-pretrained")
    assert same.rel_low > -0.05 and same.rel_high < 0.05 and same.verdict == "agrees"
    worse = _row(comps, "C6", "gru-sih-zeros-pretrained", "gru-gate-zeros-pretrained")
    # differences 0.021, 0.018, 0.021: mean 0.02, s/√3 = 0.001; relative to 0.08
    assert worse.rel_low == pytest.approx((0.02 - T975_2 * 0.001) / 0.08)
    assert worse.verdict == "disagrees"
    strict = comparisons("lite", tmp_path, margin=0.001, fc=FC)
    assert _row(strict, "C6", same.a, same.b).verdict == "cannot tell"


@pytest.mark.parametrize("init_data, table1_data, paired", [
    ("", "", True), ("drawn with the seed", "drawn with the seed", True),
    ("drawn with the seed", "", False)])
def test_pairing_across_face_experiments_follows_the_training_data(
        tmp_path, init_data, table1_data, paired):
    _write(tmp_path, "init", {"vrnn-random": [0.20, 0.22, 0.21]}, train_data=init_data)
    _write(tmp_path, "table1", {"vrnn-trad-matched": [0.10, 0.13, 0.11]},
           train_data=table1_data)
    row = _row(comparisons("lite", tmp_path, fc=FC), "C4", "vrnn-random",
               "vrnn-trad-matched")
    assert row.paired == paired and row.source == "init vs table1"
    assert row["diff"] == pytest.approx(0.0966667, abs=1e-6) and row.verdict == "disagrees"


def test_the_command_writes_both_tables_and_runs_after_the_chains(tmp_path, monkeypatch):
    _write(tmp_path, "table2", {"gru-fc6+fc7": [0.10, 0.11, 0.12],
                                "gru-fc6+fc7+random": [0.20, 0.22, 0.21]}, profile="ci")
    assert main(["claims", "--profile", "ci", "--out", str(tmp_path)]) == 0
    summary = load_results("claims", "ci", out_dir=tmp_path)
    c5 = summary[summary.claim == "C5"].iloc[0]
    assert (c5.comparisons, c5.agrees, c5.verdict) == (1, 1, "agrees")
    assert summary.set_index(["claim", "task"]).loc[("C1", "faces"), "verdict"] == "not run"
    assert len(load_results("claims", "ci", "comparisons", tmp_path)) == 1
    assert chains_of(["claims", "gesture"]) == [([], ["gesture"])]
    order = []
    for name in ("claims", "gesture"):
        monkeypatch.setattr(EXPERIMENTS[name], "run",
                            lambda *a, n=name, **k: order.append(n))
    main(["claims", "gesture", "--profile", "ci", "--out", str(tmp_path)])
    assert order == ["gesture", "claims"]
