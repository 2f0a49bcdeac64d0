"""The one place a face run's profile picks its data: the stand-in or 300VW.

``face_source(settings)`` is called once, at the top of every face experiment, and the
source it returns (a ``common.FaceSource``) is passed down: nothing below asks for the
profile again. :func:`face_data` and :func:`backbone_for` are the same for a single call
(the book's chapters use them).
"""

from __future__ import annotations

from torch import nn

from ..runner import RunContext
from .common import FaceSettings, FaceSource
from .full import VW300Faces
from .lite import StandInFaces


def face_source(settings: FaceSettings, context: RunContext | None = None) -> FaceSource:
    """``full``: 300VW with VGG16 (``full.VW300Faces``); ``ci``/``lite``: the stand-in
    with the lite CNN (``lite.StandInFaces``)."""
    return (VW300Faces if settings.full else StandInFaces)(settings, context)


def face_data(settings: FaceSettings, split: str, context: RunContext | None = None):
    """Samples of ``split`` (``common.FaceSource.data``)."""
    return face_source(settings, context).data(split)


def backbone_for(settings: FaceSettings, context: RunContext | None = None) -> nn.Module:
    """The pre-trained network every arm starts from (``common.FaceSource.backbone``)."""
    return face_source(settings, context).backbone()
