"""The run profile a chapter or experiment runs in: ``ci``, ``lite`` or ``full``.

Every chapter reads one switch, the environment variable ``PROFILE``:

- ``ci``   seconds on a CPU; what continuous integration runs and the stored outputs show;
- ``lite`` minutes on a CPU; small stand-in tasks and lite pre-trained backbones;
- ``full`` the real datasets and backbones (300VW, nvGesture, UCF101; VGG16, C3D,
  ResNet50), on a GPU.

This is the one definition of the profile names: the generated stand-ins
(``data.profiles``) exist in ``ci`` and ``lite`` sizes, and every experiment's settings
(``experiments.settings``) are resolved from these names.

>>> current_profile(environ={})
'ci'
>>> current_profile(environ={"PROFILE": "lite"})
'lite'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["PROFILES", "current_profile"]

PROFILES: tuple[str, ...] = ("ci", "lite", "full")


def current_profile(default: str = "ci", environ: Mapping[str, str] | None = None) -> str:
    """Return the profile named by ``$PROFILE`` (``default`` when unset).

    Raises
    ------
    ValueError
        If the variable names no known profile; the message lists the valid ones.
    """
    env = os.environ if environ is None else environ
    name = env.get("PROFILE", default).strip().lower() or default
    if name not in PROFILES:
        raise ValueError(f"PROFILE={name!r} is not a profile; expected one of {PROFILES}")
    return name
