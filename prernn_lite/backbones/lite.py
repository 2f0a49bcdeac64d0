"""Lite backbones: VGG16 and C3D in miniature, small enough to pre-train on a laptop CPU.

The book's ``ci`` and ``lite`` profiles cannot train VGG16 (138 M parameters) on a CPU,
so they use networks with the same *anatomy*: a convolutional trunk, then two
feed-forward layers ``fc6`` and ``fc7`` (ReLU and dropout after each), then a head
``fc8``. Because the names match the big backbones, ``make_recurrent`` treats them all
alike, and everything the book shows at small scale carries over to VGG16 and C3D.

- :class:`LiteCNN2d` is for frames ``(N, C, S, S)``: 3×3 conv + ReLU + 2×2 max-pool
  stages (default 16, 32, 64, 64 channels: stride 16), so ``fc6`` sees ``64·(S/16)²``
  features. As in VGG16, whose fc6 costs under 1 % of its trunk's multiply-adds, fc6 is
  cheap next to the trunk, so the extra gates' copies of ``W_xy`` cost little time.
- :class:`LiteCNN3d` is for clips ``(N, C, L, S, S)``, C3D-like: three 3×3×3 conv
  stages (8, 16, 32 channels), pooled 1×2×2 then 2×2×2 twice, so ``fc6`` sees
  ``32·(L/4)·(S/8)²`` features.

Both take exactly the input size they were built for (like C3D, unlike VGG16's
adaptive pooling); the trunk is ``features`` followed by a flatten.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["LiteCNN2d", "LiteCNN3d"]


def _check(name: str, value: int, multiple: int) -> None:
    if value < multiple or value % multiple:
        raise ValueError(f"{name} must be a positive multiple of {multiple}, got {value}")


class _LiteBase(nn.Module):
    """fc6 → ReLU → dropout → fc7 → ReLU → dropout → fc8 on top of ``features``."""

    features: nn.Sequential

    def _head(self, num_features: int, fc_size: int, num_outputs: int, dropout: float) -> None:
        self.fc6 = nn.Linear(num_features, fc_size)
        self.fc7 = nn.Linear(fc_size, fc_size)
        self.fc8 = nn.Linear(fc_size, num_outputs)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def trunk(self) -> nn.Sequential:
        """The convolutional part and the flatten, sharing this model's modules."""
        return nn.Sequential(self.features, nn.Flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x).flatten(1)                       # (N, F)
        h = self.dropout(self.relu(self.fc6(h)))              # (N, fc_size)
        h = self.dropout(self.relu(self.fc7(h)))              # (N, fc_size)
        return self.fc8(h)                                    # (N, num_outputs)


class LiteCNN2d(_LiteBase):
    """A small VGG-like frame network: conv stages, then fc6, fc7, fc8.

    Parameters
    ----------
    in_channels : int, default 3
        Image channels.
    image_size : int, default 64
        Height = width of the input; a multiple of ``2 ** len(channels)`` (16).
    fc_size : int, default 256
        Width of fc6 and fc7 (the hidden size of the PreRNN layers made from them).
    num_outputs : int, default 10
        Outputs of the head fc8 (classes, or 2 × landmarks for regression).
    dropout : float, default 0.5
        Dropout probability after fc6 and fc7.
    channels : sequence of int, default (16, 32, 64, 64)
        Output channels of each conv stage (each stage halves height and width).

    Shape
    -----
    Input ``(N, in_channels, image_size, image_size)``, output ``(N, num_outputs)``.

    Examples
    --------
    >>> import torch
    >>> model = LiteCNN2d(image_size=32, fc_size=64, num_outputs=50)
    >>> model.fc6, model(torch.zeros(4, 3, 32, 32)).shape
    (Linear(in_features=256, out_features=64, bias=True), torch.Size([4, 50]))
    """

    def __init__(self, in_channels: int = 3, image_size: int = 64, fc_size: int = 256,
                 num_outputs: int = 10, dropout: float = 0.5,
                 channels: Sequence[int] = (16, 32, 64, 64)) -> None:
        super().__init__()
        _check("image_size", image_size, 2 ** len(channels))
        self.in_channels, self.image_size = in_channels, image_size
        layers: list[nn.Module] = []
        for cin, cout in zip([in_channels, *channels[:-1]], channels, strict=True):
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers)
        side = image_size // 2 ** len(channels)
        self._head(channels[-1] * side**2, fc_size, num_outputs, dropout)


class LiteCNN3d(_LiteBase):
    """A small C3D-like clip network: 3 conv3d stages, then fc6, fc7, fc8.

    Parameters
    ----------
    in_channels : int, default 3
        Channels of each frame.
    clip_len : int, default 8
        Frames per clip; a multiple of 4.
    image_size : int, default 32
        Height = width of each frame; a multiple of 8.
    fc_size : int, default 256
        Width of fc6 and fc7.
    num_outputs : int, default 10
        Outputs of the head fc8.
    dropout : float, default 0.5
        Dropout probability after fc6 and fc7.

    Shape
    -----
    Input ``(N, in_channels, clip_len, image_size, image_size)``, output
    ``(N, num_outputs)``.

    Examples
    --------
    >>> import torch
    >>> model = LiteCNN3d(clip_len=4, image_size=16, fc_size=32, num_outputs=5)
    >>> model.fc6, model(torch.zeros(2, 3, 4, 16, 16)).shape
    (Linear(in_features=128, out_features=32, bias=True), torch.Size([2, 5]))
    """

    def __init__(self, in_channels: int = 3, clip_len: int = 8, image_size: int = 32,
                 fc_size: int = 256, num_outputs: int = 10, dropout: float = 0.5) -> None:
        super().__init__()
        _check("clip_len", clip_len, 4)
        _check("image_size", image_size, 8)
        self.in_channels, self.clip_len, self.image_size = in_channels, clip_len, image_size
        self.features = nn.Sequential(
            nn.Conv3d(in_channels, 8, 3, padding=1), nn.ReLU(), nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
            nn.Conv3d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
        )
        self._head(32 * (clip_len // 4) * (image_size // 8) ** 2, fc_size, num_outputs, dropout)
