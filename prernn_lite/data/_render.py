"""Shared machinery of the generated tasks: per-item seeds, caching, pixel helpers.

Each item of a stand-in dataset is drawn from its own ``numpy`` generator seeded from
``(seed, task, split, index)``, so an item is the same whether the dataset caches it
(``cache=True``: generated once, on construction, stored as ``uint8``) or regenerates it on
every access (``cache=False``: no memory, for the GPU-scale profile), and train, test and
pre-training sets never share a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

TASK_IDS = {"faces": 1, "gestures": 2, "actions": 3}
SPLIT_IDS = {"train": 0, "test": 1, "frames-train": 2, "frames-test": 3}


def item_rng(seed: int, task: str, split: str, index: int) -> np.random.Generator:
    """Generator for item ``index`` of ``split`` of ``task``.

    >>> a = item_rng(0, "faces", "train", 3).random()
    >>> b = item_rng(0, "faces", "train", 3).random()
    >>> c = item_rng(0, "faces", "test", 3).random()
    >>> bool(a == b), bool(a == c)
    (True, False)
    """
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), TASK_IDS[task], SPLIT_IDS[split], int(index)])
    )


def check_split(split: str) -> None:
    """Raise a clear error for a split name other than ``"train"`` / ``"test"``."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; valid splits: train, test")


def to_float(images: np.ndarray) -> torch.Tensor:
    """``uint8`` images ``(..., H, W, C)`` to ``float32`` ``(..., C, H, W)`` in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0)
    return t.movedim(-1, -3).contiguous()


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (values outside are clipped) to ``uint8``."""
    return (np.clip(images, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 3) -> np.ndarray:
    """Low-frequency texture: ``cells`` x ``cells`` uniform noise upsampled to ``size``."""
    import cv2

    coarse = rng.random((cells, cells, channels)).astype(np.float32)
    out = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return out.reshape(size, size, channels)


class GeneratedDataset(Dataset):
    """A dataset of ``n`` items, item ``i`` = ``to_sample(make(rng_i, i))``.

    ``make`` (picklable: a module-level function or a ``partial``) returns the raw item
    (arrays, images as ``uint8``); ``to_sample`` turns it into the public dict of tensors.
    """

    def __init__(
        self,
        task: str,
        split: str,
        n: int,
        seed: int,
        cache: bool,
        make: Callable[[np.random.Generator, int], Any],
        to_sample: Callable[[Any], dict],
    ) -> None:
        self.task, self.split, self.n, self.seed = task, split, int(n), int(seed)
        self._make, self._to_sample = make, to_sample
        self._cache = [self._raw(i) for i in range(self.n)] if cache else None

    def _raw(self, index: int) -> Any:
        return self._make(item_rng(self.seed, self.task, self.split, index), index)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> dict:
        if not -self.n <= index < self.n:
            raise IndexError(f"index {index} out of range for a dataset of {self.n} items")
        index %= self.n
        raw = self._cache[index] if self._cache is not None else self._raw(index)
        return self._to_sample(raw)
