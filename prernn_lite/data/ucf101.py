"""UCF101 (Soomro et al., 2012): 13,320 clips of 101 actions, three train/test splits,
read as RGB frames plus precomputed optical flow for a two-stream network.

Download ``UCF101.rar`` and ``UCF101TrainTestSplits-RecognitionTask.zip`` from
https://www.crcv.ucf.edu/data/UCF101.php, then precompute flow (see ``flow.py``)::

    UCF101/UCF-101/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi ...   <- root
    UCF101/ucfTrainTestlist/classInd.txt, trainlist01.txt, testlist01.txt, ...
    UCF101/flow/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.npz ...       <- flow_root
    python -m prernn_lite.data.flow --videos UCF101/UCF-101 --out UCF101/flow

``classInd.txt`` lines read ``1 ApplyEyeMakeup``; ``trainlist0N.txt`` lines
``ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1``; ``testlist0N.txt`` lines hold the path
only and the label comes from the folder. Labels are returned 0-based. A known quirk: the
folder ``HandstandPushups`` holds files named ``v_HandStandPushups_...``; class names are
therefore matched case-insensitively, and a listed path that differs from the disk only
in letter case is resolved to the file on disk.

Sampling (TSN-style segments): the ``F = N - 1`` flow fields of a video are cut into
``num_segments`` equal parts over the possible stack starts ``0 .. F - flow_length``; the
``k``-th stack starts at the middle of part ``k``, ``s_k = ((2k + 1) * (F - L + 1)) //
(2 T)``, and the RGB frame is the stack's middle frame ``s_k + L // 2``. Flow comes
back in pixels *of the resized frame* (x scaled by ``W / W0``, y by ``H / H0``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from .video import read_frames, resize_frames

__all__ = ["read_class_index", "read_split", "find_list_dir", "segment_starts", "UCF101Videos"]

_DOWNLOAD = (
    "Download UCF101.rar and UCF101TrainTestSplits-RecognitionTask.zip from "
    "https://www.crcv.ucf.edu/data/UCF101.php; unpack them to UCF101/UCF-101/<Class>/*.avi "
    "and UCF101/ucfTrainTestlist/."
)


def read_class_index(path: str | Path) -> list[str]:
    """Class names from ``classInd.txt``; position ``i`` holds the class with label ``i``
    (0-based; the file numbers them from 1, consecutively — checked).

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> names = read_class_index(samples_dir() / "ucf101/ucfTrainTestlist/classInd.txt")
    >>> len(names), names[0], names[36]
    (101, 'ApplyEyeMakeup', 'HandstandPushups')
    """
    path = Path(path)
    names: list[str] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 2 or not tokens[0].isdigit():
            raise ValueError(f"{path}:{n}: expected '<index> <ClassName>', found {line!r}")
        if int(tokens[0]) != len(names) + 1:
            raise ValueError(f"{path}:{n}: expected index {len(names) + 1}, found {tokens[0]}")
        names.append(tokens[1])
    if not names:
        raise ValueError(f"{path}:1: no class listed")
    return names


def find_list_dir(root_or_dir: str | Path) -> Path:
    """The folder holding ``classInd.txt``: ``root_or_dir`` itself, or its
    ``ucfTrainTestlist/`` subfolder, or a ``ucfTrainTestlist/`` next to it."""
    p = Path(root_or_dir)
    for cand in (p, p / "ucfTrainTestlist", p.parent / "ucfTrainTestlist"):
        if (cand / "classInd.txt").is_file():
            return cand
    raise FileNotFoundError(f"{p}: no classInd.txt in it, in {p / 'ucfTrainTestlist'} or in "
                            f"{p.parent / 'ucfTrainTestlist'}. {_DOWNLOAD}")


def read_split(
    root_or_dir: str | Path, split: int = 1, train: bool = True
) -> list[tuple[str, int]]:
    """Videos of a split: ``[(relative path as listed, 0-based label), ...]``.

    Parameters
    ----------
    root_or_dir : str or Path
        The ``ucfTrainTestlist`` folder, or a folder next to / above it (:func:`find_list_dir`).
    split : int
        1, 2 or 3.
    train : bool
        ``trainlist0N.txt`` if true, else ``testlist0N.txt``.

    Raises
    ------
    ValueError
        A malformed line, an unknown class folder, a file name whose class differs from
        its folder (letter case aside), or a label that contradicts the folder; the
        message starts with ``"<file>:<line>:"``.

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> read_split(samples_dir() / "ucf101", 1, train=False)[1]
    ('HandstandPushups/v_HandStandPushups_g01_c01.avi', 36)
    """
    if split not in (1, 2, 3):
        raise ValueError(f"UCF101 has splits 1, 2, 3; got {split!r}")
    d = find_list_dir(root_or_dir)
    lookup = {c.lower(): i for i, c in enumerate(read_class_index(d / "classInd.txt"))}
    path = d / f"{'train' if train else 'test'}list{split:02d}.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: split list not found. {_DOWNLOAD}")
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        want = 2 if train else 1
        if len(tokens) != want:
            form = "<Class>/<file>.avi <label>" if train else "<Class>/<file>.avi"
            raise ValueError(f"{path}:{n}: expected '{form}', found {line!r}")
        parts = tokens[0].split("/")
        if len(parts) != 2:
            raise ValueError(f"{path}:{n}: expected '<Class>/<file>.avi', found {tokens[0]!r}")
        folder, name = parts
        if folder.lower() not in lookup:
            raise ValueError(f"{path}:{n}: class folder {folder!r} is not in classInd.txt")
        if not name.lower().startswith(f"v_{folder.lower()}_"):
            raise ValueError(f"{path}:{n}: file {name!r} does not belong to folder {folder!r}")
        label = lookup[folder.lower()]
        if train and (not tokens[1].isdigit() or int(tokens[1]) != label + 1):
            raise ValueError(f"{path}:{n}: label {tokens[1]!r} but folder {folder!r} is "
                             f"class {label + 1} in classInd.txt")
        out.append((tokens[0], label))
    return out


def _resolve(root: Path, rel: str) -> Path:
    """``root / rel``, matching each path component case-insensitively if needed."""
    exact = root / rel
    if exact.exists():
        return exact
    cur = root
    for part in Path(rel).parts:
        nxt = cur / part
        if not nxt.exists():
            found = [c for c in cur.iterdir() if c.name.lower() == part.lower()] \
                if cur.is_dir() else []
            if len(found) != 1:
                raise FileNotFoundError(f"{exact}: UCF101 video not found. {_DOWNLOAD}")
            nxt = found[0]
        cur = nxt
    return cur


def segment_starts(num_flows: int, num_segments: int, length: int = 10) -> list[int]:
    """First fields of ``num_segments`` stacks of ``length``, at the middles of equal parts.

    >>> segment_starts(29, 4, 10)   # 20 possible starts 0..19, parts of 5: middles 2, 7, 12, 17
    [2, 7, 12, 17]
    """
    span = num_flows - length + 1
    if span < 1:
        raise ValueError(f"{num_flows} flow fields cannot hold a stack of {length}")
    return [((2 * k + 1) * span) // (2 * num_segments) for k in range(num_segments)]


class UCF101Videos(Dataset):
    """UCF101 clips as ``T`` RGB frames and ``T`` stacks of flow: the real actions task.

    Args:
        root: folder of class folders (``UCF-101/``).
        flow_root: folder of precomputed flow (``python -m prernn_lite.data.flow``).
        split: 1, 2 or 3.
        train: training list if true, else test list.
        num_segments: ``T``. Default 3.
        image_size: ``(H, W)`` or an int for square frames. Default 224.
        flow_length: flow fields per stack ``L`` (channels ``2L``). Default 10.
        list_dir: the ``ucfTrainTestlist`` folder (default: found by :func:`find_list_dir`
            from ``root``).

    Outputs (one item):
        ``{"rgb": float32 (T, 3, H, W) in [0, 1], "flow": float32 (T, 2L, H, W) pixels of
        the resized frame, channels x0, y0, x1, y1, ..., "label": int64 scalar, 0-based}``

    Examples
    --------
    >>> from prernn_lite.data.manifest import samples_dir
    >>> d = samples_dir() / "ucf101"
    >>> ds = UCF101Videos(d / "UCF-101", d / "flow", num_segments=2, image_size=32)
    >>> s = ds[0]
    >>> len(ds), s["rgb"].shape, s["flow"].shape, s["label"]
    (2, torch.Size([2, 3, 32, 32]), torch.Size([2, 20, 32, 32]), tensor(0))
    """

    def __init__(
        self, root: str | Path, flow_root: str | Path, split: int = 1, train: bool = True,
        num_segments: int = 3, image_size: int | tuple[int, int] = 224, flow_length: int = 10,
        list_dir: str | Path | None = None,
    ) -> None:
        self.root, self.flow_root = Path(root), Path(flow_root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"UCF101 root {self.root} not found. {_DOWNLOAD}")
        size = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.image_size = (int(size[0]), int(size[1]))
        self.num_segments, self.flow_length = int(num_segments), int(flow_length)
        self.classes = read_class_index(find_list_dir(list_dir or self.root) / "classInd.txt")
        self.items: list[tuple[Path, Path, int]] = []  # (video, flow file, label)
        for rel, label in read_split(list_dir or self.root, split, train):
            video = _resolve(self.root, rel)
            flow = self.flow_root / video.relative_to(self.root).with_suffix(".npz")
            if not flow.is_file():
                raise FileNotFoundError(
                    f"{flow}: precomputed flow not found for {video}; run `python -m "
                    f"prernn_lite.data.flow --videos {self.root} --out {self.flow_root}`")
            self.items.append((video, flow, label))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        # imported here: ``python -m prernn_lite.data.flow`` must find ``flow`` not yet
        # imported when ``prernn_lite.data`` loads (else runpy warns)
        from .flow import flow_info, load_flow, stack_flow

        video, flow_file, label = self.items[i]
        info = flow_info(flow_file)
        try:
            starts = segment_starts(info["num_flows"], self.num_segments, self.flow_length)
        except ValueError as err:
            raise ValueError(f"{flow_file}: {err}") from None
        h, w = self.image_size
        rgb = resize_frames(read_frames(video, [s + self.flow_length // 2 for s in starts]),
                            (h, w))  # (T, H, W, 3)
        needed = sorted({s + j for s in starts for j in range(self.flow_length)})
        fields = load_flow(flow_file, needed)  # (K, H0, W0, 2)
        pos = {t: k for k, t in enumerate(needed)}
        sx, sy = w / info["width"], h / info["height"]
        stacks = []
        for s in starts:
            st = stack_flow(fields[[pos[s + j] for j in range(self.flow_length)]], 0,
                            self.flow_length)  # (2L, H0, W0)
            st = cv2.resize(st.transpose(1, 2, 0), (w, h), interpolation=cv2.INTER_LINEAR)
            st = st.reshape(h, w, -1).transpose(2, 0, 1) * np.tile([sx, sy], self.flow_length)[
                :, None, None]
            stacks.append(st.astype(np.float32))
        return {
            "rgb": torch.from_numpy(rgb).permute(0, 3, 1, 2).float().div_(255),
            "flow": torch.from_numpy(np.stack(stacks)),
            "label": torch.tensor(label, dtype=torch.int64),
        }
