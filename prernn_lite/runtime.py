"""The run profile a chapter or experiment runs in: ``ci``, ``lite`` or ``full``.

Every chapter reads one switch, the environment variable ``PROFILE``:

- ``ci``   seconds on a CPU; what continuous integration runs and the stored outputs show;
- ``lite`` minutes on a CPU; small stand-in tasks and lite pre-trained backbones;
- ``full`` the real datasets and backbones, on a GPU.

>>> current_profile(environ={})
'ci'
>>> current_profile(environ={"PROFILE": "lite"})
'lite'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

__all__ = ["PROFILES", "current_profile", "default_device"]

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


def default_device(profile: str) -> torch.device:
    """``cuda`` for the ``full`` profile when a GPU is present, else ``cpu``.

    The ``ci`` and ``lite`` profiles always run on the CPU, so their numbers do not
    depend on the machine that happens to run them.

    >>> default_device("ci")
    device(type='cpu')
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if profile == "full" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")
