"""An experiment's settings, and the one way they are resolved for a profile.

Every experiment has a frozen dataclass of settings whose defaults are its ``lite`` run
(one field per choice, documented where the class is). :class:`ProfileSettings` is
their base: ``PROFILE_CHANGES`` says which fields the other profiles change, and
:func:`resolve` (``Settings.for_profile(profile)``) is the only place a profile name is
turned into settings. The names come from ``runtime.PROFILES``; ``full`` always means
the real datasets and backbones (the property :attr:`ProfileSettings.full`).

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Demo(ProfileSettings):
...     PROFILE_CHANGES = {"ci": {"epochs": 1}, "lite": {}}
...     epochs: int = 8
>>> Demo.for_profile("ci")
Demo(profile='ci', epochs=1)
>>> Demo.for_profile("full")
Traceback (most recent call last):
...
ValueError: Demo has no 'full' profile; valid profiles: ci, lite
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch

from ..runtime import PROFILES

__all__ = ["ProfileSettings", "check_choice", "cuda_amp", "resolve"]

S = TypeVar("S", bound="ProfileSettings")


def check_choice(what: str, value: Any, valid: Sequence) -> None:
    """Raise ``ValueError`` listing ``valid`` unless ``value`` is one of them.

    >>> check_choice("cell", "rnn", ("vrnn", "lstm"))
    Traceback (most recent call last):
    ...
    ValueError: unknown cell 'rnn'; valid choices: vrnn, lstm
    """
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {', '.join(map(str, valid))}")


@dataclass(frozen=True)
class ProfileSettings:
    """Base of the experiments' settings: a ``profile`` field and per-profile changes.

    Subclasses set ``PROFILE_CHANGES`` = ``{profile: {field: value}}`` for every profile
    they offer (``{}`` for ``lite``, whose values are the defaults) and optionally
    ``NO_PROFILE`` = ``{profile: why it is not offered}``, and ``FULL_ONLY``, the fields
    only the ``full`` profile reads.
    """

    PROFILE_CHANGES: ClassVar[dict[str, dict[str, Any]]] = {"lite": {}}
    NO_PROFILE: ClassVar[dict[str, str]] = {}
    #: fields that only the ``full`` profile reads (``--set`` refuses them elsewhere)
    FULL_ONLY: ClassVar[tuple[str, ...]] = ("data_root", "weights")

    profile: str = "lite"

    @classmethod
    def for_profile(cls: type[S], profile: str) -> S:
        """These settings for ``profile`` (:func:`resolve`)."""
        return resolve(cls, profile)

    @property
    def full(self) -> bool:
        """Whether these settings run on the real datasets and backbones (``full``)."""
        return self.profile == "full"


def resolve(cls: type[S], profile: str) -> S:
    """``cls`` with its defaults changed by ``cls.PROFILE_CHANGES[profile]``.

    A name outside ``runtime.PROFILES`` is an "unknown profile" error; a profile the
    class does not offer says why (``NO_PROFILE``) and which it offers.
    """
    check_choice("profile", profile, PROFILES)
    offered = cls.PROFILE_CHANGES
    if profile not in offered:
        why = cls.NO_PROFILE.get(profile)
        raise ValueError(f"{cls.__name__} has no {profile!r} profile"
                         + (f" ({why})" if why else "")
                         + f"; valid profiles: {', '.join(p for p in PROFILES if p in offered)}")
    return cls(profile=profile, **offered[profile])


def cuda_amp(amp: bool | str) -> bool | str:
    """A recipe's ``amp`` for these settings: ``amp`` when CUDA is available, else
    ``False`` (mixed precision is for the GPU; a CPU run keeps float32)."""
    return amp if amp and torch.cuda.is_available() else False
