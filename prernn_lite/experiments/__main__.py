"""``python -m prernn_lite.experiments NAME [NAME ...] --profile ci|lite|full``.

Runs the named experiments (``all`` = every registered one that offers the profile; those
left out are printed with the reason), prints the wall time of each and appends it to
``<out>/timings.csv``. ``--resume`` (default) skips arm/seed pairs whose rows already
exist and continues interrupted training from its checkpoint; ``--no-resume`` starts over.

Before anything runs, the command line is checked: an experiment named with a profile it
does not offer, ``--out`` naming a file or a folder that cannot be written (a missing one
is created), and a ``--data-root``/``--weights`` value that no experiment being run
reads (the ``ci``/``lite`` profiles read neither; ``NAME=``/``TASK=`` naming an
experiment or task not being run, or one without that setting) are usage errors.

``--set [NAME.]FIELD=VALUE`` changes one settings field (:mod:`.overrides`), e.g. an nvGesture
list file: ``gesture --profile full --set train_list=FILE``.

``--jobs N`` runs independent chains of experiments side by side in N processes
(:data:`CHAINS`, each in its order): a task's pre-training (``pretrain --tasks ...``)
heads the chain of the experiments that read its weights: the face chain (``face_lr`` ...
``gating`` share the lr grid and checkpoints), the action chain (``table3_lr``,
``table3``) and the gesture chain (``gesture_lr``, ``gesture``). The face experiments
train on one thread, so two jobs use both cores of a 2-core machine. The wall time of the
whole invocation is recorded too, as experiment ``all`` when every experiment ran. With
``--jobs`` the chains always resume; to start over, give a fresh ``--out`` folder.

Experiments that read the results of the others (:data:`AFTER_CHAINS`: ``claims``) run
last, in this process, once every chain has finished (with or without ``--jobs``).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..data.manifest import samples_dir, write_manifest
from ..runtime import PROFILES
from . import EXPERIMENTS
from .arms import CELLS
from .overrides import set_changes
from .results import append_timing, results_dir
from .runner import RunContext

#: (pre-training tasks, experiments that read their weights, in the order they must run)
CHAINS = ((("faces/rgb",), ("face_lr", "table1", "table2", "init", "gating")),
          (("actions/rgb", "actions/flow"), ("table3_lr", "table3")),
          (("gestures/rgb",), ("gesture_lr", "gesture")))
#: The tasks, one per chain (``faces``, ``actions``, ``gestures``).
TASKS = tuple(tasks[0].split("/")[0] for tasks, _ in CHAINS)
#: Experiments that read every chain's results and train nothing: run after all chains.
AFTER_CHAINS = ("claims",)


def chains_of(names: list[str]) -> list[tuple[list[str], list[str]]]:
    """``names`` cut into independent chains ``(pretrain tasks, experiments)``.

    A chain's experiments keep :data:`CHAINS`' order; with ``pretrain`` among ``names``
    every chain starts with its tasks' pre-training (flow after RGB: cross-modality
    initialisation reads the RGB weights).

    >>> chains_of(["table1", "gesture", "table3", "face_lr"])
    [([], ['face_lr', 'table1']), ([], ['table3']), ([], ['gesture'])]
    >>> chains_of(["pretrain", "gesture"])[-1]
    (['gestures/rgb'], ['gesture'])
    >>> chains_of(["gesture", "gesture_lr"])[-1]
    ([], ['gesture_lr', 'gesture'])
    >>> chains_of(["claims", "table3"])  # AFTER_CHAINS run after the chains, not in one
    [([], ['table3'])]
    """
    names = [n for n in names if n not in AFTER_CHAINS]
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


def run_parallel(names: list[str], argv: list[str], jobs: int, profile: str,
                 options: Mapping[str, list[str]] | None = None) -> None:
    """Run the chains of ``names`` in up to ``jobs`` subprocesses at a time; each is this
    CLI with ``argv`` (profile, out, ...) and the ``options`` of its experiments (name ->
    argv, e.g. ``["--data-root", "table1=/d"]``), then the ``data_samples`` MANIFEST is
    rewritten once (the chains' pre-trainings each rewrote it; ``ci`` writes none)."""
    running: list[subprocess.Popen] = []
    for tasks, chain in chains_of(names):
        while len([p for p in running if p.poll() is None]) >= jobs:
            time.sleep(1)
        own = [arg for name in chain for arg in (options or {}).get(name, [])]
        cmd = (["pretrain"] if tasks else []) + chain + argv + own
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
    """The options of this invocation for a chain's subprocess (names, jobs and the
    per-experiment options, :func:`_child_options`, left out)."""
    argv = ["--profile", args.profile, "--out", str(out)]
    for flag, values in (("--seeds", args.seeds), ("--cells", args.cells)):
        if values:
            argv += [flag, *map(str, values)]
    return argv


def _child_options(args: argparse.Namespace, settings: Mapping[str, Any]
                   ) -> dict[str, list[str]]:
    """Each experiment's ``--data-root``/``--weights`` as ``NAME=VALUE`` and ``--set`` as
    ``NAME.FIELD=VALUE``: a chain gets its own values only (another chain's would be
    refused as not being run)."""
    out: dict[str, list[str]] = {}
    for name, s in settings.items():
        for flag, field_name in _PATH_OPTIONS:
            value = option_for(getattr(args, field_name), name)
            if value is not None and _reads(s, field_name):
                out.setdefault(name, []).extend([flag, f"{name}={value}"])
    for value in args.set or ():  # each --set to the experiments it changes, by name
        key, _, text = value.partition("=")
        for name in set_changes([value], settings)[0]:
            out.setdefault(name, []).extend(["--set", f"{name}.{key.split('.')[-1]}={text}"])
    return out


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


#: (flag, settings field) of the options that only the full profile reads
_PATH_OPTIONS = (("--data-root", "data_root"), ("--weights", "weights"))


def _reads(settings: Any, field_name: str) -> bool:
    """Whether ``settings`` read ``field_name``: they have it and run the full profile."""
    return settings.full and field_name in {f.name for f in dataclasses.fields(settings)}


def option_problems(flag: str, values: list[str] | None, readers: Mapping[str, bool]
                    ) -> list[str]:
    """What is wrong with the values of ``flag`` (``--data-root``, ``--weights``) given
    the experiments being run, ``readers`` (name -> whether its settings read it): each
    value must reach an experiment that reads it (:func:`option_for`).

    >>> option_problems("--weights", ["random", "gestures=/w/c3d"], {"table1": True})
    ["--weights gestures=/w/c3d: no experiment of task 'gestures' is being run (table1)"]
    >>> option_problems("--data-root", ["table3=/u", "/d"], {"table3": True})
    ['--data-root /d: overridden by a more specific or later --data-root for every \
experiment it addresses (table3)']
    >>> option_problems("--weights", ["pretrain=/p"], {"pretrain": False, "table1": True})
    ["--weights pretrain=/p: experiment 'pretrain' takes no --weights"]
    """
    problems = []
    running = ", ".join(readers)
    for value in values or ():
        key, sep, rest = value.partition("=")
        to_name, to_task = bool(sep) and key in EXPERIMENTS, bool(sep) and key in TASKS
        addressed = ([key] if to_name else [n for n in readers if task_of(n) == key]
                     if to_task else list(readers))
        picked = [n for n in addressed if readers.get(n)
                  and option_for(values, n) == (rest if to_name or to_task else value)]
        if picked:
            continue
        if to_name and key not in readers:
            why = f"experiment {key!r} is not being run ({running})"
        elif to_task and not addressed:
            why = f"no experiment of task {key!r} is being run ({running})"
        elif not any(readers.get(n) for n in addressed):
            why = (f"experiment {key!r} takes no {flag}" if to_name else
                   f"no experiment {f'of task {key!r} ' if to_task else ''}being run takes "
                   f"{flag} ({', '.join(addressed)})")
        else:
            why = (f"overridden by a more specific or later {flag} for every experiment it "
                   f"addresses ({', '.join(n for n in addressed if readers[n])})")
        problems.append(f"{flag} {value}: {why}")
    return problems


def _settings_of(parser: argparse.ArgumentParser, names: list[str], profile: str,
                 every: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings of the experiments ``names`` for ``profile``, and why each of those
    that do not offer it is left out (``all``); naming one of those is a usage error."""
    settings, why = {}, {}
    for name in names:
        try:
            settings[name] = EXPERIMENTS[name].settings(profile)
        except ValueError as err:  # the reason the profile is not offered
            why[name] = str(err)
    if why and not every:
        parser.error("; ".join(f"experiment {n!r} does not offer --profile {profile}: {w}"
                               for n, w in why.items()))
    if not settings:
        parser.error(f"no experiment offers --profile {profile}")
    return settings, why


def _check_path_options(parser: argparse.ArgumentParser, args: argparse.Namespace,
                        settings: Mapping[str, Any]) -> None:
    """A usage error for ``--data-root``/``--weights`` values that no experiment being
    run reads (:func:`option_problems`; the ``ci``/``lite`` profiles read none)."""
    problems = []
    for flag, field_name in _PATH_OPTIONS:
        values = getattr(args, field_name)
        if values and args.profile != "full":
            problems.append(f"{flag} is read by --profile full only (ci and lite run on "
                            f"generated stand-ins); got {flag} {' '.join(values)} with "
                            f"--profile {args.profile}")
        else:
            readers = {n: _reads(s, field_name) for n, s in settings.items()}
            problems += option_problems(flag, values, readers)
    if problems:
        parser.error("; ".join(problems))


def _check_out(parser: argparse.ArgumentParser, out: Path) -> Path:
    """``out``, created if missing; a file, or a folder that cannot be written, is a
    usage error naming it."""
    if out.exists() and not out.is_dir():
        parser.error(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        parser.error(f"--out {out}: cannot create or write this folder "
                     f"({err.strerror or err})")
    return out


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
    ap.add_argument("--set", action="append", metavar="[NAME.]FIELD=VALUE",
                    help="change one settings field (e.g. gesture's train_list=FILE with "
                         "--profile full); see prernn_lite.experiments.overrides")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default results/)")
    ap.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--jobs", type=int, default=1,
                    help="run independent chains of experiments in this many processes")
    args = ap.parse_args(argv)
    every = args.names == ["all"]
    names = list(EXPERIMENTS) if every else args.names
    if bad := [n for n in names if n not in EXPERIMENTS]:
        _fail(ap, "experiment", bad, list(EXPERIMENTS) + ["all"])
    if args.profile not in PROFILES:
        _fail(ap, "profile", [args.profile], PROFILES)
    settings, left_out = _settings_of(ap, names, args.profile, every)
    names = sorted(settings, key=lambda n: n in AFTER_CHAINS)  # those last, order kept
    if args.cells and (bad := [c for c in args.cells if c not in CELLS]):
        _fail(ap, "cell", bad, CELLS)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    _check_path_options(ap, args, settings)
    set_by, problems = set_changes(args.set, settings)
    if problems:
        ap.error("; ".join(problems))
    out = _check_out(ap, args.out or results_dir())
    for name, reason in left_out.items():
        print(f"all --profile {args.profile}: leaving out {name} ({reason})", flush=True)
    if args.jobs > 1 and len(chains_of(names)) > 1:
        if not args.resume:
            ap.error("--no-resume with --jobs: the chains share result files; give a fresh "
                     "--out folder instead")
        if args.tasks:
            ap.error("--tasks with --jobs: each chain pre-trains its own tasks")
        start = time.perf_counter()
        run_parallel(names, _child_argv(args, out), args.jobs, args.profile,
                     _child_options(args, settings))
        after = [n for n in names if n in AFTER_CHAINS]
        _run_serial(after, settings, args, set_by, out)
        seconds = time.perf_counter() - start
        if every or set(names) == set(EXPERIMENTS):
            append_timing(out, "all", args.profile, seconds)
        print(f"\nwall time of {len(names)} experiments in {args.jobs} jobs: {seconds:.1f} s")
        return 0
    _run_serial(names, settings, args, set_by, out)
    return 0


def _run_serial(names: list[str], settings: Mapping[str, Any], args: argparse.Namespace,
                set_by: Mapping[str, dict], out: Path) -> None:
    """Run ``names`` one after the other in this process, with this invocation's options,
    and print the wall time of each."""
    if not names:
        return
    timings, context = [], RunContext()  # shared by this invocation's experiments
    for name in names:
        exp, s = EXPERIMENTS[name], settings[name]
        fields = {f.name for f in dataclasses.fields(s)}
        changes = {}
        if args.cells and "cells" in fields:
            changes["cells"] = tuple(args.cells)
        if args.tasks and "tasks" in fields:
            # a task alone means all its streams, in its chain's order (flow after RGB)
            streams = {tasks[0].split("/")[0]: tasks for tasks, _ in CHAINS}
            changes["tasks"] = tuple(
                p for t in args.tasks for p in ((t,) if "/" in t else streams.get(t, (t,))))
        for _, field_name in _PATH_OPTIONS:
            if (value := option_for(getattr(args, field_name), name)) and field_name in fields:
                changes[field_name] = value
        s = dataclasses.replace(s, **changes, **set_by.get(name, {}))
        seeds = tuple(args.seeds) if args.seeds else s.seeds
        print(f"== {name} --profile {args.profile} seeds={list(seeds)}", flush=True)
        start = time.perf_counter()
        exp.run(s, seeds, out, args.resume, context=context)
        seconds = time.perf_counter() - start
        append_timing(out, name, args.profile, seconds)
        timings.append((name, seconds))
    print("\nwall time per experiment:")
    for name, seconds in timings:
        print(f"  {name:<12} {args.profile:<5} {seconds:8.1f} s")


if __name__ == "__main__":
    sys.exit(main())
