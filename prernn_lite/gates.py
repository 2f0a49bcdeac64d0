"""Gate saturation: how often each gate unit is (almost) shut or (almost) open.

Karpathy, Johnson & Fei-Fei (2015) look inside trained LSTMs by counting, for every
gate unit over a test set, the fraction of time steps at which its activation is below
0.1 ("left-saturated") and above 0.9 ("right-saturated"). Plotted one point per unit
(x = left, y = right), units near the line x + y = 1 act as switches, units near the
origin are never saturated, and a cloud in the top-left corner is a gate that is almost
always open.

The cells return gate activations with ``return_gates=True`` as a dict gate letter →
tensor ``(num_layers, N, T, H)``; a recurrent backbone returns one such dict per
transformed layer. :func:`saturation` turns either into a tidy table.

>>> import torch
>>> gates = {"f": torch.tensor([[[[0.05, 0.5], [0.95, 0.5]]]])}  # (L=1, N=1, T=2, H=2)
>>> saturation(gates)[["gate", "unit", "left", "right"]].values.tolist()
[['f', 0, 0.5, 0.5], ['f', 1, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

__all__ = ["saturation", "plot_saturation"]

#: The gates with a sigmoid (0..1) activation, the ones saturation is defined for.
SIGMOID_GATES = ("i", "f", "o", "r", "z")


def _valid_mask(shape: torch.Size, lengths: Sequence[int] | torch.Tensor | None) -> torch.Tensor:
    """(N, T) bool mask of the steps that belong to a sequence."""
    _, n, t = shape[:3]
    if lengths is None:
        return torch.ones(n, t, dtype=torch.bool)
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (n,):
        raise ValueError(f"lengths must have shape ({n},), got {tuple(lengths.shape)}")
    return torch.arange(t)[None, :] < lengths[:, None]


def saturation(
    gates: Mapping[str, torch.Tensor] | Mapping[str, Mapping[str, torch.Tensor]],
    low: float = 0.1,
    high: float = 0.9,
    lengths: Sequence[int] | torch.Tensor | None = None,
    include: Sequence[str] = SIGMOID_GATES,
) -> pd.DataFrame:
    """Fraction of time steps each gate unit spends below ``low`` and above ``high``.

    Parameters
    ----------
    gates : dict
        Gate letter → activations ``(num_layers, N, T, H)``, as returned by a cell with
        ``return_gates=True``; or layer name → such a dict, as returned by a recurrent
        backbone.
    low, high : float
        Saturation thresholds (Karpathy et al.: 0.1 and 0.9).
    lengths : sequence of int, optional
        Valid length of each sequence; padded steps are not counted.
    include : sequence of str
        Gates to analyse; only sigmoid gates have a meaningful 0..1 range.

    Returns
    -------
    pandas.DataFrame
        One row per (layer, gate, unit) with columns ``layer``, ``gate``, ``unit``,
        ``left`` (fraction < low) and ``right`` (fraction > high).
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 <= low < high <= 1, got low={low}, high={high}")
    if gates and all(isinstance(v, Mapping) for v in gates.values()):
        nested = gates
    else:
        nested = {"": gates}
    frames = []
    for layer_name, layer_gates in nested.items():
        for letter, acts in layer_gates.items():
            if letter not in include:
                continue
            if acts.dim() < 4:
                raise ValueError(
                    f"gate {letter!r}: expected (num_layers, N, T, H), got {tuple(acts.shape)}"
                )
            acts = acts.detach().float().flatten(3)  # conv gates: every (c, y, x) is a unit
            mask = _valid_mask(acts.shape, lengths)[None, :, :, None]  # (1, N, T, 1)
            count = mask.sum(dim=(1, 2)).clamp(min=1)  # (1, 1)
            left = ((acts < low) & mask).sum(dim=(1, 2)) / count  # (L, H)
            right = ((acts > high) & mask).sum(dim=(1, 2)) / count
            for k in range(acts.shape[0]):
                name = layer_name if acts.shape[0] == 1 else f"{layer_name or 'layer'}{k}"
                frames.append(
                    pd.DataFrame(
                        {
                            "layer": name,
                            "gate": letter,
                            "unit": range(left.shape[-1]),
                            "left": left[k].tolist(),
                            "right": right[k].tolist(),
                        }
                    )
                )
    if not frames:
        found = sorted({letter for layer in nested.values() for letter in layer})
        raise ValueError(f"no gate to analyse: found {found}, include={tuple(include)}")
    return pd.concat(frames, ignore_index=True)


def plot_saturation(table: pd.DataFrame, title: str | None = None, axes=None):
    """Scatter of right- vs left-saturation, one panel per gate, coloured by layer.

    Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    gates = list(dict.fromkeys(table["gate"]))
    if axes is None:
        fig, axes = plt.subplots(1, len(gates), figsize=(3.2 * len(gates), 3.2), squeeze=False)
        axes = axes[0]
    else:
        fig = axes[0].figure
    for ax, gate in zip(axes, gates, strict=True):
        part = table[table["gate"] == gate]
        sns.scatterplot(data=part, x="left", y="right", hue="layer", s=12, alpha=0.6, ax=ax)
        ax.plot([0, 1], [1, 0], color="grey", lw=0.8, ls="--")
        ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), title=f"gate {gate}")
        ax.set_xlabel("fraction of steps < 0.1 (left-saturated)")
        ax.set_ylabel("fraction of steps > 0.9 (right-saturated)")
        ax.set_aspect("equal")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
