"""Choosing a learning rate on a validation grid that grows beyond an edge its choice sits at.

Used by ``table3_lr`` (one rate per stream, on the frame model) and ``gesture_lr`` (one
rate per arm). A family's grid rows hold ``lr``, ``paper_lr`` and ``val_accuracy``
(higher is better). The choice (:func:`pick`) is the best accuracy, ties to the paper's
rate, then to the smaller rate. While the choice sits at an edge of the rates tried,
:func:`beyond_edge` names one more rate beyond that edge, by the grid's own ratio there,
up to ``extend`` on each side; :func:`mark_choices` adds the ``chosen`` and ``at_edge``
columns (``at_edge``: the choice is still at an edge, so its rate is a bound, not a
tuned value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd


def pick(rows: pd.DataFrame):
    """Index of the chosen row of one family: best ``val_accuracy``, ties to
    ``paper_lr``, then to the smaller ``lr``.

    >>> rows = pd.DataFrame({"lr": [1e-3, 1e-2, 3e-2], "paper_lr": 1e-2,
    ...                      "val_accuracy": [0.7, 0.7, 0.6]})
    >>> float(rows.loc[pick(rows), "lr"]), float(rows.loc[pick(rows.assign(paper_lr=3)), "lr"])
    (0.01, 0.001)
    """
    best = rows[rows.val_accuracy == rows.val_accuracy.max()]
    paper = best[best.lr == best.paper_lr]
    return (paper if len(paper) else best).lr.idxmin()


def edge(rows: pd.DataFrame) -> str | None:
    """``"low"``/``"high"`` when the choice is the smallest/largest rate tried, else None."""
    lr = rows.loc[pick(rows), "lr"]
    return "low" if lr == rows.lr.min() else "high" if lr == rows.lr.max() else None


def beyond_edge(rows: pd.DataFrame, grid: Sequence[float], extend: int) -> float | None:
    """The next rate for a family whose runs so far are ``rows``: one step beyond the edge
    its choice sits at, by ``grid``'s ratio at that edge, unless ``extend`` rates were
    added on that side already; ``None`` when the choice is inside.

    >>> grid = (1e-3, 1e-2, 3e-2)
    >>> rows = pd.DataFrame({"lr": grid, "paper_lr": 1e-2, "val_accuracy": [0.5, 0.6, 0.7]})
    >>> beyond_edge(rows, grid, 2), beyond_edge(rows, grid, 0)
    (0.09, None)
    >>> beyond_edge(rows.assign(val_accuracy=[0.8, 0.6, 0.7]), grid, 1)
    0.0001
    >>> beyond_edge(rows.assign(val_accuracy=[0.5, 0.8, 0.7]), grid, 2) is None
    True
    """
    side = edge(rows)
    lo, hi = sorted(grid)[:2], sorted(grid)[-2:]
    if side == "low":
        added, lr = (rows.lr < lo[0] * (1 - 1e-6)).sum(), rows.lr.min() * lo[0] / lo[1]
    elif side == "high":
        added, lr = (rows.lr > hi[1] * (1 + 1e-6)).sum(), rows.lr.max() * hi[1] / hi[0]
    else:
        return None
    return None if added >= extend else float(f"{lr:.6g}")


def run_grid(score: Callable[[float], dict], grid: Sequence[float], extend: int,
             paper_lr: float, label: str = "") -> list[dict]:
    """Rows ``{"lr", "paper_lr", **score(lr)}`` (``score`` returns at least
    ``val_accuracy``) for every rate of ``grid``, then beyond an edge while the choice
    sits at it (:func:`beyond_edge`); sorted by ``lr``."""
    todo, rows = list(grid), []
    while todo:
        lr = todo.pop(0)
        rows.append({"lr": lr, "paper_lr": paper_lr, **score(lr)})
        if not todo and (more := beyond_edge(pd.DataFrame(rows), grid, extend)):
            print(f"  {label}: chosen lr at an edge, trying {more:g}", flush=True)
            todo.append(more)
    return sorted(rows, key=lambda r: r["lr"])


def mark_choices(table: pd.DataFrame, family: str) -> pd.DataFrame:
    """``table`` with ``chosen`` (one row per ``family`` value) and ``at_edge`` columns.

    >>> t = pd.DataFrame({"arm": ["a", "a", "b", "b"], "lr": [1e-3, 1e-2] * 2,
    ...                   "paper_lr": 1e-2, "val_accuracy": [0.5, 0.6, 0.6, 0.5]})
    >>> mark_choices(t, "arm")[["chosen", "at_edge"]].values.tolist()
    [[False, True], [True, True], [True, True], [False, True]]
    """
    table = table.assign(chosen=False)
    for _, g in table.groupby(family, sort=False):
        table.loc[pick(g), "chosen"] = True
    at = {f: edge(g) is not None for f, g in table.groupby(family, sort=False)}
    return table.assign(at_edge=table[family].map(at))
