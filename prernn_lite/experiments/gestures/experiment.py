"""``gesture``: PreRNN vs traditional vs the clip-level model (the book's chapter 7).

``gesture_lr`` chooses each arm's learning rate on validation sequences (``ci``/``lite``).
The profile picks the setup once, here: ``ci``/``lite`` the stand-in (``lite.py``),
``full`` nvGesture with C3D (``full.py``); ``common.run_gesture_arms`` does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ..registry import register
from ..results import write_table
from .common import GestureSettings, run_gesture_arms
from .full import full_setup
from .lite import choose_lrs, lite_setup


@register("gesture", GestureSettings)
def run_gesture(settings: GestureSettings, seeds, out_dir: Path, resume: bool, context=None
                ) -> pd.DataFrame:
    """PreRNN vs traditional vs the clip-level model: the stand-in, or (full) nvGesture."""
    setup = full_setup(settings, out_dir, resume) if settings.full else lite_setup(settings)
    return run_gesture_arms(settings, setup, seeds, out_dir, resume)


@dataclass(frozen=True)
class GestureLrSettings(GestureSettings):
    """``gesture_lr``'s settings: those of ``gesture`` in ``ci`` and ``lite`` only."""

    PROFILE_CHANGES = {p: c for p, c in GestureSettings.PROFILE_CHANGES.items() if p != "full"}
    NO_PROFILE = {"full": "the full profile trains every arm with the paper's learning "
                          "rate (3e-3) and chooses none"}


@register("gesture_lr", GestureLrSettings)
def run_gesture_lr(settings: GestureSettings, seeds, out_dir: Path, resume: bool,
                   context=None) -> pd.DataFrame:
    """Choose each arm's lr on validation sequences; ``gesture_<p>_lr.csv``."""
    table = choose_lrs(settings, seed=seeds[0])
    write_table(table, out_dir, "gesture", settings.profile, "lr")
    print(table.to_string(index=False))
    return table


def ci_settings(**changes) -> GestureSettings:
    """``ci`` settings with some fields replaced (tests shrink them further)."""
    return replace(GestureSettings.for_profile("ci"), **changes)
