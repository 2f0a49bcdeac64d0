"""Video frames in and out, with OpenCV: the one place the loaders touch a video file.

Every real dataset of the book stores its frames as ``.avi`` files. Reading them takes
three small functions: :func:`count_frames` (how many frames, from the container),
:func:`read_frames` (a set of frame indices, as RGB ``uint8``), and
:func:`resize_frames`. :func:`write_video` writes the fixtures of ``data_samples/``
with the MJPG codec, which ``opencv-python-headless`` both writes and reads.

Conventions: frame indices are 0-based; frames come back RGB (OpenCV decodes BGR, we
convert once here), shaped ``(T, H, W, 3)``. A file that cannot be opened, or an index
past the last frame, raises an error naming the file.

Seeking: :func:`read_frames` seeks to the first wanted frame with
``CAP_PROP_POS_FRAMES`` and then decodes forward. With intra-only codecs (MJPG, the
fixtures) this is exact; FFmpeg's seek in OpenCV ≥ 4 is frame-accurate for the usual
codecs, but if a video of yours is not, extract its frames to images first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["count_frames", "read_frames", "resize_frames", "write_video"]


def _open(path: str | Path) -> cv2.VideoCapture:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: video file not found")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise OSError(f"{path}: OpenCV cannot open this video (codec not supported?)")
    return cap


def count_frames(path: str | Path) -> int:
    """Number of frames of a video, as its container reports it.

    Parameters
    ----------
    path : str or Path
        The video file.

    Returns
    -------
    int
        ``CAP_PROP_FRAME_COUNT`` (exact for AVI files, whose index lists every frame).

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> count_frames(samples_dir() / "300vw" / "001" / "vid.avi")
    8
    """
    cap = _open(path)
    try:
        n = int(round(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    finally:
        cap.release()
    if n <= 0:
        raise OSError(f"{path}: the container reports no frame count")
    return n


def read_frames(path: str | Path, indices: Sequence[int] | None = None) -> np.ndarray:
    """Read frames of a video as RGB ``uint8``.

    Parameters
    ----------
    path : str or Path
        The video file.
    indices : sequence of int, optional
        0-based frame indices, in any order, repeats allowed. ``None`` reads every frame.

    Returns
    -------
    np.ndarray
        ``uint8`` array ``(len(indices), H, W, 3)``, RGB, in the order of ``indices``.

    Raises
    ------
    FileNotFoundError, OSError
        The file is missing or cannot be decoded (message names the file).
    IndexError
        An index is negative or past the last decodable frame (message names the file).

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> read_frames(samples_dir() / "300vw" / "001" / "vid.avi", [0, 2]).shape
    (2, 72, 96, 3)
    """
    cap = _open(path)
    try:
        if indices is None:
            frames = []
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                frames.append(frame)
            if not frames:
                raise OSError(f"{path}: no frame could be decoded")
            return np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames])
        wanted = sorted(set(int(i) for i in indices))
        if not wanted:
            raise ValueError(f"{path}: no frame index given")
        if wanted[0] < 0:
            raise IndexError(f"{path}: negative frame index {wanted[0]}")
        got: dict[int, np.ndarray] = {}
        pos = wanted[0]
        if pos > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, pos)
        want = set(wanted)
        while pos <= wanted[-1]:
            if pos in want:
                ok, frame = cap.read()
                if ok:
                    got[pos] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            else:
                ok = cap.grab()
            if not ok:
                raise IndexError(
                    f"{path}: frame {pos} could not be read (the video ends before "
                    f"frame {wanted[-1]}, which was requested)"
                )
            pos += 1
        return np.stack([got[int(i)] for i in indices])
    finally:
        cap.release()


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize every frame to ``size = (H, W)`` (area interpolation when shrinking).

    Parameters
    ----------
    frames : np.ndarray
        ``(T, H0, W0, C)`` or ``(T, H0, W0)``.
    size : (int, int)
        Output height and width.

    Returns
    -------
    np.ndarray
        ``(T, H, W, C)`` or ``(T, H, W)``, same dtype.

    Examples
    --------
    >>> resize_frames(np.zeros((2, 8, 6, 3), np.uint8), (4, 3)).shape
    (2, 4, 3, 3)
    """
    h, w = size
    if frames.shape[1:3] == (h, w):
        return frames.copy()
    shrink = h < frames.shape[1] or w < frames.shape[2]
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=interp) for f in frames])


def write_video(
    path: str | Path, frames: np.ndarray, fps: float = 25.0, fourcc: str = "MJPG"
) -> None:
    """Write RGB frames ``(T, H, W, 3)`` (or grey ``(T, H, W)``) ``uint8`` to a video file.

    Parameters
    ----------
    path : str or Path
        Output file (``.avi`` for MJPG).
    frames : np.ndarray
        ``uint8`` frames, RGB or grey (grey is stored as three equal channels).
    fps : float
        Frame rate written in the container.
    fourcc : str
        Four-character codec code; ``"MJPG"`` is written and read by every OpenCV build.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "a.avi")
    >>> write_video(f, np.zeros((3, 16, 16, 3), np.uint8))
    >>> count_frames(f)
    3
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4):
        raise ValueError(f"expected uint8 (T, H, W[, 3]) frames, got {frames.dtype} {frames.shape}")
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write codec {fourcc!r}")
    try:
        for f in frames:
            bgr = cv2.cvtColor(f, cv2.COLOR_GRAY2BGR if f.ndim == 2 else cv2.COLOR_RGB2BGR)
            writer.write(bgr)
    finally:
        writer.release()
