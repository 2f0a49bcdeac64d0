"""nvGesture (NVIDIA Dynamic Hand Gesture, Molchanov et al., CVPR 2016): 25 gestures,
1050 training and 482 test videos, colour and depth.

Request the dataset from NVIDIA
(https://research.nvidia.com/publication/2016-06_online-detection-and-classification-dynamic-hand-gestures-recurrent-3d-convolutional)
and unpack it so that ``root`` holds the two list files and the videos::

    root/nvgesture_train_correct_cvpr2016_v2.lst
    root/nvgesture_test_correct_cvpr2016_v2.lst
    root/Video_data/class_01/subject13_r0/sk_color.avi, sk_depth.avi, duo_left.avi

The lists go by several names in the wild: NVIDIA's distribution and most public code
use ``nvgesture_{train,test}_correct_cvpr2016_v2.lst``; copies without ``_v2`` and
``nvgesture_{train,test}_correct.lst`` exist too. :func:`find_nvgesture_list` tries the
names of :data:`NVGESTURE_LIST_NAMES` in that order, prefers ``_v2`` (with a warning
naming the file used) when several are present, and lists every name tried when none
is; ``list_file=`` names a list explicitly.

A list line names a recording folder, one ``stream:file_stem:start:end`` token per
sensor (``depth``, ``color``, ``duo_left``) and a 1-based label; real lines end in a
space (after ``label:1`` here; ``duo_left`` left out)::

    path:./Video_data/class_01/subject13_r0 depth:sk_depth:138:218 color:sk_color:138:218 label:1

``start``/``end`` are 0-based frame indices, ``end`` exclusive, as in NVIDIA's own
reader (it seeks to ``start`` and reads ``range(start, end)``). In the real lists every
colour and depth range spans 80 frames (duo_left ranges 93). The label used is the line's
``label:`` token, made 0-based by :func:`parse_nvgesture_list`, never the ``class_NN``
folder: in the ``_v2`` lists 15 training and 8 test labels differ from their folder (the
lists without ``_v2`` are the same lines with those labels equal to the folder).
:class:`NvGestureSequences` cuts the gesture's frames into
``num_clips`` clips of ``clip_len`` consecutive frames whose first frames are evenly
spaced from ``start`` to ``end - clip_len`` (consecutive, non-overlapping clips when
``end - start == num_clips * clip_len``; overlapping when shorter, gaps when longer).
Depth videos store grey frames; their first channel is replicated to three, so colour
and depth clips have the same shape and fit the same C3D.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .video import count_frames, read_frames, resize_frames

__all__ = [
    "NVGESTURE_LISTS", "NVGESTURE_LIST_NAMES", "StreamRange", "NvGestureEntry",
    "parse_nvgesture_list", "find_nvgesture_list", "clip_starts", "NvGestureSequences",
]

#: One list file name by split: the one the project's fixtures (``data_samples/``) use.
#: Kept for existing callers; the real lists are found by :data:`NVGESTURE_LIST_NAMES`.
NVGESTURE_LISTS = {
    "train": "nvgesture_train_correct_cvpr2016.lst",
    "test": "nvgesture_test_correct_cvpr2016.lst",
}
#: The names the list files go by in the wild, by split, in order of preference.
NVGESTURE_LIST_NAMES = {
    split: (f"nvgesture_{split}_correct_cvpr2016_v2.lst",
            f"nvgesture_{split}_correct_cvpr2016.lst", f"nvgesture_{split}_correct.lst")
    for split in ("train", "test")
}
_STREAMS = ("color", "depth", "duo_left")
_DOWNLOAD = (
    "Request nvGesture (NVIDIA Dynamic Hand Gesture dataset) from https://research.nvidia."
    "com/publication/2016-06_online-detection-and-classification-dynamic-hand-gestures-"
    "recurrent-3d-convolutional and unpack it so that ROOT/nvgesture_train_correct_cvpr2016"
    "_v2.lst and ROOT/Video_data/class_01/... exist."
)


@dataclass(frozen=True)
class StreamRange:
    """One sensor of a list line: video ``<file_stem>.avi``, frames ``start`` to ``end``
    (0-based, ``end`` exclusive)."""

    file_stem: str
    start: int
    end: int


@dataclass(frozen=True)
class NvGestureEntry:
    """One list line: recording folder ``path`` (relative to the root), its sensors,
    0-based ``label`` and the ``line`` number it came from."""

    path: str
    streams: dict[str, StreamRange]
    label: int
    line: int


def parse_nvgesture_list(path: str | Path) -> list[NvGestureEntry]:
    """Parse an nvGesture ``.lst`` file.

    Parameters
    ----------
    path : str or Path
        The list file.

    Returns
    -------
    list of NvGestureEntry
        One per non-blank line, labels 0-based.

    Raises
    ------
    ValueError
        Malformed line; the message starts with ``"<path>:<line>:"``.

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> e = parse_nvgesture_list(samples_dir() / "nvgesture" / NVGESTURE_LISTS["train"])[0]
    >>> e.path, e.streams["color"], e.label
    ('./Video_data/class_01/subject1_r0', StreamRange(file_stem='sk_color', start=3, end=19), 0)
    """
    path = Path(path)
    entries = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        tokens = raw.split()
        if not tokens:
            continue

        def fail(msg: str, n: int = n) -> ValueError:
            return ValueError(f"{path}:{n}: {msg}")

        if not tokens[0].startswith("path:") or len(tokens[0]) == len("path:"):
            raise fail(f"expected the line to start with 'path:<folder>', found {tokens[0]!r}")
        streams: dict[str, StreamRange] = {}
        label = None
        for tok in tokens[1:]:
            key, _, value = tok.partition(":")
            if key == "label":
                if not value.isdigit() or int(value) < 1:
                    raise fail(f"label must be a positive integer (1-based), found {value!r}")
                label = int(value) - 1
            elif key in _STREAMS:
                parts = value.split(":")
                if len(parts) != 3 or not parts[0]:
                    raise fail(f"expected '{key}:<file_stem>:<start>:<end>', found {tok!r}")
                try:
                    start, end = int(parts[1]), int(parts[2])
                except ValueError:
                    raise fail(f"frame numbers must be integers in {tok!r}") from None
                if not 0 <= start < end:
                    raise fail(f"need 0 <= start < end, found {tok!r}")
                streams[key] = StreamRange(parts[0], start, end)
            else:
                raise fail(f"unknown field {tok!r}; expected {', '.join(_STREAMS)} or label")
        if label is None:
            raise fail("missing 'label:<n>'")
        entries.append(NvGestureEntry(tokens[0][len("path:"):], streams, label, n))
    return entries


def find_nvgesture_list(root: str | Path, split: str,
                        list_file: str | Path | None = None) -> Path:
    """The list file of ``split`` under ``root``, or ``list_file`` when given.

    Parameters
    ----------
    root : str or Path
        The dataset folder.
    split : str
        ``"train"`` or ``"test"``.
    list_file : str or Path, optional
        A list file to use instead of looking one up; it must exist.

    Returns
    -------
    Path
        The first of :data:`NVGESTURE_LIST_NAMES` ``[split]`` found under ``root``; when
        several are present a ``UserWarning`` names the one used.

    Raises
    ------
    ValueError
        Unknown split.
    FileNotFoundError
        ``list_file`` does not exist, or none of the names is found (every name tried
        is listed).

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> find_nvgesture_list(samples_dir() / "nvgesture", "test").name
    'nvgesture_test_correct_cvpr2016.lst'
    """
    if split not in NVGESTURE_LIST_NAMES:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(NVGESTURE_LIST_NAMES)}")
    if list_file is not None:
        if not Path(list_file).is_file():
            raise FileNotFoundError(f"list_file {list_file}: no such nvGesture list file")
        return Path(list_file)
    root = Path(root)
    names = NVGESTURE_LIST_NAMES[split]
    found = [root / n for n in names if (root / n).is_file()]
    if not found:
        raise FileNotFoundError(f"no nvGesture {split} list in {root}: tried "
                                f"{', '.join(names)}. {_DOWNLOAD}")
    if len(found) > 1:
        warnings.warn(f"several nvGesture {split} lists in {root} "
                      f"({', '.join(p.name for p in found)}); using {found[0].name}. Their "
                      "labels may differ: pass list_file= to choose another", stacklevel=2)
    return found[0]


def clip_starts(start: int, end: int, num_clips: int, clip_len: int) -> list[int]:
    """First frames of ``num_clips`` clips of ``clip_len`` frames, evenly spaced in
    ``[start, end)`` from ``start`` to ``end - clip_len`` (rounded half up).

    >>> clip_starts(0, 32, 4, 8)      # exactly four consecutive clips
    [0, 8, 16, 24]
    >>> clip_starts(10, 30, 3, 8)     # 20 frames for 24: the clips overlap
    [10, 16, 22]
    """
    n = end - start
    if n < clip_len:
        raise ValueError(f"{n} frames cannot hold a clip of {clip_len}")
    if num_clips == 1:
        return [start + (n - clip_len) // 2]
    span, gaps = n - clip_len, num_clips - 1
    return [start + (k * span * 2 + gaps) // (2 * gaps) for k in range(num_clips)]


class NvGestureSequences(Dataset):
    """nvGesture videos as ``T`` clips of ``L`` frames: the real counterpart of the gestures task.

    Args:
        root: dataset folder (list files and ``Video_data/``).
        split: ``"train"`` or ``"test"``.
        stream: ``"color"`` or ``"depth"``.
        num_clips: ``T``. Default 5.
        clip_len: ``L``. Default 16 (C3D's clip length).
        image_size: ``(H, W)`` or an int for square frames. Default 112 (C3D's input).
        list_file: a list file to use instead of the one :func:`find_nvgesture_list`
            finds for ``split`` under ``root`` (``_v2`` preferred).

    Outputs (one item):
        ``{"clips": float32 (T, 3, L, H, W) in [0, 1] RGB (depth: grey x 3),
        "label": int64 scalar, 0-based}``

    Every listed video is checked when the dataset is built: a missing file or a frame
    range past the video's end raises an error naming the file and the list line.

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> ds = NvGestureSequences(samples_dir() / "nvgesture", num_clips=2, clip_len=8,
    ...                         image_size=16)
    >>> len(ds), ds[0]["clips"].shape, ds[0]["label"]
    (2, torch.Size([2, 3, 8, 16, 16]), tensor(0))
    """

    def __init__(
        self, root: str | Path, split: str = "train", stream: str = "color",
        num_clips: int = 5, clip_len: int = 16, image_size: int | tuple[int, int] = 112,
        list_file: str | Path | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"nvGesture root {self.root} not found. {_DOWNLOAD}")
        if stream not in ("color", "depth"):
            raise ValueError(f"unknown stream {stream!r}; valid: color, depth")
        self.stream, self.num_clips, self.clip_len = stream, int(num_clips), int(clip_len)
        size = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.image_size = (int(size[0]), int(size[1]))
        self.list_file = find_nvgesture_list(self.root, split, list_file)
        self.entries = parse_nvgesture_list(self.list_file)
        self.items: list[tuple[Path, list[int], int]] = []  # (video, clip starts, label)
        for e in self.entries:
            where = f"({self.list_file}:{e.line})"
            if stream not in e.streams:
                raise ValueError(f"{self.list_file}:{e.line}: no '{stream}:' field")
            r = e.streams[stream]
            video = self.root / e.path / f"{r.file_stem}.avi"
            if not video.is_file():
                raise FileNotFoundError(f"{video}: nvGesture video not found {where}. {_DOWNLOAD}")
            n = count_frames(video)
            if r.end > n:
                raise ValueError(f"{video}: frames {r.start}:{r.end} requested {where} but "
                                 f"the video has {n} frames")
            try:
                starts = clip_starts(r.start, r.end, self.num_clips, self.clip_len)
            except ValueError as err:
                raise ValueError(f"{video}: {err} {where}") from None
            self.items.append((video, starts, e.label))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        video, starts, label = self.items[i]
        idx = [s + j for s in starts for j in range(self.clip_len)]
        frames = resize_frames(read_frames(video, idx), self.image_size)  # (T*L, H, W, 3)
        if self.stream == "depth":
            frames = np.repeat(frames[..., :1], 3, axis=-1)
        h, w = self.image_size
        x = torch.from_numpy(frames).float().div_(255)
        x = x.reshape(self.num_clips, self.clip_len, h, w, 3).permute(0, 4, 1, 2, 3)
        return {"clips": x.contiguous(), "label": torch.tensor(label, dtype=torch.int64)}
