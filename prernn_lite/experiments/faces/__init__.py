"""Sequential face alignment (300VW in the paper): Tables 1 and 2, initialisation, gating.

Floors, each importing only the ones below it:

- ``common``    settings, loss, metrics, references, the ``FaceSource`` interface
- ``lite``      the ``ci``/``lite`` source: the face stand-in and the lite CNN
- ``full``      the ``full`` source: 300VW and VGG16 (every choice the paper leaves open)
- ``source``    the one place the profile picks a source
- ``lr``        the lr grid per arm family (grown beyond an edge its choice sits at,
                ``FaceSettings.lr_extend``), shared runs, the arms x seeds loop (each
                seed on its training draw, ``FaceSettings.seed_draws_data``)
- ``tables``    ``table1``, ``table2`` (each start of the other gates in
                ``FaceSettings.table2_other_inits``)
- ``analysis``  ``init``, ``gating``, ``face_lr``

Importing this package registers its experiments.
"""

from .analysis import face_lr, gating, gating_arms, gating_settings, init, init_arms
from .common import (
    CONDITIONS,
    FaceSettings,
    face_eval,
    face_loss,
    landmark_loss,
    mean_shape,
    nme_by_condition,
    predict,
    references,
)
from .lr import choose_lr, lr_edge, lr_family, next_lr, tune_lrs
from .source import backbone_for, face_data, face_source
from .tables import hidden_sizes, table1, table1_arms, table2, table2_arms

__all__ = [
    "CONDITIONS", "FaceSettings", "backbone_for", "choose_lr", "face_data", "face_eval",
    "face_loss", "face_lr", "face_source", "gating", "gating_arms", "gating_settings",
    "hidden_sizes", "init",
    "init_arms", "landmark_loss", "lr_edge", "lr_family", "mean_shape", "next_lr",
    "nme_by_condition", "predict", "references", "table1", "table1_arms", "table2",
    "table2_arms", "tune_lrs",
]
