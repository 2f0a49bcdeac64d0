"""PreRNN's fully connected cells: ``PreVRNN``, ``PreLSTM``, ``PreGRU``.

A pre-trained feed-forward layer ``y = phi(W_xy x + b_xy)`` (VGG16's fc6/fc7, say)
becomes a recurrent layer by adding hidden-to-hidden weights ``W_hh``; ``W_xy`` stays the
input transform, so the hidden size is the layer's output size and the CNN's knowledge is
kept. ``PreX.from_linear(fc, ...)`` builds the cell around the ``nn.Linear`` itself
(``cell.weight_xy is fc.weight``), so fine-tuning the cell fine-tunes the backbone.

Per forward pass the input part of every gate is computed for all time steps by two
matrix products (``W_xy`` and the other gates' stacked weights; one in SIH mode), and the
time loop runs only the fused ``W_hh h_{t-1}``; see ``_recurrence.py`` and, for the
keywords and how the cell starts, ``_prebase.py``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ._prebase import PreBase
from ._recurrence import Hidden

OPTIONS_DOC = """
    Args (keywords of ``from_{src}``; * = fixed by the paper, the others are ours):
        {layer}: the pre-trained layer; its ``weight``/``bias``
            become ``weight_xy``/``bias_xy``*; ``hidden_size = {hsize}``. A lazy
            layer must have run once (its parameters initialised).
        mode (str): ``"gate"``* (default: one input weight per gate) or ``"sih"``* (one
            shared ``a_t = W_xy x_t + b_xy`` feeds every gate: ``z_k = a_t + W_hk h + b_hk``;
            the exact SIH equations are ours).{sih_note}
        init (str): ``"pretrained"``* (default: the layer's own Parameters) or ``"random"``*
            (new U(-b, b) Parameters: same structure, the paper's Table 3 ablation).
        other_init (str): how the other gates' input weights and biases start:
            ``"copy"`` (default; the paper's supplementary: copies of W_xy/b_xy, own
            storage), ``"zeros"`` (zero weights, biases ±gate_bias: LSTM i, o open and f
            closed, GRU r open and z closed, so the cell starts as the pre-trained layer)
            or ``"random"`` (U(-b, b)). In SIH mode only the per-gate ``b_hh``: copy -> 0,
            zeros -> ±gate_bias, random -> U(-b, b). Ignored by {vrnn}.
        xy_gate (str): the gate whose input weight IS ``W_xy``; default ``"{xy}"`` (the
            new-content path plays the feed-forward layer's role).
        activation (str): phi, ``"relu"`` (default: the backbone's own), ``"tanh"``,
            ``"identity"``.
        hh_init (str): ``W_hh`` start: ``"zeros"`` (default; then PreVRNN reproduces the
            pre-trained layer at every step), ``"uniform"`` (U(-b, b)), ``"orthogonal"``
            (one orthogonal block per gate). ``bias_hh`` starts at zero except SIH gate
            biases.
        gate_bias (float): magnitude of the open/closed gate biases, finite; default 4.0.
        Uniform draws U(-b, b) use b = 1/sqrt(H){bnote}, as torch.nn.LSTM.{extra}

    Inputs: ``x, state=None, lengths=None, return_gates=False``
        - **x** ``{xshape}``, batch-first, ``T >= 1``, on the weights' device and
          with their dtype (any float under ``torch.autocast``); so is **state**.
        - **state** ``{state}``, zeros if omitted.
        - **lengths** ``(N,)`` ints in ``1..T``: steps past a sequence's length give zero
          outputs, gates and no state change (as if the sequence were run alone).
        - **return_gates** also return the gate activations.

    Outputs: ``outputs, last_state[, gates]``
        - **outputs** ``{oshape}``.
        - **last_state** ``{last}``: the state at each sequence's
          last valid step.
        - **gates** dict ``{keys}`` -> ``{gshape}``, post-nonlinearity.

    Attributes:
        weight_xy: ``{wxy}``, bias_xy ``({hd},)``: the layer's own Parameters
            (``bias_xy`` None if it has none).
        weight_ih: ``{wih}``, bias_ih ``((G-1)*{hd},)``: the other gates in torch
            order ({order}) without the xy gate; None in SIH mode{vrnn_none}.
        weight_hh: ``{whh}``, bias_hh ``(G*{hd},)``: all G gates in torch order.
        input_size, hidden_size, num_layers (= 1), mode, init, other_init, xy_gate,
        activation, hh_init, gate_bias.
"""


def _doc(kind: str, xy: str, order: str, keys: str, state: str, last: str) -> str:
    vrnn = kind == "vrnn"
    return OPTIONS_DOC.format(
        src="linear", layer="linear (nn.Linear)", hsize="linear.out_features",
        sih_note=" Refused by PreVRNN, which has a single input transform." if vrnn else "",
        vrnn="PreVRNN", xy=xy, bnote="", extra="", xshape="(N, T, F)", oshape="(N, T, H)",
        state=state, last=last, keys=keys, gshape="(1, N, T, H)", wxy="(H, F)",
        wih="((G-1)*H, F)", order=order, vrnn_none=" and for PreVRNN" if vrnn else "",
        whh="(G*H, H)", hd="H")


class _PreFC(PreBase):
    """A Pre cell around an ``nn.Linear``; ``PreX(linear, ...)`` equals ``from_linear``."""

    _kind = ""

    def __init__(self, linear: nn.Linear, mode: str = "gate", init: str = "pretrained",
                 other_init: str = "copy", xy_gate: str | None = None,
                 activation: str = "relu", hh_init: str = "zeros",
                 gate_bias: float = 4.0) -> None:
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"{type(self).__name__}.from_linear expects a torch.nn.Linear, "
                            f"got {type(linear).__name__}")
        super().__init__()
        self._build(self._kind, linear.weight, linear.bias, mode=mode, init=init,
                    other_init=other_init, xy_gate=xy_gate, activation=activation,
                    hh_init=hh_init, gate_bias=gate_bias)

    @classmethod
    def from_linear(cls, linear: nn.Linear, mode: str = "gate", init: str = "pretrained",
                    other_init: str = "copy", xy_gate: str | None = None,
                    activation: str = "relu", hh_init: str = "zeros",
                    gate_bias: float = 4.0):
        """Make the pre-trained ``linear`` (F -> H) recurrent; keywords: class docstring."""
        return cls(linear, mode=mode, init=init, other_init=other_init, xy_gate=xy_gate,
                   activation=activation, hh_init=hh_init, gate_bias=gate_bias)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"input: expected shape (N, T, {self.input_size}), "
                             f"got {tuple(x.shape)}")

    def _project(self, layer: int, x: Tensor) -> Tensor:
        xy = F.linear(x, self.weight_xy, self.bias_xy)  # (N, T, H)
        rest = None if self.weight_ih is None else F.linear(x, self.weight_ih, self.bias_ih)
        return self._assemble(xy, rest, -1)  # (N, T, G*H), torch gate order

    def _hidden(self, layer: int) -> Hidden:
        w_t, b = self.weight_hh.t(), self.bias_hh  # (H, G*H), (G*H,)
        return lambda h: b.addmm(h, w_t)  # (N, G*H)


class PreVRNN(_PreFC):
    __doc__ = r"""A pre-trained fully connected layer made a vanilla recurrent layer.

    .. math::
        h_t = \phi(W_{xy} x_t + b_{xy} + W_{hh} h_{t-1} + b_{hh})

    With ``W_hh = 0`` (``hh_init="zeros"``) it is the pre-trained layer ``phi(fc(x_t))``
    at every step until training changes ``W_hh``.
    """ + _doc("vrnn", "h", "none: G = 1", '"h"', "h_0 (1, N, H)", "h_n (1, N, H)") + """
    Example:
        >>> import torch
        >>> fc = torch.nn.Linear(6, 4)
        >>> cell = PreVRNN.from_linear(fc)
        >>> x = torch.randn(2, 3, 6)
        >>> out, h_n = cell(x)
        >>> torch.allclose(out, torch.relu(fc(x))), h_n.shape
        (True, torch.Size([1, 2, 4]))
    """
    _kind = "vrnn"


class PreLSTM(_PreFC):
    __doc__ = r"""A pre-trained fully connected layer made an LSTM (PreLSTM).

    torch.nn.LSTM's equations with phi for the candidate and the cell output, and, in
    gate mode, ``W_xy`` as the input weight of the ``xy_gate`` (default g):

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}), \quad
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \phi(W_{xy} x_t + b_{xy} + W_{hg} h_{t-1} + b_{hg}), \quad
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \phi(c_t)
        \end{aligned}

    In SIH mode every gate's ``W_{ik} x_t + b_{ik}`` is the shared ``W_{xy} x_t + b_{xy}``.
    """ + _doc("lstm", "g", "i, f, g, o", '"i", "f", "g", "o"', "(h_0, c_0), each (1, N, H)",
               "(h_n, c_n), each (1, N, H)") + """
    Example:
        >>> import torch
        >>> fc = torch.nn.Linear(6, 4)
        >>> cell = PreLSTM.from_linear(fc, other_init="zeros")
        >>> cell.weight_xy is fc.weight, cell.weight_ih.shape, cell.weight_hh.shape
        (True, torch.Size([12, 6]), torch.Size([16, 4]))
        >>> out, (h_n, c_n) = cell(torch.randn(2, 3, 6))
        >>> out.shape
        torch.Size([2, 3, 4])
    """
    _kind = "lstm"


class PreGRU(_PreFC):
    __doc__ = r"""A pre-trained fully connected layer made a GRU (PreGRU).

    torch.nn.GRU's equations with phi for the new content and, in gate mode, ``W_xy`` as
    the input weight of the ``xy_gate`` (default n):

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \phi(W_{xy} x_t + b_{xy} + r_t \odot (W_{hn} h_{t-1} + b_{hn})), \quad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    In SIH mode every gate's ``W_{ik} x_t + b_{ik}`` is the shared ``W_{xy} x_t + b_{xy}``.
    """ + _doc("gru", "n", "r, z, n", '"r", "z", "n"', "h_0 (1, N, H)", "h_n (1, N, H)") + """
    Example:
        >>> import torch
        >>> fc = torch.nn.Linear(6, 4)
        >>> cell = PreGRU.from_linear(fc, mode="sih")
        >>> cell.weight_ih is None, [n for n, _ in cell.named_parameters()]
        (True, ['weight_xy', 'bias_xy', 'weight_hh', 'bias_hh'])
        >>> out, h_n = cell(torch.randn(2, 3, 6))
        >>> out.shape
        torch.Size([2, 3, 4])
    """
    _kind = "gru"
