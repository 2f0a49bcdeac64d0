"""Optical flow for the temporal stream: compute it, store it, stack it, draw it.

The temporal stream of a two-stream network sees 10 consecutive flow fields, x and y
stacked into 20 channels (``x0, y0, x1, y1, ...``: :func:`stack_flow`). Flow is computed
once per video, before training (:func:`main`, ``python -m prernn_lite.data.flow``).

Method: TV-L1 is the two-stream standard, but lives in opencv-contrib (``cv2.optflow``);
without it Farnebäck (``cv2.calcOpticalFlowFarneback``) stands in. ``method="auto"``
picks TV-L1 when available, else Farnebäck; :func:`flow_method` says which. Flow is in
pixels, ``(dx, dy)`` such that ``prev[y, x] ≈ next[y + dy, x + dx]``.

Storage, one file per video, ``<out>/<video path relative to --videos>.npz``: as in the
two-stream literature each field is clipped to ``[-bound, bound]`` (default 20 px),
quantised to ``uint8`` (``q = round((f + bound) / (2 bound) * 255)``) and each component
saved as an image — JPEG quality 95 (compact, the usual choice) or PNG (lossless on the
quantised values). The images are concatenated into one ``.npz`` with the keys ``data``
(``uint8`` bytes), ``offsets`` (``int64 (2F + 1,)``: image ``2t`` is x of field ``t``,
``2t + 1`` its y), ``shape`` (``F, H, W``), ``bound``, ``method``, ``codec``. A video of
``N`` frames gives ``F = N - 1`` fields. Files are written under a temporary name and
renamed when complete, so an existing ``.npz`` is always whole: the CLI skips it, and a
video interrupted half-way is simply redone.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .video import read_frames

__all__ = [
    "FarnebackSettings", "flow_method", "compute_flow", "video_flow", "quantize_flow",
    "dequantize_flow", "save_flow", "load_flow", "flow_info", "stack_flow",
    "flow_to_color", "main",
]


@dataclass
class FarnebackSettings:
    """Parameters of ``cv2.calcOpticalFlowFarneback`` (OpenCV's documented example values)."""

    pyr_scale: float = 0.5
    levels: int = 3
    winsize: int = 15
    iterations: int = 3
    poly_n: int = 5
    poly_sigma: float = 1.2


def _has_tvl1() -> bool:
    return hasattr(cv2, "optflow") and hasattr(cv2.optflow, "DualTVL1OpticalFlow_create")


def flow_method(method: str = "auto") -> str:
    """The method that ``method`` resolves to: ``"tvl1"`` or ``"farneback"``.

    ``"auto"`` gives ``"tvl1"`` when opencv-contrib's ``cv2.optflow`` is installed, else
    ``"farneback"``. Asking for ``"tvl1"`` without it raises ``RuntimeError``.

    >>> flow_method("farneback")
    'farneback'
    """
    if method == "auto":
        return "tvl1" if _has_tvl1() else "farneback"
    if method == "tvl1" and not _has_tvl1():
        raise RuntimeError("TV-L1 needs cv2.optflow: pip install opencv-contrib-python-headless "
                           "(instead of opencv-python-headless), or use method='farneback'")
    if method not in ("tvl1", "farneback"):
        raise ValueError(f"unknown flow method {method!r}; valid: auto, tvl1, farneback")
    return method


def _gray(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {img.dtype}")
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def compute_flow(prev: np.ndarray, next: np.ndarray, method: str = "auto",
                 settings: FarnebackSettings | None = None) -> np.ndarray:
    """Dense optical flow from ``prev`` to ``next``.

    Parameters
    ----------
    prev, next : np.ndarray
        ``uint8`` images ``(H, W)`` grey or ``(H, W, 3)`` RGB.
    method : str
        ``"auto"``, ``"tvl1"`` or ``"farneback"`` (see :func:`flow_method`).
    settings : FarnebackSettings, optional
        Farnebäck parameters.

    Returns
    -------
    np.ndarray
        ``float32 (H, W, 2)``: ``(dx, dy)`` in pixels.

    Examples
    --------
    >>> a = np.zeros((32, 32), np.uint8)
    >>> compute_flow(a, a, "farneback").shape
    (32, 32, 2)
    """
    p, n = _gray(prev), _gray(next)
    if flow_method(method) == "tvl1":  # pragma: no cover - needs opencv-contrib
        return cv2.optflow.DualTVL1OpticalFlow_create().calc(p, n, None).astype(np.float32)
    s = settings or FarnebackSettings()
    return cv2.calcOpticalFlowFarneback(p, n, None, s.pyr_scale, s.levels, s.winsize,
                                        s.iterations, s.poly_n, s.poly_sigma, 0)


def video_flow(path: str | Path, method: str = "auto") -> np.ndarray:
    """Flow between every pair of consecutive frames of a video: ``float32 (N-1, H, W, 2)``."""
    frames = read_frames(path)
    if len(frames) < 2:
        raise ValueError(f"{path}: {len(frames)} frame(s), need at least 2 for optical flow")
    pairs = zip(frames[:-1], frames[1:], strict=True)
    return np.stack([compute_flow(a, b, method) for a, b in pairs])  # (N-1, H, W, 2)


def quantize_flow(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Clip to ``[-bound, bound]`` and map linearly to ``uint8`` ``[0, 255]``.

    >>> quantize_flow(np.array([-20.0, 0.0, 20.0, 99.0])).tolist()
    [0, 128, 255, 255]
    """
    f = np.clip(np.asarray(flow, dtype=np.float64), -bound, bound)
    return np.floor((f + bound) / (2 * bound) * 255 + 0.5).astype(np.uint8)


def dequantize_flow(q: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Inverse of :func:`quantize_flow` (up to ``bound / 255``): ``float32``.

    >>> dequantize_flow(np.array([0, 255], np.uint8)).tolist()
    [-20.0, 20.0]
    """
    return (np.asarray(q, dtype=np.float32) / 255 * 2 - 1) * np.float32(bound)


def save_flow(path: str | Path, flow: np.ndarray, bound: float = 20.0,
              method: str = "", codec: str = "jpg") -> None:
    """Store ``flow (F, H, W, 2)`` in the format described above, atomically."""
    if codec not in ("jpg", "png"):
        raise ValueError(f"unknown codec {codec!r}; valid: jpg, png")
    flow = np.asarray(flow)
    if flow.ndim != 4 or flow.shape[-1] != 2:
        raise ValueError(f"expected flow of shape (F, H, W, 2), got {flow.shape}")
    q = quantize_flow(flow, bound)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if codec == "jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 9]
    blobs = [cv2.imencode(f".{codec}", q[t, :, :, c], params)[1].ravel()
             for t in range(len(q)) for c in (0, 1)]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, data=np.concatenate(blobs), offsets=offsets,
                     shape=np.array(flow.shape[:3], np.int64), bound=np.float64(bound),
                     method=np.str_(method), codec=np.str_(codec))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


_REDO = "recompute it with `python -m prernn_lite.data.flow` (unreadable files are redone)"
_UNREADABLE = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)


def _read_npz(path: str | Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of a flow ``.npz``, read without unpickling anything.

    A truncated or corrupt file, one holding pickled (object) arrays, a single ``.npy``
    array or a file without the flow keys raises ``ValueError`` naming ``path``.
    """
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _UNREADABLE as err:
        raise ValueError(f"{path}: not a readable flow .npz ({type(err).__name__}: {err}); "
                         f"{_REDO}") from err
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single {z.dtype} array, not a flow .npz with the "
                         f"keys {list(keys)}; {_REDO}")
    with z:
        missing = [k for k in keys if k not in z.files]
        if missing:
            raise ValueError(f"{path}: not a flow file: keys {missing} missing (it holds "
                             f"{z.files}); {_REDO}")
        try:
            return {k: z[k] for k in keys}
        except _UNREADABLE as err:  # e.g. an object array: refused, never unpickled
            raise ValueError(f"{path}: not a readable flow .npz ({type(err).__name__}: "
                             f"{err}); {_REDO}") from err


def flow_info(path: str | Path) -> dict:
    """What a stored flow file holds: ``{"num_flows": F, "height": H, "width": W, "bound",
    "method", "codec"}``; an unreadable file raises ``ValueError`` naming it."""
    z = _read_npz(path, ("shape", "bound", "method", "codec"))
    f, h, w = (int(v) for v in z["shape"])
    return {"num_flows": f, "height": h, "width": w, "bound": float(z["bound"]),
            "method": str(z["method"]), "codec": str(z["codec"])}


def load_flow(path: str | Path, indices: Sequence[int] | None = None) -> np.ndarray:
    """Read stored flow fields: ``float32 (len(indices), H, W, 2)`` in pixels.

    Only the requested fields are decoded. ``indices=None`` reads all ``F``. A file that
    is truncated, holds pickled (object) arrays or lacks a key raises ``ValueError``
    naming it (it is read with ``allow_pickle=False``).

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> f = samples_dir() / "ucf101/flow/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.npz"
    >>> load_flow(f, [0, 1]).shape
    (2, 48, 64, 2)
    """
    z = _read_npz(path, ("data", "offsets", "shape", "bound"))
    data, offsets, bound = z["data"], z["offsets"], float(z["bound"])
    f, h, w = (int(v) for v in z["shape"])
    if offsets.shape != (2 * f + 1,):
        raise ValueError(f"{path}: offsets of shape {offsets.shape}, expected (2F + 1,) = "
                         f"({2 * f + 1},) for F = {f} fields; {_REDO}")
    idx = range(f) if indices is None else [int(i) for i in indices]
    out = np.empty((len(idx), h, w, 2), np.float32)
    for k, t in enumerate(idx):
        if not 0 <= t < f:
            raise IndexError(f"{path}: flow field {t} requested, the file holds {f}")
        for c in (0, 1):
            a, b = offsets[2 * t + c], offsets[2 * t + c + 1]
            img = cv2.imdecode(data[a:b], cv2.IMREAD_GRAYSCALE)
            if img is None or img.shape != (h, w):
                raise ValueError(f"{path}: flow image {2 * t + c} is corrupt")
            out[k, :, :, c] = dequantize_flow(img, bound)
    return out


def stack_flow(flows: np.ndarray, start: int, length: int = 10) -> np.ndarray:
    """Stack ``length`` consecutive fields from ``start`` as channels ``x0, y0, x1, y1, ...``.

    Parameters
    ----------
    flows : np.ndarray
        ``(F, H, W, 2)``.
    start, length : int
        Fields ``start .. start + length - 1`` are used.

    Returns
    -------
    np.ndarray
        ``(2 * length, H, W)``.

    Examples
    --------
    >>> f = np.arange(3 * 2).reshape(3, 1, 1, 2).astype(np.float32)  # field t = (2t, 2t+1)
    >>> stack_flow(f, 1, 2).ravel().tolist()
    [2.0, 3.0, 4.0, 5.0]
    """
    if start < 0 or start + length > len(flows):
        raise IndexError(f"fields {start}..{start + length - 1} requested, {len(flows)} available")
    sel = flows[start:start + length]  # (L, H, W, 2)
    return np.ascontiguousarray(sel.transpose(0, 3, 1, 2).reshape(2 * length, *sel.shape[1:3]))


def flow_to_color(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour picture of a flow field: hue = direction, brightness = speed.

    Parameters
    ----------
    flow : np.ndarray
        ``(H, W, 2)``.
    max_magnitude : float, optional
        Speed drawn at full brightness (default: the field's largest).

    Returns
    -------
    np.ndarray
        ``uint8 (H, W, 3)`` RGB. Right = red, down = yellow-green, left = cyan, up = violet.

    Examples
    --------
    >>> flow_to_color(np.array([[[1.0, 0.0]]])).tolist()   # rightwards: red
    [[[255, 0, 0]]]
    """
    fx = np.ascontiguousarray(flow[..., 0], dtype=np.float32)
    fy = np.ascontiguousarray(flow[..., 1], dtype=np.float32)
    mag, ang = cv2.cartToPolar(fx, fy, angleInDegrees=True)
    top = float(mag.max()) if max_magnitude is None else float(max_magnitude)
    hsv = np.empty((*fx.shape, 3), np.uint8)
    hsv[..., 0] = np.round(ang / 2).astype(np.int64) % 180
    hsv[..., 1] = 255
    hsv[..., 2] = np.round(np.clip(mag / top if top > 0 else 0 * mag, 0, 1) * 255)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _is_complete(path: Path) -> bool:
    try:
        flow_info(path)
        return True
    except Exception:  # unreadable: redo it
        return False


def main(argv: list[str] | None = None) -> dict:
    """CLI: precompute flow for every video under ``--videos`` into ``--out`` (resumable).

    Returns ``{"computed": n, "skipped": m, "method": name}`` (also printed).
    """
    from tqdm.auto import tqdm

    ap = argparse.ArgumentParser(prog="python -m prernn_lite.data.flow",
                                 description="Precompute optical flow for a folder of videos.")
    ap.add_argument("--videos", type=Path, required=True, help="folder searched recursively")
    ap.add_argument("--out", type=Path, required=True, help="output folder (mirrors --videos)")
    ap.add_argument("--method", default="auto", choices=["auto", "tvl1", "farneback"])
    ap.add_argument("--bound", type=float, default=20.0, help="clip flow to ±bound px")
    ap.add_argument("--codec", default="jpg", choices=["jpg", "png"])
    ap.add_argument("--ext", default="avi", help="video file extension (default avi)")
    args = ap.parse_args(argv)
    if not args.videos.is_dir():
        raise SystemExit(f"{args.videos}: no such folder")
    method = flow_method(args.method)
    why = "" if args.method != "auto" else (
        " (auto: cv2.optflow found)" if method == "tvl1" else
        " (auto: cv2.optflow not installed; opencv-contrib-python-headless gives TV-L1)")
    print(f"optical flow: {method}{why}", file=sys.stderr)
    videos = sorted(args.videos.rglob(f"*.{args.ext}"))
    computed = skipped = 0
    for v in tqdm(videos, desc="flow", unit="video"):
        out = args.out / v.relative_to(args.videos).with_suffix(".npz")
        if out.exists() and _is_complete(out):
            skipped += 1
            continue
        save_flow(out, video_flow(v, method), args.bound, method, args.codec)
        computed += 1
    summary = {"computed": computed, "skipped": skipped, "method": method}
    print(f"flow: computed {computed}, skipped {skipped} (already complete) -> {args.out}")
    return summary


if __name__ == "__main__":
    main()
