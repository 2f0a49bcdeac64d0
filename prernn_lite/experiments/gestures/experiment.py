"""``gesture``: PreRNN vs traditional vs the clip-level model (the book's chapter 7).

The profile picks the setup once, here: ``ci``/``lite`` the stand-in (``lite.py``),
``full`` nvGesture with C3D (``full.py``); ``common.run_gesture_arms`` does the rest.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..registry import register
from .common import GestureSettings, run_gesture_arms
from .full import full_setup
from .lite import lite_setup


@register("gesture", GestureSettings)
def run_gesture(settings: GestureSettings, seeds, out_dir: Path, resume: bool, context=None
                ) -> pd.DataFrame:
    """PreRNN vs traditional vs the clip-level model: the stand-in, or (full) nvGesture."""
    setup = full_setup(settings, out_dir, resume) if settings.full else lite_setup(settings)
    return run_gesture_arms(settings, setup, seeds, out_dir, resume)


def ci_settings(**changes) -> GestureSettings:
    """``ci`` settings with some fields replaced (tests shrink them further)."""
    return replace(GestureSettings.for_profile("ci"), **changes)
