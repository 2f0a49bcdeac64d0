"""Cells against independent references: torch.nn and hand computations in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from prernn_lite.cells import GRU, LSTM, VRNN, PreGRU, PreLSTM, PreVRNN

D = torch.float64
F_, H_ = 5, 4  # small sizes: input features, hidden size


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


PHI = {"relu": lambda v: np.maximum(v, 0.0), "tanh": np.tanh, "identity": lambda v: v}


def fc(f=F_, h=H_, bias=True, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(f, h, bias=bias).double()


# --------------------------------------------------------------- traditional vs torch.nn
TRADITIONAL = [
    (lambda L: VRNN(F_, H_, L), lambda L: nn.RNN(F_, H_, L, batch_first=True)),
    (lambda L: VRNN(F_, H_, L, nonlinearity="relu"),
     lambda L: nn.RNN(F_, H_, L, nonlinearity="relu", batch_first=True)),
    (lambda L: LSTM(F_, H_, L), lambda L: nn.LSTM(F_, H_, L, batch_first=True)),
    (lambda L: GRU(F_, H_, L), lambda L: nn.GRU(F_, H_, L, batch_first=True)),
]


@pytest.mark.parametrize("make", TRADITIONAL, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("with_state", [False, True])
def test_traditional_equals_torch_nn(make, layers, with_state):
    torch.manual_seed(layers)
    ours, ref = make[0](layers).to(D), make[1](layers).to(D)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 6, F_, dtype=D)
    state = None
    if with_state:
        h0 = torch.randn(layers, 3, H_, dtype=D)
        state = (h0, torch.randn_like(h0)) if isinstance(ref, nn.LSTM) else h0
    out, last = ours(x, state)
    out_ref, last_ref = ref(x, state)
    torch.testing.assert_close(out, out_ref, atol=1e-10, rtol=0)
    for a, b in zip(last if isinstance(last, tuple) else (last,),
                    last_ref if isinstance(last_ref, tuple) else (last_ref,), strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_traditional_without_bias_and_default_init():
    ours, ref = LSTM(F_, H_, 2, bias=False), nn.LSTM(F_, H_, 2, bias=False, batch_first=True)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    for p in GRU(F_, 64, 2).parameters():  # U(-1/sqrt(H), 1/sqrt(H)), spread over the range
        assert 0.9 / 8 < p.abs().max() <= 1 / 8
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, F_)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    ours, ref = GRU(F_, H_, 2, dropout=0.5).to(D), nn.GRU(F_, H_, 2, dropout=0.5,
                                                            batch_first=True).to(D)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 4, F_, dtype=D)
    ours.eval()
    ref.eval()
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-10, rtol=0)
    ours.train()
    assert not torch.allclose(ours(x)[0], ref(x)[0])


# ------------------------------------------------------------------ PreVRNN reproduces fc
@pytest.mark.parametrize("hh_init", ["zeros", "uniform", "orthogonal"])
def test_prevrnn_reproduces_pretrained_layer(hh_init):
    lin = fc()
    cell = PreVRNN.from_linear(lin, hh_init=hh_init)
    x = torch.randn(3, 5, F_, dtype=D)
    out, h_n = cell(x)
    expected = torch.relu(x @ lin.weight.T + lin.bias)  # the pre-trained layer, per frame
    if hh_init == "zeros":
        torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
        torch.testing.assert_close(h_n[0], expected[:, -1], atol=1e-12, rtol=0)
    else:  # from a zero state the first step sees no recurrence
        torch.testing.assert_close(out[:, 0], expected[:, 0], atol=1e-12, rtol=0)
        assert not torch.allclose(out, expected)


@settings(max_examples=15, deadline=None, database=None)
@given(n=st.integers(1, 3), t=st.integers(1, 4), f=st.integers(1, 6), h=st.integers(1, 6),
       act=st.sampled_from(["relu", "tanh", "identity"]))
def test_prevrnn_is_the_layer_for_any_shape(n, t, f, h, act):
    lin = fc(f, h)
    x = torch.randn(n, t, f, dtype=D)
    out, _ = PreVRNN.from_linear(lin, activation=act)(x)
    expected = PHI[act]((x @ lin.weight.T + lin.bias).detach().numpy())
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-12)


# ------------------------------------------------------------------- structure and init
def test_gate_mode_shares_w_xy_and_copies_it():
    lin = fc()
    cell = PreLSTM.from_linear(lin)  # defaults: gate mode, xy_gate g, other_init copy
    assert cell.weight_xy is lin.weight and cell.bias_xy is lin.bias
    assert cell.weight_ih.shape == (3 * H_, F_) and cell.weight_hh.shape == (4 * H_, H_)
    for j in range(3):  # i, f, o in torch order without g
        rows = slice(j * H_, (j + 1) * H_)
        assert torch.equal(cell.weight_ih[rows], lin.weight)
        assert torch.equal(cell.bias_ih[rows], lin.bias)
    assert cell.weight_ih.data_ptr() != lin.weight.data_ptr()
    assert cell.bias_ih.data_ptr() != lin.bias.data_ptr()
    assert not cell.weight_hh.any() and not cell.bias_hh.any()  # hh_init zeros
    assert cell.gate_input_weight("g") is lin.weight
    assert torch.equal(cell.gate_input_weight("f"), cell.weight_ih[H_:2 * H_])
    with torch.no_grad():  # own storage: changing a copy leaves W_xy alone
        cell.weight_ih.add_(1.0)
    assert not torch.equal(cell.weight_ih[:H_], lin.weight)


@pytest.mark.parametrize("cls, biases", [(PreLSTM, {"i": 4.0, "f": -4.0, "o": 4.0}),
                                         (PreGRU, {"r": 4.0, "z": -4.0})])
def test_gate_mode_zeros_start(cls, biases):
    lin = fc()
    cell = cls.from_linear(lin, other_init="zeros")
    assert not cell.weight_ih.any()
    expected = torch.cat([torch.full((H_,), v, dtype=D) for v in biases.values()])
    torch.testing.assert_close(cell.bias_ih, expected)
    assert not cell.bias_hh.any()


def test_zeros_start_is_close_to_the_pretrained_layer():
    lin = fc()
    x = torch.randn(2, 4, F_, dtype=D)
    y = torch.relu(lin(x))
    for cls in (PreLSTM, PreGRU):
        out, _ = cls.from_linear(lin, other_init="zeros", gate_bias=12.0)(x)
        torch.testing.assert_close(out, y, atol=1e-4, rtol=0)


def test_random_other_init_and_random_w_xy():
    lin = fc(h=64)
    cell = PreGRU.from_linear(lin, init="random", other_init="random")
    assert cell.weight_xy is not lin.weight and cell.weight_xy.data_ptr() != lin.weight.data_ptr()
    assert cell.weight_xy.shape == lin.weight.shape and cell.bias_xy.shape == lin.bias.shape
    for p in (cell.weight_xy, cell.bias_xy, cell.weight_ih, cell.bias_ih):
        assert 0.9 / 8 < p.abs().max() <= 1 / 8  # U(-1/sqrt(64), 1/sqrt(64))
    assert not torch.allclose(cell.weight_xy, lin.weight)
    assert PreLSTM.from_linear(fc(bias=False), init="random").bias_xy is None


@pytest.mark.parametrize("cls", [PreVRNN, PreLSTM, PreGRU])
def test_hh_init(cls):
    cell = cls.from_linear(fc(h=8), hh_init="orthogonal")
    for block in cell.weight_hh.split(8):
        torch.testing.assert_close(block.T @ block, torch.eye(8, dtype=D))
    w = cls.from_linear(fc(h=64), hh_init="uniform").weight_hh
    assert 0.9 / 8 < w.abs().max() <= 1 / 8
    assert not cls.from_linear(fc(h=64), hh_init="uniform").bias_hh.any()


@pytest.mark.parametrize("other_init", ["copy", "zeros", "random"])
def test_sih_has_one_input_weight(other_init):
    lin = fc(h=64)
    lstm = PreLSTM.from_linear(lin, mode="sih", other_init=other_init)
    names = [n for n, _ in lstm.named_parameters()]
    assert names == ["weight_xy", "bias_xy", "weight_hh", "bias_hh"]
    assert lstm.weight_ih is None and lstm.weight_xy is lin.weight
    assert all(lstm.gate_input_weight(g) is lin.weight for g in "ifgo")
    b = lstm.bias_hh.split(64)  # i, f, g, o
    if other_init == "copy":
        assert not lstm.bias_hh.any()
    elif other_init == "zeros":
        for v, chunk in zip([4.0, -4.0, 0.0, 4.0], b, strict=True):
            assert torch.all(chunk == v)
    else:
        assert not b[2].any() and 0.9 / 8 < lstm.bias_hh.abs().max() <= 1 / 8
    gru = PreGRU.from_linear(lin, mode="sih", other_init="zeros")
    torch.testing.assert_close(gru.bias_hh, torch.tensor([4.0] * 64 + [-4.0] * 64 + [0] * 64,
                                                         dtype=D))


def added(cell, lin):  # parameters the cell adds to the pre-trained layer
    return sum(p.numel() for p in cell.parameters()) - sum(p.numel() for p in lin.parameters())


def test_parameter_counts():
    f, h = 7, 5
    lin = fc(f, h)
    assert added(PreLSTM.from_linear(lin), lin) == 3 * h * f + 3 * h + 4 * h * h + 4 * h
    assert added(PreGRU.from_linear(lin), lin) == 2 * h * f + 2 * h + 3 * h * h + 3 * h
    assert added(PreVRNN.from_linear(lin), lin) == h * h + h
    assert added(PreLSTM.from_linear(lin, mode="sih"), lin) == 4 * h * h + 4 * h
    assert added(PreGRU.from_linear(lin, mode="sih"), lin) == 3 * h * h + 3 * h


# ----------------------------------------------------------------- hand computations
def np_step(kind, x, state, wx, bx, whh, bhh, phi):
    """One step in numpy from per-gate input weights ``wx[letter]`` (H, F)."""
    h = state[0]
    hh = {k: h @ w.T + b for k, w, b in zip(wx, np.split(whh, len(wx)), np.split(bhh, len(wx)),
                                             strict=True)}
    a = {k: x @ wx[k].T + bx[k] for k in wx}
    if kind == "lstm":
        i, f, o = (sig(a[k] + hh[k]) for k in "ifo")
        g = phi(a["g"] + hh["g"])
        c = f * state[1] + i * g
        return (o * phi(c), c), {"i": i, "f": f, "g": g, "o": o}
    r, z = sig(a["r"] + hh["r"]), sig(a["z"] + hh["z"])
    n = phi(a["n"] + r * hh["n"])
    return ((1 - z) * n + z * h,), {"r": r, "z": z, "n": n}


def gate_weights(cell, lin, letters, xy, mode):
    """Per-gate input weights read from the documented layout, not the cell's accessors."""
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    if mode == "sih":
        return {k: w for k in letters}, {k: b for k in letters}
    others = [k for k in letters if k != xy]
    wi = np.split(cell.weight_ih.detach().numpy(), len(others))
    bi = np.split(cell.bias_ih.detach().numpy(), len(others))
    wx = {k: (w if k == xy else wi[others.index(k)]) for k in letters}
    bx = {k: (b if k == xy else bi[others.index(k)]) for k in letters}
    return wx, bx


CASES = [(PreLSTM, "lstm", "ifgo", "g"), (PreLSTM, "lstm", "ifgo", "f"),
         (PreGRU, "gru", "rzn", "n"), (PreGRU, "gru", "rzn", "r")]


@pytest.mark.parametrize("mode", ["gate", "sih"])
@pytest.mark.parametrize("cls, kind, letters, xy", CASES)
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_pre_cell_matches_hand_computation(cls, kind, letters, xy, mode, act):
    lin = fc()
    torch.manual_seed(1)
    cell = cls.from_linear(lin, mode=mode, other_init="random", xy_gate=xy, hh_init="uniform",
                           activation=act)
    with torch.no_grad():
        cell.bias_hh.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, F_, dtype=D)
    h0 = torch.randn(1, 2, H_, dtype=D)
    state = (h0, torch.randn_like(h0)) if kind == "lstm" else h0
    out, last, gates = cell(x, state, return_gates=True)
    wx, bx = gate_weights(cell, lin, letters, xy, mode)
    s = tuple(v[0].numpy() for v in (state if kind == "lstm" else (state,)))
    for t in range(3):
        s, g = np_step(kind, x[:, t].numpy(), s, wx, bx, cell.weight_hh.detach().numpy(),
                       cell.bias_hh.detach().numpy(), PHI[act])
        np.testing.assert_allclose(out[:, t].detach().numpy(), s[0], atol=1e-12)
        for k in letters:
            assert gates[k].shape == (1, 2, 3, H_)
            np.testing.assert_allclose(gates[k][0, :, t].detach().numpy(), g[k], atol=1e-12)
    for a, b in zip(last if kind == "lstm" else (last,), s, strict=True):
        np.testing.assert_allclose(a[0].detach().numpy(), b, atol=1e-12)


def test_traditional_lstm_gates_match_hand_recomputation():
    torch.manual_seed(0)
    lstm = LSTM(F_, H_, num_layers=2).to(D)
    x = torch.randn(2, 4, F_, dtype=D)
    out, (h_n, c_n), gates = lstm(x, return_gates=True)
    assert sorted(gates) == ["f", "g", "i", "o"]
    inp = x.numpy()
    for k in range(2):
        p = {n: v.detach().numpy() for n, v in lstm.named_parameters() if n.endswith(f"l{k}")}
        wx = dict(zip("ifgo", np.split(p[f"weight_ih_l{k}"], 4), strict=True))
        bx = dict(zip("ifgo", np.split(p[f"bias_ih_l{k}"], 4), strict=True))
        s, hs = (np.zeros((2, H_)), np.zeros((2, H_))), []
        for t in range(4):
            s, g = np_step("lstm", inp[:, t], s, wx, bx, p[f"weight_hh_l{k}"],
                           p[f"bias_hh_l{k}"], np.tanh)
            hs.append(s[0])
            for letter in "ifgo":
                assert gates[letter].shape == (2, 2, 4, H_)
                np.testing.assert_allclose(gates[letter][k, :, t].detach().numpy(), g[letter],
                                           atol=1e-12)
        np.testing.assert_allclose(c_n[k].detach().numpy(), s[1], atol=1e-12)
        inp = np.stack(hs, 1)
    np.testing.assert_allclose(out.detach().numpy(), inp, atol=1e-12)


# ------------------------------------------------------------- lengths and gradcheck
def every_cell():
    torch.manual_seed(0)
    yield VRNN(F_, H_, 2).to(D)
    yield LSTM(F_, H_, 2).to(D)
    yield GRU(F_, H_, 2).to(D)
    for mode in ("gate", "sih"):
        for cls in (PreLSTM, PreGRU) + ((PreVRNN,) if mode == "gate" else ()):
            yield cls.from_linear(fc(), mode=mode, hh_init="uniform", other_init="random",
                                  activation="tanh")


CELLS = list(every_cell())
IDS = [f"{type(c).__name__}-{getattr(c, 'mode', '')}" for c in CELLS]


def as_tuple(s):
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("cell", CELLS, ids=IDS)
def test_lengths_equal_running_each_sequence_alone(cell):
    x = torch.randn(3, 5, F_, dtype=D)
    lengths = torch.tensor([5, 2, 3])
    out, last = cell(x, lengths=lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, last_alone = cell(x[n:n + 1, :length])
        torch.testing.assert_close(out[n:n + 1, :length], alone, atol=1e-12, rtol=0)
        assert not out[n, length:].any()
        for a, b in zip(as_tuple(last), as_tuple(last_alone), strict=True):
            torch.testing.assert_close(a[:, n:n + 1], b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("cell", CELLS, ids=IDS)
def test_gradcheck(cell):
    x = torch.randn(2, 3, F_, dtype=D, requires_grad=True)
    h0 = torch.randn(cell.num_layers, 2, H_, dtype=D, requires_grad=True)
    params = [p for p in cell.parameters()]

    def fn(x, h0, *ps):
        state = (h0, h0 * 0.5) if cell.kind == "lstm" else h0
        out, last = torch.func.functional_call(cell, dict(zip(
            [n for n, _ in cell.named_parameters()], ps, strict=True)), (x, state),
            {"lengths": [3, 2]})
        return out, *as_tuple(last)

    assert torch.autograd.gradcheck(fn, (x, h0, *params))


# --------------------------------------------------------------------------- errors
def test_bad_layer_and_choices():
    with pytest.raises(TypeError, match="expects a torch.nn.Linear, got Conv2d"):
        PreLSTM.from_linear(nn.Conv2d(3, 4, 3))
    lin = fc()
    for key, bad, valid in [("mode", "both", "'gate', 'sih'"),
                            ("init", "imagenet", "'pretrained', 'random'"),
                            ("other_init", "ones", "'copy', 'zeros', 'random'"),
                            ("xy_gate", "q", "'i', 'f', 'g', 'o'"),
                            ("activation", "gelu", "'relu', 'tanh', 'identity'"),
                            ("hh_init", "eye", "'zeros', 'uniform', 'orthogonal'")]:
        with pytest.raises(ValueError, match=f"{key}='{bad}'.*{valid}"):
            PreLSTM.from_linear(lin, **{key: bad})
    with pytest.raises(ValueError, match="single input transform.*SIH coincides"):
        PreVRNN.from_linear(lin, mode="sih")
    with pytest.raises(ValueError, match="nonlinearity='gelu'.*'tanh', 'relu'"):
        VRNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="gate letter='x'"):
        PreGRU.from_linear(lin).gate_input_weight("x")


@pytest.mark.parametrize("cell", [LSTM(F_, H_, 2), PreGRU.from_linear(nn.Linear(F_, H_))],
                         ids=["LSTM", "PreGRU"])
def test_bad_inputs_name_expected_and_given(cell):
    x = torch.randn(2, 3, F_)
    with pytest.raises(ValueError, match=r"expected shape \(N, T, 5\), got \(2, 3, 6\)"):
        cell(torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match=r"expected shape \(N, T, 5\), got \(3, 5\)"):
        cell(torch.randn(3, 5))
    L = cell.num_layers
    h = torch.zeros(L, 3, H_)
    good = (torch.zeros(L, 2, H_),) * 2 if cell.kind == "lstm" else torch.zeros(L, 2, H_)
    bad = (h, h) if cell.kind == "lstm" else h
    with pytest.raises(ValueError, match=rf"h_0: expected shape \({L}, 2, 4\), got \({L}, 3, 4\)"):
        cell(x, bad)
    cell(x, good)
    with pytest.raises(ValueError, match=r"lengths: expected shape \(2,\), got \(3,\)"):
        cell(x, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="expected values in 1..T=3, got min 0 max 4"):
        cell(x, lengths=[0, 4])
    with pytest.raises(ValueError, match="expected an integer tensor, got dtype torch.float32"):
        cell(x, lengths=torch.tensor([1.0, 2.0]))


def test_lstm_state_must_be_a_pair():
    with pytest.raises(ValueError, match=r"expected a tuple \(h_0, c_0\), got Tensor"):
        LSTM(F_, H_)(torch.randn(2, 3, F_), torch.zeros(1, 2, H_))


# ------------------------------------------------- dtype, device, time axis, lazy layers
ALL_FC = [lambda: VRNN(F_, H_, 2), lambda: LSTM(F_, H_), lambda: GRU(F_, H_),
          lambda: PreVRNN.from_linear(nn.Linear(F_, H_)),
          lambda: PreLSTM.from_linear(nn.Linear(F_, H_)),
          lambda: PreGRU.from_linear(nn.Linear(F_, H_), mode="sih")]
FC_IDS = ["VRNN", "LSTM", "GRU", "PreVRNN", "PreLSTM", "PreGRU"]


def state_like(cell, h):
    return (h, h) if cell.kind == "lstm" else h


@pytest.mark.parametrize("make", ALL_FC, ids=FC_IDS)
def test_wrong_dtype_names_expected_and_given(make):
    cell = make()  # float32 weights
    x = torch.randn(2, 3, F_)
    for dtype in (torch.float64, torch.int64):
        with pytest.raises(ValueError, match=rf"^input: expected dtype torch\.float32 \(the "
                                             rf"cell's weights\), got {dtype}"):
            cell(x.to(dtype))
    h = torch.zeros(cell.num_layers, 2, H_, dtype=D)
    with pytest.raises(ValueError, match=r"^state h_0: expected dtype torch\.float32 .*float64"):
        cell(x, state_like(cell, h))
    if cell.kind == "lstm":
        h0 = torch.zeros(1, 2, H_)
        with pytest.raises(ValueError, match=r"^state c_0: expected dtype .*got torch\.int64"):
            cell(x, (h0, h0.long()))
    assert cell.double()(x.double())[0].dtype == D  # the same cell in float64 accepts it


@pytest.mark.parametrize("make", ALL_FC, ids=FC_IDS)
def test_input_or_state_on_another_device_is_refused(make):
    cell, x = make(), torch.randn(2, 3, F_)
    meta = make().to("meta")  # weights on the meta device, input on the CPU
    with pytest.raises(ValueError, match=r"^input: expected device meta \(the cell's weights\), "
                                         r"got cpu"):
        meta(x)
    h = torch.zeros(cell.num_layers, 2, H_, device="meta")
    with pytest.raises(ValueError, match=r"^state h_0: expected device cpu .*got meta"):
        cell(x, state_like(cell, h))


@pytest.mark.parametrize("make", ALL_FC, ids=FC_IDS)
def test_empty_time_axis_is_refused(make):
    with pytest.raises(ValueError, match=r"at least one time step \(T >= 1\), got T = 0 "
                                         r"\(shape \(2, 0, 5\)\)"):
        make()(torch.randn(2, 0, F_))


def test_autocast_accepts_a_lower_precision_input_but_not_integers():
    cell = PreLSTM.from_linear(nn.Linear(F_, H_))
    x = torch.randn(2, 3, F_, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = cell(x)
        with pytest.raises(ValueError, match=r"expected dtype a floating dtype .*got torch\.int64"):
            cell(x.long())
    assert out.dtype == torch.bfloat16
    with pytest.raises(ValueError, match=r"expected dtype torch\.float32 .*got torch\.bfloat16"):
        cell(x)  # without autocast the dtypes must agree


def test_non_tensor_input_or_state_is_a_type_error():
    with pytest.raises(TypeError, match="^input: expected a Tensor, got list"):
        GRU(F_, H_)([[0.0] * F_])
    with pytest.raises(TypeError, match="^state c_0: expected a Tensor, got list"):
        LSTM(F_, H_)(torch.randn(2, 3, F_), (torch.zeros(1, 2, H_), [0.0]))


@pytest.mark.parametrize("cls", [PreVRNN, PreLSTM, PreGRU])
def test_lazy_linear_must_be_initialised_first(cls):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: the layer's parameters are "
                                         r"uninitialised .*LazyLinear.*forward pass"):
        cls.from_linear(nn.LazyLinear(H_))
    lazy = nn.LazyLinear(H_)
    lazy(torch.randn(1, F_))  # materialised: now an nn.Linear (F_ -> H_)
    assert cls.from_linear(lazy).input_size == F_


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_gate_bias_is_refused_at_construction(bad):
    with pytest.raises(ValueError, match=rf"^gate_bias: expected a finite number, got {bad}"):
        PreLSTM.from_linear(fc(), other_init="zeros", gate_bias=bad)
    with pytest.raises(ValueError, match="gate_bias"):
        PreGRU.from_linear(fc(), mode="sih", gate_bias=bad)  # refused even where unused
