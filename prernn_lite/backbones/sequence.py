"""Sequence models built from a backbone: frames in, one output per time step.

A video batch ``(N, T, *frame)`` flows through three kinds of parts:

1. the **trunk** (the CNN's convolutional part) sees the ``N·T`` frames as one batch
   ``(N·T, *frame)``: frames are independent there, so no time loop is needed;
2. the **stages** run in order on ``(N, T, ...)`` tensors: a feed-forward stage applies a
   module to every frame (``FrameStage``), a recurrent stage runs a cell along time
   (``CellStage``; ResNet50's recurrent bottleneck is ``BottleneckStage``);
3. the **head** is applied at every time step.

:class:`SequenceModel` is what ``make_recurrent`` and ``make_baseline`` return;
:class:`FrameModel` runs the untouched feed-forward network frame by frame and is the
frame-level reference every sequence model is compared with. :class:`FeatureModel` is
either of them without its trunk (stages and head only), for training on trunk features
computed once.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .anatomy import FrameSpec, dissect

__all__ = ["BottleneckStage", "BottleneckTrunk", "CellStage", "FeatureModel", "FrameModel",
           "FrameStage", "SequenceModel"]

Lengths = Tensor | Sequence[int] | None
Gates = dict[str, dict[str, Tensor]]


def per_frame(module: nn.Module, z: Tensor) -> Tensor:
    """Apply ``module`` to every frame: ``(N, T, *a)`` → ``(N, T, *b)``."""
    return module(z.flatten(0, 1)).unflatten(0, z.shape[:2])


def _stages_and_head(stages: nn.ModuleList, head: nn.Module, z: Tensor, lengths: Lengths,
                     return_gates: bool):
    """Trunk features ``(N, T, F)`` through the stages, then the head at every step."""
    gates: Gates | None = {} if return_gates else None
    for stage in stages:
        z = stage(z, lengths, gates)                                    # (N, T, H)
    out = per_frame(head, z)                                            # (N, T, num_outputs)
    return (out, gates) if return_gates else out


def _cells(stages: nn.ModuleList) -> dict[str, nn.Module]:
    """The recurrent stages' cells by name, in order."""
    return {s.name: s.cell for s in stages if hasattr(s, "cell")}


class FrameStage(nn.Module):
    """A feed-forward stage: the same module on every frame."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, z: Tensor, lengths: Lengths = None, gates: Gates | None = None) -> Tensor:
        return per_frame(self.module, z)


class CellStage(nn.Module):
    """A recurrent stage: ``cell`` along time, then ``drop`` (the backbone's dropout)."""

    def __init__(self, name: str, cell: nn.Module, drop: nn.Module | None = None) -> None:
        super().__init__()
        self.name, self.cell = name, cell
        self.drop = nn.Identity() if drop is None else drop

    def forward(self, z: Tensor, lengths: Lengths = None, gates: Gates | None = None) -> Tensor:
        if gates is None:
            out, _ = self.cell(z, lengths=lengths)                    # (N, T, H, ...)
        else:
            out, _, gates[self.name] = self.cell(z, lengths=lengths, return_gates=True)
        return self.drop(out)


class BottleneckTrunk(nn.Module):
    """ResNet up to the last bottleneck's conv2, returning its branch and its shortcut.

    Output ``(M, 512 + 2048, h, w)``: the branch ``relu(bn2(conv2(...)))`` (the input of
    conv3) and the shortcut, concatenated along channels so a stage can split them.
    """

    def __init__(self, resnet: nn.Module) -> None:
        super().__init__()
        r = resnet
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2,
                                  r.layer3, *list(r.layer4)[:-1])
        self.block = r.layer4[-1]
        b = self.block
        self.branch = nn.Sequential(b.conv1, b.bn1, b.relu, b.conv2, b.bn2, b.relu)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)                                                # (M, 2048, h, w)
        shortcut = x if self.block.downsample is None else self.block.downsample(x)
        return torch.cat([self.branch(x), shortcut], 1)                 # (M, 512+2048, h, w)


class BottleneckStage(nn.Module):
    """ResNet's last bottleneck with conv3 recurrent: cell, bn3, residual add, ReLU, pool."""

    def __init__(self, name: str, cell: nn.Module, block: nn.Module, branch_channels: int,
                 pool: nn.Module) -> None:
        super().__init__()
        self.name, self.cell, self.branch_channels = name, cell, branch_channels
        self.bn3, self.relu, self.pool = block.bn3, block.relu, pool

    def forward(self, z: Tensor, lengths: Lengths = None, gates: Gates | None = None) -> Tensor:
        c = self.branch_channels
        u, shortcut = z[:, :, :c], z[:, :, c:]                          # (N, T, 512|2048, h, w)
        if gates is None:
            y, _ = self.cell(u, lengths=lengths)                        # (N, T, 2048, h, w)
        else:
            y, _, gates[self.name] = self.cell(u, lengths=lengths, return_gates=True)
        out = self.relu(per_frame(self.bn3, y) + shortcut)             # (N, T, 2048, h, w)
        return per_frame(self.pool, out)                                # (N, T, 2048)


class SequenceModel(nn.Module):
    """A backbone turned into a sequence model: trunk per frame, stages in time, head per step.

    Built by :func:`make_recurrent` and :func:`make_baseline`; not usually made directly.

    Parameters
    ----------
    name : str
        Backbone name (for messages and ``repr``).
    spec : FrameSpec
        The shape of one frame; inputs are checked against ``(N, T, *frame)``.
    trunk : nn.Module
        ``(N·T, *frame)`` → ``(N·T, ...)``, applied to all frames at once.
    stages : list of nn.Module
        Feed-forward and recurrent stages, in order.
    head : nn.Module
        Applied at every time step.
    freeze_trunk : bool, default False
        Stop gradients into the trunk and keep it in eval mode (batch-norm statistics
        fixed) even when the model is put in training mode.

    Inputs
    ------
    x : Tensor ``(N, T, *frame)``
        Frames (``(N, T, C, H, W)``) or clips (``(N, T, C, L, H, W)``).
    lengths : Tensor or list of int, optional, keyword-only
        Valid steps per sequence; the recurrent layers freeze their state past it (their
        outputs there are zero and the head's outputs there are meaningless: mask them).
    return_gates : bool, default False, keyword-only
        Also return ``{layer name: {gate letter: (L, N, T, H, ...)}}`` for each recurrent
        stage (``L`` = its layers: 1 for a Pre cell).

    Outputs
    -------
    Tensor ``(N, T, num_outputs)``, and the gates dict if ``return_gates``.
    """

    def __init__(self, name: str, spec: FrameSpec, trunk: nn.Module, stages: list[nn.Module],
                 head: nn.Module, freeze_trunk: bool = False) -> None:
        super().__init__()
        self.name, self.spec, self.freeze_trunk = name, spec, freeze_trunk
        self.trunk, self.stages, self.head = trunk, nn.ModuleList(stages), head
        if freeze_trunk:
            self.trunk.requires_grad_(False)
            self.trunk.eval()

    def train(self, mode: bool = True) -> SequenceModel:
        super().train(mode)
        if self.freeze_trunk:
            self.trunk.eval()
        return self

    def forward(self, x: Tensor, *, lengths: Lengths = None, return_gates: bool = False):
        self.spec.check(x)
        z = per_frame(self.trunk, x)                                    # (N, T, F)
        return _stages_and_head(self.stages, self.head, z, lengths, return_gates)

    def cells(self) -> dict[str, nn.Module]:
        """The recurrent layers by name (``"fc6"``, ``"fc7"``, ``"extra"``, ...), in order."""
        return _cells(self.stages)

    def extra_repr(self) -> str:
        return f"backbone={self.name!r}, input={self.spec.describe()}"


class FrameModel(nn.Module):
    """The feed-forward network applied frame by frame: the frame-level reference.

    Parameters
    ----------
    model : nn.Module
        The backbone, run unchanged on ``(N·T, *frame)``.
    spec : FrameSpec
        The shape of one frame.

    Inputs
    ------
    x : Tensor ``(N, T, *frame)``
    lengths : optional
        Accepted for a common interface and unused: frames are independent.

    Outputs
    -------
    Tensor ``(N, T, num_outputs)``.
    """

    def __init__(self, model: nn.Module, spec: FrameSpec) -> None:
        super().__init__()
        self.model, self.spec = model, spec

    def forward(self, x: Tensor, *, lengths: Lengths = None) -> Tensor:
        self.spec.check(x)
        return per_frame(self.model, x)                                 # (N, T, num_outputs)


class FeatureModel(nn.Module):
    """A sequence or frame model without its trunk: trunk features in, outputs per step.

    Shares the modules of ``model`` (no copies), so training it trains them. From a
    :class:`SequenceModel` it keeps the stages and the head; from a :class:`FrameModel`
    it runs the backbone's transformable layers (with their activations and dropout) as
    one :class:`FrameStage`, then the head.

    Parameters
    ----------
    model : SequenceModel or FrameModel

    Inputs
    ------
    z : Tensor ``(N, T, F)``
        Trunk features (``dissect(backbone).trunk`` of every frame).
    lengths, return_gates : as :class:`SequenceModel`.

    Outputs
    -------
    Tensor ``(N, T, num_outputs)``, and the gates dict if ``return_gates``.

    >>> from prernn_lite.backbones import LiteCNN2d, make_frame_model
    >>> cnn = LiteCNN2d(image_size=32, fc_size=16, num_outputs=3).eval()
    >>> FeatureModel(make_frame_model(cnn))(torch.randn(2, 5, 256)).shape
    torch.Size([2, 5, 3])
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if isinstance(model, SequenceModel):
            self.stages, self.head = model.stages, model.head
        elif isinstance(model, FrameModel):
            parts = dissect(model.model)
            self.stages = nn.ModuleList([FrameStage(nn.Sequential(*[
                m for layer in parts.layers.values()
                for m in (layer.module, layer.act, layer.drop)]))])
            self.head = parts.head
        else:
            raise TypeError(f"FeatureModel needs a SequenceModel or FrameModel, got "
                            f"{type(model).__name__}")

    def forward(self, z: Tensor, lengths: Lengths = None, return_gates: bool = False):
        return _stages_and_head(self.stages, self.head, z, lengths, return_gates)

    def cells(self) -> dict[str, nn.Module]:
        """The recurrent layers by name; empty for a frame-level model."""
        return _cells(self.stages)
