"""Arms: the models an experiment compares, and how each one starts.

An :class:`Arm` names one model of a comparison; :func:`build_model` builds it from a
pre-trained backbone; :func:`matched_sizes` gives a traditional arm as many weights as
the PreRNN it is compared with adds (``params.matched_hidden_size``). How the arms
start, stated once here:

- the convolutional trunk and fc6/fc7 are the pre-trained backbone's in every arm;
- a **PreRNN** turns the named layers into Pre cells (``W_xy``, ``b`` kept, unless
  ``init="random"``; ``W_hh = 0``) and keeps the backbone's head;
- a **traditional** arm keeps fc6/fc7 feed-forward and adds a new ``num_layers`` RNN
  (hidden size free) and a *new* head: its outputs are not fc7's features, so fc8 cannot
  be reused (the one exception, hidden = fc size, is not used so that all sizes match);
- the **frame** arm is the pre-trained network itself, fine-tuned on the same frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
from torch import nn

from ..backbones import dissect, layer_sizes, make_baseline, make_frame_model, make_recurrent
from ..params import matched_hidden_size, prernn_added_params, rnn_params
from .settings import check_choice

KINDS = ("prernn", "traditional", "frame")
#: The cells every experiment compares, in the order of the book's tables.
CELLS = ("vrnn", "lstm", "gru")


@dataclass(frozen=True)
class Arm:
    """One model of a comparison (see the module docstring for how each kind starts).

    ``kind`` "prernn": ``layers`` made recurrent with ``cell``/``mode``/``init``/
    ``other_init``/``hh_init``, plus ``extra_layers`` random traditional layers.
    ``kind`` "traditional": a ``num_layers`` ``cell`` RNN of ``hidden_size`` on fc7.
    ``kind`` "frame": the fine-tuned frame-level network (``cell`` is ignored).
    """

    name: str
    kind: str = "prernn"
    cell: str = "lstm"
    mode: str = "gate"
    init: str = "pretrained"
    other_init: str = "copy"
    layers: tuple[str, ...] = ("fc6", "fc7")
    extra_layers: int = 0
    hidden_size: int | None = None
    num_layers: int = 2
    hh_init: str = "zeros"
    gate_bias: float = 4.0

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        if self.kind != "frame":
            check_choice("cell", self.cell, CELLS)

    def describe(self) -> dict[str, Any]:
        """The identifying columns of a result row; settings that do not apply to the
        arm's kind are blank ("" or ``None``), so a traditional arm records no PreRNN
        start and a PreRNN no hidden size of its own.

        >>> Arm("t", "traditional", "gru", hidden_size=64).describe()["init"]
        ''
        >>> Arm("p", cell="gru").describe()["hidden_size"] is None
        True
        """
        d = {"arm": self.name, **asdict(self)}
        d.pop("name")
        d["layers"] = "+".join(self.layers)
        if self.kind == "prernn":  # its hidden sizes are the layers' own
            d.update(hidden_size=None, num_layers=None)
        else:  # only a PreRNN has these settings: leave them blank
            d.update(mode="", init="", other_init="", layers="", extra_layers=None,
                     hh_init="", gate_bias=None)
        if self.kind == "frame":
            d.update(cell="", hidden_size=None, num_layers=None)
        return d


def build_model(arm: Arm, backbone: nn.Module, *, freeze_trunk: bool = False) -> nn.Module:
    """The arm's model on a deep copy of ``backbone`` (``SequenceModel`` or ``FrameModel``)."""
    if arm.kind == "frame":
        return make_frame_model(backbone)
    if arm.kind == "traditional":
        return make_baseline(backbone, cell=arm.cell, hidden_size=arm.hidden_size,
                             num_layers=arm.num_layers, head="new", freeze_trunk=freeze_trunk)
    return make_recurrent(backbone, layers=arm.layers, cell=arm.cell, mode=arm.mode,
                          init=arm.init, extra_layers=arm.extra_layers,
                          freeze_trunk=freeze_trunk, other_init=arm.other_init,
                          hh_init=arm.hh_init, gate_bias=arm.gate_bias)


def matched_sizes(cells: Sequence[str], backbone: nn.Module, mode: str = "gate",
                  layers: Sequence[str] = ("fc6", "fc7")) -> pd.DataFrame:
    """Per cell: PreRNN's added weights on ``layers``, the matched hidden size of a
    traditional 2-layer RNN on the head's input (fc7; ResNet50's pooled feature), and
    that RNN's weights (``params.matched_hidden_size``: weight matrices only).

    >>> from prernn_lite.backbones import LiteCNN2d
    >>> matched_sizes(["lstm"], LiteCNN2d(image_size=64, fc_size=256))["hidden_size"].item()
    314
    """
    sizes = layer_sizes(backbone, layers)
    feature = dissect(backbone).head.in_features
    rows = []
    for cell in cells:
        exact = matched_hidden_size(cell, mode=mode, layer_sizes=sizes, feature_size=feature,
                                    rounding="none")
        rounded = round(exact)
        rows.append({"cell": cell, "mode": mode, "layers": "+".join(layers),
                     "layer_shapes": " ".join(f"{i}x{o}" for i, o in sizes),
                     "prernn_added_weights": prernn_added_params(cell, mode=mode,
                                                                 layer_sizes=sizes),
                     "hidden_exact": exact, "hidden_size": rounded,
                     "traditional_weights": rnn_params(cell, feature, rounded, 2, bias=False)})
    return pd.DataFrame(rows)
