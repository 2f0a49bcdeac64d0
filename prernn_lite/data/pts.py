"""Landmark files in the iBUG ``.pts`` format (300W, 300VW), read strictly.

A ``.pts`` file is::

    version: 1
    n_points:  68
    {
    413.625 192.5
    ... (n_points lines "x y")
    }

Files in the wild differ in whitespace: two spaces after ``n_points:``, trailing tabs or
spaces, CRLF line endings, no final newline, stray blank lines. :func:`read_pts` accepts
all of those (blank lines are skipped anywhere) and rejects anything structurally
wrong — missing header, wrong point count, a non-numeric or non-finite value, a missing
brace, text after the closing brace, a byte that is not UTF-8 — with a ``ValueError``
that starts with ``"<file>:<line>:"`` like a compiler message.

Coordinates: the files are 1-based (Matlab style: the centre of the top-left pixel is
``(1, 1)``). :func:`read_pts` returns them unchanged; :func:`pts_to_pixels` and
:func:`pixels_to_pts` convert to and from the library's 0-based pixel coordinates
(centre of the top-left pixel at ``(0, 0)``) by subtracting / adding one.
"""

from __future__ import annotations

import codecs
import math
import re
from pathlib import Path

import numpy as np

__all__ = ["PTS_ORIGIN", "read_pts", "write_pts", "pts_to_pixels", "pixels_to_pts"]

#: Coordinate of the top-left pixel's centre in ``.pts`` files (Matlab convention).
PTS_ORIGIN = 1.0

_VERSION = re.compile(r"version:\s*(\S+)")
_NPOINTS = re.compile(r"n_points:\s*(\S+)")


def read_pts(path: str | Path) -> np.ndarray:
    """Read a ``.pts`` landmark file.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    np.ndarray
        ``float64`` array ``(n_points, 2)`` of ``(x, y)`` exactly as written in the file
        (1-based; see :func:`pts_to_pixels`).

    Raises
    ------
    ValueError
        Malformed file; the message starts with ``"<path>:<line>:"``.

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> p = read_pts(samples_dir() / "300vw" / "001" / "annot" / "000001.pts")
    >>> p.shape, p.dtype
    ((68, 2), dtype('float64'))
    """
    path = Path(path)
    text = _decode(path, path.read_bytes())
    # (line number, stripped text) of the non-blank lines; splitlines handles \r\n and \r
    lines = [(i, s.strip()) for i, s in enumerate(text.splitlines(), 1) if s.strip()]
    last = len(text.splitlines()) or 1

    def fail(lineno: int, msg: str) -> ValueError:
        return ValueError(f"{path}:{lineno}: {msg}")

    def take(k: int, what: str) -> tuple[int, str]:
        if k >= len(lines):
            raise fail(last, f"unexpected end of file, expected {what}")
        return lines[k]

    n, s = take(0, "'version: <n>'")
    if not _VERSION.fullmatch(s):
        raise fail(n, f"expected 'version: <n>' header, found {s!r}")
    n, s = take(1, "'n_points: <count>'")
    m = _NPOINTS.fullmatch(s)
    if not m or not m.group(1).isdigit():
        raise fail(n, f"expected 'n_points: <count>', found {s!r}")
    count = int(m.group(1))
    n, s = take(2, "'{'")
    if s != "{":
        raise fail(n, f"expected '{{', found {s!r}")
    points = np.empty((count, 2), dtype=np.float64)
    for k in range(count):
        n, s = take(3 + k, f"point {k + 1} of {count}")
        if s == "}":
            raise fail(n, f"found '}}' after {k} points, but n_points is {count}")
        fields = s.split()
        if len(fields) != 2:
            raise fail(n, f"expected two numbers 'x y', found {s!r}")
        for j, f in enumerate(fields):
            try:
                v = float(f)
            except ValueError:
                raise fail(n, f"not a number: {f!r}") from None
            if not math.isfinite(v):
                raise fail(n, f"not a finite number: {f!r}")
            points[k, j] = v
    n, s = take(3 + count, "'}'")
    if s != "}":
        raise fail(n, f"expected '}}' after {count} points, found {s!r} (more points?)")
    if len(lines) > 4 + count:
        n, s = lines[4 + count]
        raise fail(n, f"unexpected text after '}}': {s!r}")
    return points


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 text of ``raw`` (a leading BOM dropped); a bad byte names file and line."""
    body = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        line = len((body[:err.start].decode("utf-8") + "x").splitlines())
        raise ValueError(f"{path}:{line}: not UTF-8 text: byte 0x{body[err.start]:02x} at "
                         f"offset {err.start + len(raw) - len(body)} ({err.reason})") from None


def write_pts(path: str | Path, points: np.ndarray, decimals: int = 3) -> None:
    """Write ``(n_points, 2)`` coordinates as a ``.pts`` file (values written as given).

    Parameters
    ----------
    path : str or Path
        Output file.
    points : np.ndarray
        ``(n_points, 2)`` ``(x, y)``, in the file's 1-based convention.
    decimals : int
        Digits after the decimal point (real 300VW files use 3).

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "a.pts")
    >>> write_pts(f, np.array([[1.5, 2.0], [3.0, 4.25]]))
    >>> read_pts(f).tolist()
    [[1.5, 2.0], [3.0, 4.25]]
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected points of shape (n_points, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("points must be finite")
    body = "".join(f"{x:.{decimals}f} {y:.{decimals}f}\n" for x, y in points)
    Path(path).write_text(f"version: 1\nn_points: {len(points)}\n{{\n{body}}}\n")


def pts_to_pixels(points: np.ndarray) -> np.ndarray:
    """1-based ``.pts`` coordinates → 0-based pixel coordinates (subtract :data:`PTS_ORIGIN`).

    >>> pts_to_pixels(np.array([[1.0, 1.0]])).tolist()
    [[0.0, 0.0]]
    """
    return np.asarray(points, dtype=np.float64) - PTS_ORIGIN


def pixels_to_pts(points: np.ndarray) -> np.ndarray:
    """0-based pixel coordinates → 1-based ``.pts`` coordinates (add :data:`PTS_ORIGIN`).

    >>> pixels_to_pts(np.array([[0.0, 4.0]])).tolist()
    [[1.0, 5.0]]
    """
    return np.asarray(points, dtype=np.float64) + PTS_ORIGIN
