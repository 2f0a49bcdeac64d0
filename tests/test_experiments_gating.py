"""The ``gating`` experiment's own settings: its arms (traditional RNNs included), its own
training length (``gating_epoch_scale``, never the lr grid's) and the saturated-unit
counts of its runs, checked against hand counts.

Runs use a random (not pre-trained) backbone and tiny sizes: they test behaviour, never
results.
"""

import dataclasses

import pandas as pd
import pytest
import torch
from torch import nn

from prernn_lite.experiments import LITE_BACKBONES, faces, load_results
from prernn_lite.experiments.faces import analysis
from prernn_lite.gates import saturated_units, saturation

TINY = dict(profile="ci", seeds=(0,), n_train=4, n_test=3, epoch_scale=0.05,
            hidden_ratios=(1 / 8,), batch_size=2, lrs=(1e-3, 1e-2))


@pytest.fixture()
def results(tmp_path, monkeypatch):
    """Random faces weights in a temporary samples folder; results under tmp_path."""
    root = tmp_path / "samples"
    (root / "weights").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(LITE_BACKBONES[("faces", "rgb")]().state_dict(), root / "weights" / "faces_rgb.pt")
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(root))
    monkeypatch.setenv("PRERNN_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def tiny(**changes):
    return dataclasses.replace(faces.FaceSettings(), **{**TINY, **changes})


# --- settings and arms -------------------------------------------------------------------
def test_profiles_set_the_gating_fields():
    lite, ci, full = (faces.FaceSettings.for_profile(p) for p in ("lite", "ci", "full"))
    assert (lite.gating_epoch_scale, lite.gating_traditional, lite.gating_min_fraction) == \
        (1.0, True, 0.1)
    assert ci.gating_epoch_scale == 0.2  # seconds
    assert (lite.gating_seeds, ci.gating_seeds, full.gating_seeds) == (5, None, None)
    assert full.gating_epoch_scale == full.epoch_scale  # full: the shared runs
    # the paper's 30 epochs unscaled in lite, 6 in ci; the other experiments keep theirs
    assert analysis.gating_settings(lite).recipe.epochs == 30
    assert analysis.gating_settings(ci).recipe.epochs == 6
    assert lite.recipe.epochs == 8
    none = dataclasses.replace(lite, gating_epoch_scale=None)
    assert analysis.gating_settings(none) == none


@pytest.mark.parametrize("field, value", [("gating_epoch_scale", 0.0),
                                          ("gating_epoch_scale", -1.0),
                                          ("gating_min_fraction", 1.0),
                                          ("gating_min_fraction", -0.1),
                                          ("gating_seeds", 0), ("gating_seeds", 2.5)])
def test_bad_gating_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        faces.FaceSettings(**{field: value})


def test_arms_include_the_matched_traditional_rnn_of_each_gated_cell():
    s = faces.FaceSettings()
    arms = {a.name: a for a in faces.gating_arms(s)}
    # 2 gated cells x (fc7, fc6+fc7) x (pre-trained, random) + one traditional per cell
    assert len(arms) == 2 * 2 * 2 + 2
    assert not any(a.cell == "vrnn" for a in arms.values())  # no gates
    for cell, size in (("lstm", 314), ("gru", s.matched_hidden("gru"))):
        trad = arms[f"{cell}-trad-matched"]
        assert (trad.kind, trad.cell, trad.hidden_size, trad.num_layers) == \
            ("traditional", cell, size, 2)
    assert {a.layers for a in arms.values() if a.kind == "prernn"} == \
        {("fc7",), ("fc6", "fc7")}
    off = faces.gating_arms(dataclasses.replace(s, gating_traditional=False))
    assert [a.kind for a in off] == ["prernn"] * 8


# --- the counts ----------------------------------------------------------------------------
def test_saturated_units_against_hand_counts():
    # one layer, N=1, T=10, H=3: unit 0 below 0.1 on 3 steps, unit 1 above 0.9 on 1
    # step and below 0.1 on 1, unit 2 never saturated
    f = torch.full((1, 1, 10, 3), 0.5)
    f[0, 0, :3, 0] = 0.05
    f[0, 0, 4, 1], f[0, 0, 7, 1] = 0.95, 0.01
    table = saturation({"f": f})
    assert table["left"].tolist() == pytest.approx([0.3, 0.1, 0.0])
    assert table["right"].tolist() == pytest.approx([0.0, 0.1, 0.0])
    counts = saturated_units(table, min_fraction=0.1).iloc[0]  # > 0.1: unit 0 only
    assert counts[["units", "left", "right", "either"]].tolist() == [3, 1, 0, 1]
    ever = saturated_units(table, min_fraction=0.0).iloc[0]  # at least once: 0 and 1
    assert ever[["units", "left", "right", "either"]].tolist() == [3, 2, 1, 2]
    with pytest.raises(ValueError, match="min_fraction"):
        saturated_units(table, min_fraction=1.0)


def test_counts_are_per_layer_and_gate():
    acts = {"fc6": {"i": torch.full((1, 2, 5, 4), 0.95)},  # always open
            "fc7": {"i": torch.full((1, 2, 5, 4), 0.5), "f": torch.full((1, 2, 5, 4), 0.0)}}
    counts = saturated_units(saturation(acts)).set_index(["layer", "gate"])
    assert counts.loc[("fc6", "i"), ["left", "right"]].tolist() == [0, 4]
    assert counts.loc[("fc7", "i"), ["left", "right", "either"]].tolist() == [0, 0, 0]
    assert counts.loc[("fc7", "f"), ["units", "left", "either"]].tolist() == [4, 4, 4]


class _GatesAreInputs(nn.Module):
    """Returns its input (N, T, H) as gate "i" of layer "fc7": known activations."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x, return_gates=False):
        return x, {"fc7": {"i": x[None], "g": x[None]}}


class _Source:
    def __init__(self, samples, **changes) -> None:
        self.settings = dataclasses.replace(faces.FaceSettings(), **changes)
        self._samples = samples

    def data(self, split, draw=None):
        assert split == "test"
        return self._samples


def test_the_run_row_counts_units_as_defined(tmp_path):
    # 3 test sequences of 4 steps, 2 units: unit 0 below 0.1 on 3 of 12 steps (0.25),
    # unit 1 above 0.9 on 1 of 12 steps (0.083)
    x = torch.full((3, 4, 2), 0.5)
    x[0, :3, 0] = 0.0
    x[2, 1, 1] = 1.0
    src = _Source([{"x": x[n]} for n in range(3)], gating_min_fraction=0.2)
    after = analysis._record_saturation(src, tmp_path / "sat.csv", first_seed=0)
    row = after(faces.gating_arms(src.settings)[0], 0, _GatesAreInputs(), None)
    assert row["units"] == 2  # the tanh/ReLU path "g" is not a gate
    assert (row["sat_units_left"], row["sat_units_right"], row["sat_units_ever"]) == (1, 0, 2)
    assert row["sat_left"] == pytest.approx((3 / 12 + 0) / 2)
    assert row["sat_right"] == pytest.approx((0 + 1 / 12) / 2)
    units = pd.read_csv(tmp_path / "sat.csv")  # the first seed's units, 3 decimals
    assert units[["left", "right"]].values.tolist() == [[0.25, 0.0], [0.0, 0.083]]
    after(faces.gating_arms(src.settings)[0], 1, _GatesAreInputs(), None)  # not the first
    assert len(pd.read_csv(tmp_path / "sat.csv")) == 2


# --- a tiny run ----------------------------------------------------------------------------
def test_gating_trains_its_own_epochs_and_the_grid_the_shared_ones(results):
    # epoch_scale 0.05: 30 -> 2 epochs (rounded half up); gating_epoch_scale 0.1: 3 epochs
    settings = tiny(cells=("gru",), gating_epoch_scale=0.1)
    runs = faces.gating(settings, (0,), results, resume=True)
    assert set(runs["arm"]) == {a.name for a in faces.gating_arms(settings)}
    assert "gru-trad-matched" in set(runs["arm"])
    assert runs["epochs"].eq(3).all() and runs["epoch_scale"].eq(0.1).all()
    grid = load_results("face_lr", "ci", "runs")
    assert grid["epochs"].eq(2).all()  # the lr grid is never trained with gating's epochs
    trad = runs.set_index("arm").loc["gru-trad-matched"]
    hidden = settings.matched_hidden("gru")
    assert trad["units"] == 2 * 2 * hidden  # 2 layers x (r, z) x hidden units
    assert {"sat_units_left", "sat_units_right", "sat_units_ever"} <= set(runs.columns)
    assert (runs["sat_units_ever"] >= runs[["sat_units_left", "sat_units_right"]].max(axis=1)
            ).all()
    sat = load_results("gating", "ci", "saturation")
    assert set(sat["layer"][sat["arm"] == "gru-trad-matched"]) == {"rnn0", "rnn1"}
    ckpts = [p.name for p in (results / "checkpoints" / "faces_ci").iterdir()]
    # the gating arms' checkpoints carry their own epochs: none is a 2-epoch grid run's
    assert any(n.startswith("gru-trad-") and "_e3_" in n for n in ckpts)
    assert sum("_e3_" in n for n in ckpts) == len(runs)


def test_gating_runs_the_first_gating_seeds_of_its_seeds(results):
    settings = tiny(cells=("gru",), gating_epoch_scale=0.1, gating_traditional=False,
                    gating_seeds=1)
    runs = faces.gating(settings, (3, 4), results, resume=True)
    assert set(runs["seed"]) == {3}
