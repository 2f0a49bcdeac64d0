"""Cross-modality initialisation: an RGB network made to read a stack of optical flow.

A two-stream network's temporal stream sees ``L`` flow fields, x and y stacked as
``2L`` channels (20 for the usual ``L = 10``), so it cannot take an RGB network's first
convolution as it is. Wang et al. (TSN, 2016) start it anyway from the RGB weights:
average the first conv's filters over the three colour channels and repeat that
average once per input channel,

.. math::
    W'_{o, c} = \\frac{1}{3} \\sum_{k=1}^{3} W_{o, k} \\qquad c = 1 \\ldots C',

keeping the bias and every other layer. The first conv is ``features[0]`` in
``LiteCNN2d`` and torchvision's VGG16, ``conv1`` in ResNet50 (:data:`FIRST_CONV`).
"""

from __future__ import annotations

import copy

import torch
import torchvision
from torch import nn

from .anatomy import set_submodule
from .lite import LiteCNN2d

__all__ = ["FIRST_CONV", "cross_modality", "first_conv", "first_conv_path"]

#: Where each supported backbone keeps its first convolution (``get_submodule`` path).
FIRST_CONV: dict[type, str] = {
    LiteCNN2d: "features.0",
    torchvision.models.VGG: "features.0",
    torchvision.models.ResNet: "conv1",
}


def first_conv_path(model: nn.Module) -> str:
    """``get_submodule`` path of a supported backbone's first conv (``TypeError`` else).

    >>> first_conv_path(LiteCNN2d(image_size=32))
    'features.0'
    """
    for kind, path in FIRST_CONV.items():
        if isinstance(model, kind):
            return path
    raise TypeError(
        f"cross_modality: unsupported model {type(model).__name__}; supported: LiteCNN2d "
        "(features[0]), torchvision VGG16 (features[0]) and ResNet50 (conv1)")


def first_conv(model: nn.Module) -> nn.Conv2d:
    """The first convolution of a supported backbone (:data:`FIRST_CONV`).

    Raises ``TypeError`` naming the model's type when it is not supported or when that
    module is not an ``nn.Conv2d``.

    >>> first_conv(LiteCNN2d(in_channels=20, image_size=32)).in_channels
    20
    """
    path = first_conv_path(model)
    conv = model.get_submodule(path)
    if not isinstance(conv, nn.Conv2d):
        raise TypeError(f"{type(model).__name__}.{path} is {type(conv).__name__}, "
                        "not the nn.Conv2d cross_modality expects")
    return conv


def cross_modality(model: nn.Module, in_channels: int = 20) -> nn.Module:
    """A deep copy of ``model`` whose first conv takes ``in_channels`` channels.

    The new first conv has the old one's output channels, kernel, stride, padding,
    dilation and bias; its weight is the old weight averaged over the input channels
    and repeated ``in_channels`` times: ``(C_out, C_in, k, k)`` -> ``(C_out, 1, k, k)``
    -> ``(C_out, in_channels, k, k)``. Every other module is a copy of ``model``'s. No
    random number is drawn (the global RNG is left as it was).

    Parameters
    ----------
    model : nn.Module
        ``LiteCNN2d``, torchvision VGG16 or ResNet50 (any weights; usually an RGB net).
    in_channels : int, default 20
        Input channels of the result (``2L`` for a stack of ``L`` flow fields).

    Returns
    -------
    nn.Module
        Same type as ``model``; input ``(N, in_channels, H, W)``, output as ``model``'s.
        A ``LiteCNN2d``'s ``in_channels`` attribute is updated too.

    Raises
    ------
    TypeError
        For another model type (the message names it and the supported ones).
    ValueError
        For ``in_channels < 1`` or a grouped first conv.

    Examples
    --------
    >>> rgb = LiteCNN2d(image_size=32, fc_size=16, num_outputs=5)
    >>> flow = cross_modality(rgb, in_channels=20)
    >>> flow.features[0].weight.shape                   # (C_out, 20, k, k)
    torch.Size([16, 20, 3, 3])
    >>> torch.equal(flow.features[0].weight[:, 7], rgb.features[0].weight.mean(1))
    True
    >>> flow(torch.zeros(2, 20, 32, 32)).shape
    torch.Size([2, 5])
    >>> from prernn_lite.backbones import resnet50
    >>> with torch.device("meta"):
    ...     net = cross_modality(resnet50(), in_channels=20)
    >>> net.conv1
    Conv2d(20, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)
    """
    if not isinstance(in_channels, int) or in_channels < 1:
        raise ValueError(f"in_channels must be an int >= 1, got {in_channels!r}")
    path = first_conv_path(model)
    old = first_conv(model)
    if old.groups != 1:
        raise ValueError(f"{type(model).__name__}.{path} has groups={old.groups}; "
                         "cross_modality averages the filters of a dense conv (groups=1)")
    new_model = copy.deepcopy(model)
    w = old.weight.detach()
    conv = nn.Conv2d(in_channels, old.out_channels, old.kernel_size, old.stride, old.padding,
                     old.dilation, bias=old.bias is not None, padding_mode=old.padding_mode,
                     device="meta", dtype=w.dtype).to_empty(device=w.device)  # no RNG draw
    with torch.no_grad():
        conv.weight.copy_(w.mean(1, keepdim=True).expand_as(conv.weight))  # (C_out, C', k, k)
        if old.bias is not None:
            conv.bias.copy_(old.bias)
    set_submodule(new_model, path, conv)
    if isinstance(new_model, LiteCNN2d):
        new_model.in_channels = in_channels
    return new_model
