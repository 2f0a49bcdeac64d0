"""The paper's backbones: VGG16 and ResNet50 from torchvision, and C3D.

PreRNN transforms the feed-forward layers of a CNN pre-trained on a large dataset:
VGG16's fc6 (25088→4096) and fc7 (4096→4096) from ImageNet for face alignment and the
spatial/temporal streams of action recognition, C3D's fc6 (8192→4096) and fc7 from
Sports-1M for hand gestures, and a 2048-d layer of ResNet50. torchvision ships VGG16 and
ResNet50; C3D is defined here, with parameter names matching the widely used public
Sports-1M PyTorch weights (the c3d-pytorch ``C3D`` module), so that file loads with one
call: ``c3d(weights="c3d.pickle")``.

Nothing here downloads unless a torchvision weights enum is passed (then torchvision
does, into its own cache). Local files are read as plain state_dicts (``weights.py``).
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torchvision
from torch import nn

from .weights import load_weights_into

__all__ = ["C3D", "IMAGENET_MEAN", "IMAGENET_STD", "c3d", "imagenet_normalise",
           "imagenet_weights", "resnet50", "vgg16"]

Weights = None | str | os.PathLike | Any  # Any: a torchvision WeightsEnum

#: ImageNet's per-channel RGB mean and std: those of torchvision's
#: ``VGG16_Weights.IMAGENET1K_V1.transforms()`` (and ResNet50's), the inputs they saw.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalise(frames: torch.Tensor) -> torch.Tensor:
    """RGB frames ``(..., 3, H, W)`` in [0, 1] -> ``(frames - mean) / std`` per channel.

    >>> imagenet_normalise(torch.full((1, 3, 1, 1), 0.485))[0, 0].item()
    0.0
    """
    mean = torch.tensor(IMAGENET_MEAN, dtype=frames.dtype).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=frames.dtype).view(3, 1, 1)
    return (frames - mean) / std


def _torchvision(builder, weights: Weights, name: str) -> nn.Module:
    if weights is None:
        return builder(weights=None)
    if isinstance(weights, str | os.PathLike):
        return load_weights_into(builder(weights=None), weights, name)
    return builder(weights=weights)  # a torchvision weights enum: torchvision downloads it


_ENUMS = {"vgg16": "VGG16_Weights", "resnet50": "ResNet50_Weights"}


def imagenet_weights(backbone: str, weights: str) -> Weights:
    """The ``weights`` argument of :func:`vgg16` / :func:`resnet50` for a setting:
    "imagenet" (torchvision's ``IMAGENET1K_V1`` enum: torchvision downloads it once),
    "random" (``None``: no pre-training) or the path of a local state_dict file.

    >>> imagenet_weights("resnet50", "imagenet")
    ResNet50_Weights.IMAGENET1K_V1
    >>> imagenet_weights("vgg16", "random") is None
    True
    """
    if backbone not in _ENUMS:
        raise ValueError(f"unknown backbone {backbone!r}; valid choices: {', '.join(_ENUMS)}")
    if weights == "imagenet":
        return getattr(torchvision.models, _ENUMS[backbone]).IMAGENET1K_V1
    if weights == "random":
        return None
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"weights {weights!r}: not 'imagenet', 'random' or an existing state_dict file "
            f"(torchvision's key names, 1000-way head); 'imagenet' is torchvision's ImageNet "
            f"{backbone}, 'random' no pre-training (tests only)")
    return weights


def vgg16(weights: Weights = None) -> torchvision.models.VGG:
    """torchvision's VGG16: fc6 = ``classifier[0]``, fc7 = ``classifier[3]``, fc8 = ``[6]``.

    Parameters
    ----------
    weights : None, torchvision weights enum, str or os.PathLike
        ``None``: random initialisation (no download). An enum such as
        ``torchvision.models.VGG16_Weights.IMAGENET1K_V1``: passed to torchvision, which
        downloads it. A path: a local plain state_dict with torchvision's key names.

    Returns
    -------
    torchvision.models.VGG
        Input ``(N, 3, H, W)`` with H, W ≥ 32 (adaptive pooling to 7×7 gives 25088
        features), output ``(N, 1000)``.

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):  # shapes only, no memory
    ...     model = vgg16()
    >>> model.classifier[0]
    Linear(in_features=25088, out_features=4096, bias=True)
    """
    return _torchvision(torchvision.models.vgg16, weights, "VGG16")


def resnet50(weights: Weights = None) -> torchvision.models.ResNet:
    """torchvision's ResNet50; its 2048-d layers are ``layer4[-1].conv3`` and the pooled feature.

    Parameters
    ----------
    weights : None, torchvision weights enum, str or os.PathLike
        As for :func:`vgg16` (e.g. ``torchvision.models.ResNet50_Weights.IMAGENET1K_V2``).

    Returns
    -------
    torchvision.models.ResNet
        Input ``(N, 3, H, W)`` with H, W ≥ 32, output ``(N, 1000)``.

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = resnet50()
    >>> model.layer4[-1].conv3
    Conv2d(512, 2048, kernel_size=(1, 1), stride=(1, 1), bias=False)
    """
    return _torchvision(torchvision.models.resnet50, weights, "ResNet50")


class C3D(nn.Module):
    r"""C3D (Tran et al., 2015): 8 3-D convolutions, 5 poolings, fc6, fc7, fc8.

    Layout and parameter names follow the public Sports-1M PyTorch port (c3d-pytorch):
    ``conv1``, ``conv2``, ``conv3a``, ``conv3b``, ``conv4a``, ``conv4b``, ``conv5a``,
    ``conv5b`` (3×3×3, padding 1; 64, 128, 256, 256, 512, 512, 512, 512 channels),
    ``pool1`` (1×2×2), ``pool2``…``pool5`` (2×2×2, ``pool5`` padded (0, 1, 1)),
    ``fc6`` 8192→4096, ``fc7`` 4096→4096, ``fc8`` 4096→``num_classes``, ReLU and
    dropout (p = 0.5) after fc6 and fc7. Unlike the port, :meth:`forward` returns logits
    (the port ends in a parameter-free softmax; the weights are the same).

    Parameters
    ----------
    num_classes : int, default 487
        Outputs of fc8 (487 = Sports-1M).
    dropout : float, default 0.5
        Dropout probability after fc6 and fc7.

    Shape
    -----
    Input ``(N, 3, 16, 112, 112)`` (channels, frames, height, width); output
    ``(N, num_classes)``.

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = C3D()
    >>> model(torch.empty(2, 3, 16, 112, 112, device="meta")).shape
    torch.Size([2, 487])
    """

    def __init__(self, num_classes: int = 487, dropout: float = 0.5) -> None:
        super().__init__()

        def conv(cin: int, cout: int) -> nn.Conv3d:
            return nn.Conv3d(cin, cout, kernel_size=3, padding=1)

        self.conv1, self.pool1 = conv(3, 64), nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.conv2, self.pool2 = conv(64, 128), nn.MaxPool3d(2, 2)
        self.conv3a, self.conv3b, self.pool3 = conv(128, 256), conv(256, 256), nn.MaxPool3d(2, 2)
        self.conv4a, self.conv4b, self.pool4 = conv(256, 512), conv(512, 512), nn.MaxPool3d(2, 2)
        self.conv5a, self.conv5b = conv(512, 512), conv(512, 512)
        self.pool5 = nn.MaxPool3d(2, 2, padding=(0, 1, 1))
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)

    def trunk(self) -> nn.Sequential:
        """The convolutional part as a Sequential sharing this model's modules.

        Returns
        -------
        nn.Sequential
            ``(N, 3, 16, 112, 112)`` → ``(N, 8192)``.
        """
        r = self.relu
        return nn.Sequential(
            self.conv1, r, self.pool1, self.conv2, r, self.pool2,
            self.conv3a, r, self.conv3b, r, self.pool3,
            self.conv4a, r, self.conv4b, r, self.pool4,
            self.conv5a, r, self.conv5b, r, self.pool5, nn.Flatten(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.relu
        h = r(self.conv1(x))                                  # (N, 64, 16, 112, 112)
        h = self.pool1(h)                                     # (N, 64, 16, 56, 56)
        h = self.pool2(r(self.conv2(h)))                      # (N, 128, 8, 28, 28)
        h = self.pool3(r(self.conv3b(r(self.conv3a(h)))))     # (N, 256, 4, 14, 14)
        h = self.pool4(r(self.conv4b(r(self.conv4a(h)))))     # (N, 512, 2, 7, 7)
        h = self.pool5(r(self.conv5b(r(self.conv5a(h)))))     # (N, 512, 1, 4, 4)
        h = h.flatten(1)                                      # (N, 8192)
        h = self.dropout(r(self.fc6(h)))                      # (N, 4096)
        h = self.dropout(r(self.fc7(h)))                      # (N, 4096)
        return self.fc8(h)                                    # (N, num_classes)


def c3d(weights: None | str | os.PathLike = None, num_classes: int = 487) -> C3D:
    """Build :class:`C3D`, optionally loading a local plain state_dict.

    Parameters
    ----------
    weights : None, str or os.PathLike
        ``None``: random initialisation. A path: a plain state_dict with the public
        key names (``conv1.weight`` … ``fc8.bias``), e.g. the Sports-1M ``c3d.pickle``.
        Missing or unexpected keys raise ``ValueError`` listing them; a pickled whole
        model is refused, never unpickled.
    num_classes : int, default 487
        Outputs of fc8; must match the file's fc8 when loading.

    Returns
    -------
    C3D

    Examples
    --------
    >>> import torch
    >>> with torch.device("meta"):
    ...     model = c3d(num_classes=25)
    >>> model.fc8.out_features
    25
    """
    model = C3D(num_classes=num_classes)
    if weights is None:
        return model
    if not isinstance(weights, str | os.PathLike):
        raise TypeError(
            f"C3D weights must be None or the path of a local state_dict file, got "
            f"{type(weights).__name__} (torchvision has no C3D weights enum)."
        )
    return load_weights_into(model, weights, "C3D")
