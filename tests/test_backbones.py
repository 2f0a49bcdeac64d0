"""Backbones made recurrent, on the lite CNNs: equivalence, every combination, errors.

References are independent of ``prernn_lite.backbones``: the original feed-forward
network run frame by frame with a Python loop, and hand-computed features.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from prernn_lite.backbones import (
    LiteCNN2d,
    LiteCNN3d,
    dissect,
    make_baseline,
    make_frame_model,
    make_recurrent,
)

HIERARCHIES = [("fc6",), ("fc7",), ("fc6", "fc7")]
N, T = 2, 3


def lite2d() -> LiteCNN2d:
    torch.manual_seed(0)
    return LiteCNN2d(in_channels=3, image_size=16, fc_size=24, num_outputs=7).eval()


def lite3d() -> LiteCNN3d:
    torch.manual_seed(0)
    return LiteCNN3d(in_channels=2, clip_len=4, image_size=16, fc_size=24, num_outputs=5).eval()


BACKBONES = {"lite2d": (lite2d, (3, 16, 16)), "lite3d": (lite3d, (2, 4, 16, 16))}


def frame_by_frame(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The reference: the untouched network on each time step, stacked."""
    with torch.no_grad():
        return torch.stack([model(x[:, t]) for t in range(x.shape[1])], 1)


@pytest.fixture(params=sorted(BACKBONES))
def backbone(request):
    build, frame = BACKBONES[request.param]
    torch.manual_seed(1)
    return build(), torch.randn(N, T, *frame)


# ---------------------------------------------------------------- equivalence
@pytest.mark.parametrize("layers", HIERARCHIES)
def test_prevrnn_zero_hh_equals_frame_network(backbone, layers):
    model, x = backbone
    seq = make_recurrent(model, layers=layers, cell="vrnn", hh_init="zeros").eval()
    with torch.no_grad():
        out = seq(x)
    torch.testing.assert_close(out, frame_by_frame(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layers", HIERARCHIES)
def test_prevrnn_uniform_hh_equals_frame_network_at_first_step(backbone, layers):
    model, x = backbone
    seq = make_recurrent(model, layers=layers, cell="vrnn", hh_init="uniform").eval()
    with torch.no_grad():
        out = seq(x)
    ref = frame_by_frame(model, x)
    torch.testing.assert_close(out[:, 0], ref[:, 0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(out[:, 1:], ref[:, 1:], atol=1e-4)  # the recurrence acts later


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gated_cells_started_as_the_layer_equal_frame_network(backbone, cell):
    # other gates' input weights 0, gate biases ±30: sigmoid saturates to 0/1 in float32,
    # so c_t = g_t (LSTM) and h_t = n_t (GRU): the cell is relu(fc(x_t)) at every step.
    model, x = backbone
    seq = make_recurrent(model, ("fc6", "fc7"), cell=cell, other_init="zeros",
                         gate_bias=30.0, hh_init="zeros").eval()
    with torch.no_grad():
        torch.testing.assert_close(seq(x), frame_by_frame(model, x), rtol=1e-5, atol=1e-6)


def test_frame_model_equals_loop(backbone):
    model, x = backbone
    torch.testing.assert_close(make_frame_model(model)(x).detach(), frame_by_frame(model, x))


def test_pretrained_weights_kept_and_copy_semantics():
    model = lite2d()
    seq = make_recurrent(model, layers=("fc6", "fc7"), cell="lstm")
    cells = {s.name: s.cell for s in seq.stages}
    torch.testing.assert_close(cells["fc6"].weight_xy, model.fc6.weight, rtol=0, atol=0)
    assert cells["fc6"].weight_xy is not model.fc6.weight  # copy=True: model untouched
    torch.testing.assert_close(seq.head.weight, model.fc8.weight, rtol=0, atol=0)  # head kept
    shared = make_recurrent(model, layers=("fc7",), cell="gru", copy=False)
    assert {s.name: s for s in shared.stages if hasattr(s, "cell")}["fc7"].cell.weight_xy \
        is model.fc7.weight
    random = make_recurrent(model, layers=("fc6",), cell="vrnn", init="random")
    assert not torch.allclose(random.stages[0].cell.weight_xy, model.fc6.weight)


def test_cell_kwargs_reach_the_cells():
    seq = make_recurrent(lite2d(), cell="lstm", other_init="zeros", hh_init="orthogonal",
                         activation="tanh")
    for stage in seq.stages:
        assert (stage.cell.other_init, stage.cell.hh_init, stage.cell.activation) == (
            "zeros", "orthogonal", "tanh")
        w = stage.cell.weight_hh[:24]  # first gate block (H, H) is orthogonal
        torch.testing.assert_close(w @ w.T, torch.eye(24), atol=1e-5, rtol=0)


# ---------------------------------------------------------- every combination
COMBOS = [
    (cell, mode, init, layers, extra)
    for cell, mode, init in itertools.product(("vrnn", "lstm", "gru"), ("gate", "sih"),
                                              ("pretrained", "random"))
    if not (cell == "vrnn" and mode == "sih")
    for layers, extra in [(("fc6",), 0), (("fc7",), 0), (("fc6", "fc7"), 0), (("fc6", "fc7"), 1)]
]


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("cell,mode,init,layers,extra", COMBOS)
def test_every_combination_runs_forward_and_backward(name, cell, mode, init, layers, extra):
    build, frame = BACKBONES[name]
    model = build()
    seq = make_recurrent(model, layers=layers, cell=cell, mode=mode, init=init,
                         extra_layers=extra, hh_init="uniform").train()
    x = torch.randn(N, 2, *frame)
    out, gates = seq(x, return_gates=True)
    assert out.shape == (N, 2, model.fc8.out_features)
    assert list(gates) == list(layers) + (["extra"] * extra)
    letters = {"vrnn": ["h"], "lstm": ["i", "f", "g", "o"], "gru": ["r", "z", "n"]}[cell]
    for g in gates.values():
        assert list(g) == letters and g[letters[0]].shape == (1, N, 2, 24)
    out.square().mean().backward()
    conv = seq.trunk[0][0]  # first convolution of the trunk: fine-tuned jointly
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    for stage in seq.stages:
        if hasattr(stage, "cell"):  # hidden-to-hidden weights get a gradient (T = 2)
            w_hh = stage.cell.weight_hh_l0 if stage.name == "extra" else stage.cell.weight_hh
            assert w_hh.grad is not None and w_hh.grad.abs().sum() > 0


def test_vrnn_sih_is_refused():
    with pytest.raises(ValueError, match="sih"):
        make_recurrent(lite2d(), cell="vrnn", mode="sih")


def test_freeze_trunk():
    seq = make_recurrent(lite2d(), layers=("fc7",), cell="gru", freeze_trunk=True).train()
    assert not any(p.requires_grad for p in seq.trunk.parameters())
    assert not seq.trunk.training and seq.stages[0].training
    assert all(p.requires_grad for p in seq.stages.parameters())


def test_lengths_pass_through_to_cells():
    model, x = lite2d(), torch.randn(N, T, 3, 16, 16)
    seq = make_recurrent(model, layers=("fc6", "fc7"), cell="lstm", hh_init="uniform").eval()
    with torch.no_grad():
        full, short = seq(x), seq(x, lengths=[T, 1])
    torch.testing.assert_close(short[0], full[0])
    torch.testing.assert_close(short[1, 0], full[1, 0])


# ------------------------------------------------------------------- baseline
def test_baseline_sits_on_pretrained_fc7_features():
    model, x = lite2d(), torch.randn(N, T, 3, 16, 16)
    base = make_baseline(model, cell="gru", hidden_size=11, num_layers=2, num_outputs=4).eval()
    seen = {}
    base.stages[1].cell.register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    with torch.no_grad():
        out = base(x)
        f = model.features(x.flatten(0, 1)).flatten(1)  # by hand
        ref = torch.relu(model.fc7(torch.relu(model.fc6(f)))).view(N, T, -1)
    assert out.shape == (N, T, 4)
    torch.testing.assert_close(seen["x"], ref)
    g = 3  # GRU gates; hand count: layer 1 on 24-d features, layer 2 on 11-d, plus head
    rnn = g * 11 * (24 + 11) + g * 11 * (11 + 11) + 2 * 2 * g * 11
    head = 11 * 4 + 4
    trunk_fc = sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in model.fc8.parameters())
    assert sum(p.numel() for p in base.parameters()) == trunk_fc + rnn + head


def test_baseline_pretrained_head_option():
    model = lite2d()
    base = make_baseline(model, cell="lstm", num_layers=1, head="pretrained")
    torch.testing.assert_close(base.head.weight, model.fc8.weight, rtol=0, atol=0)
    with pytest.raises(ValueError, match="hidden_size=24"):
        make_baseline(model, cell="lstm", hidden_size=30, head="pretrained")


# --------------------------------------------------------------------- errors
def test_unknown_layer_lists_valid_names():
    with pytest.raises(ValueError, match=r"'fc8'.*LiteCNN2d.*'fc6'.*'fc7'"):
        make_recurrent(lite2d(), layers=("fc6", "fc8"))
    with pytest.raises(ValueError, match="'fc6'"):
        make_recurrent(lite3d(), layers=())


def test_unknown_cell_is_refused():
    with pytest.raises(ValueError, match="'vrnn', 'lstm', 'gru'"):
        make_recurrent(lite2d(), cell="rnn")


def test_layer_that_is_not_linear_is_refused_with_reason():
    model = lite2d()
    model.fc7 = nn.Sequential(nn.Linear(24, 24), nn.ReLU())
    with pytest.raises(TypeError, match=r"fc7.*Sequential, not nn.Linear.*W x \+ b"):
        make_recurrent(model, layers=("fc6",))


def test_unsupported_backbone_is_refused():
    with pytest.raises(TypeError, match="unsupported backbone"):
        make_recurrent(nn.Linear(3, 3))


@pytest.mark.parametrize("shape,expected", [
    ((N, 3, 16, 16), r"\(N, T, 3, 16, 16\)"),         # a batch of frames, no time axis
    ((N, T, 3, 32, 32), r"\(N, T, 3, 16, 16\).*got \(2, 3, 3, 32, 32\)"),
    ((N, T, 1, 16, 16), r"\(N, T, 3, 16, 16\)"),
])
def test_wrong_input_shape_names_expected_shape_2d(shape, expected):
    seq = make_recurrent(lite2d(), cell="gru")
    with pytest.raises(ValueError, match=expected):
        seq(torch.zeros(shape))
    with pytest.raises(ValueError, match=expected):
        make_frame_model(lite2d())(torch.zeros(shape))


def test_wrong_input_shape_names_expected_shape_3d():
    seq = make_baseline(lite3d(), hidden_size=4)
    with pytest.raises(ValueError, match=r"LiteCNN3d expects .*\(N, T, 2, 4, 16, 16\)"):
        seq(torch.zeros(N, T, 2, 16, 16))


# -------------------------------------------------------------- lite models
def test_lite_fc_sizes_follow_the_documented_formula():
    assert LiteCNN2d(image_size=64).fc6.in_features == 64 * 4 * 4  # 4 stages: stride 16
    assert LiteCNN2d(image_size=32, channels=(8, 8, 12)).fc6.in_features == 12 * 4 * 4
    assert LiteCNN3d(clip_len=8, image_size=32).fc6.in_features == 32 * 2 * 4 * 4
    with pytest.raises(ValueError, match="multiple of 16"):
        LiteCNN2d(image_size=24)
    with pytest.raises(ValueError, match="clip_len must be a positive multiple of 4"):
        LiteCNN3d(clip_len=6)
    parts = dissect(lite3d())
    assert [layer.path for layer in parts.layers.values()] == ["fc6", "fc7"]


def test_sequence_model_lists_its_cells_in_order():
    from prernn_lite.backbones import LiteCNN2d, make_recurrent
    from prernn_lite.cells import LSTM, PreLSTM

    cnn = LiteCNN2d(image_size=32, fc_size=16, num_outputs=4)
    model = make_recurrent(cnn, layers=("fc6", "fc7"), cell="lstm", extra_layers=1)
    cells = model.cells()
    assert list(cells) == ["fc6", "fc7", "extra"]
    assert isinstance(cells["fc6"], PreLSTM) and isinstance(cells["extra"], LSTM)
