"""Gate saturation: how often each gate unit is (almost) shut or (almost) open.

Karpathy, Johnson & Fei-Fei (2015) look inside trained LSTMs by counting, for every
gate unit over a test set, the fraction of time steps at which its activation is below
0.1 ("left-saturated") and above 0.9 ("right-saturated"). Plotted one point per unit
(x = left, y = right), units near the line x + y = 1 act as switches, units near the
origin are never saturated, and a cloud in the top-left corner is a gate that is almost
always open.

The cells return gate activations with ``return_gates=True`` as a dict gate letter →
tensor ``(num_layers, N, T, H)``; a recurrent backbone returns one such dict per
transformed layer. :func:`saturation` turns either into a tidy table, and
:func:`saturated_units` counts the units that spend more than a given fraction of the
steps saturated (Karpathy et al. plot the fractions and count no units: the count and its
``min_fraction`` are ours).

>>> import torch
>>> gates = {"f": torch.tensor([[[[0.05, 0.5], [0.95, 0.5]]]])}  # (L=1, N=1, T=2, H=2)
>>> saturation(gates)[["gate", "unit", "left", "right"]].values.tolist()
[['f', 0, 0.5, 0.5], ['f', 1, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import torch

__all__ = ["saturation", "saturated_units", "plot_saturation"]

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
            count = mask.sum(dim=(1, 2)).clamp(min=1).double()  # (1, 1): exact fractions
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


def saturated_units(table: pd.DataFrame, min_fraction: float = 0.1,
                    by: Sequence[str] = ("layer", "gate")) -> pd.DataFrame:
    """How many units of each group are left- or right-saturated more than
    ``min_fraction`` of the steps.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`saturation`'s table: one row per unit with ``left`` and ``right``.
    min_fraction : float
        A unit counts as left- (right-) saturated when its ``left`` (``right``) fraction
        is *above* ``min_fraction``; ``0`` counts every unit saturated at least once.
    by : sequence of str
        Columns to group by (``()``: one row for the whole table).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``units`` (rows of the group), ``left`` and ``right`` (units
        above ``min_fraction`` on that side) and ``either`` (on at least one side).

    >>> t = pd.DataFrame({"layer": "fc7", "gate": ["f", "f", "f", "i"],
    ...                   "left": [0.5, 0.05, 0.0, 0.0], "right": [0.0, 0.3, 0.0, 0.2]})
    >>> saturated_units(t).values.tolist()
    [['fc7', 'f', 3, 1, 1, 2], ['fc7', 'i', 1, 0, 1, 1]]
    >>> saturated_units(t, min_fraction=0.0, by=()).values.tolist()
    [[4, 2, 2, 3]]
    """
    if not 0.0 <= min_fraction < 1.0:
        raise ValueError(f"min_fraction must be in [0, 1), got {min_fraction}")
    flags = pd.DataFrame({"units": 1, "left": table["left"] > min_fraction,
                          "right": table["right"] > min_fraction})
    flags["either"] = flags["left"] | flags["right"]
    flags = flags.astype(int)
    if not by:
        return flags.sum().to_frame().T
    counts = flags.groupby([table[c] for c in by], sort=False).sum()
    return counts.reset_index()


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
