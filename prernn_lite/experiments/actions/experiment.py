"""``table3`` and ``table3_lr``: two-stream actions (the book's chapter 8).

The profile picks the setup once, here: ``ci``/``lite`` the stand-in (``lite.py``),
``full`` UCF101 with ImageNet backbones (``full.py``); ``common.run_table3_arms`` does
the rest. ``table3_lr`` chooses the stand-in's learning rates (``lite.choose_lr``); it
has no ``full`` profile: the full runs use the paper's rates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..registry import register
from ..results import write_table
from .common import Table3Settings, run_table3_arms
from .full import full_setup
from .lite import choose_lr, lite_setup


@register("table3", Table3Settings)
def run_table3(settings: Table3Settings, seeds, out_dir: Path, resume: bool, context=None
               ) -> pd.DataFrame:
    """Table 3: every arm x seed, both streams, fused (stand-in, or UCF101 in ``full``)."""
    setup = full_setup(settings) if settings.full else lite_setup(settings)
    return run_table3_arms(settings, setup, seeds, out_dir, resume)


@dataclass(frozen=True)
class Table3LrSettings(Table3Settings):
    """``table3_lr``'s settings: those of ``table3`` in ``ci`` and ``lite`` only."""

    PROFILE_CHANGES = {p: c for p, c in Table3Settings.PROFILE_CHANGES.items() if p != "full"}
    NO_PROFILE = {"full": "the full profile trains with the paper's learning rates "
                          "(spatial 3e-4, temporal 1e-2) and chooses none"}


@register("table3_lr", Table3LrSettings)
def run_table3_lr(settings: Table3Settings, seeds, out_dir: Path, resume: bool, context=None
                  ) -> pd.DataFrame:
    """Choose each stream's lr on the frame model (validation videos); ``table3_<p>_lr.csv``."""
    table = choose_lr(settings, seed=seeds[0])
    write_table(table, out_dir, "table3", settings.profile, "lr")
    print(table.to_string(index=False))
    return table


def ci_settings(**changes) -> Table3Settings:
    """``ci`` settings with some fields replaced (tests shrink them further)."""
    return replace(Table3Settings.for_profile("ci"), **changes)
