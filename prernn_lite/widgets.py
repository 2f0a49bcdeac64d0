"""Interactive controls over result tables, each with a static twin for the built book.

A chapter's results are a table (read from a CSV under ``results/``) whose columns
include the settings that vary (cell type, structure, ``W_xy`` initialisation, ...).
:class:`GridExplorer` puts one control per setting column above a drawing of the
selected rows: in Jupyter or Colab the reader flips the controls; in the static site
:meth:`GridExplorer.static` draws *every* setting in a grid of panels, so a reader of
the site loses nothing. Widgets only draw results; they never train.

Tables have holes: a PreVRNN has no other gates, a VRNN no SIH. The controls never lead
to one. They are read top down, like a menu: each control offers only the values that
have rows given the controls *above* it (:meth:`GridExplorer.offered`), and when the
reader changes a control, a control below it keeps its value if that still has rows and
otherwise moves to its first value that has. So every state the reader can reach has
rows, every setting with rows is reachable (set the controls top down), and the
reachable settings are exactly the panels of the static grid (:meth:`settings`). A
control left with one value is greyed out, and a note under the controls, made from the
table, names what the chosen value of the first control lacks that most others have
(:meth:`note`): "cell=vrnn was not run with structure = sih".

Why this design: ipywidgets cannot grey out single options of a control, so a hole
cannot be shown as a disabled option; and offering only the values that have rows with
*all* the other controls' values locks the reader in (with the PreVRNN chosen only
"other gates = -" has rows, with "-" chosen only the PreVRNN). Top down, no control
ever has to be undone first, and a stored widget (the built site, no kernel) shows a
consistent first setting with its note.

The logic (which values are offered, which rows a choice selects, what is drawn) is
plain Python, testable without a browser: :meth:`GridExplorer.choose` does what a
change of a control does, and updates ``choices`` and ``current``.

>>> import pandas as pd
>>> table = pd.DataFrame({"cell": ["vrnn", "lstm", "lstm"],
...                       "gates": ["-", "copies", "zeros"], "nme": [0.3, 0.2, 0.1]})
>>> ex = GridExplorer(table, ["cell", "gates"], draw=lambda rows, ax: None)
>>> ex.offered("gates")  # with cell=vrnn, the first value
['-']
>>> ex.choose(cell="lstm")  # gates moves from '-' to lstm's first value
{'cell': 'lstm', 'gates': 'copies'}
>>> ex.current["nme"].item()
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
        self.choices: dict[str, Any] = {}
        for column in self.controls:  # top down: the first value with rows
            self.choices[column] = self.offered(column)[0]
        self.current: pd.DataFrame = self.select(**self.choices)

    def select(self, **choices: Any) -> pd.DataFrame:
        """The rows for one setting of the controls (unnamed controls keep their value)."""
        return select(self.table, **{**self.choices, **choices})

    def offered(self, column: str, choices: dict[str, Any] | None = None) -> list[Any]:
        """Values of ``column`` that have rows, given the controls above it.

        ``choices`` defaults to the current ones; the values keep the table's order.
        """
        choices = self.choices if choices is None else choices
        rows = self.table
        for above in self.controls[: self.controls.index(column)]:
            rows = rows[rows[above] == choices[above]]
        present = set(rows[column])
        return [v for v in self.options[column] if v in present]

    def choose(self, **changes: Any) -> dict[str, Any]:
        """Set controls as the reader would; the controls below move only if they must.

        Returns the new ``choices`` (``current`` holds their rows). A value that is not
        offered, given the controls above, is a ``ValueError`` that lists those that are.
        """
        unknown = sorted(set(changes) - set(self.controls))
        if unknown:
            raise ValueError(f"no controls {unknown}; controls are {self.controls}")
        choices = dict(self.choices)
        for column in self.controls:
            offered = self.offered(column, choices)
            if column in changes:
                if changes[column] not in offered:
                    above = self.controls[: self.controls.index(column)]
                    given = ", ".join(f"{c}={choices[c]!r}" for c in above) or "any setting"
                    raise ValueError(f"{column}={changes[column]!r} has no rows with "
                                     f"{given}; offered: {offered}")
                choices[column] = changes[column]
            elif choices[column] not in offered:
                choices[column] = offered[0]
        self.choices = choices
        self.current = self.select()
        return dict(choices)

    def note(self, choices: dict[str, Any] | None = None) -> str:
        """What the current first control lacks, as lines of text ("" if nothing).

        A line names the values of a control below that most other values of the first
        control have, with the same choices in between, and this one lacks: "cell=vrnn
        was not run with structure = sih". A value that only a few have (a placeholder
        such as a PreVRNN's ``structure = -``) is no hole in the others.
        """
        choices = self.choices if choices is None else choices
        first, lines = self.controls[0], []
        for k, column in enumerate(self.controls[1:], start=1):
            rows = self.table  # the other values of the first control, same in between
            for between in self.controls[1:k]:
                rows = rows[rows[between] == choices[between]]
            rows = rows[rows[first] != choices[first]]
            others = rows[first].nunique()
            have = rows.groupby(column, sort=False)[first].nunique()
            offered = self.offered(column, choices)
            lacks = [v for v in self.options[column]
                     if v not in offered and 2 * have.get(v, 0) > others]
            if lacks:
                given = ", ".join(f"{c}={choices[c]}" for c in self.controls[:k])
                values = " or ".join(str(v) for v in lacks)
                lines.append(f"{given} was not run with {column} = {values}")
        return "\n".join(lines)

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of control values that has rows: what the widget reaches."""
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

    def static(self, ncols: int | None = None, suptitle: str | None = None,
               row_by: str | None = None):
        """All settings as a grid of panels with shared axes: the widget's static twin.

        ``row_by`` names a control whose every value starts a new row of panels, so a
        table with holes keeps its columns lined up (the holes are left blank).
        """
        settings = self.settings()
        ncols = ncols or min(len(settings), len(self.options[self.controls[-1]]) or 1)
        slots: list[dict[str, Any] | None] = list(settings)
        if row_by is not None:
            slots = []
            for value in self.options[row_by]:
                group = [s for s in settings if s[row_by] == value]
                slots += group + [None] * (-len(group) % ncols)  # fill the last row
        nrows = -(-len(slots) // ncols)
        w, h = self.figsize
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False, sharex=True, sharey=True
        )
        axes = list(axes.flat)
        for ax, choice in zip(axes, slots, strict=False):
            if choice is None:
                continue
            self.draw(select(self.table, **choice), ax)
            ax.set_title(self.title(choice), fontsize="medium")
            ax.label_outer()  # axis labels on the outer panels only
            if choice is not settings[0] and ax.get_legend() is not None:
                ax.get_legend().remove()  # one legend, on the first panel
        for ax, choice in itertools.zip_longest(axes, slots[: len(axes)]):
            if choice is None:
                ax.set_visible(False)
        text = fig.suptitle(suptitle) if suptitle else None
        fig.tight_layout()
        if text is not None:  # tight_layout lets a tall grid's top titles touch it
            renderer = fig.canvas.get_renderer()
            top = max(ax.title.get_window_extent(renderer).y1 for ax in fig.axes)
            over = top + 6 - text.get_window_extent(renderer).y0  # pixels, 6 apart
            if over > 0:
                fig.subplots_adjust(top=fig.subplotpars.top - over / fig.bbox.height)
        return fig

    def widget(self):
        """The ipywidgets control panel (Jupyter, Colab); each change redraws the output.

        Each control offers :meth:`offered` values; a change goes through :meth:`choose`,
        which may move the controls below it, and then the note and drawing follow.
        """
        import html

        import ipywidgets as w
        from IPython.display import display

        out, note = w.Output(), w.HTML()
        syncing = False  # True while the controls are set from ``choices``

        def make(column: str):
            cls = w.ToggleButtons if len(self.options[column]) <= 3 else w.Dropdown
            labels = [(str(v), v) for v in self.offered(column)]
            return cls(options=labels, value=self.choices[column], description=column)

        controls = {c: make(c) for c in self.controls}

        def show():
            nonlocal syncing
            syncing = True
            try:
                for column, control in controls.items():
                    offered = self.offered(column)
                    labels = [(str(v), v) for v in offered]
                    if list(control.options) != labels:
                        control.options = labels  # selects the first: set again below
                    control.value = self.choices[column]
                    control.disabled = len(offered) == 1  # nothing to choose
            finally:
                syncing = False
            text = self.note()
            note.value = (f"<small style='color:#666'>{html.escape(text)}</small>"
                          .replace("\n", "<br>") if text else "")
            out.clear_output(wait=True)
            with out:
                fig = self.render()
                display(fig)
                plt.close(fig)

        def changed(column: str):
            def on_change(change):
                if not syncing:
                    self.choose(**{column: change["new"]})
                    show()
            return on_change

        for column, control in controls.items():
            control.observe(changed(column), names="value")
        show()
        return w.VBox([*controls.values(), note, out])
