"""Two-stream action recognition (UCF101 in the paper): Table 3.

Floors, each importing only the ones below it:

- ``common``      settings, arms, scores, fusion, the arms x seeds loop
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
from .lite import LR_GRID, choose_lr, load_streams, video_scores

__all__ = [
    "COLUMNS", "LR_GRID", "STREAMS", "Table3LrSettings", "Table3Settings", "choose_lr",
    "ci_settings", "evaluate_videos", "load_streams", "paper_side_by_side", "per_step_loss",
    "run_table3", "run_table3_lr", "table3_arms", "video_scores",
]
