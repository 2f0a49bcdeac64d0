"""Two-stream action recognition (UCF101 in the paper): Table 3.

Floors, each importing only the ones below it:

- ``common``      settings, arms, scores, fusion, the arms x seeds loop
- ``references``  what reading the motion in order gives, with no training (the stand-in)
- ``lite``        the ``ci``/``lite`` setup: the appearance x motion stand-in, lite CNNs,
                  and the lr choice on the frame model
- ``full``        the ``full`` setup: UCF101 and ImageNet backbones (every choice the
                  paper leaves open)
- ``experiment``  ``table3`` and ``table3_lr``: the one place the profile picks a setup

Importing this package registers its experiments.
"""

from .common import (
    COLUMNS,
    STREAMS,
    Table3Settings,
    evaluate_videos,
    paper_side_by_side,
    per_step_loss,
    table3_arms,
)
from .experiment import Table3LrSettings, ci_settings, run_table3, run_table3_lr
from .lite import LR_GRID, choose_lr, load_streams, stand_in_videos, video_scores
from .references import action_references, read_motion, reversal_reference

__all__ = [
    "COLUMNS", "LR_GRID", "STREAMS", "Table3LrSettings", "Table3Settings",
    "action_references", "choose_lr", "ci_settings", "evaluate_videos", "load_streams",
    "paper_side_by_side", "per_step_loss", "read_motion", "reversal_reference", "run_table3",
    "run_table3_lr", "stand_in_videos", "table3_arms", "video_scores",
]
