"""How a Pre cell is built from a pre-trained layer and how it starts.

PreRNN keeps a pre-trained layer's ``W_xy``/``b_xy`` as the input transform of a
recurrent layer and adds hidden-to-hidden weights. The paper fixes the structure
(gate-dependent input-to-hidden, or one shared input transform, "SIH") and says that the
other gates' input weights start as copies of ``W_xy``; everything else is a choice made
here, as a keyword with a default:

- ``mode``: ``"gate"`` (one input weight per gate; ``W_xy`` is the ``xy_gate``'s) or
  ``"sih"`` (``a_t = W_xy x_t + b_xy`` feeds every gate, per-gate ``b_hh``);
- ``init``: ``"pretrained"`` (the layer's own Parameters, shared storage) or ``"random"``
  (new U(-b, b) Parameters, the ablation of the paper's Table 3);
- ``other_init``: how the other gates start: ``"copy"`` (the paper), ``"zeros"`` (zero
  input weights, gate biases ``±gate_bias`` so the cell starts as the pre-trained layer),
  ``"random"``; in SIH mode only the per-gate biases (copy -> 0);
- ``hh_init``: ``"zeros"``, ``"uniform"`` or ``"orthogonal"`` (one block per gate).

The bound ``b`` of every uniform draw is ``1/sqrt(fan-in of the hidden map)``: ``1/sqrt(H)``
as in ``torch.nn.LSTM`` for FC cells, ``1/sqrt(C k^2)`` for conv cells.
:class:`PreBase` holds this logic once for the FC (``pre.py``) and conv (``conv.py``) cells;
the weights are 2-D ``(rows, F)`` or 4-D ``(rows, C_in, k, k)``, gates stacked on dim 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.parameter import is_lazy

from ._recurrence import ACTIVATIONS, GATES, RecurrentBase, check_choice

DEFAULT_XY_GATE = {"vrnn": "h", "lstm": "g", "gru": "n"}
# Sign of the gate bias under other_init="zeros": +1 open, -1 closed, 0 none.
# LSTM: i, o open and f closed, so c = g and h = o*phi(g) ~ phi(W_xy x + b_xy);
# GRU: z closed (h ~ n) and r open.
OPEN = {"vrnn": {"h": 0.0}, "lstm": {"i": 1.0, "f": -1.0, "g": 0.0, "o": 1.0},
        "gru": {"r": 1.0, "z": -1.0, "n": 0.0}}
MODES, INITS = ("gate", "sih"), ("pretrained", "random")
OTHER_INITS, HH_INITS = ("copy", "zeros", "random"), ("zeros", "uniform", "orthogonal")


class PreBase(RecurrentBase):
    """Parameters of a Pre cell (see the module docstring); one layer."""

    def _build(self, kind: str, weight: nn.Parameter, bias: nn.Parameter | None, *,
               mode: str, init: str, other_init: str, xy_gate: str | None, activation: str,
               hh_init: str, gate_bias: float, hh_kernel: tuple[int, ...] = ()) -> None:
        xy_gate = DEFAULT_XY_GATE[kind] if xy_gate is None else xy_gate
        if any(p is not None and is_lazy(p) for p in (weight, bias)):
            raise ValueError(
                f"{type(self).__name__}: the layer's parameters are uninitialised (a lazy "
                "module such as nn.LazyLinear or nn.LazyConv2d): run one forward pass "
                "through it first, or build it with its input size")
        if not math.isfinite(gate_bias):
            raise ValueError(f"gate_bias: expected a finite number, got {gate_bias}")
        check_choice("mode", mode, MODES)
        if kind == "vrnn" and mode == "sih":
            raise ValueError(
                "mode='sih' does not apply to a vanilla RNN: it has a single input "
                "transform W_xy, so SIH coincides with mode='gate' (the paper's Table 3 "
                "leaves VRNN-SIH blank); use mode='gate'")
        check_choice("init", init, INITS)
        check_choice("other_init", other_init, OTHER_INITS)
        check_choice("xy_gate", xy_gate, GATES[kind])
        check_choice("activation", activation, tuple(ACTIVATIONS))
        check_choice("hh_init", hh_init, HH_INITS)
        self.kind, self.mode, self.init, self.other_init = kind, mode, init, other_init
        self.xy_gate, self.activation, self.hh_init = xy_gate, activation, hh_init
        self.gate_bias, self.num_layers, self.dropout = float(gate_bias), 1, 0.0
        self.input_size, self.hidden_size = weight.shape[1], weight.shape[0]
        h, letters = self.hidden_size, GATES[kind]
        others = [g for g in letters if g != xy_gate]
        bound = 1.0 / math.sqrt(h * math.prod(hh_kernel))
        fac = {"dtype": weight.dtype, "device": weight.device}

        def uniform(shape) -> Tensor:
            return torch.empty(shape, **fac).uniform_(-bound, bound)

        def gate_biases(b: Tensor, gates: list[str]) -> None:  # other_init for biases
            for j, letter in enumerate(gates):
                if letter == xy_gate:  # in SIH the xy gate has b_xy; its b_hh stays 0
                    continue
                if other_init == "zeros":
                    b[j * h:(j + 1) * h] = OPEN[kind][letter] * gate_bias
                elif other_init == "random":
                    b[j * h:(j + 1) * h] = uniform(h)

        with torch.no_grad():
            if init == "random":  # same structure, W_xy redrawn (own storage)
                weight = nn.Parameter(uniform(weight.shape))
                bias = None if bias is None else nn.Parameter(uniform(bias.shape))
            self.register_parameter("weight_xy", weight)  # (H, F), the layer's own
            self.register_parameter("bias_xy", bias)  # (H,) or None
            if mode == "gate" and others:
                w_ih = torch.zeros((len(others) * h, *weight.shape[1:]), **fac)
                b_ih = torch.zeros(len(others) * h, **fac)
                if other_init == "copy":  # the paper: copies of W_xy (own storage)
                    w_ih.copy_(weight.repeat(len(others), *[1] * (weight.dim() - 1)))
                    if bias is not None:
                        b_ih.copy_(bias.repeat(len(others)))
                elif other_init == "random":
                    w_ih.uniform_(-bound, bound)
                gate_biases(b_ih, others)
                self.weight_ih, self.bias_ih = nn.Parameter(w_ih), nn.Parameter(b_ih)
            else:
                self.register_parameter("weight_ih", None)
                self.register_parameter("bias_ih", None)
            w_hh = torch.zeros((len(letters) * h, h, *hh_kernel), **fac)  # (G*H, H, k, k)
            if hh_init == "uniform":
                w_hh.uniform_(-bound, bound)
            elif hh_init == "orthogonal":
                for block in w_hh.split(h):
                    nn.init.orthogonal_(block)
            b_hh = torch.zeros(len(letters) * h, **fac)
            if mode == "sih":  # per-gate biases; the xy gate keeps 0 (it has b_xy)
                gate_biases(b_hh, list(letters))
            self.weight_hh, self.bias_hh = nn.Parameter(w_hh), nn.Parameter(b_hh)

    def gate_input_weight(self, letter: str) -> Tensor:
        """The input weight gate ``letter`` applies to ``x_t``: ``(H, F)`` or ``(C, C_in, k, k)``.

        ``weight_xy`` itself for the ``xy_gate`` (and for every gate in SIH mode), else
        a view of the gate's rows of ``weight_ih``.
        """
        check_choice("gate letter", letter, GATES[self.kind])
        if self.mode == "sih" or letter == self.xy_gate:
            return self.weight_xy
        others = [g for g in GATES[self.kind] if g != self.xy_gate]
        return self.weight_ih.split(self.hidden_size)[others.index(letter)]

    def _assemble(self, xy: Tensor, rest: Tensor | None, dim: int) -> Tensor:
        """Input parts of all gates in torch order, from ``W_xy x`` and the stacked others."""
        letters = GATES[self.kind]
        if self.mode == "sih":
            return torch.cat([xy] * len(letters), dim)  # a_t feeds every gate
        if rest is None:
            return xy
        chunks = list(rest.split(self.hidden_size, dim))
        chunks.insert(letters.index(self.xy_gate), xy)
        return torch.cat(chunks, dim)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, mode={self.mode!r}, "
                f"init={self.init!r}, other_init={self.other_init!r}, "
                f"xy_gate={self.xy_gate!r}, activation={self.activation!r}")
