"""Parameter counts against torch.nn and hand formulas; matching against the paper."""

import json
import pathlib

import pytest
from torch import nn

from prernn_lite import params
from prernn_lite.paper import PAPER_SIMILAR_HIDDEN_SIZE, paper_tables

TORCH = {"vrnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.mark.parametrize("cell", ["vrnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_params_equal_torch_nn(cell, layers, bias):
    module = TORCH[cell](7, 5, num_layers=layers, bias=bias)
    expected = sum(p.numel() for p in module.parameters())
    assert params.rnn_params(cell, 7, 5, layers, bias=bias) == expected


def test_added_params_hand_formulas_vgg16():
    # FACTS.md: LSTM 3*25088*4096 + 11*4096^2, GRU 2*25088*4096 + 8*4096^2, VRNN 2*4096^2
    assert params.prernn_added_params("lstm") == 3 * 25088 * 4096 + 11 * 4096**2
    assert params.prernn_added_params("gru") == 2 * 25088 * 4096 + 8 * 4096**2
    assert params.prernn_added_params("vrnn") == 2 * 4096**2
    # SIH adds only the hidden-to-hidden weights: G * H^2 per layer
    assert params.prernn_added_params("lstm", mode="sih") == 2 * 4 * 4096**2
    assert params.prernn_added_params("gru", mode="sih") == 2 * 3 * 4096**2


def test_added_params_with_biases_small():
    # one layer 8 -> 4, LSTM gate mode: 3 other gates (3*4*8 weights + 3*4 biases),
    # hidden 4*4*4 weights + 4*4 biases
    assert params.pre_layer_added_params("lstm", 8, 4) == 96 + 12 + 64 + 16


def test_solve_is_inverse_of_count():
    for cell in ("vrnn", "lstm", "gru"):
        for d in (3, 64, 1000):
            for bias in (False, True):
                budget = params.rnn_params(cell, 4096, d, 2, bias=bias)
                solved = params.solve_hidden_size(budget, cell, 4096, 2, bias=bias)
                assert solved == pytest.approx(d)


def test_matched_sizes_next_to_paper():
    """Our solution of the paper's stated matching, and how far it is from the printed one.

    Exact solutions: LSTM 5762.1, GRU 5499.1, VRNN 2730.7. The paper prints 5761, 5497
    and 2740: the gated cells agree to 0.05 %, VRNN is 0.3 % off. The book reports both.
    """
    ours = {c: params.matched_hidden_size(c) for c in ("vrnn", "lstm", "gru")}
    assert ours == {"lstm": 5762, "gru": 5499, "vrnn": 2731}
    for cell in ("lstm", "gru"):
        paper = PAPER_SIMILAR_HIDDEN_SIZE[cell]
        assert abs(ours[cell] - paper) / paper < 5e-4
    assert PAPER_SIMILAR_HIDDEN_SIZE["vrnn"] - ours["vrnn"] == 9
    # with the traditional RNN's budget just met and biases counted, LSTM lands on 5761
    assert params.matched_hidden_size("lstm", bias=True, rounding="floor") == 5761


def test_count_parameters_counts_shared_once():
    lin = nn.Linear(4, 3)
    holder = nn.Module()
    holder.a, holder.b = lin, lin
    assert params.count_parameters(holder) == 15
    lin.bias.requires_grad_(False)
    assert params.count_parameters(holder, trainable_only=True) == 12


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: params.rnn_params("cnn", 3, 4), "unknown cell 'cnn'.*lstm"),
        (lambda: params.prernn_added_params("lstm", backbone="alexnet"), "unknown backbone.*vgg16"),
        (lambda: params.prernn_added_params("lstm", layers=("fc8",)), "no layer 'fc8'.*fc6"),
        (lambda: params.pre_layer_added_params("gru", 3, 4, mode="x"), "unknown mode 'x'"),
        (lambda: params.matched_hidden_size("gru", rounding="up"), "unknown rounding"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_paper_tables_copy_matches_shared():
    shared = pathlib.Path(__file__).resolve().parents[2] / "shared" / "paper" / "tables.json"
    if not shared.exists():
        pytest.skip("shared/paper/tables.json not beside this checkout")
    assert paper_tables() == json.loads(shared.read_text())



def test_custom_layer_sizes_match_the_hand_formula():
    # a lite backbone: fc6 1024 -> 256, fc7 256 -> 256; LSTM adds 3*256*1024 + 11*256^2
    sizes = [(1024, 256), (256, 256)]
    assert params.prernn_added_params("lstm", layer_sizes=sizes) == 3 * 256 * 1024 + 11 * 256**2
    d = params.matched_hidden_size("lstm", layer_sizes=sizes)
    budget = 3 * 256 * 1024 + 11 * 256**2
    # d is the integer whose traditional count (12 d^2 + 4*256 d) is closest to the budget
    counts = {k: 12 * k * k + 4 * 256 * k for k in (d - 1, d, d + 1)}
    assert min(counts, key=lambda k: abs(counts[k] - budget)) == d
    with pytest.raises(ValueError, match="layer_sizes must be"):
        params.prernn_added_params("lstm", layer_sizes=[(3,)])
