"""Results files: reading refuses malformed CSVs (naming file and line), appends are atomic
and a last line cut by an interrupted write is never counted as a finished run."""

import glob
import io
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from prernn_lite.experiments import Arm, load_results, read_results_csv, run_arms
from prernn_lite.experiments import results as R

REPO_RESULTS = sorted(glob.glob(str(Path(__file__).resolve().parents[1] / "results" / "*.csv")))
HEADER = "arm,kind,cell,seed,nme,seconds,status\n"
ROWS = ["frame,frame,,0,0.158,0.05,ok\n", "vrnn-fc7,prernn,vrnn,0,0.157,0.06,ok\n",
        "mean_shape_reference,reference,,0,0.311,,\n"]


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


@pytest.mark.parametrize("path", REPO_RESULTS, ids=lambda p: Path(p).name)
def test_committed_results_read_as_pandas_reads_them(path):
    """Real layouts (blank 'not applicable' cells, text columns, numeric-looking text such
    as table1's paper_column) pass the checks and read back as pandas reads them."""
    ours = read_results_csv(path)
    ref = pd.read_csv(path)
    assert list(ours.columns) == list(ref.columns) and len(ours) == len(ref)
    for col in ref.columns:
        if pd.api.types.is_numeric_dtype(ref[col]) and not pd.api.types.is_bool_dtype(ref[col]):
            pd.testing.assert_series_equal(ours[col].astype(float), ref[col].astype(float))
        else:
            assert ours[col].tolist() == ref[col].fillna("").tolist()


def test_a_row_cut_short_or_too_long_names_file_and_line(tmp_path):
    short = write(tmp_path / "t_ci_runs.csv", HEADER + ROWS[0] + "vrnn-fc7,prernn,vrnn,0\n"
                  + ROWS[2])
    with pytest.raises(ValueError, match=r"t_ci_runs\.csv, line 3: 4 fields, but the header "
                                         r"has 7"):
        read_results_csv(short)
    long = write(tmp_path / "long.csv", HEADER + ROWS[0] + ROWS[1].replace("ok", "ok,extra"))
    with pytest.raises(ValueError, match=r"long\.csv, line 3: 8 fields, but the header has 7"):
        read_results_csv(long)


def test_an_empty_file_is_an_error_and_a_header_alone_an_empty_table(tmp_path):
    empty = write(tmp_path / "table1_ci_summary.csv", "")
    with pytest.raises(ValueError, match=r"table1_ci_summary\.csv is empty.*delete it"):
        load_results("table1", "ci", "summary", out_dir=tmp_path)
    only = read_results_csv(write(tmp_path / "h.csv", HEADER))
    assert list(only.columns) == HEADER.strip().split(",") and len(only) == 0
    assert empty.read_bytes() == b""  # reading changes nothing


def test_text_in_a_numeric_column_names_file_column_and_line(tmp_path):
    bad = write(tmp_path / "r.csv", HEADER + ROWS[0] + ROWS[1].replace("0.157", "oops")
                + ROWS[2])
    with pytest.raises(ValueError, match=r"r\.csv, line 3: column 'nme' holds 'oops', not a "
                                         r"number; the column holds numbers in 2 of its 3"):
        read_results_csv(bad)
    # a text column (several values, blanks meaning "not applicable") is fine, as is a
    # text column that is mostly numeric-looking (paper_column: '256', '512', 'fc6')
    ok = write(tmp_path / "p.csv", "cell,paper_column,nme\nvrnn,256,0.1\nvrnn,512,\nlstm,fc6,"
               "0.2\n")
    assert read_results_csv(ok)["paper_column"].tolist() == ["256", "512", "fc6"]


def test_a_last_line_cut_by_a_kill_is_refused_and_never_counted_as_done(tmp_path):
    runs = write(tmp_path / "x_ci_runs.csv", HEADER + ROWS[0] + ROWS[1][:20])  # no newline
    with pytest.raises(ValueError, match=r"x_ci_runs\.csv, line 3: the last line is cut short "
                                         r"\(3 of 7 fields.*delete that partial last line"):
        read_results_csv(runs)
    before = runs.read_bytes()
    trained = []
    arms = [Arm("frame", "frame"), Arm("vrnn-fc7", "prernn", "vrnn", layers=("fc7",))]
    with pytest.raises(ValueError, match="cut short"):  # resume refuses before training
        run_arms(arms, [0], runs, True, lambda arm, seed: trained.append(arm.name) or [])
    with pytest.raises(ValueError, match="cut short"):  # and appending is refused
        R.append_row(runs, {"arm": "lstm", "seed": 0})
    assert trained == [] and runs.read_bytes() == before


def test_a_complete_last_line_without_newline_is_not_glued_to_the_next(tmp_path):
    path = write(tmp_path / "rows.csv", HEADER + ROWS[0].rstrip("\n"))
    R.append_row(path, {"arm": "lstm", "kind": "prernn", "cell": "lstm", "seed": 1,
                        "nme": 0.2, "seconds": 1.0, "status": "ok"})
    assert path.read_text().splitlines()[1:] == [ROWS[0].strip(), "lstm,prernn,lstm,1,0.2,1,ok"]


def _pandas_appends(path: Path, rows: list[dict]) -> None:
    """The reference: one pandas ``to_csv(mode="a")`` per row (header with the first)."""
    for row in rows:
        frame = pd.DataFrame([row])
        if path.is_file():
            frame = frame.reindex(columns=list(pd.read_csv(path, nrows=0).columns))
        frame.to_csv(path, mode="a", header=not path.is_file(), index=False,
                     float_format="%.6g")


def test_appended_rows_are_the_lines_pandas_writes(tmp_path):
    rows = [{"arm": "frame", "kind": "frame", "cell": "", "seed": 0, "nme": 0.1584451234,
             "seconds": 0.0588, "status": "ok"},
            {"arm": "ref", "kind": "reference", "seed": 0, "nme": 1 / 3},  # blanks
            {"status": "diverged", "arm": "gru", "nme": float("nan"), "seed": 2}]  # reordered
    ours, ref = tmp_path / "ours.csv", tmp_path / "ref.csv"
    for row in rows:
        R.append_row(ours, row)
    _pandas_appends(ref, rows)
    assert ours.read_bytes() == ref.read_bytes()
    R.append_row(ours, {"arm": "lstm", "seed": 0, "sat_left": 0.5})  # a new column
    table = pd.read_csv(ours)
    assert list(table.columns)[-1] == "sat_left" and table["sat_left"].tolist()[-1] == 0.5
    assert table["arm"].tolist() == ["frame", "ref", "gru", "lstm"]


def test_a_write_that_fails_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = write(tmp_path / "runs.csv", HEADER + ROWS[0])
    os.chmod(path, 0o640)
    before = path.read_bytes()

    def killed(src, dst):  # the process dies between writing the new file and the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(R.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        R.append_row(path, {"arm": "gru", "seed": 0, "nme": 0.2})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv", "runs.csv.lock"]
    monkeypatch.undo()
    R.append_row(path, {"arm": "gru", "seed": 0, "nme": 0.2})
    assert path.read_bytes() == before + b"gru,,,0,0.2,,\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file keeps its permissions


def test_written_tables_are_replaced_whole(tmp_path, monkeypatch):
    table = pd.DataFrame({"arm": ["a", "b"], "nme_mean": [0.1, 0.2]})
    path = R.write_table(table, tmp_path, "t", "ci", "summary")
    before = path.read_bytes()
    monkeypatch.setattr(R.os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError(28)))
    with pytest.raises(OSError):
        R.write_table(table.iloc[:1], tmp_path, "t", "ci", "summary")
    assert path.read_bytes() == before
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(before)), table)
