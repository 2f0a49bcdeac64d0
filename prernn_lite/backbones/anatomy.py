"""Anatomy of a backbone: where its trunk ends and which modules are fc6, fc7 and the head.

``make_recurrent`` works on every backbone the same way because each one is first cut
into the same parts: a convolutional **trunk** applied to one frame (or clip) at a time,
the named feed-forward **layers** the paper transforms (``fc6``, ``fc7``), each with the
modules that follow it in the original network (ReLU, dropout), and the **head** (fc8).
This module does the cutting and knows each backbone's input shape (the channels are
the first conv's: 20 for a ``cross_modality`` flow net), so that a wrong layer name lists
the valid ones and a wrong input names the expected shape.

ResNet50 has no fc6/fc7: its 2048-d layers are ``layer4[-1].conv3`` (``"conv"``) and the
pooled feature (``"pool"``); ``sequence.py`` builds those two forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torchvision
from torch import nn

from .lite import LiteCNN2d, LiteCNN3d
from .zoo import C3D

__all__ = ["Anatomy", "FrameSpec", "Layer", "dissect"]


@dataclass(frozen=True)
class FrameSpec:
    """The shape of one frame (or clip) a backbone accepts.

    Attributes
    ----------
    backbone : str
        The backbone's name, for messages.
    dims : tuple of str
        Names of the per-frame dimensions, e.g. ``("C", "H", "W")``.
    sizes : tuple of int or None
        The required size of each dimension; ``None`` means any size ≥ ``min_size``.
    min_size : int
        The smallest size accepted for the free dimensions.
    """

    backbone: str
    dims: tuple[str, ...]
    sizes: tuple[int | None, ...]
    min_size: int = 1

    def describe(self, leading: tuple[str, ...] = ("N", "T")) -> str:
        """The expected shape as text, e.g. ``(N, T, 3, H, W) with H, W >= 32``."""
        shown = [str(s) if s is not None else d for d, s in zip(self.dims, self.sizes, strict=True)]
        free = [d for d, s in zip(self.dims, self.sizes, strict=True) if s is None]
        text = f"({', '.join(list(leading) + shown)})"
        return text + (f" with {', '.join(free)} >= {self.min_size}" if free else "")

    def check(self, x: torch.Tensor, leading: tuple[str, ...] = ("N", "T")) -> None:
        """Raise ``ValueError`` naming the expected shape unless ``x`` fits it."""
        frame = tuple(x.shape[len(leading):])
        ok = len(frame) == len(self.sizes) and all(
            (s is None and f >= self.min_size) or f == s
            for f, s in zip(frame, self.sizes, strict=True)
        )
        if not ok:
            raise ValueError(
                f"{self.backbone} expects input of shape {self.describe(leading)}, "
                f"got {tuple(x.shape)}"
            )


@dataclass
class Layer:
    """One transformable layer and the modules that follow it in the backbone.

    Attributes
    ----------
    module : nn.Module
        The layer itself (``nn.Linear``; ``nn.Conv2d`` for ResNet50's conv3;
        ``nn.Identity`` for ResNet50's pooled feature, which no layer produces).
    path : str
        Where it lives in the backbone, e.g. ``"classifier[0]"``.
    act : nn.Module
        The activation after it (``nn.ReLU``; ``nn.Identity`` when there is none).
    drop : nn.Module
        The dropout after the activation (``nn.Identity`` when there is none).
    """

    module: nn.Module
    path: str
    act: nn.Module = field(default_factory=nn.Identity)
    drop: nn.Module = field(default_factory=nn.Identity)


@dataclass
class Anatomy:
    """A backbone cut into parts that share the backbone's modules (no copies).

    Attributes
    ----------
    name : str
        ``"VGG16"``, ``"C3D"``, ``"LiteCNN2d"``, ``"LiteCNN3d"`` or ``"ResNet50"``.
    spec : FrameSpec
        One frame's input shape.
    trunk : nn.Module
        Frames ``(M, *frame)`` → features ``(M, F)`` (for ResNet50: up to the pooled
        feature; ``build.py`` re-cuts it for the ``"conv"`` form).
    layers : dict[str, Layer]
        Paper name → the layer and what follows it, in network order.
    head : nn.Module
        The pre-trained head (fc8, or ResNet50's ``fc``).
    model : nn.Module
        The backbone itself.
    head_path : str
        Where ``model`` keeps its head (``get_submodule`` path: ``"classifier.6"``,
        ``"fc8"``, ``"fc"``); :func:`replace_head` puts a new one there.
    """

    name: str
    spec: FrameSpec
    trunk: nn.Module
    layers: dict[str, Layer]
    head: nn.Module
    model: nn.Module = field(repr=False)
    head_path: str = "fc8"


def _require(module: nn.Module, kind: type, backbone: str, name: str, path: str) -> nn.Module:
    if not isinstance(module, kind):
        raise TypeError(
            f"{backbone}'s {name} ({path}) is {type(module).__name__}, not "
            f"nn.{kind.__name__}: PreRNN adds hidden-to-hidden weights to a feed-forward "
            "layer y = φ(W x + b), so only nn.Linear (or, for ResNet50's conv3, "
            "nn.Conv2d) layers can be transformed"
        )
    return module


def _vgg(model: torchvision.models.VGG) -> Anatomy:
    c = model.classifier
    if len(c) != 7:
        raise TypeError(f"VGG classifier has {len(c)} modules; expected torchvision's 7 "
                        "(fc6, ReLU, Dropout, fc7, ReLU, Dropout, fc8)")
    fc6 = _require(c[0], nn.Linear, "VGG16", "fc6", "classifier[0]")
    fc7 = _require(c[3], nn.Linear, "VGG16", "fc7", "classifier[3]")
    return Anatomy(
        name="VGG16",
        spec=FrameSpec("VGG16", ("C", "H", "W"), (model.features[0].in_channels, None, None),
                       min_size=32),
        trunk=nn.Sequential(model.features, model.avgpool, nn.Flatten(1)),
        layers={"fc6": Layer(fc6, "classifier[0]", c[1], c[2]),
                "fc7": Layer(fc7, "classifier[3]", c[4], c[5])},
        head=c[6], model=model, head_path="classifier.6",
    )


def _ours(model: C3D | LiteCNN2d | LiteCNN3d) -> Anatomy:
    name = type(model).__name__
    if isinstance(model, C3D):
        spec = FrameSpec(name, ("C", "L", "H", "W"), (3, 16, 112, 112))
    elif isinstance(model, LiteCNN3d):
        s = model.image_size
        spec = FrameSpec(name, ("C", "L", "H", "W"), (model.in_channels, model.clip_len, s, s))
    else:
        s = model.image_size
        spec = FrameSpec(name, ("C", "H", "W"), (model.in_channels, s, s))
    return Anatomy(
        name=name, spec=spec, trunk=model.trunk(),
        layers={n: Layer(_require(getattr(model, n), nn.Linear, name, n, n), n,
                         model.relu, model.dropout) for n in ("fc6", "fc7")},
        head=model.fc8, model=model,
    )


def _resnet(model: torchvision.models.ResNet) -> Anatomy:
    block = model.layer4[-1]
    conv3 = getattr(block, "conv3", None)
    if conv3 is None:
        raise TypeError("this ResNet's last block has no conv3 (a BasicBlock ResNet such as "
                        "ResNet18/34); PreRNN's ResNet forms need Bottleneck blocks (ResNet50)")
    _require(conv3, nn.Conv2d, "ResNet50", "conv", "layer4[-1].conv3")
    m = model
    trunk = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3,
                          m.layer4, m.avgpool, nn.Flatten(1))
    return Anatomy(
        name="ResNet50",
        spec=FrameSpec("ResNet50", ("C", "H", "W"), (m.conv1.in_channels, None, None),
                       min_size=32),
        trunk=trunk, head=m.fc, model=model, head_path="fc",
        layers={"conv": Layer(conv3, "layer4[-1].conv3"),
                "pool": Layer(nn.Identity(), "avgpool output (2048-d; no layer produces it)")},
    )


def set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    """Put ``module`` at ``path`` (``get_submodule`` syntax, e.g. ``"features.0"``)."""
    parent, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """``model`` with a new ``Linear(head.in_features, num_classes)`` head, in place.

    The new layer is drawn from the global RNG (seed it first for a repeatable head).

    >>> net = replace_head(LiteCNN2d(image_size=32, fc_size=64, num_outputs=4), 12)
    >>> net.fc8
    Linear(in_features=64, out_features=12, bias=True)
    """
    parts = dissect(model)
    set_submodule(model, parts.head_path, nn.Linear(parts.head.in_features, num_classes))
    return model


def dissect(model: nn.Module) -> Anatomy:
    """Cut a supported backbone into trunk, named layers and head.

    Parameters
    ----------
    model : nn.Module
        A torchvision VGG (VGG16) or ResNet (ResNet50), :class:`C3D`,
        :class:`LiteCNN2d` or :class:`LiteCNN3d`.

    Returns
    -------
    Anatomy
        Parts that share ``model``'s modules.

    Raises
    ------
    TypeError
        For an unsupported model, or a named layer of the wrong type.

    Examples
    --------
    >>> parts = dissect(LiteCNN2d(image_size=32, fc_size=64))
    >>> list(parts.layers), parts.spec.describe()
    (['fc6', 'fc7'], '(N, T, 3, 32, 32)')
    """
    if isinstance(model, torchvision.models.VGG):
        return _vgg(model)
    if isinstance(model, torchvision.models.ResNet):
        return _resnet(model)
    if isinstance(model, C3D | LiteCNN2d | LiteCNN3d):
        return _ours(model)
    raise TypeError(
        f"unsupported backbone {type(model).__name__}; supported: torchvision VGG16 and "
        "ResNet50, C3D, LiteCNN2d, LiteCNN3d (prernn_lite.backbones)"
    )


def layer_sizes(model: nn.Module, layers=("fc6", "fc7")) -> list[tuple[int, int]]:
    """``(in, out)`` of the layers PreRNN would transform, for parameter matching.

    A Linear's features or a 1x1 Conv2d's channels (ResNet50's conv3, 512 -> 2048: its
    PreConv cell's hidden conv is 1x1 too, so it adds what a Linear of that shape would);
    pass the result to ``params.matched_hidden_size(..., layer_sizes=...)``.

    >>> layer_sizes(LiteCNN2d(image_size=64, fc_size=256))
    [(1024, 256), (256, 256)]
    """
    parts, sizes = dissect(model), []
    for name in layers:
        if name not in parts.layers:
            raise ValueError(f"{parts.name} has no layer {name!r}; valid layers: "
                             f"{', '.join(parts.layers)}")
        m = parts.layers[name].module
        if isinstance(m, nn.Linear):
            sizes.append((m.in_features, m.out_features))
        elif isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1):
            sizes.append((m.in_channels, m.out_channels))
        else:
            raise ValueError(f"{parts.name}'s {name} is {type(m).__name__}: only Linear "
                             "layers and 1x1 convs can be counted")
    return sizes
