#!/usr/bin/env python3
"""Prove the dependency floors: run the unit tests on the OLDEST versions pyproject.toml allows.

    python3 .ci/oldest.py                  # build (or reuse) the venv, install, run the tests
    python3 .ci/oldest.py --fresh          # delete the venv first
    python3 .ci/oldest.py -- -x -k cells   # anything after ``--`` goes to pytest

Every runtime dependency in ``pyproject.toml`` must be written ``name>=X`` with X an
installable release; this installs ``name==X`` for all of them in ONE pip resolution
(their own dependencies -- pillow, sympy, contourpy, ... -- resolve to whatever pip
picks), together with the newest pytest and hypothesis, into a separate virtual
environment under ``${XDG_CACHE_HOME:-~/.cache}/prernn-oldest/`` (or
``$PRERNN_OLDEST_VENV``). torch and torchvision must be a released pair (torchvision 0.N
goes with torch 2.(N-15)). The package itself goes in with ``--no-deps`` (editable, so the
tests see this working tree), ``pip check`` must pass, and the installed versions must
equal the floors. Then the library's own unit tests and doctests run, without:

- ``book/`` notebooks (``--nbval``): they need the book's kernel and extras, not the library;
- ``tests/test_site.py``: the built site in headless Chromium (needs ``jupyter-book``);
- ``tests/test_readme.py``: the README/CI wording, ruff and the run-time tables, which test
  the repository, not the library against its dependencies;
- ``tests/test_colab.py``: ``.ci/notebooks.py`` and chapters executed through nbformat,
  nbclient and a Jupyter kernel (the book's tooling); ``prernn_lite/colab.py``'s own
  doctests still run.

CI does not run this (a first run downloads several GB: PyPI's Linux torch wheel is a CUDA
build). Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*$")
TEST_TOOLS = ["pytest", "hypothesis"]
EXCLUDED = ["tests/test_site.py", "tests/test_readme.py", "tests/test_colab.py"]
CHECK = """
import importlib.metadata as m, json, platform, sys
from packaging.version import Version
pins = json.loads(sys.argv[1])
versions = {n: m.version(n) for n in [*pins, *sys.argv[2:]]}
wrong = [f"{n} {versions[n]} != {v}" for n, v in pins.items() if Version(versions[n]) != Version(v)]
print(json.dumps({"versions": versions, "wrong": wrong, "python": platform.python_version()}))
"""


def floors(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """``{name: oldest version}`` from ``[project] dependencies``; each must be ``name>=X``."""
    # A regex, not tomllib, so that Python 3.10 (requires-python) can run this too.
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", pyproject.read_text(), re.M | re.S)
    deps = re.findall(r'"([^"]+)"', block[1])
    out = {}
    for dep in deps:
        m = FLOOR.match(dep)
        if not m:
            raise SystemExit(f"{dep!r}: every dependency must be a plain 'name>=X' floor")
        out[m[1].lower().replace("_", "-")] = m[2]
    return out


def check_torch_pair(pins: dict[str, str]) -> None:
    """torchvision 0.N is built for torch 2.(N-15) and pins it exactly."""
    tv = pins["torchvision"].split(".")
    t = pins["torch"].split(".")
    want = f"2.{int(tv[1]) - 15}"
    if tv[0] != "0" or ".".join(t[:2]) != want:
        raise SystemExit(f"torchvision>={pins['torchvision']} needs torch>={want}, "
                         f"pyproject.toml says torch>={pins['torch']}")


def sh(*cmd: str | Path, **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def venv_dir() -> Path:
    if os.environ.get("PRERNN_OLDEST_VENV"):
        return Path(os.environ["PRERNN_OLDEST_VENV"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "prernn-oldest" / "venv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fresh", action="store_true", help="delete the venv first")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    start = time.monotonic()

    pins = floors()
    check_torch_pair(pins)
    requirements = [f"{name}=={version}" for name, version in pins.items()]
    venv = venv_dir()
    py = venv / "bin" / "python"
    stamp = venv / "prernn-oldest.json"
    wanted = {"requirements": requirements, "tools": TEST_TOOLS}
    if args.fresh or not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        sh(sys.executable, "-m", "venv", venv)
        sh(py, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        # One resolution: the test tools may not move any pin.
        sh(py, "-m", "pip", "install", *requirements, *TEST_TOOLS)
        stamp.write_text(json.dumps(wanted))
    else:
        print(f"== reusing {venv}")
    sh(py, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT)
    sh(py, "-m", "pip", "check")

    names = [*pins, *TEST_TOOLS]
    # pytest brings ``packaging``: compare as versions (torch 2.8 == 2.8.0).
    probe = subprocess.run(
        [str(py), "-c", CHECK, json.dumps(pins), *TEST_TOOLS],
        check=True, capture_output=True, text=True)
    report = json.loads(probe.stdout)
    if report["wrong"]:
        raise SystemExit("installed versions are not the floors: " + "; ".join(report["wrong"]))
    versions, pyver = report["versions"], report["python"]

    cmd = [str(py), "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=",
           "--doctest-modules", "prernn_lite", "tests",
           *(f"--ignore={p}" for p in EXCLUDED), *args.pytest_args]
    print("+", " ".join(cmd), flush=True)
    env = {**os.environ, "PYTHONHASHSEED": "0", "PROFILE": "ci"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    last = ""
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.strip():
            last = line.strip()
    rc = proc.wait()

    print("\n== oldest supported versions")
    print(f"date: {dt.date.today().isoformat()}; host {platform.machine()}; Python {pyver}")
    print("installed: " + ", ".join(f"{n} {versions[n]}" for n in names))
    print(f"pytest: {last.strip('= ')} (exit {rc})")
    print(f"wall time: {time.monotonic() - start:.0f} s (venv {venv})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
