"""Traditional recurrent layers, written from scratch: ``VRNN``, ``LSTM``, ``GRU``.

They are what a sequence model puts *on top of* a CNN's features, and the baseline
PreRNN is compared with. Their parameters are named, shaped, ordered and initialised
exactly as in ``torch.nn.RNN`` / ``torch.nn.LSTM`` / ``torch.nn.GRU``, so
``cell.load_state_dict(torch_module.state_dict())`` works and both compute the same
outputs. Each layer computes ``W_ih x_t + b_ih`` for all time steps in one matrix product
and loops over time only for the fused ``W_hh h_{t-1} + b_hh`` of all gates
(see ``_recurrence.py``). Inputs are batch-first, states are ``(num_layers, N, H)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._recurrence import GATES, Hidden, RecurrentBase, check_choice


class _Traditional(RecurrentBase):
    """Parameters and input checks of a stacked, torch.nn-compatible recurrent layer."""

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, dropout: float = 0.0, activation: str = "tanh") -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers: expected >= 1, got {num_layers}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1], got {dropout}")
        self.kind, self.activation = kind, activation
        self.input_size, self.hidden_size = input_size, hidden_size
        self.num_layers, self.bias, self.dropout = num_layers, bias, float(dropout)
        gh = len(GATES[kind]) * hidden_size
        for k in range(num_layers):  # torch.nn's names and order
            fan_in = input_size if k == 0 else hidden_size
            shapes = {"weight_ih": (gh, fan_in), "weight_hh": (gh, hidden_size),
                      "bias_ih": (gh,), "bias_hh": (gh,)}
            for name, shape in shapes.items():
                p = nn.Parameter(torch.empty(shape)) if bias or name[0] == "w" else None
                self.register_parameter(f"{name}_l{k}", p)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as torch.nn does."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"input: expected shape (N, T, {self.input_size}), "
                             f"got {tuple(x.shape)}")

    def _project(self, layer: int, x: Tensor) -> Tensor:
        w, b = getattr(self, f"weight_ih_l{layer}"), getattr(self, f"bias_ih_l{layer}")
        return F.linear(x, w, b)  # (N, T, G*H): all steps in one product

    def _hidden(self, layer: int) -> Hidden:
        w_t = getattr(self, f"weight_hh_l{layer}").t()  # (H, G*H)
        b = getattr(self, f"bias_hh_l{layer}")
        if b is None:
            return lambda h: h.mm(w_t)
        return lambda h: b.addmm(h, w_t)  # (N, G*H)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}, dropout={self.dropout}")


_COMMON_DOC = """
    Args:
        input_size (int): features ``F`` of the input ``x``.
        hidden_size (int): features ``H`` of the hidden state.
        num_layers (int): stacked layers, default 1.
        bias (bool): use ``b_ih`` and ``b_hh``, default True.
        dropout (float): dropout on the outputs of every layer but the last (training
            only), default 0.0.

    Inputs: ``x, state=None, lengths=None, return_gates=False``
        - **x** ``(N, T, F)``, batch-first, ``T >= 1``, on the weights' device and with
          their dtype (any float under ``torch.autocast``); so is **state**.
        - **state** ``{state}``, zeros if omitted.
        - **lengths** ``(N,)`` ints in ``1..T``: steps past a sequence's length give zero
          outputs and leave its state unchanged (as if run alone).
        - **return_gates** also return the gate activations.

    Outputs: ``outputs, last_state[, gates]``
        - **outputs** ``(N, T, H)``: ``h_t`` of the last layer.
        - **last_state** ``{last}``: the state at each sequence's last valid step.
        - **gates** dict ``{keys}`` -> ``(num_layers, N, T, H)``, post-nonlinearity.

    Attributes:
        weight_ih_l{{k}}: ``({g}*H, F)`` for k = 0, else ``({g}*H, H)``{order}.
        weight_hh_l{{k}}: ``({g}*H, H)``.
        bias_ih_l{{k}}, bias_hh_l{{k}}: ``({g}*H,)``.
        All start as U(-1/sqrt(H), 1/sqrt(H)).
"""


class VRNN(_Traditional):
    __doc__ = r"""Vanilla (Elman) recurrent layer, equal to ``torch.nn.RNN(batch_first=True)``.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),
        \quad \phi = \tanh \text{ or ReLU}

    Each layer's ``h_t`` is the next layer's ``x_t``.
    """ + _COMMON_DOC.format(state="h_0 (num_layers, N, H)", last="h_n (num_layers, N, H)",
                             keys='"h"', g=1, order="") + """
        nonlinearity (str): ``"tanh"`` (default) or ``"relu"``; an extra keyword
            after ``dropout``.

    Example:
        >>> import torch
        >>> rnn = VRNN(10, 20, num_layers=2)
        >>> out, h_n = rnn(torch.randn(3, 5, 10))
        >>> out.shape, h_n.shape
        (torch.Size([3, 5, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, dropout: float = 0.0, nonlinearity: str = "tanh") -> None:
        check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        super().__init__("vrnn", input_size, hidden_size, num_layers, bias, dropout,
                         nonlinearity)
        self.nonlinearity = nonlinearity


class LSTM(_Traditional):
    __doc__ = r"""Long short-term memory layer, equal to ``torch.nn.LSTM(batch_first=True)``.

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t)
        \end{aligned}
    """ + _COMMON_DOC.format(state="(h_0, c_0), each (num_layers, N, H)",
                             last="(h_n, c_n), each (num_layers, N, H)",
                             keys='"i", "f", "g", "o"', g=4,
                             order=", gates stacked in the order i, f, g, o") + """
    Example:
        >>> import torch
        >>> lstm = LSTM(10, 20)
        >>> out, (h_n, c_n) = lstm(torch.randn(3, 5, 10), lengths=[5, 2, 4])
        >>> out.shape, c_n.shape, bool(out[1, 2:].eq(0).all())
        (torch.Size([3, 5, 20]), torch.Size([1, 3, 20]), True)
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, dropout)


class GRU(_Traditional):
    __doc__ = r"""Gated recurrent unit layer, equal to ``torch.nn.GRU(batch_first=True)``.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}
    """ + _COMMON_DOC.format(state="h_0 (num_layers, N, H)", last="h_n (num_layers, N, H)",
                             keys='"r", "z", "n"', g=3,
                             order=", gates stacked in the order r, z, n") + """
    Example:
        >>> import torch
        >>> gru = GRU(10, 20)
        >>> out, h_n, gates = gru(torch.randn(3, 5, 10), return_gates=True)
        >>> sorted(gates), gates["z"].shape
        (['n', 'r', 'z'], torch.Size([1, 3, 5, 20]))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, dropout: float = 0.0) -> None:
        super().__init__("gru", input_size, hidden_size, num_layers, bias, dropout)
