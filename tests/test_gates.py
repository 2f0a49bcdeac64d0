"""Saturation statistics against hand counts."""

import matplotlib
import pytest
import torch

from prernn_lite.gates import plot_saturation, saturation

matplotlib.use("Agg")


def test_hand_counted_fractions():
    # one layer, N=2, T=3, H=2
    f = torch.tensor([[[[0.0, 0.5], [0.05, 0.95], [0.2, 0.99]],
                       [[0.95, 0.5], [0.5, 0.5], [0.09, 0.91]]]])
    table = saturation({"f": f})
    # unit 0: values 0.0, 0.05, 0.2, 0.95, 0.5, 0.09 -> 3 of 6 below 0.1, 1 of 6 above 0.9
    # unit 1: 0.5, 0.95, 0.99, 0.5, 0.5, 0.91 -> 0 below, 3 above
    assert table["left"].tolist() == pytest.approx([3 / 6, 0.0])
    assert table["right"].tolist() == pytest.approx([1 / 6, 3 / 6])


def test_lengths_exclude_padding():
    f = torch.tensor([[[[0.0], [0.0]], [[0.95], [0.0]]]])  # (1, N=2, T=2, H=1)
    table = saturation({"f": f}, lengths=[2, 1])
    # counted steps: 0.0, 0.0 (seq 0) and 0.95 (seq 1); the padded 0.0 is ignored
    assert table["left"].item() == pytest.approx(2 / 3)
    assert table["right"].item() == pytest.approx(1 / 3)


def test_nested_layers_multi_layer_and_tanh_gate_skipped():
    acts = torch.rand(2, 3, 4, 5)
    table = saturation({"fc6": {"i": acts, "g": acts}, "fc7": {"i": acts[:1]}})
    assert set(table["gate"]) == {"i"}
    assert sorted(set(table["layer"])) == ["fc60", "fc61", "fc7"]
    assert len(table) == 3 * 5


def test_conv_units_are_flattened():
    table = saturation({"z": torch.rand(1, 2, 3, 4, 5, 6)})
    assert len(table) == 4 * 5 * 6


def test_bad_input():
    with pytest.raises(ValueError, match="low < high"):
        saturation({"f": torch.rand(1, 1, 1, 1)}, low=0.9, high=0.1)
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        saturation({"f": torch.rand(1, 2, 3, 1)}, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="no gate to analyse"):
        saturation({"g": torch.rand(1, 2, 3, 1)})
    with pytest.raises(ValueError, match=r"expected \(num_layers, N, T, H\)"):
        saturation({"f": torch.rand(2, 3)})


def test_plot_has_one_panel_per_gate():
    table = saturation({"i": torch.rand(1, 2, 5, 8), "f": torch.rand(1, 2, 5, 8)})
    fig = plot_saturation(table, title="demo")
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["gate i", "gate f"]
