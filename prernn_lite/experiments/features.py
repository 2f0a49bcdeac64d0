"""Trunk features computed once: what lets the ``ci``/``lite`` runs train in seconds.

In ``ci`` and ``lite`` the backbone's convolutional trunk is frozen, so its features of
every frame are computed once (:func:`trunk_features`) and the arms train on them
(``backbones.FeatureModel``: the stages and head without the trunk). Cached features
cannot be augmented, so these profiles train without augmentation.
"""

from __future__ import annotations

import torch
from torch import nn

from ..backbones import dissect


@torch.no_grad()
def trunk_features(backbone: nn.Module, frames: torch.Tensor, batch_size: int = 256
                   ) -> torch.Tensor:
    """The backbone trunk's features of ``frames`` ``(N, T, *frame)`` -> ``(N, T, F)``."""
    trunk = dissect(backbone).trunk.eval()
    flat = frames.flatten(0, 1)
    out = torch.cat([trunk(flat[i:i + batch_size]) for i in range(0, len(flat), batch_size)])
    return out.unflatten(0, frames.shape[:2])


class FeatureSet(torch.utils.data.Dataset):
    """Cached trunk features ``x`` (N, T, F) and labels ``y`` (N,) as dict samples."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.dim() != 3 or y.shape != x.shape[:1]:
            raise ValueError(f"expected features (N, T, F) and labels (N,), got "
                             f"{tuple(x.shape)} and {tuple(y.shape)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


def cache_features(backbone: nn.Module, dataset, key: str, chunk: int = 32) -> FeatureSet:
    """Trunk features of every item's ``key`` input (chunks of ``chunk`` items), with the
    items' ``"label"``."""
    xs, ys = [], []
    for start in range(0, len(dataset), chunk):
        items = [dataset[i] for i in range(start, min(start + chunk, len(dataset)))]
        xs.append(trunk_features(backbone, torch.stack([d[key] for d in items])))
        ys.append(torch.stack([d["label"] for d in items]))
    return FeatureSet(torch.cat(xs), torch.cat(ys))
