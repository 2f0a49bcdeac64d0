"""``python -m prernn_lite.experiments NAME [NAME ...] --profile ci|lite|full``.

Runs the named experiments (``all`` = every registered one), prints the wall time of each
and appends it to ``<out>/timings.csv``. ``--resume`` (default) skips arm/seed pairs whose
rows already exist and continues interrupted training from its checkpoint;
``--no-resume`` starts over.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from . import EXPERIMENTS
from .common import CELLS, PROFILES, append_timing, results_dir


def _fail(parser: argparse.ArgumentParser, what: str, bad: list[str], valid) -> None:
    parser.error(f"unknown {what} {', '.join(map(repr, bad))}; valid choices: "
                 f"{', '.join(valid)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prernn_lite.experiments", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="+", metavar="NAME",
                    help=f"experiments: {', '.join(EXPERIMENTS)}, or 'all'")
    ap.add_argument("--profile", default="ci", help=f"one of {', '.join(PROFILES)}")
    ap.add_argument("--seeds", type=int, nargs="+", help="seeds (default: the profile's)")
    ap.add_argument("--cells", nargs="+", help=f"restrict to cells: {', '.join(CELLS)}")
    ap.add_argument("--tasks", nargs="+", help="pretrain only: task/stream pairs or tasks")
    ap.add_argument("--data-root", type=Path, help="full profile: the real dataset's root")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default results/)")
    ap.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args(argv)
    names = list(EXPERIMENTS) if args.names == ["all"] else args.names
    if bad := [n for n in names if n not in EXPERIMENTS]:
        _fail(ap, "experiment", bad, list(EXPERIMENTS) + ["all"])
    if args.profile not in PROFILES:
        _fail(ap, "profile", [args.profile], PROFILES)
    if args.cells and (bad := [c for c in args.cells if c not in CELLS]):
        _fail(ap, "cell", bad, CELLS)
    out = args.out or results_dir()
    timings = []
    for name in names:
        exp = EXPERIMENTS[name]
        settings = exp.settings(args.profile)
        fields = {f.name for f in dataclasses.fields(settings)}
        changes = {}
        if args.cells and "cells" in fields:
            changes["cells"] = tuple(args.cells)
        if args.tasks and "tasks" in fields:
            changes["tasks"] = tuple(t if "/" in t else f"{t}/rgb" for t in args.tasks)
        if args.data_root and "data_root" in fields:
            changes["data_root"] = str(args.data_root)
        settings = dataclasses.replace(settings, **changes)
        seeds = tuple(args.seeds) if args.seeds else settings.seeds
        print(f"== {name} --profile {args.profile} seeds={list(seeds)}", flush=True)
        start = time.perf_counter()
        exp.run(settings, seeds, out, args.resume)
        seconds = time.perf_counter() - start
        append_timing(out, name, args.profile, seconds)
        timings.append((name, seconds))
    print("\nwall time per experiment:")
    for name, seconds in timings:
        print(f"  {name:<12} {args.profile:<5} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
