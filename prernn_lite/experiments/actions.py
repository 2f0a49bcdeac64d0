"""Table 3, two-stream actions: PreRNN against traditional RNNs (stand-in, or UCF101).

The paper's Table 3 (UCF101 split 1) trains every recurrent model twice, a *spatial*
stream on RGB frames and a *temporal* stream on stacks of 10 optical-flow fields (20
channels), and fuses the two streams' class scores. Here both streams are ``LiteCNN2d``
pre-trained on single times of the stand-in (``ActionFrames``; ``pretrain`` builds the
flow net by cross-modality initialisation from the RGB net), and each cell (VRNN, LSTM,
GRU) is compared in the paper's five columns (:data:`COLUMNS`):

- PreRNN (fc6+fc7 made recurrent) with pre-trained or random ``W_xy``;
- PreRNN-SIH with pre-trained or random ``W_xy`` (LSTM and GRU only: the cells refuse
  SIH for a vanilla RNN, Table 3 leaves it blank);
- a traditional 2-layer RNN on fc7 with the parameter-matched hidden size
  (``common.matched_size``: as many weights as the gate-dependent PreRNN adds);

plus the frame-level network (no recurrence) as a reference. A video's score is the
per-time-step logits averaged over time (every step is trained with the video's
label); the streams are fused by :func:`~prernn_lite.data.metrics.late_fusion` of the
two softmaxes with the weights of :class:`Table3Settings` (default: equal). Training
follows the paper's ``action_spatial`` / ``action_temporal`` recipes (SGD, lr 3e-4 /
1e-2, /2 every 10 epochs, 90 / 100 epochs) with the time axis ``scaled`` by
``epoch_scale``. The learning rates are shared by every arm and chosen on the frame
model only (``table3_lr``, :func:`choose_lr`: new validation videos, ties to the paper's
rate; ``results/table3_lite_lr.csv``): spatial 1e-2 (the paper's 3e-4 was 2 validation
videos behind), temporal the paper's 1e-2 (every rate tied); ``ci`` uses the same. The
trunk is frozen and its features are cached (``common``), so there is no augmentation.

**Full profile** (``--profile full --data-root ROOT``: UCF101 split 1 on a GPU): the
same settings, arms, matched sizes and fusion, with an ImageNet ResNet50 (or VGG16)
fine-tuned end to end on decoded videos; :mod:`~prernn_lite.experiments.actions_full`
holds that path and documents every choice the paper leaves open (``run_table3``
hands it over). ``table3_lr`` refuses ``full``: it uses the paper's rates.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import dissect
from ..data.actions import ActionVideos
from ..data.metrics import accuracy, late_fusion
from ..data.profiles import make_profile
from ..params import pre_layer_added_params, rnn_params
from ..train import Recipe, get_recipe, scaled
from .common import (
    CELLS,
    Arm,
    append_row,
    check_choice,
    done_runs,
    matched_size,
    pretrained_backbone,
    read_results_csv,
    register,
    result_path,
    run_arm,
    summarize,
    trunk_features,
    write_results,
)

#: Table 3's columns, in the paper's order (``paper_tables()`` names them the same way).
COLUMNS = ("prernn_pretrained", "prernn_random", "sih_pretrained", "sih_random", "traditional")
STREAMS = ("spatial", "temporal")
_INPUT = {"spatial": "rgb", "temporal": "flow"}
_RECIPE = {"spatial": "action_spatial", "temporal": "action_temporal"}
#: learning rates tried by :func:`choose_lr` (on the frame model only)
LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
#: backbones of the full profile (``actions_full``), and the layers each one's PreRNN transforms
FULL_BACKBONES = ("resnet50", "vgg16")
LAYERS = {"lite": ("fc6", "fc7"), "vgg16": ("fc6", "fc7"), "resnet50": ("conv",)}


@dataclass(frozen=True)
class Table3Settings:
    """Settings of ``table3``; :meth:`for_profile` gives each profile's defaults.

    ``epoch_scale`` multiplies the paper's epochs and decay steps (``train.scaled``);
    ``spatial_lr``/``temporal_lr`` are used by every arm, chosen by ``table3_lr`` on the
    frame model (paper: 3e-4 and 1e-2);
    ``other_init`` is how the Pre cells' other gates start (see below); ``n_train`` /
    ``n_test`` override the data profile's number of videos.

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

    profile: str = "lite"
    cells: tuple[str, ...] = CELLS
    seeds: tuple[int, ...] = (0, 1, 2)
    epoch_scale: float = 0.2
    spatial_lr: float = 1e-2  # table3_lr on lite; the paper's is 3e-4
    temporal_lr: float = 1e-2
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

    @classmethod
    def for_profile(cls, profile: str) -> Table3Settings:
        """``ci``: 1 seed, 3 epochs per stream; ``lite``: 3 seeds, 18 / 20 epochs;
        ``full``: UCF101 split 1, ResNet50 (ImageNet), 3 seeds, the paper's 90 / 100
        epochs and lrs 3e-4 / 1e-2, T = 3 segments of 224 px, batch 16, 8 workers, bf16
        on CUDA, augmented training videos, checkpoints (``actions_full``)."""
        check_choice("profile", profile, ("ci", "lite", "full"))
        if profile == "full":
            return cls(profile="full", seeds=(0, 1, 2), epoch_scale=1.0, spatial_lr=3e-4,
                       temporal_lr=1e-2, batch_size=16, backbone="resnet50",
                       weights="imagenet", split=1, num_segments=3, image_size=224,
                       num_classes=101, num_workers=8, amp="bf16", augment=True,
                       checkpoint=True)
        return cls(profile="ci", seeds=(0,), epoch_scale=0.03) if profile == "ci" else cls()

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers PreRNN transforms: fc6+fc7 (lite, VGG16) or ResNet50's ``conv``."""
        check_choice("backbone", self.backbone, ("lite", *FULL_BACKBONES))
        return LAYERS[self.backbone]

    def recipe(self, stream: str) -> Recipe:
        """The paper's recipe of ``stream``, time axis scaled by ``epoch_scale``
        (with ``amp`` when CUDA is available)."""
        check_choice("stream", stream, STREAMS)
        lr = self.spatial_lr if stream == "spatial" else self.temporal_lr
        recipe = scaled(get_recipe(_RECIPE[stream], base_lr=lr), self.epoch_scale)
        return recipe.replace(amp=self.amp) if self.amp and torch.cuda.is_available() \
            else recipe


class FeatureSet(torch.utils.data.Dataset):
    """Cached trunk features ``x`` (N, T, F) and labels ``y`` (N,) as dict samples."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.dim() != 3 or y.shape != x.shape[:1]:
            raise ValueError(f"expected features (N, T, F) and labels (N,), got "
                             f"{tuple(x.shape)} and {tuple(y.shape)}")
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


def cache_features(backbone: nn.Module, dataset, key: str, chunk: int = 32) -> FeatureSet:
    """Trunk features of every item's ``key`` input (chunks of ``chunk`` items)."""
    xs, ys = [], []
    for start in range(0, len(dataset), chunk):
        items = [dataset[i] for i in range(start, min(start + chunk, len(dataset)))]
        xs.append(trunk_features(backbone, torch.stack([d[key] for d in items])))
        ys.append(torch.stack([d["label"] for d in items]))
    return FeatureSet(torch.cat(xs), torch.cat(ys))


def per_step_loss(model: nn.Module, batch: dict) -> torch.Tensor:
    """Cross-entropy of every time step's logits against the video's label."""
    out = model(batch["x"])                                               # (N, T, C)
    return F.cross_entropy(out.flatten(0, 1), batch["y"].repeat_interleave(out.shape[1]))


@torch.no_grad()
def video_scores(model: nn.Module, data: FeatureSet, batch_size: int = 256) -> torch.Tensor:
    """Per-time-step logits averaged over time: ``(N, C)``."""
    model.eval()
    return torch.cat([model(data.x[i:i + batch_size]).mean(1)
                      for i in range(0, len(data), batch_size)])


def evaluate_videos(model: nn.Module, loader) -> dict[str, float]:
    """Video accuracy (time-averaged logits) over ``loader``."""
    scores, labels = [], []
    for batch in loader:
        scores.append(model(batch["x"]).mean(1))
        labels.append(batch["y"])
    return {"accuracy": accuracy(torch.cat(scores), torch.cat(labels))}


def layer_shapes(backbone: nn.Module, layers=("fc6", "fc7")) -> list[tuple[int, int]]:
    """``(in, out)`` of the layers PreRNN transforms: a Linear's features, a 1x1 Conv2d's
    channels (ResNet50's conv3, 512 -> 2048: its PreConv cell's hidden conv is 1x1 too,
    so it adds what a Linear of that shape would)."""
    parts, shapes = dissect(backbone), []
    for name in layers:
        check_choice(f"{parts.name} layer", name, list(parts.layers))
        m = parts.layers[name].module
        if isinstance(m, nn.Linear):
            shapes.append((m.in_features, m.out_features))
        elif isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1):
            shapes.append((m.in_channels, m.out_channels))
        else:
            raise ValueError(f"{parts.name}'s {name} is {type(m).__name__}: only Linear "
                             "layers and 1x1 convs can be counted")
    return shapes


def matched_sizes(cells, backbone: nn.Module, mode: str = "gate", layers=("fc6", "fc7")
                  ) -> pd.DataFrame:
    """Per cell: PreRNN's added weights, the matched traditional size, its weights.

    The traditional 2-layer RNN reads the head's input (fc7; ResNet50's pooled feature).
    """
    shapes, rows = layer_shapes(backbone, layers), []
    feature = dissect(backbone).head.in_features
    for cell in cells:
        rounded, exact = matched_size(cell, shapes, feature, 2, mode)
        rows.append({"cell": cell, "mode": mode, "layers": "+".join(layers),
                     "layer_shapes": " ".join(f"{i}x{o}" for i, o in shapes),
                     "prernn_added_weights": sum(pre_layer_added_params(cell, i, o, mode=mode,
                                                                        bias=False)
                                                 for i, o in shapes),
                     "hidden_exact": exact, "hidden_size": rounded,
                     "traditional_weights": rnn_params(cell, feature, rounded, 2, bias=False)})
    return pd.DataFrame(rows)


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


def load_streams(s: Table3Settings) -> dict[str, dict]:
    """Backbone and cached train/test features of each stream."""
    sizes = {k: v for k, v in (("n_train", s.n_train), ("n_test", s.n_test)) if v}
    videos = {split: ActionVideos(split, s.profile, **sizes) for split in ("train", "test")}
    out = {}
    for stream in STREAMS:
        net = pretrained_backbone("actions", _INPUT[stream])
        out[stream] = {"backbone": net, **{split: cache_features(net, ds, _INPUT[stream])
                                           for split, ds in videos.items()}}
    return out


class StreamSetup(NamedTuple):
    """What :func:`run_table3` takes from a profile (``actions_full.full_setup`` for full)."""

    streams: dict[str, dict]  # stream -> {"train", "test"} (lite: and its "backbone")
    reference: nn.Module  # whose layer shapes ``matched_sizes`` counts
    backbones: Callable[[int], dict[str, nn.Module]]  # seed -> each stream's backbone
    run: Callable[..., tuple[dict[str, float], torch.Tensor, torch.Tensor]]  # one stream


def _check_lite(s: Table3Settings) -> None:
    """ci/lite run the stand-in: refuse settings that only the full profile reads."""
    if (s.backbone, s.weights, s.data_root) != ("lite", "lite", None):
        raise ValueError(f"backbone={s.backbone!r}, weights={s.weights!r}, data_root="
                         f"{s.data_root!r}: these apply to --profile full only; ci/lite "
                         "use the lite stand-in (backbone='lite', weights='lite', no data root)")


def _stream_run(s: Table3Settings, arm: Arm, stream: str, data: dict, seed: int,
                ckpt: Path | None, resume: bool
                ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """One arm, seed and stream on cached features: (metrics, test scores (N, C), test
    labels (N,)); ``ckpt`` and ``resume`` are the full profile's (unused here)."""
    model, metrics, _ = run_arm(arm, data["backbone"], data["train"], data["test"],
                                s.recipe(stream), seed, per_step_loss, evaluate_videos,
                                batch_size=s.batch_size)
    return metrics, video_scores(model, data["test"]), data["test"].y


def lite_setup(s: Table3Settings) -> StreamSetup:
    """ci/lite: the stand-in's cached streams, the same backbones for every seed."""
    _check_lite(s)
    streams = load_streams(s)
    nets = {stream: data["backbone"] for stream, data in streams.items()}
    return StreamSetup(streams, streams["spatial"]["backbone"], lambda seed: nets, _stream_run)


def paper_side_by_side(summary: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 3 next to our fused accuracies (one row per cell and column)."""
    from ..paper import paper_tables

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


@register("table3", Table3Settings.for_profile)
def run_table3(settings: Table3Settings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Table 3: every arm x seed, both streams, fused (stand-in, or UCF101 in ``full``)."""
    s, full = settings, settings.profile == "full"
    if full:
        from .actions_full import full_setup  # imports this module: no cycle at import time

        setup = full_setup(s)
    else:
        setup = lite_setup(s)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    sizes = matched_sizes(s.cells, setup.reference, layers=s.layers)
    sizes.to_csv(result_path(out_dir, "table3", s.profile, "sizes"), index=False,
                 float_format="%.6g")
    hidden = dict(zip(sizes["cell"], sizes["hidden_size"], strict=True))
    runs_path = result_path(out_dir, "table3", s.profile, "runs")
    done = done_runs(runs_path, resume)
    nets: dict[int, dict[str, nn.Module]] = {}  # backbones per seed (full: new heads)
    for arm in table3_arms(s.cells, hidden, s.other_init, s.frame_reference, s.layers):
        for seed in seeds:
            if ((done["arm"] == arm.name) & (done["seed"] == seed)).any():
                continue
            row = {**arm.describe(), "column": arm.name.split("/")[-1], "seed": seed,
                   **({"backbone": s.backbone} if full else {})}
            if seed not in nets:
                nets[seed] = setup.backbones(seed)
            ckpt = (Path(out_dir) / "checkpoints" / f"table3_{s.profile}" /
                    arm.name.replace("/", "-") / f"seed{seed}") if s.checkpoint else None
            scores, labels, start = {}, {}, time.perf_counter()
            for stream, data in setup.streams.items():
                data = {**data, "backbone": nets[seed][stream]}
                metrics, scores[stream], labels[stream] = setup.run(s, arm, stream, data,
                                                                    seed, ckpt, resume)
                row[f"{stream}_accuracy"] = metrics["accuracy"]
                row[f"{stream}_epochs"] = metrics["epochs"]
                row[f"{stream}_lr"] = s.recipe(stream).base_lr
            fused = late_fusion(scores["spatial"], scores["temporal"], weights=s.fusion_weights)
            if not torch.equal(labels["spatial"], labels["temporal"]):
                raise RuntimeError("the streams' test videos differ in order or labels")
            row["fused_accuracy"] = accuracy(fused, labels["spatial"])
            row["seconds"] = time.perf_counter() - start
            append_row(runs_path, row)
            if ckpt is not None:
                shutil.rmtree(ckpt, ignore_errors=True)
            print(f"  {arm.name:<24} seed {seed}: spatial {row['spatial_accuracy']:.3f} "
                  f"temporal {row['temporal_accuracy']:.3f} fused {row['fused_accuracy']:.3f}",
                  flush=True)
    runs = read_results_csv(runs_path)
    runs = runs[runs["seed"].isin(seeds)]
    write_results(runs, "table3", s.profile, out_dir, paper=paper_side_by_side(summarize(runs)))
    return runs


def choose_lr(settings: Table3Settings, grid: tuple[float, ...] = LR_GRID, seed: int = 0
              ) -> pd.DataFrame:
    """Validation accuracy of the *frame* model per stream and lr; ``chosen`` marks the best.

    Validation videos are new ones (``ActionVideos("train", seed=1)``, as many as the test
    set), never the test set. Ties go to the paper's lr, then to the smaller lr. Only the
    frame-level arm is trained, so the choice cannot favour a recurrent arm.
    """
    s = settings
    n_val = s.n_test or make_profile("actions", s.profile).n_test
    val = ActionVideos("train", s.profile, seed=1, n_train=n_val)
    train = ActionVideos("train", s.profile, **({"n_train": s.n_train} if s.n_train else {}))
    rows = []
    for stream in STREAMS:
        net = pretrained_backbone("actions", _INPUT[stream])
        tr, va = (cache_features(net, ds, _INPUT[stream]) for ds in (train, val))
        paper = get_recipe(_RECIPE[stream]).base_lr
        for lr in grid:
            recipe = replace(s, **{f"{stream}_lr": lr}).recipe(stream)
            _, metrics, _ = run_arm(Arm("frame", "frame"), net, tr, va, recipe, seed,
                                    per_step_loss, evaluate_videos, batch_size=s.batch_size)
            rows.append({"stream": stream, "lr": lr, "paper_lr": paper, "seed": seed,
                         "val_accuracy": metrics["accuracy"], "epochs": metrics["epochs"]})
    table = pd.DataFrame(rows)
    table["chosen"] = False
    for _, g in table.groupby("stream"):
        best = g[g.val_accuracy == g.val_accuracy.max()]
        pick = best[best.lr == best.paper_lr] if (best.lr == best.paper_lr).any() else best
        table.loc[pick.lr.idxmin() if len(pick) > 1 else pick.index[0], "chosen"] = True
    return table


def lr_settings(profile: str) -> Table3Settings:
    """Settings of ``table3_lr``: ``ci`` and ``lite`` only (``full`` uses the paper's lrs)."""
    if profile == "full":
        raise ValueError("table3_lr --profile full: the full profile trains with the paper's "
                         "learning rates (spatial 3e-4, temporal 1e-2) and chooses none; "
                         "valid profiles: ci, lite")
    return Table3Settings.for_profile(profile)


@register("table3_lr", lr_settings)
def run_table3_lr(settings: Table3Settings, seeds, out_dir: Path, resume: bool) -> pd.DataFrame:
    """Choose each stream's lr on the frame model (validation videos); ``table3_<p>_lr.csv``."""
    table = choose_lr(settings, seed=seeds[0])
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    table.to_csv(result_path(out_dir, "table3", settings.profile, "lr"), index=False,
                 float_format="%.6g")
    print(table.to_string(index=False))
    return table


def ci_settings(**changes) -> Table3Settings:
    """``ci`` settings with some fields replaced (tests shrink them further)."""
    return replace(Table3Settings.for_profile("ci"), **changes)
