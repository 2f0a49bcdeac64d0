"""Widget logic without a browser: selection, control changes, the static grid."""

import matplotlib
import matplotlib.pyplot as plt
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


# A table with holes, shaped like Table 3: a VRNN has no SIH, a traditional RNN no
# W_xy choice ("—"), and the SIH PreGRU was run with a pre-trained W_xy only.
ARMS = [("vrnn", "prernn", "pretrained"), ("vrnn", "prernn", "random"),
        ("vrnn", "traditional", "—"),
        ("lstm", "prernn", "pretrained"), ("lstm", "prernn", "random"),
        ("lstm", "sih", "pretrained"), ("lstm", "sih", "random"),
        ("lstm", "traditional", "—"),
        ("gru", "prernn", "pretrained"), ("gru", "prernn", "random"),
        ("gru", "sih", "pretrained"), ("gru", "traditional", "—")]
HOLES = pd.DataFrame([{"cell": c, "structure": s, "init": i, "seed": seed, "nme": 0.5}
                      for c, s, i in ARMS for seed in (0, 1)])
CONTROLS = ["cell", "structure", "init"]


def rows_of(table, state):
    """The rows for a state, by a plain mask (not the explorer's own select)."""
    mask = pd.Series(True, index=table.index)
    for column, value in state.items():
        mask &= table[column] == value
    return table[mask]


def offered_by(control):
    return [value for _, value in control.options]


def walk(table, controls):
    """Drive the widget's controls from every reachable state to every offered value.

    Returns the reachable states; checks each one on the way.
    """
    ex = GridExplorer(table, controls, bar)
    drawn = []  # the rows of every redraw; a cheap figure keeps the walk fast
    ex.render = lambda: drawn.append(len(ex.select())) or plt.figure(figsize=(1, 1))
    box = ex.widget()
    widgets = dict(zip(controls, box.children, strict=False))
    start = {c: widgets[c].value for c in controls}
    assert len(rows_of(table, start)) > 0, f"the initial state {start} has no rows"
    seen, todo = {tuple(start.values())}, [start]

    def back_to(state):  # as a reader would: top down
        for c, v in state.items():
            widgets[c].value = v
        assert {c: widgets[c].value for c in controls} == state

    while todo:
        state = todo.pop()
        for column in controls:
            back_to(state)
            for value in offered_by(widgets[column]):
                back_to(state)
                widgets[column].value = value
                after = {c: widgets[c].value for c in controls}
                assert after[column] == value
                assert len(rows_of(table, after)) > 0, (state, column, value, after)
                assert ex.choices == after
                assert ex.current.equals(rows_of(table, after))
                for c in controls:  # each control shows its value among its options
                    assert after[c] in offered_by(widgets[c])
                if tuple(after.values()) not in seen:
                    seen.add(tuple(after.values()))
                    todo.append(after)
    assert drawn and min(drawn) > 0  # no redraw of an empty setting
    return ex, seen


def test_widget_over_a_table_with_holes_reaches_every_setting_and_no_empty_one():
    ex, reached = walk(HOLES, CONTROLS)
    with_rows = set(map(tuple, HOLES[CONTROLS].drop_duplicates().to_numpy()))
    assert reached == with_rows and len(reached) == len(ARMS)  # 12 of 3 x 3 x 3
    # the static twin draws exactly the settings the widget reaches
    assert {tuple(s.values()) for s in ex.settings()} == reached
    fig = ex.static(ncols=5)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(ARMS)


def test_widget_reaches_every_setting_in_any_order_of_the_controls():
    for controls in (["init", "structure", "cell"], ["structure", "cell", "init"]):
        _, reached = walk(HOLES, controls)
        assert reached == set(map(tuple, HOLES[controls].drop_duplicates().to_numpy()))


def test_a_control_offers_only_values_with_rows_given_the_controls_above():
    ex = GridExplorer(HOLES, CONTROLS, bar)
    box = ex.widget()
    cell, structure, init = box.children[:3]
    assert ex.choices == {"cell": "vrnn", "structure": "prernn", "init": "pretrained"}
    assert offered_by(structure) == ["prernn", "traditional"]  # no SIH for a VRNN
    structure.value = "traditional"
    assert offered_by(init) == ["—"] and init.value == "—" and init.disabled
    cell.value = "gru"  # keeps "traditional": the GRU has one
    assert ex.choices == {"cell": "gru", "structure": "traditional", "init": "—"}
    structure.value = "sih"  # "—" has no rows: init moves to the first that has
    assert init.value == "pretrained" and offered_by(init) == ["pretrained"]
    assert offered_by(structure) == ["prernn", "traditional", "sih"]  # table order
    structure.value = "prernn"
    assert offered_by(init) == ["pretrained", "random"] and not init.disabled
    init.value = "random"
    cell.value = "lstm"  # keeps what still has rows
    assert ex.choices == {"cell": "lstm", "structure": "prernn", "init": "random"}


def test_the_note_names_what_the_first_control_lacks_that_most_others_have():
    ex = GridExplorer(HOLES, CONTROLS, bar)
    # init = "—" is missing too, but it belongs to the traditional RNN of every cell
    assert ex.note() == "cell=vrnn was not run with structure = sih"
    ex.choose(structure="traditional")  # pretrained/random: no cell has them here
    assert ex.note() == "cell=vrnn was not run with structure = sih"
    ex.choose(cell="gru", structure="sih")
    assert ex.note() == "cell=gru, structure=sih was not run with init = random"
    box = ex.widget()
    assert "structure=sih was not run with init = random" in box.children[3].value
    ex.choose(cell="lstm")
    assert ex.note() == "" and GridExplorer(TABLE, ["cell", "init"], bar).note() == ""
    # a value that only one cell has is no hole in the others
    solo = GridExplorer(pd.concat([HOLES, HOLES.iloc[:1].assign(structure="bi")]),
                        CONTROLS, bar)
    assert solo.note() == "cell=vrnn was not run with structure = sih"
    solo.choose(cell="lstm")
    assert solo.offered("structure") == ["prernn", "traditional", "sih"]
    assert solo.note() == ""


def test_choose_refuses_what_is_not_offered():
    ex = GridExplorer(HOLES, CONTROLS, bar)
    with pytest.raises(ValueError, match=r"structure='sih' has no rows with "
                                         r"cell='vrnn'; offered: \['prernn', 'traditional'\]"):
        ex.choose(structure="sih")
    with pytest.raises(ValueError, match=r"no controls \['seed'\]"):
        ex.choose(seed=0)
    assert ex.choices == {"cell": "vrnn", "structure": "prernn", "init": "pretrained"}


def test_the_old_calls_still_work():
    # chapters 2-8 call these; keep them working
    ex = GridExplorer(TABLE, ["cell", "init"], bar, title=lambda ch: ch["cell"],
                      figsize=(2.0, 2.0))
    assert ex.options == {"cell": ["lstm", "gru"], "init": ["pretrained", "random"]}
    assert ex.choices == {"cell": "lstm", "init": "pretrained"}
    assert ex.select(init="random")["nme"].tolist() == [0.20]
    assert [ax.get_title() for ax in ex.static(ncols=2, suptitle="s").axes] == [
        "lstm", "lstm", "gru", "gru"]
    ex.choices["cell"] = "gru"  # chapter 6's slider sets a choice and renders
    assert ex.render().axes[0].get_title() == "gru"
    box = GridExplorer(HOLES, CONTROLS, bar).widget()
    assert [c.description for c in box.children[:3]] == CONTROLS
    table = pd.DataFrame({"t": range(1, 9)})  # chapter 6: one control, eight values
    slider = GridExplorer(table, ["t"], lambda rows, ax: None).widget().children[0]
    assert slider.options[-1] == ("8", 8)


def test_the_suptitle_of_a_tall_grid_stays_clear_of_the_panel_titles():
    table = pd.DataFrame({"arm": range(14), "nme": 0.1})
    fig = GridExplorer(table, ["arm"], lambda rows, ax: None, figsize=(3.6, 2.3)).static(
        ncols=2, suptitle="Test NME per epoch,\nevery setting")
    renderer = fig.canvas.get_renderer()
    [suptitle] = [t for t in fig.get_children() if isinstance(t, matplotlib.text.Text)
                  and t.get_text() == "Test NME per epoch,\nevery setting"]
    bottom = suptitle.get_window_extent(renderer).y0
    assert max(ax.title.get_window_extent(renderer).y1 for ax in fig.axes) < bottom


def test_static_rows_by_a_control_keep_the_columns_lined_up():
    ex = GridExplorer(HOLES, CONTROLS, bar, title=lambda ch: "/".join(ch.values()))
    fig = ex.static(ncols=5, row_by="cell")
    shown = [(ax.get_subplotspec().rowspan.start, ax.get_subplotspec().colspan.start,
              ax.get_title()) for ax in fig.axes if ax.get_visible()]
    assert shown == [
        (0, 0, "vrnn/prernn/pretrained"), (0, 1, "vrnn/prernn/random"),
        (0, 2, "vrnn/traditional/—"),
        (1, 0, "lstm/prernn/pretrained"), (1, 1, "lstm/prernn/random"),
        (1, 2, "lstm/traditional/—"), (1, 3, "lstm/sih/pretrained"),
        (1, 4, "lstm/sih/random"),  # values in the table's order: sih comes last
        (2, 0, "gru/prernn/pretrained"), (2, 1, "gru/prernn/random"),
        (2, 2, "gru/traditional/—"), (2, 3, "gru/sih/pretrained")]
    assert len(fig.axes) == 15  # three rows of five; three blanks
