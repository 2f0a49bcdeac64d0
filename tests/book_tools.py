"""What several tests of the book share: the book tooling and the ruff executable.

``.ci/notebooks.py`` is a script, not a package, so it is imported from its path, once.
"""

from __future__ import annotations

import functools
import importlib.util
import pathlib
import shutil
import sys
from types import ModuleType

ROOT = pathlib.Path(__file__).resolve().parents[1]


@functools.cache
def notebook_tools() -> ModuleType:
    """``.ci/notebooks.py``: the chapters, ``_toc.yml``, setup cells, run-time tables."""
    spec = importlib.util.spec_from_file_location("notebooks", ROOT / ".ci" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ruff() -> str | None:
    """The ruff executable (it comes with the ``[test]`` extra), or None."""
    found = shutil.which("ruff") or str(pathlib.Path(sys.executable).with_name("ruff"))
    return found if pathlib.Path(found).exists() else None
