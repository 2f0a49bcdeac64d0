"""The recurrence every cell shares: checks, one step of each cell type, the time loop.

A recurrent layer splits into two parts. The input-to-hidden part depends only on
``x_t``, so a cell computes it for *all* time steps at once (one matrix product or one
convolution over ``N * T`` frames) and hands the result ``gx`` of shape
``(N, T, G*H, ...)`` to :func:`run_layer`. Only the hidden-to-hidden part depends on the
previous step; :func:`run_layer` loops over time, calls the cell's ``hidden`` map (one
fused product for all ``G`` gates, bias included) and one of the step functions below.

The step functions chunk along dimension 1, so the same code serves fully connected
cells (``(N, G*H)``) and convolutional cells (``(N, G*C, H', W')``).

:class:`RecurrentBase` is the ``forward`` all cells share: it checks shapes, runs the
layers in turn and packs the final state and the optional gate record in the form
``torch.nn`` uses. A subclass supplies three things: ``_project(layer, x)`` (input part),
``_hidden(layer)`` (hidden part) and ``_check_input(x)`` (the input's shape). The checks
every cell shares run first, before any computation: at least one time step, and input
and state on the weights' device with the weights' dtype (:func:`check_tensor`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

State = tuple[Tensor, ...]  # (h,) or (h, c), each (N, H) or (N, C, H', W')
Hidden = Callable[[Tensor], Tensor]  # h (N, H, ...) -> W_hh h + b_hh (N, G*H, ...)

GATES: dict[str, tuple[str, ...]] = {
    "vrnn": ("h",),
    "lstm": ("i", "f", "g", "o"),
    "gru": ("r", "z", "n"),
}

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "identity": lambda v: v,
}


def check_choice(name: str, value: object, choices: Sequence[object]) -> None:
    """Raise ValueError naming the valid choices when ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"unknown {name}={value!r}; valid choices: {list(choices)}")


# ----------------------------------------------------------------------------- steps
def vrnn_step(gx: Tensor, state: State, hidden: Hidden, phi) -> tuple[State, State]:
    """``h' = phi(gx + W_hh h + b_hh)``; the only gate is ``h'`` itself."""
    h = phi(gx + hidden(state[0]))  # (N, H)
    return (h,), (h,)


def lstm_step(gx: Tensor, state: State, hidden: Hidden, phi) -> tuple[State, State]:
    """torch.nn.LSTM's step with ``phi`` in place of tanh (candidate and output)."""
    h, c = state
    z = gx + hidden(h)  # (N, 4H)
    i, f, _, o = torch.sigmoid(z).chunk(4, 1)  # one sigmoid for i, f, o
    g = phi(z.chunk(4, 1)[2])  # (N, H)
    c = torch.addcmul(f * c, i, g)  # f*c + i*g
    h = o * phi(c)
    return (h, c), (i, f, g, o)


def gru_step(gx: Tensor, state: State, hidden: Hidden, phi) -> tuple[State, State]:
    """torch.nn.GRU's step, ``n = phi(x_n + r*(W_hn h + b_hn))``, ``h' = (1-z)n + z h``."""
    (h,) = state
    gh = hidden(h)  # (N, 3H)
    two = gh.shape[1] * 2 // 3
    r, z = torch.sigmoid(gx[:, :two] + gh[:, :two]).chunk(2, 1)  # (N, H) each
    n = phi(gx[:, two:] + r * gh[:, two:])
    h = torch.addcmul(n, z, h - n)  # (1-z)*n + z*h
    return (h,), (r, z, n)


STEPS = {"vrnn": vrnn_step, "lstm": lstm_step, "gru": gru_step}


# ------------------------------------------------------------------------- time loop
def run_layer(
    gx: Tensor,
    state: State,
    kind: str,
    hidden: Hidden,
    phi: Callable[[Tensor], Tensor],
    valid: Tensor | None = None,
    record: bool = False,
) -> tuple[Tensor, State, tuple[Tensor, ...] | None]:
    """Run one layer over time.

    Parameters
    ----------
    gx : Tensor
        Input part for all steps, ``(N, T, G*H)`` or ``(N, T, G*C, H', W')``.
    state : tuple of Tensor
        ``(h0,)`` or ``(h0, c0)``, each ``(N, H)`` or ``(N, C, H', W')``.
    kind : str
        ``"vrnn"``, ``"lstm"`` or ``"gru"``.
    hidden : callable
        ``h -> W_hh h + b_hh`` for all gates at once.
    phi : callable
        The activation of the candidate (and of the LSTM's cell output).
    valid : Tensor, optional
        ``(N, T)`` bool, False past each sequence's length: there the state is frozen
        and outputs and gates are zero.
    record : bool
        Also return the gate activations, each ``(N, T, H, ...)``.

    Returns
    -------
    outputs : Tensor ``(N, T, H, ...)``, last state, gates (or None).
    """
    step = STEPS[kind]
    outputs, records = [], []
    ones = (1,) * (gx.dim() - 2)
    masks = [None] * gx.shape[1] if valid is None else valid.view(valid.shape + ones).unbind(1)
    for gx_t, m in zip(gx.unbind(1), masks, strict=True):  # gx_t: (N, G*H)
        new, gates = step(gx_t, state, hidden, phi)
        if m is not None:  # m: (N, 1) bool
            new = tuple(torch.where(m, a, b) for a, b in zip(new, state, strict=True))
            gates = tuple(g.masked_fill(~m, 0.0) for g in gates)
            outputs.append(new[0].masked_fill(~m, 0.0))
        else:
            outputs.append(new[0])
        state = new
        if record:
            records.append(gates)
    gate_seq = tuple(torch.stack(g, 1) for g in zip(*records, strict=True)) if record else None
    return torch.stack(outputs, 1), state, gate_seq  # (N, T, H)


# --------------------------------------------------------------------------- checks
def check_tensor(name: str, t: Tensor, weight: Tensor) -> None:
    """Raise ValueError unless ``t`` lies on ``weight``'s device with ``weight``'s dtype.

    Under ``torch.autocast`` (for ``t``'s device type) any floating dtype is accepted,
    since autocast casts the operands of every product itself.
    """
    if t.device != weight.device:
        raise ValueError(f"{name}: expected device {weight.device} (the cell's weights), got "
                         f"{t.device}; move the input or the cell with .to(device)")
    autocast = _autocast_on(t.device.type)
    if not t.is_floating_point() or (t.dtype != weight.dtype and not autocast):
        expected = "a floating dtype (autocast is on)" if autocast else str(weight.dtype)
        raise ValueError(f"{name}: expected dtype {expected} (the cell's weights), got "
                         f"{t.dtype}; convert it with .to({weight.dtype})")


def _autocast_on(device_type: str) -> bool:
    """Whether ``torch.autocast`` is on for ``device_type`` (never for the meta device,
    which has no autocast: shapes-only runs)."""
    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:  # e.g. "meta": unknown device type for autocast
        return False


def check_lengths(lengths, n: int, t: int, device: torch.device) -> Tensor | None:
    """Validate ``lengths`` and turn it into an ``(N, T)`` bool mask of valid steps."""
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.dim() != 1 or lengths.shape[0] != n:
        raise ValueError(f"lengths: expected shape ({n},), got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths: expected an integer tensor, got dtype {lengths.dtype}")
    if n and (lengths.min() < 1 or lengths.max() > t):
        raise ValueError(
            f"lengths: expected values in 1..T={t}, got min {int(lengths.min())} "
            f"max {int(lengths.max())}"
        )
    return torch.arange(t, device=device) < lengths[:, None]  # (N, T)


class RecurrentBase(nn.Module):
    """The ``forward`` shared by all cells (see the module docstring)."""

    kind: str  # "vrnn" | "lstm" | "gru"
    input_size: int
    hidden_size: int
    num_layers: int
    dropout: float = 0.0

    def _project(self, layer: int, x: Tensor) -> Tensor:  # (N, T, ...) -> (N, T, G*H, ...)
        raise NotImplementedError

    def _hidden(self, layer: int) -> Hidden:
        raise NotImplementedError

    def _check_input(self, x: Tensor) -> None:
        raise NotImplementedError

    def _phi(self, v: Tensor) -> Tensor:
        return ACTIVATIONS[self.activation](v)

    def _check_tensors(self, x: Tensor, state) -> None:
        """The checks every cell shares: type, time steps, device and dtype (shape: later)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"input: expected a Tensor, got {type(x).__name__}")
        self._check_input(x)  # the subclass's shape check
        if x.shape[1] == 0:
            raise ValueError(f"input: expected at least one time step (T >= 1), got T = 0 "
                             f"(shape {tuple(x.shape)})")
        weight = next(self.parameters())
        check_tensor("input", x, weight)
        if state is not None:
            for name, s in zip(("h_0", "c_0"), self._state_tensors(state), strict=False):
                if not isinstance(s, Tensor):
                    raise TypeError(f"state {name}: expected a Tensor, got {type(s).__name__}")
                check_tensor(f"state {name}", s, weight)

    def _state_tensors(self, state) -> tuple:
        """``(h_0,)`` or ``(h_0, c_0)``; an LSTM's state must be a pair."""
        if self.kind != "lstm":
            return (state,)
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError(f"state: expected a tuple (h_0, c_0), got {type(state).__name__}")
        return tuple(state)

    def _split_state(self, state, shape: tuple[int, ...]) -> list[State]:
        """Check a user state against ``(num_layers, *shape)``; return it per layer."""
        expected = (self.num_layers, *shape)
        tensors = self._state_tensors(state)
        for name, s in zip(("h_0", "c_0"), tensors, strict=False):
            if tuple(s.shape) != expected:
                raise ValueError(f"state {name}: expected shape {expected}, got {tuple(s.shape)}")
        return [tuple(s[k] for s in tensors) for k in range(self.num_layers)]

    def forward(
        self,
        x: Tensor,
        state: Tensor | tuple[Tensor, Tensor] | None = None,
        lengths: Tensor | Sequence[int] | None = None,
        return_gates: bool = False,
    ):
        """Run all layers over ``x``; inputs and outputs as in the class docstrings."""
        self._check_tensors(x, state)
        n, t = x.shape[:2]
        valid = check_lengths(lengths, n, t, x.device)
        layer_states: list[State] | None = None
        last, records = [], []
        for k in range(self.num_layers):
            gx = self._project(k, x)  # (N, T, G*H, ...)
            shape = (n, self.hidden_size, *gx.shape[3:])  # (N, H) or (N, C, H', W')
            if k == 0 and state is not None:
                layer_states = self._split_state(state, shape)
            if layer_states is None:
                zero = gx.new_zeros(shape)
                s0 = (zero, zero) if self.kind == "lstm" else (zero,)
            else:
                s0 = layer_states[k]
            x, s_n, gates = run_layer(gx, s0, self.kind, self._hidden(k), self._phi, valid,
                                      return_gates)
            last.append(s_n)
            records.append(gates)
            if self.dropout and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        packed = tuple(torch.stack(s, 0) for s in zip(*last, strict=True))  # (L, N, H)
        final = packed if self.kind == "lstm" else packed[0]
        if not return_gates:
            return x, final
        letters = GATES[self.kind]
        gate_dict = {g: torch.stack([r[j] for r in records], 0) for j, g in enumerate(letters)}
        return x, final, gate_dict  # gates: (L, N, T, H)
