"""Table 3's ``ci``/``lite`` setup: the two-stream action stand-in with lite CNNs.

Both streams are ``LiteCNN2d`` pre-trained on single times of the stand-in
(``ActionFrames``; ``pretrain`` builds the flow net by cross-modality initialisation
from the RGB net); their trunks are frozen and the features of every video cached
(``features.cache_features``), so there is no augmentation, and every seed uses the
same backbones; with ``Table3Settings.seed_draws_data`` a seed trains on its own draw of
the training videos (the test videos are always seed 0's). The learning rates are
shared by every arm and chosen on the frame model only (``table3_lr``, :func:`choose_lr`:
new validation videos, ties to the paper's rate, the grid extended beyond an edge its
choice sits at; ``results/table3_lite_lr.csv``): spatial 3e-2 (inside its extended grid;
the paper's 3e-4 was 3 validation videos behind), temporal 1e-3 (the paper's 1e-2 was 3
videos behind); ``ci`` uses the same.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ...data.actions import ActionVideos
from ...data.profiles import make_profile
from ...train import get_recipe
from ..arms import Arm
from ..features import FeatureSet, cache_features
from ..lr_grid import mark_choices, run_grid
from ..pretrain import pretrained_backbone
from ..runner import run_arm
from .common import (
    INPUT,
    RECIPE,
    STREAMS,
    StreamSetup,
    Table3Settings,
    evaluate_videos,
    per_step_loss,
)
from .references import action_references

#: learning rates tried by :func:`choose_lr` (on the frame model only)
LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2, 3e-2)


@torch.no_grad()
def video_scores(model: nn.Module, data: FeatureSet, batch_size: int = 256) -> torch.Tensor:
    """Per-time-step logits averaged over time: ``(N, C)``."""
    model.eval()
    return torch.cat([model(data.x[i:i + batch_size]).mean(1)
                      for i in range(0, len(data), batch_size)])


def stand_in_videos(s: Table3Settings) -> dict[str, ActionVideos]:
    """Seed 0's training and test videos of the profile (sizes overridden by ``s``)."""
    sizes = {k: v for k, v in (("n_train", s.n_train), ("n_test", s.n_test)) if v}
    return {split: ActionVideos(split, s.profile, **sizes) for split in ("train", "test")}


def load_streams(s: Table3Settings, videos: dict | None = None) -> dict[str, dict]:
    """Backbone and cached train/test features of each stream (of ``videos``, default
    :func:`stand_in_videos`)."""
    videos = videos or stand_in_videos(s)
    out = {}
    for stream in STREAMS:
        net = pretrained_backbone("actions", INPUT[stream])
        out[stream] = {"backbone": net, **{split: cache_features(net, ds, INPUT[stream])
                                           for split, ds in videos.items()}}
    return out


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
    """ci/lite: the stand-in's cached streams, the same backbones for every seed; a seed's
    training features (its draw, :meth:`Table3Settings.train_draw`) cached once."""
    _check_lite(s)
    videos = stand_in_videos(s)
    streams = load_streams(s, videos)
    nets = {stream: data["backbone"] for stream, data in streams.items()}
    references = action_references(videos["test"], {INPUT[k]: nets[k] for k in STREAMS})
    draws: dict[int, dict[str, FeatureSet]] = {0: {k: v["train"] for k, v in streams.items()}}

    def run(s: Table3Settings, arm: Arm, stream: str, data: dict, seed: int,
            ckpt: Path | None, resume: bool):
        draw = s.train_draw(seed)
        if draw not in draws:
            n = {"n_train": s.n_train} if s.n_train else {}
            videos = ActionVideos("train", s.profile, seed=draw, **n)
            draws[draw] = {k: cache_features(nets[k], videos, INPUT[k]) for k in STREAMS}
        return _stream_run(s, arm, stream, {**data, "train": draws[draw][stream]}, seed,
                           ckpt, resume)

    return StreamSetup(streams, streams["spatial"]["backbone"], lambda seed: nets, run,
                       references)


def choose_lr(settings: Table3Settings, grid: tuple[float, ...] = LR_GRID, seed: int = 0
              ) -> pd.DataFrame:
    """Validation accuracy of the *frame* model per stream and lr; ``chosen`` marks the best.

    Validation videos are new ones (the test split drawn with seed 1,
    ``ActionVideos("test", seed=1)``, as many as the test set): never the test set (seed
    0's), never a training draw (``seed_draws_data``). Only the frame-level arm is
    trained, so the choice cannot favour a recurrent arm. The choice and the grid's growth
    beyond an edge (up to ``settings.lr_extend`` rates each side; ``at_edge``) are
    ``lr_grid``'s.
    """
    s = settings
    n_val = s.n_test or make_profile("actions", s.profile).n_test
    val = ActionVideos("test", s.profile, seed=1, n_test=n_val)
    train = ActionVideos("train", s.profile, **({"n_train": s.n_train} if s.n_train else {}))
    rows = []
    for stream in STREAMS:
        net = pretrained_backbone("actions", INPUT[stream])
        tr, va = (cache_features(net, ds, INPUT[stream]) for ds in (train, val))

        def score(lr: float, stream: str = stream, net=net, tr=tr, va=va) -> dict:
            recipe = replace(s, **{f"{stream}_lr": lr}).recipe(stream)
            _, metrics, _ = run_arm(Arm("frame", "frame"), net, tr, va, recipe, seed,
                                    per_step_loss, evaluate_videos, batch_size=s.batch_size)
            return {"seed": seed, "val_accuracy": metrics["accuracy"],
                    "epochs": metrics["epochs"]}

        paper = get_recipe(RECIPE[stream]).base_lr
        rows += [{"stream": stream, **r}
                 for r in run_grid(score, grid, s.lr_extend, paper, stream)]
    return mark_choices(pd.DataFrame(rows), "stream")
