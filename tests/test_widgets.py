"""Widget logic without a browser: selection, control changes, the static grid."""

import matplotlib
import pandas as pd
import pytest

from prernn_lite.widgets import GridExplorer, select

matplotlib.use("Agg")

TABLE = pd.DataFrame(
    {
        "cell": ["lstm", "lstm", "gru", "gru", "lstm", "gru"],
        "init": ["pretrained", "random"] * 2 + ["pretrained", "random"],
        "seed": [0, 0, 0, 0, 1, 1],
        "nme": [0.10, 0.20, 0.12, 0.22, 0.11, 0.23],
    }
)


def bar(rows, ax):
    ax.bar(rows["seed"].astype(str), rows["nme"])


def test_select_and_errors():
    assert select(TABLE, cell="gru", init="random")["nme"].tolist() == [0.22, 0.23]
    with pytest.raises(ValueError, match=r"valid values: \['lstm', 'gru'\]"):
        select(TABLE, cell="vrnn")
    with pytest.raises(ValueError, match="no column 'depth'"):
        select(TABLE, depth=3)
    with pytest.raises(ValueError, match=r"controls \['mode'\] are not columns"):
        GridExplorer(TABLE, ["mode"], bar)


def test_settings_cover_every_combination_with_rows():
    ex = GridExplorer(TABLE, ["cell", "init"], bar)
    assert ex.settings() == [
        {"cell": "lstm", "init": "pretrained"},
        {"cell": "lstm", "init": "random"},
        {"cell": "gru", "init": "pretrained"},
        {"cell": "gru", "init": "random"},
    ]


def test_widget_change_updates_current_selection():
    ex = GridExplorer(TABLE, ["cell", "init"], bar)
    box = ex.widget()
    cell_control, init_control = box.children[0], box.children[1]
    assert ex.current["nme"].tolist() == [0.10, 0.11]
    init_control.value = "random"
    assert ex.current["nme"].tolist() == [0.20]
    cell_control.value = "gru"
    assert ex.current["nme"].tolist() == [0.22, 0.23]


def test_static_grid_has_a_panel_per_setting():
    ex = GridExplorer(TABLE, ["cell", "init"], bar)
    fig = ex.static(suptitle="all settings")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == [
        "cell=lstm, init=pretrained",
        "cell=lstm, init=random",
        "cell=gru, init=pretrained",
        "cell=gru, init=random",
    ]
    # the panels show the same numbers the widget would
    heights = [p.get_height() for p in fig.axes[3].patches]
    assert heights == [0.22, 0.23]


def test_static_grid_keeps_one_legend_and_outer_labels():
    def lines(rows, ax):
        ax.plot(rows["seed"], rows["nme"], label="nme")
        ax.set_xlabel("seed")
        ax.legend()

    fig = GridExplorer(TABLE, ["cell", "init"], lines).static(ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_legend() is not None for ax in visible] == [True, False, False, False]
    assert [ax.get_xlabel() for ax in visible] == ["", "", "seed", "seed"]


def test_render_of_an_empty_combination_says_so():
    table = TABLE[~((TABLE.cell == "gru") & (TABLE.init == "random"))]
    drawn = []
    ex = GridExplorer(table, ["cell", "init"], lambda rows, ax: drawn.append(len(rows)))
    fig = ex.render(cell="gru", init="random")
    assert drawn == [] and fig.axes[0].texts[0].get_text() == "no results for this setting"


def test_an_empty_table_is_a_clear_error():
    with pytest.raises(ValueError, match=r"the table is empty \(0 rows; columns \['cell', "
                                         r"'init', 'seed', 'nme'\]\).*\['cell', 'init'\]"):
        GridExplorer(TABLE.iloc[:0], ["cell", "init"], bar)
