"""Results on disk: where an experiment's rows land, and how the book reads them back.

An experiment ``NAME`` run in profile ``P`` writes ``<out>/NAME_P_<kind>.csv``:
``runs`` (one row per arm and seed, appended as each run finishes, so an interrupted
experiment resumes where it stopped), ``summary`` (mean, std and n over seeds per arm)
and, where the paper has the table, ``paper`` (side by side); some experiments add
tables of their own (:data:`EXTRA_KINDS`). Chapters read them with :func:`load_results`.
Every wall time goes to ``<out>/timings.csv``.

Reading checks the file (:func:`read_results_csv`): every row has the header's fields,
numeric columns hold numbers, and a last line cut by an interrupted write is refused,
never counted as a finished run. Writing is atomic: a new file replaces the old one
(:func:`append_row`), so a killed write leaves the old file or the new one.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from .settings import check_choice

RESULT_KINDS = ("runs", "summary", "paper")
#: Tables some experiments write besides runs/summary/paper.
EXTRA_KINDS = ("curves", "saturation", "lr", "sizes", "references", "confusion",
               "predictions", "comparisons")
ID_COLUMNS = ("arm", "kind", "cell", "mode", "init", "other_init", "layers", "extra_layers",
              "hidden_size", "num_layers", "hh_init", "gate_bias", "seed")
#: Numeric columns that describe the settings of a run, not its outcome.
SETTING_COLUMNS = ("base_lr", "epoch_scale", "epochs")
#: Text columns of the results: an empty cell there is an empty string, not NaN.
TEXT_COLUMNS = ("arm", "kind", "cell", "mode", "init", "other_init", "layers", "hh_init",
                "column", "status", "lr_family", "split", "stop_reason", "task", "stream",
                "reference", "meaning", "paper_column", "file", "optimizer")
FLOAT_FORMAT = "%.6g"


def results_dir() -> Path:
    """``$PRERNN_RESULTS`` or ``<repo>/results``."""
    env = os.environ.get("PRERNN_RESULTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "results"


def result_path(out_dir: Path, name: str, profile: str, kind: str) -> Path:
    """``out_dir/<name>_<profile>_<kind>.csv``."""
    return Path(out_dir) / f"{name}_{profile}_{kind}.csv"


def load_results(name: str, profile: str, kind: str = "summary",
                 out_dir: str | Path | None = None) -> pd.DataFrame:
    """Read ``<name>_<profile>_<kind>.csv`` for the book.

    ``kind``: ``runs``, ``summary``, ``paper`` or one of :data:`EXTRA_KINDS`. An unknown
    kind is a ``ValueError`` listing the kinds; a missing file a ``FileNotFoundError``
    naming the kinds on disk for ``name``/``profile`` and the command that writes them.
    """
    kinds = RESULT_KINDS + EXTRA_KINDS
    check_choice("result kind", kind, kinds)
    folder = Path(out_dir) if out_dir else results_dir()
    path = result_path(folder, name, profile, kind)
    if not path.is_file():
        found = [k for k in kinds if result_path(folder, name, profile, k).is_file()]
        raise FileNotFoundError(
            f"{path} not found; kinds on disk for {name!r} {profile!r}: "
            f"{', '.join(found) or 'none'} (valid kinds: {', '.join(kinds)}); write them "
            f"with `python -m prernn_lite.experiments {name} --profile {profile}`")
    return read_results_csv(path)


def read_results_csv(path: str | Path) -> pd.DataFrame:
    """A results CSV: empty numeric cells are NaN, empty text cells stay ``""``.

    Text columns are those of :data:`TEXT_COLUMNS` and every non-numeric column, so a
    blank setting (e.g. a frame arm's ``cell``) reads back as written. A malformed file
    is a ``ValueError`` naming it and the line: an empty file, a row whose number of
    fields is not the header's (a last line cut short by an interrupted write says so),
    text in a column that holds numbers in most rows. A header alone is an empty table.
    """
    path = Path(path)
    text = _read_text(path)
    rows, lines = _check_rows(path, text)
    try:
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, ValueError) as err:  # what the checks above let pass
        raise ValueError(f"{path}: {err}") from err
    _check_numbers(path, frame, rows, lines)
    for col in frame.columns:
        if col in TEXT_COLUMNS or frame[col].dtype == object or \
                pd.api.types.is_string_dtype(frame[col]):  # pandas 3 reads text as str
            if not pd.api.types.is_bool_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
    return frame


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a UTF-8 text file ({err})") from err


def _check_rows(path: Path, text: str) -> tuple[list[list[str]], list[int]]:
    """The data rows of ``text`` (header left out) and the line of each; a
    ``ValueError`` naming ``path`` and the line for an empty file or a row whose number
    of fields differs from the header's."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _split_rows(path, text, reader)
    except csv.Error as err:
        raise ValueError(f"{path}, line {reader.line_num}: {err}") from err


def _split_rows(path: Path, text: str, reader) -> tuple[list[list[str]], list[int]]:
    header = next((r for r in reader if r), None)  # blank lines skipped, as pandas does
    if header is None:
        raise ValueError(f"{path} is empty (no header, no rows; an interrupted first write "
                         "leaves such a file): delete it and run the experiment again")
    n_lines = sum(1 for _ in io.StringIO(text, newline=""))
    out: list[list[str]] = []
    lines: list[int] = []
    for fields in reader:
        if not fields:
            continue
        line = reader.line_num
        if len(fields) < len(header) and line == n_lines and not text.endswith(("\n", "\r")):
            raise ValueError(
                f"{path}, line {line}: the last line is cut short ({len(fields)} of "
                f"{len(header)} fields, no newline at its end): a write was interrupted. "
                "Its run is not finished: delete that partial last line, then run the "
                "experiment again (with --resume) to redo it")
        if len(fields) != len(header):
            raise ValueError(f"{path}, line {line}: {len(fields)} fields, but the header "
                             f"has {len(header)}; fix or delete that line")
        out.append(fields)
        lines.append(line)
    return out, lines


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_numbers(path: Path, frame: pd.DataFrame, rows: list[list[str]],
                   lines: list[int]) -> None:
    """A ``ValueError`` naming ``path``, the column and the line where a column that holds
    numbers in most of its filled rows holds text (:data:`TEXT_COLUMNS` are text)."""
    for k, col in enumerate(frame.columns):
        if col in TEXT_COLUMNS or pd.api.types.is_numeric_dtype(frame[col]):
            continue
        filled = [(line, r[k]) for r, line in zip(rows, lines, strict=True) if r[k] != ""]
        bad = [(line, cell) for line, cell in filled if not _is_number(cell)]
        if bad and 2 * len(bad) < len(filled):
            line, cell = bad[0]
            more = f" (and {len(bad) - 1} more lines)" if len(bad) > 1 else ""
            raise ValueError(
                f"{path}, line {line}: column {col!r} holds {cell!r}, not a number; the "
                f"column holds numbers in {len(filled) - len(bad)} of its {len(filled)} "
                f"filled rows{more}")


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Numeric columns of a runs table that are not identifiers."""
    skip = set(ID_COLUMNS) | set(SETTING_COLUMNS)
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def summarize(runs: pd.DataFrame, by: Sequence[str] = ("arm",)) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and number of seeds ``n`` per arm.

    Descriptive columns constant within an arm are kept; metric ``m`` becomes
    ``m_mean`` and ``m_std``. Arms keep their first-appearance order.
    """
    by = list(by)
    metrics = metric_columns(runs)
    keep = [c for c in runs.columns if c not in metrics and c not in by and c != "seed"
            and (runs.groupby(by, sort=False)[c].nunique(dropna=False) <= 1).all()]
    g = runs.groupby(by, sort=False)
    out = g[keep].first() if keep else g.size().to_frame("_").drop(columns="_")
    for m in metrics:
        out[f"{m}_mean"], out[f"{m}_std"] = g[m].mean(), g[m].std(ddof=1)
    out["n"] = g.size()
    return out.reset_index()


def write_table(frame: pd.DataFrame, out_dir: Path, name: str, profile: str, kind: str
                ) -> Path:
    """Write one results table (``<name>_<profile>_<kind>.csv``); returns its path."""
    path = result_path(out_dir, name, profile, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, frame.to_csv(index=False, float_format=FLOAT_FORMAT))
    return path


def write_results(runs: pd.DataFrame, name: str, profile: str, out_dir: Path,
                  paper: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the runs, summary (and paper side-by-side) CSVs; returns their paths."""
    paths = {"runs": write_table(runs, out_dir, name, profile, "runs"),
             "summary": write_table(summarize(runs), out_dir, name, profile, "summary")}
    if paper is not None:
        paths["paper"] = write_table(paper, out_dir, name, profile, "paper")
    return paths


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row to a CSV (header written with the first row).

    Processes appending to the same file (``--jobs``) take turns through a lock file.
    The append is atomic: the file's text plus the new line goes to a temporary file in
    the same folder, which then replaces it (``os.replace``). A file that does not read
    (:func:`read_results_csv`: e.g. a last line cut by an older version) is refused.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        _append_row(path, row)


@contextmanager
def _locked(path: Path):
    """An exclusive ``flock`` on ``path.lock`` (POSIX; no lock where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _append_row(path: Path, row: dict[str, Any]) -> None:
    frame = pd.DataFrame([row])
    text = _read_text(path) if path.is_file() else ""
    if not text.strip():  # a new (or empty) file: header and row
        _write_atomic(path, frame.to_csv(index=False, float_format=FLOAT_FORMAT))
        return
    _check_rows(path, text)
    header = list(pd.read_csv(io.StringIO(text), nrows=0).columns)
    if set(frame.columns) - set(header):  # new columns: rewrite with their union
        old = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
        _write_atomic(path, pd.concat([old, frame]).to_csv(index=False,
                                                            float_format=FLOAT_FORMAT))
        return
    line = frame.reindex(columns=header).to_csv(header=False, index=False,
                                                  float_format=FLOAT_FORMAT)
    _write_atomic(path, text + ("" if text.endswith(("\n", "\r")) else "\n") + line)


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path``, flush it to disk, and put it
    in ``path``'s place (``os.replace``): readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.is_file():  # keep the file's permissions
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # the rename itself, on disk (POSIX)
        folder = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(folder)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(folder)


def done_runs(path: Path, resume: bool) -> pd.DataFrame:
    """Rows already in ``path`` (resume), or none (the file is removed without resume)."""
    if path.is_file() and not resume:
        path.unlink()
    return read_results_csv(path) if path.is_file() \
        else pd.DataFrame(columns=["arm", "seed"])


def append_timing(out_dir: Path, experiment: str, profile: str, seconds: float) -> None:
    """Append ``experiment, profile, seconds`` to ``out_dir/timings.csv``."""
    append_row(Path(out_dir) / "timings.csv",
               {"experiment": experiment, "profile": profile, "seconds": round(seconds, 1)})
