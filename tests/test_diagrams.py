"""The book's diagrams (prernn_lite.diagrams): what each one shows, and the committed SVGs.

The expected structures come from outside the drawing code: the number of gates from
``torch.nn``'s stacked weights, the element-wise operations from the cells' equations,
the gate that holds ``W_xy`` and the per-gate input weights from the Pre cells themselves.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from torch import nn

from prernn_lite.cells import PreGRU, PreLSTM, PreVRNN
from prernn_lite.diagrams import (
    FIGURES,
    draw_cell,
    draw_model_path,
    draw_overview,
    draw_prernn,
    draw_two_stream,
)

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "book" / "_static" / "figures"
TORCH = {"vrnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
PRE = {"vrnn": PreVRNN, "lstm": PreLSTM, "gru": PreGRU}
LETTERS = {"vrnn": "h", "lstm": "ifgo", "gru": "rzn"}  # torch.nn's gate order


def gids(fig, prefix: str) -> list[str]:
    return [p.get_gid() for p in fig.axes[0].patches
            if p.get_gid() and p.get_gid().startswith(prefix)]


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def label_of(fig, gid: str) -> str:
    (text,) = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == f"{gid}:label"]
    return text


@pytest.mark.parametrize("kind", ["vrnn", "lstm", "gru"])
def test_a_cell_has_one_box_per_gate_of_torch_nn(kind):
    layer = TORCH[kind](2, 3)
    n_gates = layer.weight_ih_l0.shape[0] // layer.hidden_size  # VRNN 1, LSTM 4, GRU 3
    fig = draw_cell(kind)
    boxes = gids(fig, "gate:")
    assert len(boxes) == n_gates
    assert sorted(boxes) == sorted(f"gate:{k}" for k in LETTERS[kind])
    shown = texts(fig)
    for k in LETTERS[kind]:  # each gate is named by its output (a VRNN's output is h_t)
        assert rf"$\mathbf{{{k}}}_t$" in shown
    assert r"$\mathbf{x}_t$" in shown and r"$\mathbf{h}_{t-1}$" in shown


@pytest.mark.parametrize(("kind", "ops", "activations"), [
    # h_t = tanh(...): no element-wise operation
    ("vrnn", {}, {"h": "tanh"}),
    # c_t = f*c + i*g, h_t = o*tanh(c_t): three products, one sum, one tanh
    ("lstm", {"op:mul": 3, "op:add": 1, "op:tanh": 1},
     {"i": "σ", "f": "σ", "g": "tanh", "o": "σ"}),
    # n = tanh(W_xn x + r*(W_hn h)), h_t = (1-z)*n + z*h: three products, one sum, one 1-z
    ("gru", {"op:mul": 3, "op:add": 1, "op:one-minus": 1}, {"r": "σ", "z": "σ", "n": "tanh"}),
])
def test_a_cell_draws_the_operations_of_its_equations(kind, ops, activations):
    fig = draw_cell(kind)
    assert Counter(":".join(g.split(":")[:2]) for g in gids(fig, "op:")) == Counter(ops)
    for k, act in activations.items():
        assert label_of(fig, f"gate:{k}").replace(r"$\sigma$", "σ") == act
    # torch.nn's GRU scales W_hn h + b_hn by r: that product needs its own box
    assert gids(fig, "weight:") == (["weight:hn"] if kind == "gru" else [])


@pytest.mark.parametrize("cell", ["vrnn", "lstm", "gru"])
def test_gate_structure_has_one_input_weight_per_gate_and_w_xy_where_the_cell_has_it(cell):
    pre = PRE[cell].from_linear(nn.Linear(5, 3))  # the library's default structure
    fig = draw_prernn("gate", cell=cell)
    inputs = gids(fig, "weight:x")
    assert len(inputs) == len(LETTERS[cell]) == len(gids(fig, "gate:"))
    assert inputs.count("weight:xy") == 1
    # the copies are the cell's weight_ih: (G - 1) blocks of H rows (none for a VRNN)
    copies = 0 if pre.weight_ih is None else pre.weight_ih.shape[0] // pre.hidden_size
    assert len(inputs) - 1 == copies
    # W_xy sits in the row of the gate the cell gives it to
    boxes = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    row = boxes["weight:xy"].get_y() + boxes["weight:xy"].get_height() / 2
    gate = boxes[f"gate:{pre.xy_gate}"]
    assert row == pytest.approx(gate.get_y() + gate.get_height() / 2)
    assert label_of(fig, "weight:xy") == r"$\mathbf{W}_{xy}$"
    assert len(gids(fig, "weight:h")) == len(LETTERS[cell])  # one W_hk per gate


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_sih_structure_has_one_shared_w_xy(cell):
    pre = PRE[cell].from_linear(nn.Linear(5, 3), mode="sih")
    assert pre.weight_ih is None  # the cell itself has no per-gate input weights
    fig = draw_prernn("sih", cell=cell)
    assert gids(fig, "weight:x") == ["weight:xy"]
    assert len(gids(fig, "gate:")) == len(gids(fig, "weight:h")) == len(LETTERS[cell])
    assert r"$\mathbf{a}_t$" in texts(fig)


def test_wrong_names_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"kind: expected one of \['gru', 'lstm', 'vrnn'\]"):
        draw_cell("rnn")
    with pytest.raises(ValueError, match=r"mode: expected one of \['gate', 'sih'\]"):
        draw_prernn("shared")
    with pytest.raises(ValueError, match=r"cell: expected one of \['gru', 'lstm', 'vrnn'\]"):
        draw_prernn("gate", cell="rnn")
    with pytest.raises(ValueError, match="use mode='gate'"):  # as PreVRNN itself refuses
        draw_prernn("sih", cell="vrnn")
    with pytest.raises(ValueError, match="does not apply to a vanilla RNN"):
        PreVRNN.from_linear(nn.Linear(5, 3), mode="sih")


def test_model_path_unrolls_frame_trunk_fc6_fc7_head_over_three_steps():
    fig = draw_model_path()
    steps = ("t-1", "t", "t+1")
    for part in ("input", "trunk", "layer:fc6", "layer:fc7", "head"):
        assert sorted(gids(fig, part + ":")) == sorted(f"{part}:{t}" for t in steps)
    shown = texts(fig)
    for t in steps:
        assert f"frame ${t}$" in shown and f"output at ${t}$" in shown
    # the hidden state is carried from each step to the next, in both recurrent layers
    assert shown.count(r"$\mathbf{h}_{t-1}$") == shown.count(r"$\mathbf{h}_t$") == 2


def test_two_stream_has_two_networks_and_one_fusion():
    fig = draw_two_stream()
    for stream in ("spatial", "temporal"):
        for part in ("input", "trunk", "layer:fc6+fc7", "head"):
            assert f"{part}:{stream}" in gids(fig, part)
    assert gids(fig, "op:") == ["op:fusion"]
    assert texts(fig).count(r"$\mathbf{h}_{t-1}$") == 2  # each stream is recurrent


def test_overview_makes_only_the_fc_layers_recurrent():
    fig = draw_overview()
    for side in ("cnn", "prernn"):
        assert {g.split(":")[0] for g in gids(fig, "") if g.endswith(side)} == {
            "input", "trunk", "layer", "head"}
    assert texts(fig).count(r"$\mathbf{W}_{hh}\mathbf{h}_{t-1}$") == 2  # fc6 and fc7


def test_drawing_into_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert draw_prernn("sih", ax=ax) is fig
    assert gids(fig, "weight:x") == ["weight:xy"]


def luminance(colour) -> float:
    return sum(w * c for w, c in zip((0.2126, 0.7152, 0.0722), to_rgb(colour), strict=True))


@pytest.mark.parametrize("name", list(FIGURES))
def test_dark_ink_on_an_opaque_white_canvas_and_no_text_overlaps(name):
    fig = FIGURES[name]()
    assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)  # reads on a dark page too
    ax = fig.axes[0]
    labels = [*ax.texts, *ax.get_legend().get_texts()]
    assert all(luminance(t.get_color()) < 0.45 for t in labels)
    agg = FigureCanvasAgg(fig)
    agg.draw()  # lays out the legend
    renderer = agg.get_renderer()
    extent = [t.get_window_extent(renderer).expanded(0.97, 0.9) for t in labels]
    canvas = fig.bbox
    for i, (a, text) in enumerate(zip(extent, labels, strict=True)):
        assert canvas.contains(a.x0, a.y0) and canvas.contains(a.x1, a.y1), text.get_text()
        for b, other in zip(extent[i + 1:], labels[i + 1:], strict=True):
            assert not a.overlaps(b), (text.get_text(), other.get_text())
    # a box's label fits inside it; any other text stays clear of every box
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in ax.patches
             if p.get_gid() and p.get_gid() != "cell"}
    assert len(boxes) == len([p for p in ax.patches if p.get_gid() not in (None, "cell")])
    for a, text in zip(extent, labels, strict=True):
        own = (text.get_gid() or "").removesuffix(":label")
        if own in boxes:
            b = boxes[own]
            assert b.x0 <= a.x0 and a.x1 <= b.x1 and b.y0 <= a.y0 and a.y1 <= b.y1, own
        else:
            assert not any(a.overlaps(b) for b in boxes.values()), text.get_text()


def svg_ids(svg: str) -> list[str]:
    """The ids the drawing code gave its elements (``gate:i``...), in document order."""
    return [i for i in re.findall(r' id="([^"]+)"', svg) if ":" in i or i == "cell"]


def test_committed_svgs_are_what_the_code_draws_now(tmp_path):
    subprocess.run([sys.executable, "-m", "prernn_lite.diagrams", str(tmp_path)], check=True,
                   cwd=ROOT, capture_output=True)
    fresh = sorted(p.name for p in tmp_path.glob("*.svg"))
    assert fresh == sorted(f"{name}.svg" for name in FIGURES)
    assert sorted(p.name for p in COMMITTED.glob("*.svg")) == fresh, \
        "run: python -m prernn_lite.diagrams book/_static/figures"
    for name in fresh:
        now, committed = (tmp_path / name).read_text(), (COMMITTED / name).read_text()
        version = re.search(r"Matplotlib v([^,<]+)", committed)
        if version and version.group(1) == matplotlib.__version__:
            assert now == committed, f"{name} is stale: run python -m prernn_lite.diagrams " \
                                     "book/_static/figures"
        else:  # another matplotlib writes other bytes: the same elements, in the same order
            assert svg_ids(now) == svg_ids(committed), name
