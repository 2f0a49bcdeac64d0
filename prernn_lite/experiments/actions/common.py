"""What Table 3 (two-stream actions) shares, whatever the data: settings, arms, scores, the loop.

The paper's Table 3 (UCF101 split 1) trains every recurrent model twice, a *spatial*
stream on RGB frames and a *temporal* stream on stacks of 10 optical-flow fields (20
channels), and fuses the two streams' class scores. Each cell (VRNN, LSTM, GRU) is
compared in the paper's five columns (:data:`COLUMNS`):

- PreRNN (fc6+fc7 made recurrent) with pre-trained or random ``W_xy``;
- PreRNN-SIH with pre-trained or random ``W_xy`` (LSTM and GRU only: the cells refuse
  SIH for a vanilla RNN, Table 3 leaves it blank);
- a traditional 2-layer RNN on fc7 with the parameter-matched hidden size
  (``arms.matched_sizes``: as many weights as the gate-dependent PreRNN adds);

plus the frame-level network (no recurrence) as a reference. A video's score is the
per-time-step logits averaged over time (every step is trained with the video's
label); the streams are fused by :func:`~prernn_lite.data.metrics.late_fusion` of the
two softmaxes with the weights of :class:`Table3Settings` (default: equal). Training
follows the paper's ``action_spatial`` / ``action_temporal`` recipes (SGD, lr 3e-4 /
1e-2, /2 every 10 epochs, 90 / 100 epochs) with the time axis ``scaled`` by
``epoch_scale``.

The streams' data and backbones come from a :class:`StreamSetup`: the stand-in
(``lite.py``: both streams ``LiteCNN2d`` pre-trained on single times, trunk features
cached, learning rates chosen by ``table3_lr``) or UCF101 with ImageNet backbones
(``full.py``), chosen once per run by ``experiment.py``; :func:`run_table3_arms` trains
every arm x seed on it, fuses the streams and writes the CSVs.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ...data.metrics import accuracy, late_fusion
from ...paper import paper_tables
from ...train import Recipe, get_recipe, scaled
from ..arms import CELLS, Arm, matched_sizes
from ..results import result_path, summarize, write_results, write_table
from ..runner import run_arms
from ..settings import ProfileSettings, check_choice, cuda_amp

#: Table 3's columns, in the paper's order (``paper_tables()`` names them the same way).
COLUMNS = ("prernn_pretrained", "prernn_random", "sih_pretrained", "sih_random", "traditional")
STREAMS = ("spatial", "temporal")
#: each stream's input in a sample
INPUT = {"spatial": "rgb", "temporal": "flow"}
RECIPE = {"spatial": "action_spatial", "temporal": "action_temporal"}
#: backbones of the full profile (``full.py``), and the layers each one's PreRNN transforms
FULL_BACKBONES = ("resnet50", "vgg16")
LAYERS = {"lite": ("fc6", "fc7"), "vgg16": ("fc6", "fc7"), "resnet50": ("conv",)}


@dataclass(frozen=True)
class Table3Settings(ProfileSettings):
    """Settings of ``table3``; :meth:`for_profile` gives each profile's defaults:
    ``ci``: 1 seed, 3 epochs per stream; ``lite``: 5 seeds, each on its own training
    draw (``seed_draws_data``), 18 / 20 epochs; ``full``:
    UCF101 split 1, ResNet50 (ImageNet), 3 seeds, the paper's 90 / 100 epochs and lrs
    3e-4 / 1e-2, T = 3 segments of 224 px, batch 16, 8 workers, bf16 on CUDA, augmented
    training videos, checkpoints (``full.py``).

    ``epoch_scale`` multiplies the paper's epochs and decay steps (``train.scaled``);
    ``spatial_lr``/``temporal_lr`` are used by every arm, chosen by ``table3_lr`` on the
    frame model (paper: 3e-4 and 1e-2); ``lr_extend``: how many rates ``table3_lr`` may
    add beyond an edge of its grid while a stream's choice sits at that edge;
    ``other_init`` is how the Pre cells' other gates start (see below); ``n_train`` /
    ``n_test`` override the data profile's number of videos.
    ``seed_draws_data`` (``ci``/``lite`` only): seed ``s`` trains on the stand-in's
    training videos drawn with seed ``s`` (:meth:`train_draw`), so the spread over seeds
    is that of new data *and* new initialisations; every seed is tested on the one test
    set, so the arms of a seed share its data (paired differences). ``False``: every seed
    trains on seed 0's videos (the spread is training noise only). UCF101 (``full``) has
    one training split: ``True`` is refused there.

    ``threads``: torch threads while the experiment runs (``registry.num_threads``): 1 in
    ``ci``/``lite``, so that the committed CSVs reproduce on any machine (another thread
    count sums floats in another order); ``None`` (torch's default) in ``full``.

    ``other_init="zeros"`` (other gates' input weights 0, gates biased so that every Pre
    cell, SIH included, starts as the pre-trained layer) is a choice made a priori from
    the face-task probe in FACTS.md, not from this task: the supplementary's copies of
    ``W_xy`` ("copy") made the PreLSTM start far from the pre-trained layer there, and an
    unbiased SIH never recovered. Set ``other_init="copy"`` for the paper's start.

    Full profile only (``ci``/``lite`` keep ``"lite"`` and refuse the others):
    ``backbone`` ``"resnet50"`` | ``"vgg16"`` (its layers: :attr:`layers`); ``weights``
    ``"imagenet"`` (torchvision's ``IMAGENET1K_V1``, downloaded by torchvision) |
    ``"random"`` | the path of a local state_dict with torchvision's keys; ``data_root``
    the UCF101 root; ``split`` 1-3; ``num_segments`` T; ``image_size`` px; ``num_classes``
    of the new head; ``num_workers`` loader processes; ``amp`` the recipes' ``amp`` when
    CUDA is available; ``augment`` one random scale/crop/flip per training video;
    ``checkpoint`` keep ``last.pt`` per arm/stream/seed until its row is written.
    """

    PROFILE_CHANGES = {
        "ci": {"seeds": (0,), "epoch_scale": 0.03},
        "lite": {"seeds": (0, 1, 2, 3, 4), "seed_draws_data": True},
        "full": {"seeds": (0, 1, 2), "epoch_scale": 1.0, "spatial_lr": 3e-4,
                 "temporal_lr": 1e-2, "batch_size": 16, "backbone": "resnet50",
                 "weights": "imagenet", "split": 1, "num_segments": 3, "image_size": 224,
                 "num_classes": 101, "num_workers": 8, "amp": "bf16", "augment": True,
                 "checkpoint": True, "threads": None},
    }

    cells: tuple[str, ...] = CELLS
    seeds: tuple[int, ...] = (0, 1, 2)
    seed_draws_data: bool = False
    epoch_scale: float = 0.2
    spatial_lr: float = 3e-2  # table3_lr on lite (results/table3_lite_lr.csv); paper 3e-4
    temporal_lr: float = 1e-3  # table3_lr on lite; the paper's is 1e-2
    lr_extend: int = 2
    batch_size: int = 16
    fusion_weights: tuple[float, float] = (1.0, 1.0)
    other_init: str = "zeros"
    frame_reference: bool = True
    n_train: int | None = None
    n_test: int | None = None
    backbone: str = "lite"
    weights: str = "lite"
    data_root: str | None = None
    split: int = 1
    num_segments: int = 3
    image_size: int = 224
    num_classes: int = 101
    num_workers: int = 0
    amp: bool | str = False
    augment: bool = False
    checkpoint: bool = False
    threads: int | None = 1

    def __post_init__(self) -> None:
        if self.seed_draws_data and self.full:
            raise ValueError("Table3Settings.seed_draws_data: --profile full trains on "
                             "UCF101's one training split, there is no training set to "
                             "redraw per seed; leave it false")

    def train_draw(self, seed: int) -> int:
        """The stand-in draw the training videos of run seed ``seed`` come from.

        >>> Table3Settings().train_draw(3), Table3Settings(seed_draws_data=True).train_draw(3)
        (0, 3)
        """
        return seed if self.seed_draws_data else 0

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers PreRNN transforms: fc6+fc7 (lite, VGG16) or ResNet50's ``conv``."""
        check_choice("backbone", self.backbone, ("lite", *FULL_BACKBONES))
        return LAYERS[self.backbone]

    def recipe(self, stream: str) -> Recipe:
        """The paper's recipe of ``stream``, time axis scaled by ``epoch_scale``
        (with ``amp`` when CUDA is available: ``settings.cuda_amp``)."""
        check_choice("stream", stream, STREAMS)
        lr = self.spatial_lr if stream == "spatial" else self.temporal_lr
        return scaled(get_recipe(RECIPE[stream], base_lr=lr), self.epoch_scale).replace(
            amp=cuda_amp(self.amp))


def per_step_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """Cross-entropy of every time step's logits against the video's label."""
    out = model(batch["x"])                                               # (N, T, C)
    return F.cross_entropy(out.flatten(0, 1), batch["y"].repeat_interleave(out.shape[1]))


def evaluate_videos(model: nn.Module, loader) -> dict[str, float]:
    """Video accuracy (time-averaged logits) over ``loader``."""
    scores, labels = [], []
    for batch in loader:
        scores.append(model(batch["x"]).mean(1))
        labels.append(batch["y"])
    return {"accuracy": accuracy(torch.cat(scores), torch.cat(labels))}


def table3_arms(cells, hidden: dict[str, int], other_init: str = "zeros",
                frame_reference: bool = True, layers=("fc6", "fc7")) -> list[Arm]:
    """The arms of Table 3, named ``"<cell>/<column>"`` (and ``"frame"``)."""
    arms = []
    for cell in cells:
        check_choice("cell", cell, CELLS)
        for column in COLUMNS:
            if column == "traditional":
                arms.append(Arm(f"{cell}/{column}", "traditional", cell,
                                hidden_size=hidden[cell]))
                continue
            mode, init = column.split("_")
            if cell == "vrnn" and mode == "sih":
                continue
            arms.append(Arm(f"{cell}/{column}", "prernn", cell,
                            mode="gate" if mode == "prernn" else "sih", init=init,
                            other_init=other_init, layers=tuple(layers)))
    return arms + ([Arm("frame", "frame")] if frame_reference else [])


class StreamSetup(NamedTuple):
    """What :func:`run_table3_arms` takes from a profile (``lite.lite_setup``,
    ``full.full_setup``)."""

    streams: dict[str, dict]  # stream -> {"train", "test"} (lite: and its "backbone")
    reference: nn.Module  # whose layer shapes ``matched_sizes`` counts
    backbones: Callable[[int], dict[str, nn.Module]]  # seed -> each stream's backbone
    run: Callable[..., tuple[dict[str, float], torch.Tensor, torch.Tensor]]  # one stream
    references: pd.DataFrame | None = None  # lite: ``references.action_references``


def paper_side_by_side(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3 next to our fused accuracies (one row per cell and column)."""
    table = paper_tables()["table3_ucf101_split1_two_stream_accuracy"]
    ours = summary.set_index("arm")
    rows = []
    for cell in CELLS:
        for column, paper in zip(table["columns"], table[cell], strict=True):
            arm = f"{cell}/{column}"
            row = {"cell": cell, "column": column, "arm": arm, "paper_accuracy": paper}
            for m in ("fused", "spatial", "temporal"):
                for stat in ("mean", "std"):
                    key = f"{m}_accuracy_{stat}"
                    row[key] = ours.at[arm, key] if arm in ours.index else float("nan")
            row["n"] = ours.at[arm, "n"] if arm in ours.index else 0
            rows.append(row)
    return pd.DataFrame(rows)


def run_table3_arms(s: Table3Settings, setup: StreamSetup, seeds, out_dir: Path,
                    resume: bool) -> pd.DataFrame:
    """Every arm x seed not yet done (``runner.run_arms``), both streams and their late
    fusion; writes the sizes, runs, summary and paper CSVs."""
    sizes = matched_sizes(s.cells, setup.reference, layers=s.layers)
    write_table(sizes, out_dir, "table3", s.profile, "sizes")
    if setup.references is not None:
        write_table(setup.references, out_dir, "table3", s.profile, "references")
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    runs_path = result_path(out_dir, "table3", s.profile, "runs")
    nets: dict[int, dict[str, nn.Module]] = {}  # backbones per seed (full: new heads)

    def checkpoint(arm: Arm, seed: int) -> Path | None:
        return (Path(out_dir) / "checkpoints" / f"table3_{s.profile}" /
                arm.name.replace("/", "-") / f"seed{seed}") if s.checkpoint else None

    def run_one(arm: Arm, seed: int) -> list[dict]:
        row = {**arm.describe(), "column": arm.name.split("/")[-1], "seed": seed,
               **({"backbone": s.backbone} if s.full else {}),
               **({"train_data": "drawn with the seed"} if s.seed_draws_data else {})}
        if seed not in nets:
            nets[seed] = setup.backbones(seed)
        scores, labels, start = {}, {}, time.perf_counter()
        for stream, data in setup.streams.items():
            data = {**data, "backbone": nets[seed][stream]}
            metrics, scores[stream], labels[stream] = setup.run(
                s, arm, stream, data, seed, checkpoint(arm, seed), resume)
            row[f"{stream}_accuracy"] = metrics["accuracy"]
            row[f"{stream}_epochs"] = metrics["epochs"]
            row[f"{stream}_lr"] = s.recipe(stream).base_lr
        fused = late_fusion(scores["spatial"], scores["temporal"], weights=s.fusion_weights)
        if not torch.equal(labels["spatial"], labels["temporal"]):
            raise RuntimeError("the streams' test videos differ in order or labels")
        row["fused_accuracy"] = accuracy(fused, labels["spatial"])
        row["seconds"] = time.perf_counter() - start
        print(f"  {arm.name:<24} seed {seed}: spatial {row['spatial_accuracy']:.3f} "
              f"temporal {row['temporal_accuracy']:.3f} fused {row['fused_accuracy']:.3f}",
              flush=True)
        return [row]

    def written(arm: Arm, seed: int) -> None:  # the row is the record: drop the checkpoint
        if (ckpt := checkpoint(arm, seed)) is not None:
            shutil.rmtree(ckpt, ignore_errors=True)

    arms = table3_arms(s.cells, hidden, s.other_init, s.frame_reference, s.layers)
    runs = run_arms(arms, seeds, runs_path, resume, run_one, written=written)
    write_results(runs, "table3", s.profile, out_dir, paper=paper_side_by_side(summarize(runs)))
    return runs
