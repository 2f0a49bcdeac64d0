"""``python -m prernn_lite.experiments NAME [NAME ...] --profile ci|lite|full``.

Runs the named experiments (``all`` = every registered one), prints the wall time of each
and appends it to ``<out>/timings.csv``. ``--resume`` (default) skips arm/seed pairs whose
rows already exist and continues interrupted training from its checkpoint;
``--no-resume`` starts over.

``--jobs N`` runs independent chains of experiments side by side in N processes
(:data:`CHAINS`, each in its order): a task's pre-training (``pretrain --tasks ...``)
heads the chain of the experiments that read its weights: the face chain (``face_lr`` ...
``gating`` share the lr grid and checkpoints), the action chain (``table3_lr``,
``table3``) and ``gesture``. The face experiments train on one thread, so two jobs use
both cores of a 2-core machine. The wall time of the whole invocation is recorded too,
as experiment ``all`` when every experiment ran. With ``--jobs`` the chains always
resume; to start over, give a fresh ``--out`` folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..data.manifest import samples_dir, write_manifest
from ..runtime import PROFILES
from . import EXPERIMENTS
from .arms import CELLS
from .results import append_timing, results_dir
from .runner import RunContext

#: (pre-training tasks, experiments that read their weights, in the order they must run)
CHAINS = ((("faces/rgb",), ("face_lr", "table1", "table2", "init", "gating")),
          (("actions/rgb", "actions/flow"), ("table3_lr", "table3")),
          (("gestures/rgb",), ("gesture",)))
#: The tasks, one per chain (``faces``, ``actions``, ``gestures``).
TASKS = tuple(tasks[0].split("/")[0] for tasks, _ in CHAINS)


def chains_of(names: list[str]) -> list[tuple[list[str], list[str]]]:
    """``names`` cut into independent chains ``(pretrain tasks, experiments)``.

    A chain's experiments keep :data:`CHAINS`' order; with ``pretrain`` among ``names``
    every chain starts with its tasks' pre-training (flow after RGB: cross-modality
    initialisation reads the RGB weights).

    >>> chains_of(["table1", "gesture", "table3", "face_lr"])
    [([], ['face_lr', 'table1']), ([], ['table3']), ([], ['gesture'])]
    >>> chains_of(["pretrain", "gesture"])[-1]
    (['gestures/rgb'], ['gesture'])
    """
    out = []
    for tasks, chain in CHAINS:
        picked = [n for n in chain if n in names]
        if picked or "pretrain" in names:
            out.append((list(tasks) if "pretrain" in names else [], picked))
    known = {n for _, chain in CHAINS for n in chain} | {"pretrain"}
    return out + [([], [n]) for n in names if n not in known]


def _pipe(prefix: str, stream) -> None:
    for line in stream:
        print(f"[{prefix}] {line}", end="", flush=True)


def run_parallel(names: list[str], argv: list[str], jobs: int, profile: str) -> None:
    """Run the chains of ``names`` in up to ``jobs`` subprocesses at a time; each is this
    CLI with ``argv`` (profile, out, ...), then the ``data_samples`` MANIFEST is
    rewritten once (the chains' pre-trainings each rewrote it; ``ci`` writes none)."""
    running: list[subprocess.Popen] = []
    for tasks, chain in chains_of(names):
        while len([p for p in running if p.poll() is None]) >= jobs:
            time.sleep(1)
        cmd = (["pretrain"] if tasks else []) + chain + argv
        prefix = "+".join(([tasks[0].split("/")[0]] if tasks else []) + chain)
        running.append(_start(cmd, prefix, tasks))
    failed = [" ".join(p.args[3:]) for p in running if p.wait() != 0]
    if "pretrain" in names and profile != "ci":
        write_manifest(samples_dir())
    if failed:
        raise SystemExit(f"experiments failed: {failed}")


def _start(names: list[str], prefix: str, tasks: list[str]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "prernn_lite.experiments", *names,
           *(["--tasks", *tasks] if tasks else [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threading.Thread(target=_pipe, args=(prefix, proc.stdout), daemon=True).start()
    return proc


def _child_argv(args: argparse.Namespace, out: Path) -> list[str]:
    """The options of this invocation for a chain's subprocess (names and jobs left out)."""
    argv = ["--profile", args.profile, "--out", str(out)]
    for flag, values in (("--seeds", args.seeds), ("--cells", args.cells)):
        if values:
            argv += [flag, *map(str, values)]
    for flag, values in (("--data-root", args.data_root), ("--weights", args.weights)):
        for value in values or ():
            argv += [flag, value]
    return argv


def task_of(name: str) -> str | None:
    """The task (faces, actions, gestures) whose data and weights experiment ``name`` reads.

    >>> task_of("table2"), task_of("gesture"), task_of("pretrain")
    ('faces', 'gestures', None)
    """
    for task, (_, chain) in zip(TASKS, CHAINS, strict=True):
        if name in chain:
            return task
    return None


def option_for(values: list[str] | None, name: str) -> str | None:
    """The value of a per-experiment option (``--data-root``, ``--weights``) for ``name``.

    Each value is ``PATH``, ``TASK=PATH`` or ``EXPERIMENT=PATH``; the most specific wins,
    so ``all --data-root faces=/d/300VW --data-root gestures=/d/nvGesture`` gives each
    experiment its own dataset.

    >>> option_for(["/x", "gestures=/g", "table1=/t"], "gesture")
    '/g'
    >>> option_for(["/x", "gestures=/g", "table1=/t"], "table1")
    '/t'
    >>> option_for(["/x", "gestures=/g"], "table3")
    '/x'
    """
    found: dict[int, str] = {}
    for value in values or ():
        key, sep, rest = value.partition("=")
        if sep and key == name:
            found[0] = rest
        elif sep and key == task_of(name):
            found[1] = rest
        elif not (sep and (key in EXPERIMENTS or key in TASKS)):  # not another's
            found[2] = value
    return found[min(found)] if found else None


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
    ap.add_argument("--data-root", action="append", metavar="[TASK=|NAME=]PATH",
                    help="full profile: the real dataset's root (repeat with faces=, "
                         "actions=, gestures= or an experiment's name when running several)")
    ap.add_argument("--weights", action="append", metavar="[TASK=|NAME=]VALUE",
                    help="full profile: the backbone's weights where an experiment takes "
                         "them (C3D's Sports-1M state_dict file for gesture; 'imagenet', "
                         "'random' or a state_dict file for the VGG16/ResNet50 ones)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default results/)")
    ap.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--jobs", type=int, default=1,
                    help="run independent chains of experiments in this many processes")
    args = ap.parse_args(argv)
    names = list(EXPERIMENTS) if args.names == ["all"] else args.names
    if bad := [n for n in names if n not in EXPERIMENTS]:
        _fail(ap, "experiment", bad, list(EXPERIMENTS) + ["all"])
    if args.profile not in PROFILES:
        _fail(ap, "profile", [args.profile], PROFILES)
    if args.cells and (bad := [c for c in args.cells if c not in CELLS]):
        _fail(ap, "cell", bad, CELLS)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    out = args.out or results_dir()
    if args.jobs > 1 and len(chains_of(names)) > 1:
        if not args.resume:
            ap.error("--no-resume with --jobs: the chains share result files; give a fresh "
                     "--out folder instead")
        if args.tasks:
            ap.error("--tasks with --jobs: each chain pre-trains its own tasks")
        start = time.perf_counter()
        run_parallel(names, _child_argv(args, out), args.jobs, args.profile)
        seconds = time.perf_counter() - start
        if set(names) == set(EXPERIMENTS):
            append_timing(out, "all", args.profile, seconds)
        print(f"\nwall time of {len(names)} experiments in {args.jobs} jobs: {seconds:.1f} s")
        return 0
    timings, context = [], RunContext()  # shared by this invocation's experiments
    for name in names:
        exp = EXPERIMENTS[name]
        settings = exp.settings(args.profile)
        fields = {f.name for f in dataclasses.fields(settings)}
        changes = {}
        if args.cells and "cells" in fields:
            changes["cells"] = tuple(args.cells)
        if args.tasks and "tasks" in fields:
            changes["tasks"] = tuple(t if "/" in t else f"{t}/rgb" for t in args.tasks)
        for option, field_name in ((args.data_root, "data_root"), (args.weights, "weights")):
            if (value := option_for(option, name)) and field_name in fields:
                changes[field_name] = value
        settings = dataclasses.replace(settings, **changes)
        seeds = tuple(args.seeds) if args.seeds else settings.seeds
        print(f"== {name} --profile {args.profile} seeds={list(seeds)}", flush=True)
        start = time.perf_counter()
        exp.run(settings, seeds, out, args.resume, context=context)
        seconds = time.perf_counter() - start
        append_timing(out, name, args.profile, seconds)
        timings.append((name, seconds))
    print("\nwall time per experiment:")
    for name, seconds in timings:
        print(f"  {name:<12} {args.profile:<5} {seconds:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
