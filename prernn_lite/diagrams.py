"""Diagrams of the book's structures, drawn with matplotlib so that a test can build them.

Each public function draws one idea and returns its Figure: ``draw_cell`` a traditional
cell's data flow (VRNN, LSTM, GRU as in ``torch.nn``), ``draw_prernn`` where PreRNN puts the
pre-trained ``W_xy`` in its two structures, ``draw_model_path`` a frame's path through the
recurrent network, ``draw_two_stream`` late fusion of two streams and ``draw_overview``
the method in one picture. Boxes are layers (weights, then a nonlinearity), circles are
element-wise operations, arrows carry data; one colour per role (``ROLE``) in every figure.
The canvas is opaque white with dark ink, so a figure reads on light and dark pages.
Elements carry ids (``gate:i``, ``weight:xy``, ``op:add``...) that tests and SVGs can find.

``python -m prernn_lite.diagrams DIR`` writes every figure of ``FIGURES`` as SVG into DIR,
byte for byte the same on every run (fixed ``svg.hashsalt``, no date); the book's copies
are in ``book/_static/figures``.

>>> fig = draw_cell("gru")
>>> sorted(p.get_gid() for p in fig.axes[0].patches if str(p.get_gid()).startswith("gate:"))
['gate:n', 'gate:r', 'gate:z']
"""

from __future__ import annotations

import functools
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib import patheffects
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path as MPath

# One colour per role (Okabe-Ito, legible for colour-blind readers), a light fill for boxes.
ROLE = {"input": "#0072B2", "recurrent": "#D55E00", "gate": "#009E73", "op": "#CC79A7",
        "pretrained": "#E69F00", "neutral": "#666666", "ink": "#222222"}
FILL = {"gate": "#DCF1E9", "op": "#F6E2EE", "pretrained": "#FBE6B6", "neutral": "#EEEEEE"}
STYLE = {"font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans", "font.size": 11,
         "svg.hashsalt": "prernn-diagrams", "svg.fonttype": "path"}
GATES = {"vrnn": "h", "lstm": "ifgo", "gru": "rzn"}  # torch.nn order
XY_GATE = {"vrnn": "h", "lstm": "g", "gru": "n"}  # the gate that holds W_xy (library default)
SIGMA, TANH, ODOT = r"$\sigma$", "tanh", r"$\odot$"


def _check(name: str, value: str, valid) -> None:
    if value not in valid:
        raise ValueError(f"{name}: expected one of {sorted(valid)}, got {value!r}")


def _styled(draw):
    """Draw with the module's fonts, whatever the reader's matplotlibrc says."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


@dataclass
class _Node:
    """A drawn box or circle: centre and size, in data units."""
    x: float
    y: float
    w: float
    h: float

    def at(self, side: str, d: float = 0.0) -> tuple[float, float]:
        """The point on ``side`` ("top", "bottom", "left", "right"), shifted ``d`` along it."""
        x, y, w, h = self.x, self.y, self.w / 2, self.h / 2
        return {"top": (x + d, y + h), "bottom": (x + d, y - h),
                "left": (x - w, y + d), "right": (x + w, y + d)}[side]


def _canvas(ax, xlim, ylim, width: float = 7.0):
    """A new 700 px wide figure (or the given axes), one data unit the same along x and y."""
    if ax is None:
        height = width * (ylim[1] - ylim[0]) / (xlim[1] - xlim[0])
        ax = Figure(figsize=(width, height), dpi=100, facecolor="white").add_axes((0, 0, 1, 1))
    ax.set(xlim=xlim, ylim=ylim, aspect="equal")
    ax.set_axis_off()
    return ax


def _box(ax, x, y, text, role, gid, w=0.9, h=0.6, dashed=False, fill=None, size=12,
         rounding=0.1) -> _Node:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, gid=gid, zorder=3,
                                boxstyle=f"round,pad=0,rounding_size={rounding}",
                                fc=fill or FILL.get(role, "white"), ec=ROLE[role], lw=1.8,
                                ls=(0, (3, 2)) if dashed else "-"))
    ax.text(x, y, text, ha="center", va="center", size=size, color=ROLE["ink"], zorder=4,
            gid=f"{gid}:label")
    return _Node(x, y, w, h)


def _op(ax, x, y, text, gid, w=0.0) -> _Node:
    """An element-wise operation: a circle, or a pill ``w`` wide for a named function."""
    h = 0.4 if w else 0.48
    return _box(ax, x, y, text, "op", gid, w=w or h, h=h, rounding=h / 2)


def _wire(ax, points, role, head=True, halo=False):
    """Data along a polyline; ``halo`` lifts it over the wires it crosses."""
    arrow = FancyArrowPatch(path=MPath(points), arrowstyle="-|>" if head else "-", lw=1.6,
                            mutation_scale=13, color=ROLE[role], zorder=2, joinstyle="miter",
                            capstyle="butt")
    if halo:
        arrow.set_path_effects([patheffects.withStroke(linewidth=6.6, foreground="white")])
    ax.add_patch(arrow)


def _dot(ax, x, y, role):  # a branch point
    ax.add_patch(Circle((x, y), 0.055, color=ROLE[role], zorder=3))


def _text(ax, x, y, text, ha="center", va="center", size=12, color=ROLE["ink"]):
    ax.text(x, y, text, ha=ha, va=va, size=size, color=color, zorder=5)


def _loop(ax, node: _Node, label: str, up=True):
    """The hidden state fed back into a recurrent layer: a bracket over (or right of) it."""
    side, d, angle, arm = ("top", 0.3, 90, 18) if up else ("right", 0.14, 0, 26)
    ax.add_patch(FancyArrowPatch(node.at(side, d), node.at(side, -d), arrowstyle="-|>", lw=1.6,
                                 mutation_scale=13, color=ROLE["recurrent"], zorder=2,
                                 connectionstyle=f"arc,angleA={angle},angleB={angle},"
                                 f"armA={arm},armB={arm},rad=4"))
    if up:
        _text(ax, node.x, node.y + node.h / 2 + 0.4, label, va="bottom", size=11)
    else:
        _text(ax, node.x + node.w / 2 + 0.6, node.y, label, ha="left", size=11)


def _key(role, label, kind="box", **style):
    if kind == "line":
        return Line2D([], [], color=ROLE[role], lw=2, label=label)
    if kind == "dot":
        return Line2D([], [], ls="", marker="o", ms=12, mfc=FILL[role], mec=ROLE[role],
                      mew=1.6, label=label)
    return Patch(fc=style.get("fill", FILL.get(role, "white")), ec=ROLE[role], lw=1.6,
                 ls=style.get("ls", "-"), label=label)


_KEYS = {  # name: (role, label, kind, style) of a legend entry
    "input": ("input", r"input path ($\mathbf{x}_t$)", "line"),
    "state": ("recurrent", "state carried along time", "line"),
    "gateval": ("gate", r"gate value ($\mathbf{f}_t$, $\mathbf{z}_t$, ...)", "line"),
    "result": ("ink", "result of an operation", "line"),
    "gate": ("gate", r"layer: weights, then $\sigma$ or tanh"),
    "gatephi": ("gate", r"gate: $\sigma$ or $\varphi$ of its inputs' sum"),
    "op": ("op", "element-wise operation", "dot"),
    "pre": ("pretrained", r"pre-trained $\mathbf{W}_{xy}$, kept"),
    "copy": ("pretrained", r"new, starts as a copy of $\mathbf{W}_{xy}$", "box",
             {"fill": "white", "ls": "--"}),
    "new": ("recurrent", r"new hidden weight, starts at $\mathbf{0}$", "box", {"fill": "white"}),
    "cnn": ("neutral", "pre-trained CNN, feed-forward"),
    "prelayer": ("pretrained", "pre-trained fc layer, made recurrent"),
}


def _legend(ax, keys, ncol=2):
    """The key below the drawing; ``keys`` name entries of ``_KEYS``."""
    handles = [_key(*_KEYS[k][:3], **(_KEYS[k][3] if len(_KEYS[k]) > 3 else {})) for k in keys]
    ax.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=10, frameon=False,
              handlelength=1.8, columnspacing=1.4, bbox_to_anchor=(0.5, 0.0))


# --- traditional cells. Heights: h bus, x bus, gate row, middle operations, top lane.
YH, YX, YG, YM, YC = 0.9, 1.45, 2.5, 3.45, 4.55


def _cell_inputs(ax, x_to: list[_Node], h_to: list[_Node], x_in=1.9):
    """x_t from below and h_{t-1} from the left, one riser into each box they feed."""
    risers = {}
    for nodes, y, role, d in ((x_to, YX, "input", -0.2), (h_to, YH, "recurrent", 0.2)):
        ends = [n.at("bottom", d if n in x_to and n in h_to else 0.0) for n in nodes]
        start = [(x_in, 0.1), (x_in, y)] if role == "input" else [(0.55, y)]
        _wire(ax, [*start, (ends[-1][0], y)], role, head=False)
        for end in ends:
            _wire(ax, [(end[0], y), end], role)
            if end[0] != ends[-1][0]:
                _dot(ax, end[0], y, role)
        risers[role] = [end[0] for end in ends]
    crossings = [(x, YX, "recurrent") for x in risers["recurrent"]
                 if x_in < x < max(risers["input"])] + [(x_in, YH, "input")]
    for x, y, role in crossings:  # the vertical wire passes over the horizontal one
        _wire(ax, [(x, y - 0.15), (x, y + 0.15)], role, head=False, halo=True)
    _text(ax, x_in + 0.12, 0.15, r"$\mathbf{x}_t$", ha="left", va="bottom")
    _text(ax, 0.55, YH + 0.08, r"$\mathbf{h}_{t-1}$", ha="left", va="bottom")


def _h_out(ax, start, x_turn=8.5):
    """h_t leaves at the right, at the height where h_{t-1} came in."""
    _wire(ax, [start, (x_turn, start[1]), (x_turn, YH), (10.0, YH)], "recurrent")
    _text(ax, 9.35, YH + 0.08, r"$\mathbf{h}_t$", va="bottom")


def _gate_row(ax, acts: dict[str, str], xs: dict[str, float], right=()) -> dict[str, _Node]:
    """The gate boxes; each name sits by its output wire (up, or right for ``right``)."""
    nodes = {k: _box(ax, xs[k], YG, act, "gate", f"gate:{k}") for k, act in acts.items()}
    for k, n in nodes.items() if len(nodes) > 1 else ():  # a VRNN's gate is h_t itself
        x, y = n.at("right", 0.06) if k in right else n.at("top", 0.0)
        _text(ax, x + 0.1, y + (0.0 if k in right else 0.12), rf"$\mathbf{{{k}}}_t$",
              ha="left", va="bottom", size=11)
    return nodes


def _vrnn(ax):
    g = _gate_row(ax, {"h": TANH}, {"h": 4.6})
    _cell_inputs(ax, [g["h"]], [g["h"]])
    _h_out(ax, g["h"].at("right"))


def _lstm(ax):
    g = _gate_row(ax, {"f": SIGMA, "i": SIGMA, "g": TANH, "o": SIGMA},
                  {"f": 2.6, "i": 3.7, "g": 4.8, "o": 6.0}, right="o")
    _cell_inputs(ax, list(g.values()), list(g.values()))
    forget, write = _op(ax, 2.6, YC, ODOT, "op:mul:f"), _op(ax, 4.25, YM, ODOT, "op:mul:i")
    add, out = _op(ax, 4.25, YC, "+", "op:add"), _op(ax, 7.3, YG, ODOT, "op:mul:o")
    squash = _op(ax, 7.3, 3.7, "tanh", "op:tanh", w=0.72)
    _wire(ax, [(0.55, YC), forget.at("left")], "recurrent")
    _wire(ax, [forget.at("right"), add.at("left")], "recurrent")
    _wire(ax, [add.at("right"), (10.0, YC)], "recurrent")
    _text(ax, 0.55, YC + 0.08, r"$\mathbf{c}_{t-1}$", ha="left", va="bottom")
    _text(ax, 9.35, YC + 0.08, r"$\mathbf{c}_t$", va="bottom")
    _wire(ax, [g["f"].at("top"), forget.at("bottom")], "gate")
    _wire(ax, [g["i"].at("top"), (3.7, YM), write.at("left")], "gate")
    _wire(ax, [g["g"].at("top"), (4.8, YM), write.at("right")], "gate")
    _wire(ax, [write.at("top"), add.at("bottom")], "ink")
    _dot(ax, 7.3, YC, "recurrent")
    _wire(ax, [(7.3, YC), squash.at("top")], "recurrent")
    _wire(ax, [squash.at("bottom"), out.at("top")], "ink")
    _wire(ax, [g["o"].at("right"), out.at("left")], "gate")
    _h_out(ax, out.at("right"))


def _gru(ax):
    g = _gate_row(ax, {"z": SIGMA, "r": SIGMA, "n": TANH}, {"z": 2.6, "r": 3.7, "n": 6.3},
                  right="n")
    w_hn = _box(ax, 4.95, YG, r"$\mathbf{W}_{hn}$", "recurrent", "weight:hn", fill="white")
    _cell_inputs(ax, [g["z"], g["r"], g["n"]], [g["z"], g["r"], w_hn])
    keep, reset = _op(ax, 2.6, YC, ODOT, "op:mul:z"), _op(ax, 4.95, YM, ODOT, "op:mul:r")
    mix, add = _op(ax, 7.9, YM, ODOT, "op:mul:n"), _op(ax, 7.9, YC, "+", "op:add")
    flip = _op(ax, 7.05, YM, r"$1-$", "op:one-minus", w=0.62)
    _dot(ax, 1.5, YH, "recurrent")
    _wire(ax, [(1.5, YH), (1.5, YC), keep.at("left")], "recurrent")
    _wire(ax, [keep.at("right"), add.at("left")], "recurrent")
    _wire(ax, [g["z"].at("top"), keep.at("bottom")], "gate")
    _dot(ax, 2.6, 3.95, "gate")
    _wire(ax, [(2.6, 3.95), (7.05, 3.95), flip.at("top")], "gate")
    _wire(ax, [flip.at("right"), mix.at("left")], "gate")
    _wire(ax, [g["r"].at("top"), (3.7, YM), reset.at("left")], "gate")
    _wire(ax, [w_hn.at("top"), reset.at("bottom")], "recurrent")
    _wire(ax, [reset.at("right"), (6.3, YM), g["n"].at("top")], "ink")
    _wire(ax, [g["n"].at("right"), (7.9, YG), mix.at("bottom")], "gate")
    _wire(ax, [mix.at("top"), add.at("bottom")], "ink")
    _h_out(ax, add.at("right"), x_turn=8.6)


_CELLS = {"vrnn": (_vrnn, "VRNN (Elman)"), "lstm": (_lstm, "LSTM"), "gru": (_gru, "GRU")}


@_styled
def draw_cell(kind: str, ax=None) -> Figure:
    """One step of a traditional cell as ``torch.nn`` computes it: "vrnn", "lstm" or "gru".

    Each green box is a gate layer, ``act(W_xk x_t + W_hk h_{t-1} + b_k)``; the GRU's
    ``W_hn`` box is drawn apart because its result is scaled by ``r_t`` (bias included).
    """
    _check("kind", kind, _CELLS)
    draw, name = _CELLS[kind]
    top = 5.6 if kind != "vrnn" else 3.7
    ax = _canvas(ax, (0.3, 10.3), (-1.0, top))
    ax.add_patch(FancyBboxPatch((1.15, 0.5), 7.75, top - 1.05, fc="#F7F7F7", ec="#BBBBBB",
                                boxstyle="round,pad=0,rounding_size=0.25", lw=1.2, zorder=0,
                                gid="cell"))
    _text(ax, 1.15, top - 0.27, f"{name} cell, one time step", "left", size=11,
          color=ROLE["neutral"])
    draw(ax)
    _legend(ax, ["input", "state", "gate"] if kind == "vrnn" else
            ["input", "state", "gateval", "gate", "op", "result"], ncol=3)
    return ax.figure


@_styled
def draw_prernn(mode: str, cell: str = "lstm", ax=None) -> Figure:
    """Where a Pre cell's input weights come from, ``mode`` "gate" or "sih".

    ``"gate"``: every gate has its own input weight; the ``xy_gate``'s (``g``, ``n``) IS the
    pre-trained ``W_xy``, the others start as copies of it. ``"sih"``: one shared
    ``a_t = W_xy x_t + b`` feeds every gate. Both add one hidden weight ``W_hk`` per gate.
    """
    _check("mode", mode, ("gate", "sih"))
    _check("cell", cell, GATES)
    if cell == "vrnn" and mode == "sih":
        raise ValueError("mode='sih' does not apply to a vanilla RNN (one input transform); "
                         "use mode='gate'")
    gates, g = GATES[cell], len(GATES[cell])
    ys = [1.35 + 0.85 * (g - 1 - j) for j in range(g)]  # one row per gate, top to bottom
    mid, top = (ys[0] + ys[-1]) / 2, ys[0] + 1.05
    ax = _canvas(ax, (0.0, 10.6), (-1.0, top))
    what = "gate-dependent input-to-hidden" if mode == "gate" else "single input-to-hidden"
    _text(ax, 5.3, top - 0.35, f"Pre{cell.upper()}: {what} (mode='{mode}')")
    _text(ax, 0.2, mid, r"$\mathbf{x}_t$", "left")
    _text(ax, 9.75, mid, r"$\mathbf{h}_{t-1}$", "left")
    bus = 1.25 if mode == "gate" else 3.65  # where x_t (or a_t) splits to the gates
    _wire(ax, [(bus, ys[0]), (bus, ys[-1])], "input", head=False)
    _wire(ax, [(8.8, ys[0]), (8.8, ys[-1])], "recurrent", head=False)
    _wire(ax, [(9.7, mid), (8.8, mid)], "recurrent", head=False)
    if mode == "sih":
        w = _box(ax, 2.25, mid, r"$\mathbf{W}_{xy}$", "pretrained", "weight:xy", w=1.2, h=0.56)
        _wire(ax, [(0.65, mid), w.at("left")], "input")
        _wire(ax, [w.at("right"), (bus, mid)], "input", head=False)
        _text(ax, 3.25, mid + 0.06, r"$\mathbf{a}_t$", va="bottom")
    else:
        _wire(ax, [(0.65, mid), (bus, mid)], "input", head=False)
    for k, y in zip(gates, ys, strict=True):
        act = r"\varphi" if k == XY_GATE[cell] else r"\sigma"
        gate = _box(ax, 5.25, y, rf"$\mathbf{{{k}}}_t = {act}(\cdot)$", "gate", f"gate:{k}",
                    w=1.6, h=0.56)
        hid = _box(ax, 7.7, y, rf"$\mathbf{{W}}_{{h{k}}}$", "recurrent", f"weight:h{k}",
                   w=0.95, h=0.56, fill="white")
        _wire(ax, [(8.8, y), hid.at("right")], "recurrent")
        _wire(ax, [hid.at("left"), gate.at("right")], "recurrent")
        start = (bus, y)
        if mode == "gate":
            own = k == XY_GATE[cell]
            w = _box(ax, 2.6, y, rf"$\mathbf{{W}}_{{x{'y' if own else k}}}$", "pretrained",
                     f"weight:x{'y' if own else k}", w=1.2, h=0.56, dashed=not own,
                     fill=None if own else "white")
            _wire(ax, [start, w.at("left")], "input")
            start = w.at("right")
        _wire(ax, [start, gate.at("left")], "input")
        if g > 1:
            _dot(ax, bus, y, "input")
            _dot(ax, 8.8, y, "recurrent")
    copies = ["copy"] if mode == "gate" and g > 1 else []
    _legend(ax, ["pre", *copies, "new", "gatephi", "input", "state"])
    return ax.figure


# --- networks: a column of boxes per frame (or per stream).
_NET = [("neutral", "trunk", "conv"), ("pretrained", "layer:fc6", "fc6"),
        ("pretrained", "layer:fc7", "fc7"), ("neutral", "head", "head")]


def _stack(ax, x, ys, rows, suffix="") -> list[_Node]:
    """Boxes bottom to top, ``rows`` = [(role, gid, text)], joined by input-path arrows."""
    nodes = [_box(ax, x, y, text, role, gid + suffix, w=1.45, h=0.56, size=11,
                  fill="white" if gid == "input" else None)
             for y, (role, gid, text) in zip(ys, rows, strict=True)]
    for lower, upper in itertools.pairwise(nodes):
        _wire(ax, [lower.at("top"), upper.at("bottom")], "input")
    return nodes


@_styled
def draw_model_path(ax=None) -> Figure:
    """A sequence model made by ``make_recurrent``, unrolled over three time steps."""
    ax = _canvas(ax, (0.0, 10.0), (-1.35, 6.55))
    _text(ax, 5.0, 6.25, "Every frame through the CNN; the hidden states carried along time")
    ys = [0.55, 1.6, 2.75, 3.9, 5.0]
    for y, label in zip(ys, ["frame", "CNN trunk\n(conv layers)", "fc6, made\nrecurrent",
                             "fc7, made\nrecurrent", "task head"], strict=True):
        _text(ax, 0.15, y, label, "left", size=10, color=ROLE["neutral"])
    cols = {"t-1": 3.5, "t": 5.8, "t+1": 8.1}
    stacks = {t: _stack(ax, x, ys, [("neutral", "input", f"frame ${t}$"), *_NET], f":{t}")
              for t, x in cols.items()}
    for t, x in cols.items():
        _wire(ax, [stacks[t][-1].at("top"), (x, 5.55)], "input")
        _text(ax, x, 5.6, f"output at ${t}$", va="bottom", size=10)
    for row in (2, 3):  # fc6 and fc7: each carries its own hidden state along time
        _wire(ax, [(2.28, ys[row]), stacks["t-1"][row].at("left")], "recurrent")
        _wire(ax, [stacks["t+1"][row].at("right"), (9.8, ys[row])], "recurrent")
        for a, b in itertools.pairwise(cols):
            _wire(ax, [stacks[a][row].at("right"), stacks[b][row].at("left")], "recurrent")
            _text(ax, (cols[a] + cols[b]) / 2, ys[row] + 0.05,
                  r"$\mathbf{h}_t$" if a == "t" else rf"$\mathbf{{h}}_{{{a}}}$", va="bottom",
                  size=10)
    _text(ax, 5.0, -0.2, "1, 2 or 3 recurrent layers: fc6, fc7, fc6 + fc7, "
          "or fc6 + fc7 + a new third layer", size=10, color=ROLE["neutral"])
    _legend(ax, ["cnn", "prelayer", "input", "state"])
    return ax.figure


@_styled
def draw_two_stream(ax=None) -> Figure:
    """Two-stream late fusion: an RGB and an optical-flow network, their class scores averaged."""
    ax = _canvas(ax, (0.0, 10.6), (-1.45, 4.75))
    _text(ax, 5.3, 4.45, "Two streams, each its own recurrent network; their scores averaged")
    fuse = _op(ax, 8.3, 1.95, "average", "op:fusion", w=1.2)
    parts = (_NET[0], ("pretrained", "layer:fc6+fc7", "fc6, fc7"), _NET[3])
    for y, name, source, side in ((3.0, "spatial", "RGB frame $t$", "top"), (
            0.9, "temporal", "optical flow at $t$\n10 fields, x and y", "bottom")):
        _text(ax, 0.2, y + 0.55, f"{name} stream", "left", size=10, color=ROLE["neutral"])
        nodes = [_box(ax, 1.3, y, source, "neutral", f"input:{name}", w=2.0, h=0.7,
                      fill="white", size=10)]
        nodes += [_box(ax, x, y, text, role, f"{gid}:{name}", w=1.2, h=0.56, size=11)
                  for x, (role, gid, text) in zip((3.25, 4.85, 6.45), parts, strict=True)]
        for a, b in itertools.pairwise(nodes):
            _wire(ax, [a.at("right"), b.at("left")], "input")
        _loop(ax, nodes[2], r"$\mathbf{h}_{t-1}$")
        _wire(ax, [nodes[3].at("right"), (8.3, y), fuse.at(side)], "ink")
        up = side == "top"
        _text(ax, 7.15, y + (0.06 if up else -0.06), "mean over $t$,\nsoftmax", "left",
              "bottom" if up else "top", size=9, color=ROLE["neutral"])
    _wire(ax, [fuse.at("right"), (10.1, 1.95)], "ink")
    _text(ax, 10.1, 2.05, "action\nclass", "right", "bottom", size=10)
    _text(ax, 7.6, 1.95, "late fusion", "right", size=10, color=ROLE["neutral"])
    _legend(ax, ["cnn", "prelayer", "input", "state", "op", "result"])
    return ax.figure


@_styled
def draw_overview(ax=None) -> Figure:
    """The method in one picture: a pre-trained CNN's fc layers keep W_xy and gain W_hh."""
    ax = _canvas(ax, (0.0, 10.6), (-1.45, 6.7))
    for x, side, title, eq, source, out in (
            (2.2, "cnn", "a pre-trained CNN", r"$\mathbf{y} = \varphi(\mathbf{W}_{xy}"
             r"\mathbf{x} + \mathbf{b})$", "image", "class, landmarks"),
            (7.9, "prernn", "PreRNN: the same layers, recurrent",
             r"$\mathbf{h}_t = \varphi(\mathbf{W}_{xy}\mathbf{x}_t + \mathbf{W}_{hh}"
             r"\mathbf{h}_{t-1} + \mathbf{b})$", "frame $t$", "output at $t$")):
        _text(ax, x, 6.45, title)
        _text(ax, x, 6.0, eq, size=11)
        nodes = _stack(ax, x, [0.55, 1.6, 2.7, 3.8, 4.9], [("neutral", "input", source), *_NET],
                       f":{side}")
        _wire(ax, [nodes[-1].at("top"), (x, 5.4)], "input")
        _text(ax, x, 5.45, out, va="bottom", size=10)
        for layer in nodes[2:4] if side == "prernn" else ():
            _loop(ax, layer, r"$\mathbf{W}_{hh}\mathbf{h}_{t-1}$", up=False)
    ax.add_patch(FancyArrowPatch((3.55, 3.25), (6.5, 3.25), arrowstyle="simple,head_width=1.2,"
                                 "head_length=1", mutation_scale=16, fc=FILL["pretrained"],
                                 ec=ROLE["pretrained"], lw=1.4, zorder=1))
    _text(ax, 5.05, 3.7, r"keep $\mathbf{W}_{xy}$, $\mathbf{b}$", size=10)
    _text(ax, 5.05, 2.8, r"add $\mathbf{W}_{hh}$", size=10)
    _text(ax, 5.3, -0.15, "tasks: face alignment (300VW), hand gestures (nvGesture), "
          "actions (UCF101, two streams)", size=10, color=ROLE["neutral"])
    _legend(ax, ["cnn", "prelayer", "input", "state"])
    return ax.figure


FIGURES = {"overview": draw_overview,
           **{f"cell_{k}": functools.partial(draw_cell, k) for k in GATES},
           "prernn_lstm_gate": functools.partial(draw_prernn, "gate"),
           "prernn_lstm_sih": functools.partial(draw_prernn, "sih"),
           "model_path": draw_model_path, "two_stream": draw_two_stream}


def write_svgs(folder: str | Path) -> list[Path]:
    """Write every figure of ``FIGURES`` as ``folder/NAME.svg``, identical on every run."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in FIGURES.items():
        paths.append(folder / f"{name}.svg")
        with matplotlib.rc_context(STYLE):
            draw().savefig(paths[-1], format="svg", metadata={"Date": None})
    return paths


if __name__ == "__main__":
    for written in write_svgs(sys.argv[1] if len(sys.argv) > 1 else "book/_static/figures"):
        print(written)
