"""The registry: experiments by name, as the command line and chapter 9 list them.

``@register(NAME, Settings)`` records ``fn(settings, seeds, out_dir, resume, context)``
with its settings class (a ``settings.ProfileSettings``). :meth:`Experiment.run` is the
one place a run's process-wide state is set: the thread count of settings that name one
(``threads``) holds for that experiment only and is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .runner import RunContext
from .settings import ProfileSettings


@contextmanager
def num_threads(threads: int | None):
    """``torch.set_num_threads(threads)`` inside the block (``None``: unchanged)."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class Experiment:
    """A registered experiment: its function and its settings class."""

    name: str
    fn: Callable[..., pd.DataFrame]
    settings_class: type[ProfileSettings]

    def settings(self, profile: str) -> Any:
        """The experiment's settings for ``profile`` (``Settings.for_profile``)."""
        return self.settings_class.for_profile(profile)

    def run(self, settings: Any, seeds: Sequence[int], out_dir: Path, resume: bool = True,
            context: RunContext | None = None) -> pd.DataFrame:
        """Run with ``settings`` and ``seeds``, writing under ``out_dir``."""
        with num_threads(getattr(settings, "threads", None)):
            return self.fn(settings, tuple(seeds), Path(out_dir), resume,
                           context=context or RunContext())


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, settings_class: type[ProfileSettings]) -> Callable:
    """Decorator: register ``fn(settings, seeds, out_dir, resume, context=None)`` as
    experiment ``name`` whose settings are ``settings_class.for_profile(profile)``."""
    def deco(fn: Callable) -> Callable:
        EXPERIMENTS[name] = Experiment(name, fn, settings_class)
        return fn
    return deco
