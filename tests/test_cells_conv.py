"""Convolutional Pre cells against per-gate convolutions written out in the test."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from prernn_lite.cells import PreConvGRU, PreConvLSTM, PreConvVRNN, PreLSTM

D = torch.float64
CI, C = 2, 3  # input and hidden channels


def conv(stride=1, padding=1, k=3, seed=0, **kw):
    torch.manual_seed(seed)
    return nn.Conv2d(CI, C, k, stride=stride, padding=padding, **kw).double()


def frames(n=2, t=3, size=6):
    return torch.randn(n, t, CI, size, size, dtype=D)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0)])
def test_preconvvrnn_reproduces_the_conv(stride, padding):
    layer = conv(stride, padding)
    x = frames()
    expected = torch.stack([torch.relu(layer(x[:, t])) for t in range(3)], 1)
    out, h_n = PreConvVRNN.from_conv2d(layer)(x)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_n[0], expected[:, -1], atol=1e-12, rtol=0)
    out, _ = PreConvVRNN.from_conv2d(layer, hh_init="uniform")(x)
    torch.testing.assert_close(out[:, 0], expected[:, 0], atol=1e-12, rtol=0)
    assert not torch.allclose(out, expected)


def test_structure_and_copies():
    layer = conv()
    cell = PreConvLSTM.from_conv2d(layer, hidden_kernel_size=5)
    assert cell.weight_xy is layer.weight and cell.bias_xy is layer.bias
    assert cell.weight_ih.shape == (3 * C, CI, 3, 3)
    assert cell.weight_hh.shape == (4 * C, C, 5, 5) and not cell.weight_hh.any()
    for block in cell.weight_ih.split(C):
        assert torch.equal(block, layer.weight)
    assert cell.weight_ih.data_ptr() != layer.weight.data_ptr()
    assert PreConvGRU.from_conv2d(layer).weight_hh.shape == (3 * C, C, 3, 3)  # conv's k
    sih = PreConvGRU.from_conv2d(layer, mode="sih", other_init="zeros")
    assert [n for n, _ in sih.named_parameters()] == ["weight_xy", "bias_xy", "weight_hh",
                                                      "bias_hh"]
    assert sih.bias_hh.tolist() == [4.0] * C + [-4.0] * C + [0.0] * C
    zeros = PreConvLSTM.from_conv2d(layer, other_init="zeros")
    assert not zeros.weight_ih.any()
    assert zeros.bias_ih.tolist() == [4.0] * C + [-4.0] * C + [4.0] * C  # i, f, o


def test_parameter_counts_and_bounds():
    layer, k, kh = conv(k=3), 3, 1
    added = lambda c: (sum(p.numel() for p in c.parameters())  # noqa: E731
                       - sum(p.numel() for p in layer.parameters()))
    lstm = PreConvLSTM.from_conv2d(layer, hidden_kernel_size=kh)
    assert added(lstm) == 3 * C * CI * k * k + 3 * C + 4 * C * C * kh * kh + 4 * C
    gru = PreConvGRU.from_conv2d(layer, mode="sih")
    assert added(gru) == 3 * C * C * k * k + 3 * C
    big = PreConvGRU.from_conv2d(nn.Conv2d(2, 16, 3), hh_init="uniform", init="random")
    bound = 1 / (16 * 9) ** 0.5  # 1/sqrt(fan-in of the hidden conv)
    assert 0.9 * bound < big.weight_hh.abs().max() <= bound
    assert big.weight_xy.abs().max() <= bound


def conv_step(kind, x, state, wx, bx, whh, bhh, phi, stride, padding):
    """One step with one convolution per gate, from per-gate input weights ``wx[k]``."""
    letters = list(wx)
    a = {k: F.conv2d(x, wx[k], bx[k], stride, padding) for k in letters}
    hw = dict(zip(letters, whh.split(C), strict=True))
    hb = dict(zip(letters, bhh.split(C), strict=True))
    hh = {k: F.conv2d(state[0], hw[k], hb[k], padding=hw[k].shape[-1] // 2) for k in letters}
    if kind == "lstm":
        i, f, o = (torch.sigmoid(a[k] + hh[k]) for k in "ifo")
        g = phi(a["g"] + hh["g"])
        c = f * state[1] + i * g
        return (o * phi(c), c), {"i": i, "f": f, "g": g, "o": o}
    r, z = torch.sigmoid(a["r"] + hh["r"]), torch.sigmoid(a["z"] + hh["z"])
    n = phi(a["n"] + r * hh["n"])
    return ((1 - z) * n + z * state[0],), {"r": r, "z": z, "n": n}


@pytest.mark.parametrize("mode", ["gate", "sih"])
@pytest.mark.parametrize("cls, kind, letters, xy", [(PreConvLSTM, "lstm", "ifgo", "g"),
                                                    (PreConvGRU, "gru", "rzn", "z")])
def test_conv_cell_matches_per_gate_convolutions(cls, kind, letters, xy, mode):
    layer = conv(stride=2, padding=1)
    torch.manual_seed(3)
    cell = cls.from_conv2d(layer, mode=mode, xy_gate=xy, other_init="random",
                           hh_init="uniform", activation="tanh")
    with torch.no_grad():
        cell.bias_hh.uniform_(-0.5, 0.5)
    x = frames(size=7)  # (2, 3, CI, 7, 7) -> maps 4x4
    h0 = torch.randn(1, 2, C, 4, 4, dtype=D)
    state = (h0, torch.randn_like(h0)) if kind == "lstm" else h0
    out, last, gates = cell(x, state, return_gates=True)
    others = [k for k in letters if k != xy]
    if mode == "sih":
        wx = {k: layer.weight for k in letters}
        bx = {k: layer.bias for k in letters}
    else:
        wi, bi = cell.weight_ih.split(C), cell.bias_ih.split(C)
        wx = {k: layer.weight if k == xy else wi[others.index(k)] for k in letters}
        bx = {k: layer.bias if k == xy else bi[others.index(k)] for k in letters}
    s = tuple(v[0] for v in (state if kind == "lstm" else (state,)))
    with torch.no_grad():
        for t in range(3):
            s, g = conv_step(kind, x[:, t], s, wx, bx, cell.weight_hh, cell.bias_hh, torch.tanh,
                             2, 1)
            torch.testing.assert_close(out[:, t], s[0], atol=1e-12, rtol=0)
            for k in letters:
                assert gates[k].shape == (1, 2, 3, C, 4, 4)
                torch.testing.assert_close(gates[k][0, :, t], g[k], atol=1e-12, rtol=0)
    for a, b in zip(last if kind == "lstm" else (last,), s, strict=True):
        torch.testing.assert_close(a[0], b, atol=1e-12, rtol=0)


def conv_cells():
    yield PreConvVRNN.from_conv2d(conv(), hh_init="uniform", activation="tanh")
    for mode in ("gate", "sih"):
        yield PreConvLSTM.from_conv2d(conv(), mode=mode, other_init="random",
                                      hh_init="uniform", activation="tanh")
        yield PreConvGRU.from_conv2d(conv(), mode=mode, other_init="random",
                                     hh_init="uniform", activation="tanh")


CELLS = list(conv_cells())
IDS = [f"{type(c).__name__}-{c.mode}" for c in CELLS]


def as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("cell", CELLS, ids=IDS)
def test_lengths_equal_running_each_sequence_alone(cell):
    x = frames(3, 4, 5)
    out, last = cell(x, lengths=[4, 1, 2])
    for n, length in enumerate([4, 1, 2]):
        alone, last_alone = cell(x[n:n + 1, :length])
        torch.testing.assert_close(out[n:n + 1, :length], alone, atol=1e-12, rtol=0)
        assert not out[n, length:].any()
        for a, b in zip(as_tuple(last), as_tuple(last_alone), strict=True):
            torch.testing.assert_close(a[:, n:n + 1], b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", CELLS, ids=IDS)
def test_gradcheck(cell):
    x = torch.randn(2, 2, CI, 3, 3, dtype=D, requires_grad=True)
    h0 = torch.randn(1, 2, C, 3, 3, dtype=D, requires_grad=True)
    names = [n for n, _ in cell.named_parameters()]

    def fn(x, h0, *ps):
        state = (h0, h0 * 0.5) if cell.kind == "lstm" else h0
        out, last = torch.func.functional_call(cell, dict(zip(names, ps, strict=True)),
                                               (x, state), {"lengths": [2, 1]})
        return out, *as_tuple(last)

    # fast_mode checks random projections of the Jacobian: same test, far fewer evaluations
    assert torch.autograd.gradcheck(fn, (x, h0, *cell.parameters()), fast_mode=True)


def test_bad_input():
    with pytest.raises(TypeError, match="expects a torch.nn.Conv2d, got Linear"):
        PreConvLSTM.from_conv2d(nn.Linear(3, 4))
    with pytest.raises(TypeError, match="expects a torch.nn.Linear, got Conv2d"):
        PreLSTM.from_linear(conv())
    with pytest.raises(ValueError, match="groups must be 1, got 2"):
        PreConvGRU.from_conv2d(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="padding_mode must be 'zeros', got 'reflect'"):
        PreConvGRU.from_conv2d(nn.Conv2d(4, 4, 3, padding_mode="reflect"))
    with pytest.raises(ValueError, match=r"odd sizes .* got \(2, 2\)"):
        PreConvGRU.from_conv2d(conv(), hidden_kernel_size=2)
    with pytest.raises(ValueError, match="single input transform"):
        PreConvVRNN.from_conv2d(conv(), mode="sih")
    with pytest.raises(ValueError, match="hh_init='eye'.*'zeros', 'uniform', 'orthogonal'"):
        PreConvVRNN.from_conv2d(conv(), hh_init="eye")
    cell = PreConvLSTM.from_conv2d(conv())
    expected = r"expected shape \(N, T, 2, H, W\), got "
    with pytest.raises(ValueError, match=expected + r"\(2, 3, 6, 6\)"):
        cell(torch.randn(2, 3, 6, 6, dtype=D))
    with pytest.raises(ValueError, match=expected + r"\(1, 2, 3, 6, 6\)"):
        cell(torch.randn(1, 2, 3, 6, 6, dtype=D))
    h = torch.zeros(1, 2, C, 5, 5, dtype=D)
    with pytest.raises(ValueError, match=r"h_0: expected shape \(1, 2, 3, 6, 6\), got \(1, 2, 3, "):
        cell(frames(size=6), (h, h))


def test_conv_cells_refuse_dtype_device_empty_time_axis_lazy_conv_and_nan_gate_bias():
    cell = PreConvGRU.from_conv2d(conv())  # float64 weights
    with pytest.raises(ValueError, match=r"^input: expected dtype torch\.float64 .*float32"):
        cell(frames().float())
    h = torch.zeros(1, 2, C, 6, 6, dtype=torch.float32)
    with pytest.raises(ValueError, match=r"^state h_0: expected dtype torch\.float64 .*float32"):
        cell(frames(), h)
    with pytest.raises(ValueError, match=r"^state h_0: expected device cpu .*got meta"):
        cell(frames(), h.to("meta", D))
    with pytest.raises(ValueError, match=r"T = 0 \(shape \(2, 0, 2, 6, 6\)\)"):
        cell(frames(t=0))
    with pytest.raises(ValueError, match=r"^PreConvLSTM: .*uninitialised .*LazyConv2d"):
        PreConvLSTM.from_conv2d(nn.LazyConv2d(C, 3))
    with pytest.raises(ValueError, match="^gate_bias: expected a finite number, got nan"):
        PreConvLSTM.from_conv2d(conv(), other_init="zeros", gate_bias=float("nan"))
