"""PreRNN's convolutional cells: ``PreConvVRNN``, ``PreConvLSTM``, ``PreConvGRU``.

The same idea as ``pre.py`` for a pre-trained ``nn.Conv2d`` (a C3D or ResNet layer): the
conv, with its own stride, padding and dilation, is the input transform ``W_xy * x_t``
and a new hidden-to-hidden conv ``W_hh * h_{t-1}`` ("same" padding, stride 1) adds the
recurrence, so the state is a feature map ``(N, C_out, H', W')``. The input conv runs
once over all ``N * T`` frames; the time loop runs only the hidden conv of all gates at
once. Modes, inits and parameter names are those of the FC cells (``_prebase.py``), with
4-D weights.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ._prebase import PreBase
from ._recurrence import Hidden
from .pre import OPTIONS_DOC


def _doc(kind: str, xy: str, order: str, keys: str, state: str, last: str) -> str:
    vrnn = kind == "vrnn"
    extra = ("\n        hidden_kernel_size (int or (int, int)): kernel of the hidden conv, odd; "
             "default the\n            conv's own kernel size.")
    return OPTIONS_DOC.format(
        src="conv2d", layer="conv (nn.Conv2d; groups=1, zero padding)",
        hsize="conv.out_channels (C)",
        sih_note=" Refused by PreConvVRNN, which has a single input transform." if vrnn else "",
        vrnn="PreConvVRNN", xy=xy, bnote=" with H read as C*k*k, the hidden conv's fan-in",
        extra=extra, xshape="(N, T, C_in, H, W)", oshape="(N, T, C, H', W')", state=state,
        last=last, keys=keys, gshape="(1, N, T, C, H', W')", wxy="(C, C_in, k_x, k_x)",
        wih="((G-1)*C, C_in, k_x, k_x)", order=order,
        vrnn_none=" and for PreConvVRNN" if vrnn else "", whh="(G*C, C, k, k)",
        hd="C")


class _PreConv(PreBase):
    """A Pre cell around an ``nn.Conv2d``; ``PreConvX(conv, ...)`` equals ``from_conv2d``."""

    _kind = ""

    def __init__(self, conv: nn.Conv2d, mode: str = "gate", init: str = "pretrained",
                 other_init: str = "copy", xy_gate: str | None = None,
                 activation: str = "relu", hh_init: str = "zeros", gate_bias: float = 4.0,
                 hidden_kernel_size: int | tuple[int, int] | None = None) -> None:
        name = type(self).__name__
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"{name}.from_conv2d expects a torch.nn.Conv2d, "
                            f"got {type(conv).__name__}")
        if conv.groups != 1:
            raise ValueError(f"{name}: conv.groups must be 1, got {conv.groups}: the other "
                             "gates' input weights and the hidden conv assume a dense conv")
        if conv.padding_mode != "zeros":
            raise ValueError(f"{name}: conv.padding_mode must be 'zeros', got "
                             f"{conv.padding_mode!r}")
        k = conv.kernel_size if hidden_kernel_size is None else hidden_kernel_size
        k = (k, k) if isinstance(k, int) else tuple(k)
        if len(k) != 2 or any(v < 1 or v % 2 == 0 for v in k):
            raise ValueError(f"hidden_kernel_size: expected odd sizes (for 'same' padding), "
                             f"got {k}")
        super().__init__()
        self._build(self._kind, conv.weight, conv.bias, mode=mode, init=init,
                    other_init=other_init, xy_gate=xy_gate, activation=activation,
                    hh_init=hh_init, gate_bias=gate_bias, hh_kernel=k)
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.hidden_kernel_size = k

    @classmethod
    def from_conv2d(cls, conv: nn.Conv2d, mode: str = "gate", init: str = "pretrained",
                    other_init: str = "copy", xy_gate: str | None = None,
                    activation: str = "relu", hh_init: str = "zeros", gate_bias: float = 4.0,
                    hidden_kernel_size: int | tuple[int, int] | None = None):
        """Make the pre-trained ``conv`` recurrent; keywords: class docstring."""
        return cls(conv, mode=mode, init=init, other_init=other_init, xy_gate=xy_gate,
                   activation=activation, hh_init=hh_init, gate_bias=gate_bias,
                   hidden_kernel_size=hidden_kernel_size)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 5 or x.shape[2] != self.input_size:
            raise ValueError(f"input: expected shape (N, T, {self.input_size}, H, W), "
                             f"got {tuple(x.shape)}")

    def _conv(self, frames: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        return F.conv2d(frames, w, b, self.stride, self.padding, self.dilation)

    def _project(self, layer: int, x: Tensor) -> Tensor:
        frames = x.flatten(0, 1)  # (N*T, C_in, H, W): all frames at once
        xy = self._conv(frames, self.weight_xy, self.bias_xy)  # (N*T, C, H', W')
        rest = None if self.weight_ih is None else self._conv(frames, self.weight_ih,
                                                              self.bias_ih)
        return self._assemble(xy, rest, 1).unflatten(0, x.shape[:2])  # (N, T, G*C, H', W')

    def _hidden(self, layer: int) -> Hidden:
        pad = tuple(v // 2 for v in self.hidden_kernel_size)
        return lambda h: F.conv2d(h, self.weight_hh, self.bias_hh, padding=pad)  # (N, G*C, .)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, stride={self.stride}, padding={self.padding}, "
                f"hidden_kernel_size={self.hidden_kernel_size}")


class PreConvVRNN(_PreConv):
    __doc__ = r"""A pre-trained conv layer made a convolutional vanilla RNN.

    .. math::
        h_t = \phi(W_{xy} * x_t + b_{xy} + W_{hh} * h_{t-1} + b_{hh})

    (``*`` a convolution). With ``W_hh = 0`` it is ``phi(conv(x_t))`` at every step.
    """ + _doc("vrnn", "h", "none: G = 1", '"h"', "h_0 (1, N, C, H', W')",
               "h_n (1, N, C, H', W')") + """
    Example:
        >>> import torch
        >>> conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)
        >>> cell = PreConvVRNN.from_conv2d(conv)
        >>> x = torch.randn(2, 5, 3, 8, 8)
        >>> out, h_n = cell(x)
        >>> out.shape, torch.allclose(out[:, 1], torch.relu(conv(x[:, 1])))
        (torch.Size([2, 5, 4, 4, 4]), True)
    """
    _kind = "vrnn"


class PreConvLSTM(_PreConv):
    __doc__ = r"""A pre-trained conv layer made a convolutional LSTM.

    PreLSTM's equations with convolutions: ``W_{xy} * x_t`` for the ``xy_gate`` (default
    g), ``W_{ik} * x_t`` for the other gates (gate mode) or the shared ``W_{xy} * x_t``
    for all (SIH), and ``W_{hk} * h_{t-1}``; ``c_t = f_t c_{t-1} + i_t g_t``,
    ``h_t = o_t \phi(c_t)``.
    """ + _doc("lstm", "g", "i, f, g, o", '"i", "f", "g", "o"',
               "(h_0, c_0), each (1, N, C, H', W')", "(h_n, c_n), each (1, N, C, H', W')") + """
    Example:
        >>> import torch
        >>> conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        >>> cell = PreConvLSTM.from_conv2d(conv, other_init="zeros", hidden_kernel_size=1)
        >>> cell.weight_ih.shape, cell.weight_hh.shape
        (torch.Size([12, 3, 3, 3]), torch.Size([16, 4, 1, 1]))
        >>> out, (h_n, c_n) = cell(torch.randn(2, 5, 3, 8, 8))
        >>> out.shape, c_n.shape
        (torch.Size([2, 5, 4, 8, 8]), torch.Size([1, 2, 4, 8, 8]))
    """
    _kind = "lstm"


class PreConvGRU(_PreConv):
    __doc__ = r"""A pre-trained conv layer made a convolutional GRU.

    PreGRU's equations with convolutions:
    ``n_t = \phi(W_{xy} * x_t + b_{xy} + r_t (W_{hn} * h_{t-1} + b_{hn}))`` for the default
    ``xy_gate`` n, ``h_t = (1 - z_t) n_t + z_t h_{t-1}``.
    """ + _doc("gru", "n", "r, z, n", '"r", "z", "n"', "h_0 (1, N, C, H', W')",
               "h_n (1, N, C, H', W')") + """
    Example:
        >>> import torch
        >>> cell = PreConvGRU.from_conv2d(torch.nn.Conv2d(3, 4, 3), mode="sih")
        >>> out, h_n, gates = cell(torch.randn(2, 5, 3, 8, 8), return_gates=True)
        >>> out.shape, gates["z"].shape
        (torch.Size([2, 5, 4, 6, 6]), torch.Size([1, 2, 5, 4, 6, 6]))
    """
    _kind = "gru"
