"""Probe the difficulty of a lite stand-in: how much headroom a setting of its knobs leaves.

Run ``python benchmarks/standins.py --task gestures|actions [--set key=value ...]``. The
``--set`` keys are fields of ``data.profiles.GestureProfile`` / ``ActionProfile`` (a range
is ``lo,hi``). For that candidate the probe

1. pre-trains the task's lite backbone(s) exactly as ``experiments.pretrain.pretrain`` does
   (same function, Adam 1e-3, the profile's frames/clips), on the candidate's data, into a
   temporary folder: ``data_samples/weights/`` is never written;
2. caches the trunk features of the candidate's lite train/test sequences
   (``features.cache_features``) and trains a few representative arms with the
   experiments' own code: gestures ``gru/prernn``, ``gru/traditional`` and ``clip``
   (``gestures.fit_arm``, the lite ``GestureSettings``); actions ``lstm/prernn_pretrained``,
   ``lstm/traditional`` and ``frame`` (``runner.run_arm`` with Table 3's lite recipes, each
   stream, then ``metrics.late_fusion``);
3. prints a table of test accuracies (mean over ``--seeds``) and the task's untrained
   references (gestures: ``gestures.order_references``, chance, one_clip, bag; actions:
   ``actions.action_references``, chance, frames, reversal); ``--csv`` appends the rows to
   a file.

``--pretrain-epochs`` (default: pre-training's 15) and ``--epochs`` (gestures: the epoch cap,
default 40; actions: ``epoch_scale``, default 0.2, i.e. 18/20 epochs) shrink the budget so
that a probe takes a few minutes; compare a candidate only with the defaults probed at the
same budget (``python benchmarks/standins.py --task actions`` with no ``--set``).
Not a test: the numbers are what one seed of one budget gives.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from prernn_lite.backbones import load_state_dict_file
from prernn_lite.data.actions import ActionVideos
from prernn_lite.data.gestures import GestureSequences
from prernn_lite.data.metrics import accuracy, late_fusion
from prernn_lite.data.profiles import get_profile, overridden_profile
from prernn_lite.experiments.actions import (
    STREAMS,
    Table3Settings,
    action_references,
    evaluate_videos,
    per_step_loss,
    table3_arms,
    video_scores,
)
from prernn_lite.experiments.actions.common import INPUT
from prernn_lite.experiments.arms import matched_sizes
from prernn_lite.experiments.features import cache_features
from prernn_lite.experiments.gestures import (
    GestureSettings,
    fit_arm,
    gesture_arms,
    order_references,
)
from prernn_lite.experiments.pretrain import LITE_BACKBONES, PretrainSettings, pretrain
from prernn_lite.experiments.runner import run_arm

#: the arms each probe trains (names as the experiments give them)
GESTURE_ARMS = ("gru/prernn", "gru/traditional", "clip")
ACTION_ARMS = ("lstm/prernn_pretrained", "lstm/traditional", "frame")
#: (stream, input) pre-trained for each task, in order (the flow net starts from the RGB one)
BACKBONES = {"gestures": (("rgb", "rgb"),), "actions": (("rgb", "rgb"), ("flow", "flow"))}


def parse_sets(task: str, pairs: list[str]) -> dict:
    """``["key=value", ...]`` -> profile changes, each value of its field's type.

    >>> parse_sets("gestures", ["stroke_px=1,3", "p_drop_clip=0.2", "cache=false"])
    {'stroke_px': (1.0, 3.0), 'p_drop_clip': 0.2, 'cache': False}
    """
    prof = get_profile(task, "lite")
    fields = {f.name: getattr(prof, f.name) for f in dataclasses.fields(prof)}
    changes = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"--set {pair!r}: expected key=value with key one of "
                             f"{', '.join(fields)}")
        default = fields[key]
        if isinstance(default, tuple):
            value = tuple(type(d)(v) for d, v in zip(default, text.split(","), strict=True))
        elif isinstance(default, bool):
            value = text.lower() in ("1", "true", "yes")
        else:
            value = type(default)(text)
        changes[key] = value
    return changes


def pretrained(task: str, epochs: int, folder: Path) -> dict[str, torch.nn.Module]:
    """Pre-train the task's lite backbone(s) on the profile now registered as ``lite``
    (``experiments.pretrain.pretrain`` into ``folder``); stream -> backbone (eval mode)."""
    settings = dataclasses.replace(PretrainSettings.for_profile("lite"), epochs=epochs)
    nets = {}
    for stream, _ in BACKBONES[task]:
        path = folder / f"{task}_{stream}.pt"
        row = pretrain(task, stream, settings, path)
        print(f"  pretrain {task}/{stream}: accuracy {row['accuracy']:.3f} "
              f"({row['seconds']:.0f} s)", flush=True)
        net = LITE_BACKBONES[(task, stream)]()
        net.load_state_dict(load_state_dict_file(path), strict=True)
        nets[stream] = net.eval()
    return nets


def probe_gestures(net: torch.nn.Module, seeds, max_epochs: int) -> list[dict]:
    """Accuracy of :data:`GESTURE_ARMS` per seed, then the order references."""
    s = dataclasses.replace(GestureSettings.for_profile("lite"), cells=("gru",),
                            max_epochs=max_epochs)
    data = {"backbone": net, **{split: cache_features(net, GestureSequences(split, "lite"),
                                                      "clips")
                                for split in ("train", "test")}}
    data["train_sets"] = {0: data["train"]}  # other seeds draw their own (train_set)
    sizes = matched_sizes(s.cells, net)
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    rows = []
    for arm in gesture_arms(s.cells, hidden, s.other_init):
        for seed in seeds:
            metrics, _, _ = fit_arm(arm, seed, data, s)
            rows.append({"arm": arm.name, "seed": seed, "accuracy": metrics["accuracy"],
                         "epochs": metrics["epochs"]})
            print(f"  {arm.name:<18} seed {seed}: {metrics['accuracy']:.3f}", flush=True)
    for r in order_references(data["test"].y).itertuples():
        rows.append({"arm": f"ref:{r.reference}", "seed": None, "accuracy": r.accuracy})
    return rows


def probe_actions(nets: dict[str, torch.nn.Module], seeds, epoch_scale: float) -> list[dict]:
    """Spatial, temporal and fused accuracy of :data:`ACTION_ARMS` per seed."""
    s = dataclasses.replace(Table3Settings.for_profile("lite"), cells=("lstm",),
                            epoch_scale=epoch_scale)
    videos = {split: ActionVideos(split, "lite") for split in ("train", "test")}
    streams = {stream: {split: cache_features(nets[INPUT[stream]], ds, INPUT[stream])
                        for split, ds in videos.items()} for stream in STREAMS}
    sizes = matched_sizes(s.cells, nets["rgb"], layers=s.layers)
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    arms = [a for a in table3_arms(s.cells, hidden, s.other_init, True, s.layers)
            if a.name in ACTION_ARMS]
    rows = []
    for arm in arms:
        for seed in seeds:
            row, scores = {"arm": arm.name, "seed": seed}, {}
            for stream, data in streams.items():
                model, metrics, _ = run_arm(arm, nets[INPUT[stream]], data["train"],
                                            data["test"], s.recipe(stream), seed,
                                            per_step_loss, evaluate_videos,
                                            batch_size=s.batch_size)
                scores[stream] = video_scores(model, data["test"])
                row[stream] = metrics["accuracy"]
            fused = late_fusion(scores["spatial"], scores["temporal"], weights=s.fusion_weights)
            row["fused"] = accuracy(fused, streams["spatial"]["test"].y)
            row["accuracy"] = row["fused"]
            rows.append(row)
            print(f"  {arm.name:<24} seed {seed}: spatial {row['spatial']:.3f} temporal "
                  f"{row['temporal']:.3f} fused {row['fused']:.3f}", flush=True)
    for r in action_references(videos["test"], nets).itertuples():
        rows.append({"arm": f"ref:{r.reference}", "seed": None, "accuracy": r.accuracy,
                     "fused": r.accuracy})
    return rows


def main(argv=None) -> pd.DataFrame:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("gestures", "actions"), required=True)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="a profile field of the candidate (repeat; a range is lo,hi)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--pretrain-epochs", type=int, default=PretrainSettings().epochs)
    p.add_argument("--epochs", type=float, default=None,
                   help="gestures: epoch cap (default 40); actions: epoch_scale (default 0.2)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--csv", type=Path, default=None, help="append the rows to this CSV")
    p.add_argument("--label", default=None, help="the candidate's name in the CSV")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = parse_sets(args.task, args.sets)
    label = args.label or (" ".join(args.sets) or "defaults")
    start = time.perf_counter()
    print(f"{args.task} lite, candidate: {label}", flush=True)
    with overridden_profile(args.task, "lite", **changes), \
            tempfile.TemporaryDirectory(prefix="standins-") as tmp:
        nets = pretrained(args.task, args.pretrain_epochs, Path(tmp))
        if args.task == "gestures":
            epochs = int(args.epochs) if args.epochs else GestureSettings().max_epochs
            rows = probe_gestures(nets["rgb"], args.seeds, epochs)
        else:
            scale = args.epochs if args.epochs else Table3Settings().epoch_scale
            rows = probe_actions(nets, args.seeds, scale)
    runs = pd.DataFrame(rows)
    cols = ["accuracy"] if args.task == "gestures" else ["spatial", "temporal", "fused"]
    table = runs.groupby("arm", sort=False)[cols].mean()
    print(f"\n{args.task}: {label} (pretrain {args.pretrain_epochs} epochs, seeds "
          f"{args.seeds}, {time.perf_counter() - start:.0f} s)")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.csv is not None:
        table = table.reset_index().assign(task=args.task, candidate=label,
                                           pretrain_epochs=args.pretrain_epochs,
                                           epochs=args.epochs, seeds=len(args.seeds))
        table.to_csv(args.csv, mode="a", header=not args.csv.is_file(), index=False)
    return table


if __name__ == "__main__":
    main()
