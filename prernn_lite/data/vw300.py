"""300VW (Shen et al., ICCV-W 2015): sequences of video frames with 68 facial landmarks.

Download the dataset from the iBUG site (https://ibug.doc.ic.ac.uk/resources/300-VW/)
and unpack it so that ``root`` holds one folder per video::

    root/001/vid.avi
    root/001/annot/000001.pts, 000002.pts, ...   (one file per frame, 1-based numbering)
    root/002/...

:class:`VW300Sequences` cuts each video into windows of ``seq_len`` consecutive frames
(``stride`` apart), crops a square around the face and resizes it to ``image_size``.
The crop box is the landmarks' bounding box, made square and widened by ``margin`` of its
side on each side; by default one box per window (the union of its frames' landmarks), so
the face moves inside the window as it does in the video (``FaceCrop(per="frame")`` crops
each frame around its own face instead). Outside the frame the crop is black.

Coordinates: ``.pts`` files are 1-based (Matlab); the samples are 0-based pixel
coordinates of the *output* image, with pixel centres at integers: ``x_px = x_pts - 1``,
then the crop's affine map ``u = (x_px - left) * size / side - 0.5`` where ``left`` is the
box's left *edge* (the same map that warps the image, so landmarks and pixels agree).

Splits: the 50 training videos and the three test categories (31 / 19 / 14 videos) of
the 300VW challenge, as reproduced in public code of later work (e.g. Dong et al.'s
Supervision-by-Registration); they were cross-checked between several such copies, not
against the iBUG site itself. Any split's ids can be replaced with ``videos=``.
Real 300VW has no per-frame occlusion/blur/drop flags: the ``flags`` are all ``False``.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .pts import pts_to_pixels, read_pts
from .video import count_frames, read_frames

__all__ = [
    "VW300_TRAIN", "VW300_TEST1", "VW300_TEST2", "VW300_TEST3", "vw300_videos",
    "FaceCrop", "face_box", "crop_affine", "crop_and_resize", "VW300Sequences",
]

VW300_TRAIN = tuple(
    "001 002 003 004 007 009 010 011 013 015 016 017 018 019 020 022 025 027 028 029 "
    "031 033 034 035 037 039 041 043 044 046 047 048 049 053 057 059 112 113 115 119 "
    "120 123 138 143 144 160 204 205 223 225".split()
)  # 50 videos
VW300_TEST1 = tuple(  # category 1: laboratory and naturalistic well-lit conditions
    "114 124 125 126 150 158 401 402 505 506 507 508 509 510 511 514 515 518 519 520 "
    "521 522 524 525 537 538 540 541 546 547 548".split()
)
VW300_TEST2 = tuple(  # category 2: real-world human-computer interaction
    "203 208 211 212 213 214 218 224 403 404 405 406 407 408 409 412 550 551 553".split()
)
VW300_TEST3 = tuple(  # category 3: arbitrary conditions (the hardest)
    "410 411 516 517 526 528 529 530 531 533 557 558 559 562".split()
)
_SPLITS = {
    "train": VW300_TRAIN, "test": VW300_TEST1 + VW300_TEST2 + VW300_TEST3,
    "test1": VW300_TEST1, "test2": VW300_TEST2, "test3": VW300_TEST3,
}
_DOWNLOAD = (
    "Download 300VW from the iBUG site (https://ibug.doc.ic.ac.uk/resources/300-VW/) and "
    "unpack it so that ROOT/001/vid.avi and ROOT/001/annot/000001.pts exist."
)
_PTS_NAME = re.compile(r"(\d+)\.pts")


def vw300_videos(split: str) -> tuple[str, ...]:
    """Official video ids of a split: ``"train"``, ``"test"``, ``"test1"|"test2"|"test3"``.

    >>> len(vw300_videos("train")), len(vw300_videos("test"))
    (50, 64)
    """
    if split not in _SPLITS:
        raise ValueError(f"unknown 300VW split {split!r}; valid: {', '.join(_SPLITS)}")
    return _SPLITS[split]


@dataclass
class FaceCrop:
    """How the face is cropped: ``margin`` (fraction of the box's side added on each
    side) and ``per`` = ``"sequence"`` (one box per window) or ``"frame"``."""

    margin: float = 0.25
    per: str = "sequence"


def face_box(landmarks: np.ndarray, margin: float = 0.25) -> tuple[float, float, float]:
    """Square box around 0-based landmarks ``(..., 2)``: ``(left_edge, top_edge, side)``.

    The bounding box of all points, centred, side ``max(w, h) * (1 + 2 * margin)``
    (at least one pixel).

    >>> face_box(np.array([[10.0, 20.0], [30.0, 30.0]]), margin=0.5)
    (0.0, 5.0, 40.0)
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    lo, hi = pts.min(0), pts.max(0)
    side = max(float((hi - lo).max()) * (1 + 2 * margin), 1.0)
    cx, cy = (lo + hi) / 2
    return float(cx - side / 2), float(cy - side / 2), side


def crop_affine(box: tuple[float, float, float], size: int) -> np.ndarray:
    """``(2, 3)`` affine map from source to output pixel coordinates for a square crop.

    ``u = (x - left) * size / side - 0.5`` (pixel centres at integers, so the box's
    edges map to the output's edges ``-0.5`` and ``size - 0.5``).

    >>> crop_affine((-0.5, -0.5, 4.0), 4).tolist()   # the whole 4x4 image: identity
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    left, top, side = box
    a = size / side
    return np.array([[a, 0.0, -left * a - 0.5], [0.0, a, -top * a - 0.5]])


def crop_and_resize(
    frames: np.ndarray, landmarks: np.ndarray, boxes: list[tuple[float, float, float]],
    size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Crop each frame to its box and resize to ``size x size``; move landmarks alike.

    Parameters
    ----------
    frames : np.ndarray
        ``(T, H, W, 3)`` ``uint8``.
    landmarks : np.ndarray
        ``(T, P, 2)`` 0-based pixel ``(x, y)`` in the source frames.
    boxes : list of (left, top, side)
        One box per frame (see :func:`face_box`).
    size : int
        Output side.

    Returns
    -------
    (np.ndarray, np.ndarray)
        Frames ``(T, size, size, 3)`` ``uint8`` and landmarks ``(T, P, 2)`` ``float64`` in
        output pixels.

    Examples
    --------
    >>> f = np.zeros((1, 4, 4, 3), np.uint8); lm = np.array([[[1.0, 2.0]]])
    >>> crop_and_resize(f, lm, [(-0.5, -0.5, 4.0)], 8)[1].tolist()
    [[[2.5, 4.5]]]
    """
    out_f, out_l = [], []
    for f, lm, box in zip(frames, landmarks, boxes, strict=True):
        m = crop_affine(box, size)
        out_f.append(cv2.warpAffine(f, m, (size, size), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0))
        out_l.append(lm @ m[:, :2].T + m[:, 2])
    return np.stack(out_f), np.stack(out_l)


class VW300Sequences(Dataset):
    """Windows of 300VW videos, face-cropped: the real counterpart of the faces task.

    Args:
        root: folder holding ``NNN/vid.avi`` and ``NNN/annot/*.pts``.
        split: ``"train"``, ``"test"``, ``"test1"``, ``"test2"`` or ``"test3"``.
        seq_len: frames per window ``T``. Default 16.
        stride: first frames of consecutive windows are ``stride`` apart. Default ``seq_len``.
        image_size: side of the square output frames. Default 128.
        videos: video ids (``"001"`` or ``1``) to use instead of the split's official list.
        crop: :class:`FaceCrop` settings.

    Outputs (one item):
        ``{"frames": float32 (T, 3, S, S) in [0, 1] RGB, "landmarks": float32 (T, 68, 2)
        0-based (x, y) pixels of the output, "flags": {"occluded"|"blurred"|"dropped":
        bool (T,) all False}}``

    Errors name the file: missing root (with what to download), missing video or
    ``annot`` folder, a gap in the ``.pts`` numbering, a frame count that differs from the
    number of annotations, a malformed ``.pts`` (file and line). A ``seq_len`` longer than
    every video (an empty dataset) is an error naming the videos' lengths; longer than
    only some of them, a warning.

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> ds = VW300Sequences(samples_dir() / "300vw", videos=["001"], seq_len=4, stride=2,
    ...                     image_size=32)
    >>> len(ds), ds[0]["frames"].shape, ds[0]["landmarks"].shape
    (3, torch.Size([4, 3, 32, 32]), torch.Size([4, 68, 2]))
    """

    def __init__(
        self, root: str | Path, split: str = "train", seq_len: int = 16,
        stride: int | None = None, image_size: int = 128,
        videos: list[str | int] | tuple[str | int, ...] | None = None,
        crop: FaceCrop | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"300VW root {self.root} not found. {_DOWNLOAD}")
        self.videos = vw300_videos(split) if videos is None else tuple(
            f"{v:03d}" if isinstance(v, int) else str(v) for v in videos)
        self.seq_len, self.stride = int(seq_len), int(stride or seq_len)
        self.image_size = int(image_size)
        self.crop = crop or FaceCrop()
        if self.crop.per not in ("sequence", "frame"):
            raise ValueError(f"FaceCrop.per must be 'sequence' or 'frame', got {self.crop.per!r}")
        if self.seq_len < 1 or self.stride < 1:
            raise ValueError("seq_len and stride must be positive")
        if not self.videos:
            raise ValueError("videos: expected at least one video id, got none")
        self.windows: list[tuple[str, int]] = []  # (video id, first frame, 0-based)
        self.num_frames: dict[str, int] = {}
        for vid in self.videos:
            n = self._check_video(vid)
            self.num_frames[vid] = n
            self.windows += [(vid, s) for s in range(0, n - self.seq_len + 1, self.stride)]
        self._check_lengths()

    def _check_lengths(self) -> None:
        """An error when no video holds ``seq_len`` frames, a warning when some do not."""
        short = {v: n for v, n in self.num_frames.items() if n < self.seq_len}
        frames = ", ".join(f"{v}: {n}" for v, n in short.items())
        if len(short) == len(self.num_frames):
            raise ValueError(
                f"seq_len={self.seq_len} is longer than every video, so the dataset would be "
                f"empty; frames per video: {frames}. Use seq_len <= "
                f"{max(short.values())}.")
        if short:
            warnings.warn(f"seq_len={self.seq_len} is longer than {len(short)} of "
                          f"{len(self.num_frames)} videos, which give no window (frames per "
                          f"video: {frames})", stacklevel=3)

    def _check_video(self, vid: str) -> int:
        folder = self.root / vid
        video, annot = folder / "vid.avi", folder / "annot"
        if not video.is_file():
            raise FileNotFoundError(f"{video}: 300VW video not found. {_DOWNLOAD}")
        if not annot.is_dir():
            raise FileNotFoundError(f"{annot}: 300VW annotation folder not found. {_DOWNLOAD}")
        numbers = sorted(int(m.group(1)) for p in annot.iterdir()
                         if (m := _PTS_NAME.fullmatch(p.name)))
        for expected, got in enumerate(numbers, 1):
            if got != expected:
                raise FileNotFoundError(f"{annot / f'{expected:06d}.pts'}: annotation missing "
                                        f"(the numbering of {annot} jumps to {got:06d}.pts)")
        n = count_frames(video)
        if n != len(numbers):
            raise ValueError(f"{video}: {n} frames but {len(numbers)} annotations in {annot}")
        return n

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> dict:
        vid, start = self.windows[i]
        idx = list(range(start, start + self.seq_len))
        frames = read_frames(self.root / vid / "vid.avi", idx)  # (T, H, W, 3)
        lms = []
        for k in idx:
            path = self.root / vid / "annot" / f"{k + 1:06d}.pts"
            p = read_pts(path)
            if p.shape[0] != 68:
                raise ValueError(f"{path}:2: expected 68 points (iBUG markup), found {p.shape[0]}")
            lms.append(pts_to_pixels(p))
        lm = np.stack(lms)  # (T, 68, 2)
        if self.crop.per == "sequence":
            boxes = [face_box(lm, self.crop.margin)] * self.seq_len
        else:
            boxes = [face_box(x, self.crop.margin) for x in lm]
        frames, lm = crop_and_resize(frames, lm, boxes, self.image_size)
        no = torch.zeros(self.seq_len, dtype=torch.bool)
        return {
            "frames": torch.from_numpy(frames).permute(0, 3, 1, 2).float().div_(255),
            "landmarks": torch.from_numpy(lm).float(),
            "flags": {"occluded": no.clone(), "blurred": no.clone(), "dropped": no.clone()},
        }
