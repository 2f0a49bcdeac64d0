"""``make_recurrent``: a pre-trained CNN made recurrent; and the two models it is compared with.

``make_recurrent`` cuts a backbone into trunk, named layers and head (``anatomy.py``) and
replaces each chosen layer ``y = φ(W_xy x + b)`` with a Pre cell built by
``from_linear`` (``from_conv2d`` for ResNet50's conv3): the cell keeps ``W_xy`` and ``b``
and adds hidden-to-hidden weights, so its hidden size is the layer's output size. Layers
not chosen stay feed-forward and run per frame; the backbone's dropout stays between
layers; the pre-trained head (fc8) is kept. ``make_baseline`` is the traditional
alternative (a new RNN on fc7 features, with a new head) and ``make_frame_model`` the
frame-level network.

ResNet50 has two 2048-d candidates and the supplementary does not say which the paper
transformed (FACTS.md):

- ``"conv"`` (the default to use): ``layer4[-1].conv3`` (1×1, 512→2048) becomes a
  PreConv cell; each step is then followed by bn3, the residual add and ReLU, then
  pooling and ``fc``. This is the only 2048-output layer with pre-trained weights, so it
  is PreRNN proper. conv3 has no activation of its own (the ReLU comes after bn3 and the
  add), so the cell's ``activation`` defaults to ``"identity"`` here: with zero ``W_hh`` a
  PreConvVRNN reproduces the network exactly. The hidden state is a 2048×h×w map.
- ``"pool"``: the pooled 2048-d feature. No layer produces it (it is ReLU + average
  pooling, parameter-free), so nothing pre-trained can be made recurrent there. We insert
  a *new* 2048→2048 Pre cell whose input weight starts as the identity (``init=
  "pretrained"``; ``W_xy = I``, ``b = 0``), which keeps the pre-trained network's function
  at the start (``relu(I·p) = p`` for the non-negative pooled feature ``p``), but none of
  its weights are pre-trained: it is a traditional layer with a careful start, not PreRNN.
  Transforming ``fc`` instead was rejected: its outputs are the classes, not 2048.
"""

from __future__ import annotations

import copy as copy_module
from collections.abc import Sequence

import torch
from torch import nn

from ..cells import (
    GRU,
    LSTM,
    VRNN,
    PreConvGRU,
    PreConvLSTM,
    PreConvVRNN,
    PreGRU,
    PreLSTM,
    PreVRNN,
)
from .anatomy import Anatomy, dissect
from .sequence import (
    BottleneckStage,
    BottleneckTrunk,
    CellStage,
    FrameModel,
    FrameStage,
    SequenceModel,
)

__all__ = ["make_baseline", "make_frame_model", "make_recurrent"]

CELLS = ("vrnn", "lstm", "gru")
PRE = {"vrnn": PreVRNN, "lstm": PreLSTM, "gru": PreGRU}
PRE_CONV = {"vrnn": PreConvVRNN, "lstm": PreConvLSTM, "gru": PreConvGRU}
TRADITIONAL = {"vrnn": VRNN, "lstm": LSTM, "gru": GRU}


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"unknown cell={cell!r}; valid choices: {list(CELLS)}")


def _choose_layers(parts: Anatomy, layers: Sequence[str] | str) -> list[str]:
    names = [layers] if isinstance(layers, str) else list(layers)
    valid = ", ".join(f"{n!r} ({layer.path})" for n, layer in parts.layers.items())
    unknown = [n for n in names if n not in parts.layers]
    if not names or unknown or len(set(names)) != len(names):
        what = f"unknown layer name(s) {unknown}" if unknown else f"bad layers {names!r}"
        raise ValueError(f"{what} for {parts.name}; valid names (each at most once): {valid}")
    return [n for n in parts.layers if n in names]  # network order


def _like(module: nn.Module, reference: nn.Module) -> nn.Module:
    p = next(reference.parameters())
    return module.to(device=p.device, dtype=p.dtype)


def _fc_stages(parts: Anatomy, chosen: list[str], cell: str, mode: str, init: str,
               cell_kwargs: dict) -> list[nn.Module]:
    stages: list[nn.Module] = []
    for name, layer in parts.layers.items():
        if name in chosen:  # the cell applies φ itself; the dropout stays after it
            pre = PRE[cell].from_linear(layer.module, mode=mode, init=init, **cell_kwargs)
            stages.append(CellStage(name, pre, layer.drop))
        else:
            stages.append(FrameStage(nn.Sequential(layer.module, layer.act, layer.drop)))
    return stages


def _resnet_stages(parts: Anatomy, chosen: list[str], cell: str, mode: str, init: str,
                   cell_kwargs: dict) -> tuple[nn.Module, list[nn.Module]]:
    m = parts.model
    pool = nn.Sequential(m.avgpool, nn.Flatten(1))
    if "conv" in chosen:
        kwargs = {"activation": "identity", **cell_kwargs}
        conv3 = parts.layers["conv"].module
        pre = PRE_CONV[cell].from_conv2d(conv3, mode=mode, init=init, **kwargs)
        trunk: nn.Module = BottleneckTrunk(m)
        stages: list[nn.Module] = [
            BottleneckStage("conv", pre, m.layer4[-1], conv3.in_channels, pool)]
    else:
        trunk, stages = parts.trunk, []
    if "pool" in chosen:
        width = m.fc.in_features
        ident = _like(nn.Linear(width, width), m.fc)
        with torch.no_grad():
            ident.weight.copy_(torch.eye(width))
            ident.bias.zero_()
        fc_kwargs = {k: v for k, v in cell_kwargs.items() if k != "hidden_kernel_size"}
        pre = PRE[cell].from_linear(ident, mode=mode, init=init, **fc_kwargs)
        stages.append(CellStage("pool", pre))
    return trunk, stages


def make_recurrent(
    model: nn.Module,
    layers: Sequence[str] | str = ("fc6", "fc7"),
    cell: str = "lstm",
    mode: str = "gate",
    init: str = "pretrained",
    extra_layers: int = 0,
    *,
    freeze_trunk: bool = False,
    copy: bool = True,
    **cell_kwargs,
) -> SequenceModel:
    """Make a pre-trained CNN recurrent (PreRNN).

    Parameters
    ----------
    model : nn.Module
        VGG16 or ResNet50 (torchvision), :class:`C3D`, :class:`LiteCNN2d` or
        :class:`LiteCNN3d`.
    layers : sequence of str or str, default ("fc6", "fc7")
        The layers to transform, by the paper's names: ``"fc6"`` and/or ``"fc7"``
        (VGG16 ``classifier[0]``/``classifier[3]``; C3D and lite ``fc6``/``fc7``), or
        ``"conv"`` and/or ``"pool"`` for ResNet50: ``"conv"`` (use this) makes the
        pre-trained ``layer4[-1].conv3`` recurrent; ``"pool"`` adds a *new* recurrent
        layer on the pooled feature, started as the identity, since nothing pre-trained
        produces that feature (module docstring). A layer not chosen stays
        feed-forward, applied per frame.
    cell : {"vrnn", "lstm", "gru"}, default "lstm"
    mode : {"gate", "sih"}, default "gate"
        Gate-dependent input-to-hidden or single input-to-hidden (not for "vrnn").
    init : {"pretrained", "random"}, default "pretrained"
        Keep the layer's ``W_xy`` (the cell's ``weight_xy`` is the layer's Parameter) or
        redraw it (the ablation of Table 3).
    extra_layers : int, default 0
        Randomly initialised traditional layers of the same cell type and hidden size
        stacked before the head (Table 2's third layer: ``extra_layers=1``).
    freeze_trunk : bool, default False
        Freeze the convolutional trunk; by default the backbone is fine-tuned jointly.
    copy : bool, default True
        Work on a deep copy, leaving ``model`` untouched (so one pre-trained network can
        start several arms). ``False`` shares ``model``'s modules (saves memory).
    **cell_kwargs
        Passed to ``from_linear``/``from_conv2d``: ``other_init``, ``xy_gate``,
        ``activation``, ``hh_init``, ``gate_bias`` (and ``hidden_kernel_size``).

    Returns
    -------
    SequenceModel
        ``(N, T, *frame)`` → ``(N, T, num_outputs)``; ``forward(x, *, lengths=None,
        return_gates=False)``.

    Raises
    ------
    ValueError
        For an unknown layer or cell name (listing the valid ones), or ``mode="sih"``
        with ``cell="vrnn"``.
    TypeError
        For an unsupported backbone, or a named layer that is not Linear/Conv2d.

    Examples
    --------
    >>> import torch
    >>> from prernn_lite.backbones import LiteCNN2d
    >>> cnn = LiteCNN2d(image_size=32, fc_size=64, num_outputs=50).eval()
    >>> seq = make_recurrent(cnn, layers=("fc6", "fc7"), cell="gru").eval()
    >>> seq(torch.zeros(2, 5, 3, 32, 32)).shape
    torch.Size([2, 5, 50])
    """
    _check_cell(cell)
    if not isinstance(extra_layers, int) or extra_layers < 0:
        raise ValueError(f"extra_layers must be an int >= 0, got {extra_layers!r}")
    chosen = _choose_layers(dissect(model), layers)  # fail before copying a big network
    parts = dissect(copy_module.deepcopy(model)) if copy else dissect(model)
    if parts.name == "ResNet50":
        trunk, stages = _resnet_stages(parts, chosen, cell, mode, init, cell_kwargs)
    else:
        trunk, stages = parts.trunk, _fc_stages(parts, chosen, cell, mode, init, cell_kwargs)
    if extra_layers:
        width = parts.head.in_features
        extra = TRADITIONAL[cell](width, width, num_layers=extra_layers)
        stages.append(CellStage("extra", _like(extra, parts.head)))
    return SequenceModel(parts.name, parts.spec, trunk, stages, parts.head, freeze_trunk)


def make_baseline(
    model: nn.Module,
    cell: str = "lstm",
    hidden_size: int | None = None,
    num_layers: int = 2,
    num_outputs: int | None = None,
    *,
    head: str = "new",
    freeze_trunk: bool = False,
    copy: bool = True,
    **rnn_kwargs,
) -> SequenceModel:
    """The traditional arm: a new RNN on the backbone's fc7 features, then a head.

    Frames go through the trunk, fc6 and fc7 (feed-forward, pre-trained; the pooled
    2048-d feature for ResNet50), then a traditional ``VRNN``/``LSTM``/``GRU`` of
    ``num_layers`` layers, then the head at every step. Unlike PreRNN, which keeps the
    pre-trained head, the head here is new by default (the RNN's outputs are not the
    features fc8 was trained on); ``head="pretrained"`` keeps fc8 when the shapes allow,
    to give both arms as similar a start as possible.

    Parameters
    ----------
    model : nn.Module
        A supported backbone (see :func:`make_recurrent`).
    cell : {"vrnn", "lstm", "gru"}, default "lstm"
    hidden_size : int, optional
        The RNN's hidden size; default the feature size (4096 for VGG16). Table 1's
        "Similar" sizes come from ``prernn_lite.params.matched_hidden_size``.
    num_layers : int, default 2
    num_outputs : int, optional
        The head's outputs; default the backbone head's.
    head : {"new", "pretrained"}, default "new"
        ``"pretrained"`` reuses fc8 and needs ``hidden_size`` = feature size and
        ``num_outputs`` = fc8's outputs.
    freeze_trunk, copy : bool
        As in :func:`make_recurrent` (``freeze_trunk`` freezes the conv trunk only).
    **rnn_kwargs
        Passed to the RNN (``bias``, ``dropout``, ``nonlinearity`` for ``"vrnn"``).

    Returns
    -------
    SequenceModel

    Examples
    --------
    >>> import torch
    >>> from prernn_lite.backbones import LiteCNN2d
    >>> cnn = LiteCNN2d(image_size=32, fc_size=64, num_outputs=50)
    >>> base = make_baseline(cnn, cell="lstm", hidden_size=48).eval()
    >>> base(torch.zeros(2, 5, 3, 32, 32)).shape
    torch.Size([2, 5, 50])
    """
    _check_cell(cell)
    if head not in ("new", "pretrained"):
        raise ValueError(f"unknown head={head!r}; valid choices: ['new', 'pretrained']")
    parts = dissect(copy_module.deepcopy(model) if copy else model)
    width = parts.head.in_features
    hidden = width if hidden_size is None else hidden_size
    outputs = parts.head.out_features if num_outputs is None else num_outputs
    stages: list[nn.Module] = [FrameStage(nn.Sequential(*[
        m for layer in parts.layers.values() if isinstance(layer.module, nn.Linear)
        for m in (layer.module, layer.act, layer.drop)]))]
    rnn = TRADITIONAL[cell](width, hidden, num_layers=num_layers, **rnn_kwargs)
    stages.append(CellStage("rnn", _like(rnn, parts.head)))
    if head == "pretrained":
        if (hidden, outputs) != (width, parts.head.out_features):
            raise ValueError(
                f"head='pretrained' reuses {parts.name}'s head ({width}→"
                f"{parts.head.out_features}); it needs hidden_size={width} and "
                f"num_outputs={parts.head.out_features}, got {hidden} and {outputs}")
        new_head = parts.head
    else:
        new_head = _like(nn.Linear(hidden, outputs), parts.head)
    return SequenceModel(parts.name, parts.spec, parts.trunk, stages, new_head, freeze_trunk)


def make_frame_model(model: nn.Module, *, copy: bool = True) -> FrameModel:
    """The feed-forward network applied frame by frame over ``(N, T, *frame)``.

    Parameters
    ----------
    model : nn.Module
        A supported backbone (see :func:`make_recurrent`).
    copy : bool, default True
        Wrap a deep copy (``False``: wrap ``model`` itself).

    Returns
    -------
    FrameModel
        ``(N, T, *frame)`` → ``(N, T, num_outputs)``, with ``model``'s own forward.

    Examples
    --------
    >>> import torch
    >>> from prernn_lite.backbones import LiteCNN3d
    >>> frames = make_frame_model(LiteCNN3d(clip_len=4, image_size=16, num_outputs=5))
    >>> frames(torch.zeros(2, 3, 3, 4, 16, 16)).shape
    torch.Size([2, 3, 5])
    """
    spec = dissect(model).spec
    return FrameModel(copy_module.deepcopy(model) if copy else model, spec)
