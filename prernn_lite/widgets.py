"""Interactive controls over result tables, each with a static twin for the built book.

A chapter's results are a table (read from a CSV under ``results/``) whose columns
include the settings that vary (cell type, structure, ``W_xy`` initialisation, ...).
:class:`GridExplorer` puts one control per setting column above a drawing of the
selected rows: in Jupyter or Colab the reader flips the controls; in the static site
:meth:`GridExplorer.static` draws *every* setting in a grid of panels, so a reader of
the site loses nothing. Widgets only draw results; they never train.

The logic (which rows a choice selects, what is drawn) is plain Python, testable without
a browser: :meth:`GridExplorer.select` and the ``current`` attribute that every change
of a control updates.

>>> import pandas as pd
>>> table = pd.DataFrame({"init": ["pretrained", "random"], "nme": [0.1, 0.2]})
>>> ex = GridExplorer(table, ["init"], draw=lambda rows, ax: ax.bar(rows["init"], rows["nme"]))
>>> ex.select(init="random")["nme"].item()
0.2
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

__all__ = ["GridExplorer", "select"]


def select(table: pd.DataFrame, **choices: Any) -> pd.DataFrame:
    """Rows of ``table`` whose columns equal ``choices``; errors list the valid values.

    >>> t = pd.DataFrame({"cell": ["lstm", "gru"], "x": [1, 2]})
    >>> select(t, cell="gru")["x"].tolist()
    [2]
    """
    rows = table
    for column, value in choices.items():
        if column not in table.columns:
            raise ValueError(f"no column {column!r}; columns are {list(table.columns)}")
        valid = list(dict.fromkeys(table[column]))
        if value not in valid:
            raise ValueError(f"{column}={value!r} is not in the table; valid values: {valid}")
        rows = rows[rows[column] == value]
    return rows


class GridExplorer:
    """Controls over the setting columns of a result table, and a static grid of all settings.

    Parameters
    ----------
    table : pandas.DataFrame
        The results, one or more rows per setting (an empty table is a ``ValueError``).
    controls : sequence of str
        Setting columns, one control each (a toggle for two values, else a dropdown).
    draw : callable ``(rows, ax) -> None``
        Draws the selected rows into a matplotlib axes.
    title : callable ``(choices) -> str``, optional
        Panel title; default ``"col=value, ..."``.
    figsize : (float, float)
        Size of one panel in inches.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        controls: Sequence[str],
        draw: Callable[[pd.DataFrame, Any], Any],
        title: Callable[[dict[str, Any]], str] | None = None,
        figsize: tuple[float, float] = (4.0, 3.0),
    ) -> None:
        missing = [c for c in controls if c not in table.columns]
        if missing:
            columns = list(table.columns)
            raise ValueError(f"controls {missing} are not columns of the table {columns}")
        if table.empty:
            raise ValueError(f"the table is empty (0 rows; columns {list(table.columns)}): "
                             f"the controls {list(controls)} have no values to offer; "
                             "check the results file it was read from")
        self.table = table
        self.controls = list(controls)
        self.options = {c: list(dict.fromkeys(table[c])) for c in self.controls}
        self.draw = draw
        self.title = title or (lambda ch: ", ".join(f"{k}={v}" for k, v in ch.items()))
        self.figsize = figsize
        self.choices = {c: opts[0] for c, opts in self.options.items()}
        self.current: pd.DataFrame = self.select(**self.choices)

    def select(self, **choices: Any) -> pd.DataFrame:
        """The rows for one setting of the controls (unnamed controls keep their value)."""
        return select(self.table, **{**self.choices, **choices})

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of control values that has rows in the table."""
        combos = itertools.product(*(self.options[c] for c in self.controls))
        out = []
        for values in combos:
            choice = dict(zip(self.controls, values, strict=True))
            if len(select(self.table, **choice)):
                out.append(choice)
        return out

    def render(self, **choices: Any):
        """One figure for one setting (what the widget shows)."""
        choice = {**self.choices, **choices}
        fig, ax = plt.subplots(figsize=self.figsize)
        rows = self.select(**choice)
        if len(rows):
            self.draw(rows, ax)
        else:  # a combination of control values the table has no results for
            ax.text(0.5, 0.5, "no results for this setting", ha="center", va="center")
            ax.set_axis_off()
        ax.set_title(self.title(choice))
        fig.tight_layout()
        return fig

    def static(self, ncols: int | None = None, suptitle: str | None = None):
        """All settings as a grid of panels with shared axes: the widget's static twin."""
        settings = self.settings()
        ncols = ncols or min(len(settings), len(self.options[self.controls[-1]]) or 1)
        nrows = -(-len(settings) // ncols)
        w, h = self.figsize
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False, sharex=True, sharey=True
        )
        for k, (ax, choice) in enumerate(zip(axes.flat, settings, strict=False)):
            self.draw(select(self.table, **choice), ax)
            ax.set_title(self.title(choice), fontsize="medium")
            ax.label_outer()  # axis labels on the outer panels only
            if k and ax.get_legend() is not None:
                ax.get_legend().remove()  # one legend, on the first panel
        for ax in list(axes.flat)[len(settings):]:
            ax.set_visible(False)
        if suptitle:
            fig.suptitle(suptitle)
        fig.tight_layout()
        return fig

    def widget(self):
        """The ipywidgets control panel (Jupyter, Colab); each change redraws the output."""
        import ipywidgets as w
        from IPython.display import display

        out = w.Output()

        def make(column: str):
            opts = self.options[column]
            labels = [(str(o), o) for o in opts]
            cls = w.ToggleButtons if len(opts) <= 3 else w.Dropdown
            control = cls(options=labels, value=self.choices[column], description=column)

            def changed(change):
                self.choices[column] = change["new"]
                self.current = self.select()
                out.clear_output(wait=True)
                with out:
                    fig = self.render()
                    display(fig)
                    plt.close(fig)

            control.observe(changed, names="value")
            return control

        controls = [make(c) for c in self.controls]
        with out:
            fig = self.render()
            display(fig)
            plt.close(fig)
        return w.VBox([*controls, out])
