"""Pre-training the lite backbones: our stand-in for ImageNet / Sports-1M pre-training.

PreRNN starts from a CNN that already solves the *frame-level* (or clip-level) task; the
book's lite backbones learn theirs here, on independent frames or clips of the stand-in
tasks, and the weights go to ``data_samples/weights/<task>_<stream>.pt`` (plain float32
state_dicts, ~1-2 MB each), then the MANIFEST is rewritten. The same files serve the
``ci`` and ``lite`` profiles; ``pretrain --profile ci`` only checks the code path and
writes its (poor) weights under ``<out>/checkpoints/pretrain_ci/`` instead.

- faces/rgb: ``LiteCNN2d`` (64 px, fc 256) regresses the 68 landmarks from ``FaceFrames``;
  targets are normalised as ``u = (x - (S - 1) / 2) / (S / 2)`` (image centre 0, image
  edges about +-1), flattened ``x0, y0, x1, y1, ...`` (136 outputs); loss MSE; metric NME.
- gestures/rgb: ``LiteCNN3d`` classifies a ``GestureClips`` stroke direction (4 classes).
- actions/rgb and actions/flow: ``LiteCNN2d`` (3 or 20 channels) classifies
  ``ActionFrames``; the flow net starts by cross-modality initialisation (its first conv
  = the RGB net's filters averaged over channels, repeated 20 times) when the RGB weights
  exist.

:func:`pretrained_backbone` loads a task's backbone with its weights: every ``ci``/``lite``
arm starts from it (:data:`LITE_BACKBONES` builds them).

Unlike the sequence experiments (SGD, the paper's recipes), pre-training uses Adam with a
fixed lr of 1e-3 and no schedule: it replaces large-scale pre-training, which the paper
did not do either, and the settings were fixed a priori, not tuned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ..backbones import LiteCNN2d, LiteCNN3d, cross_modality, load_state_dict_file
from ..backbones.cross import first_conv, first_conv_path
from ..data import actions, faces, gestures
from ..data._render import GeneratedDataset
from ..data.manifest import check_file, samples_dir, write_manifest
from ..data.metrics import accuracy, nme
from .registry import register
from .results import append_row, done_runs, result_path
from .settings import ProfileSettings, check_choice

#: (task, stream) -> lite backbone builder; the same weights serve ``ci`` and ``lite``.
LITE_BACKBONES: dict[tuple[str, str], Callable[[], nn.Module]] = {
    ("faces", "rgb"): lambda: LiteCNN2d(image_size=64, fc_size=256, num_outputs=136),
    ("gestures", "rgb"): lambda: LiteCNN3d(clip_len=8, image_size=32, fc_size=256,
                                           num_outputs=4),
    ("actions", "rgb"): lambda: LiteCNN2d(image_size=64, fc_size=256, num_outputs=8),
    ("actions", "flow"): lambda: LiteCNN2d(in_channels=20, image_size=64, fc_size=256,
                                           num_outputs=8),
}
DEFAULT_STREAM = {"faces": "rgb", "gestures": "rgb", "actions": "rgb"}
TASKS = tuple(f"{t}/{s}" for t, s in LITE_BACKBONES)


def weights_path(task: str, stream: str | None = None) -> Path:
    """``data_samples/weights/<task>_<stream>.pt`` (``PRERNN_LITE_SAMPLES`` honoured)."""
    stream = stream or DEFAULT_STREAM.get(task, "rgb")
    check_choice("task/stream", (task, stream), list(LITE_BACKBONES))
    return samples_dir() / "weights" / f"{task}_{stream}.pt"


def pretrained_backbone(task: str, stream: str | None = None) -> nn.Module:
    """The lite backbone of ``task``/``stream`` with its pre-trained weights (eval mode).

    The file is checked against ``data_samples/MANIFEST`` first (``manifest.check_file``):
    a changed weights file is refused, naming both digests.
    """
    stream = stream or DEFAULT_STREAM.get(task, "rgb")
    path = weights_path(task, stream)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: pre-trained lite weights for {task}/{stream} not found; write them "
            f"with `python -m prernn_lite.experiments pretrain --profile lite --tasks {task}`")
    check_file(path)
    model = LITE_BACKBONES[(task, stream)]()
    model.load_state_dict(load_state_dict_file(path), strict=True)
    return model.eval()


@dataclass(frozen=True)
class PretrainSettings(ProfileSettings):
    """Sizes of pre-training; ``None`` = the data profile's own sample counts."""

    PROFILE_CHANGES = {"ci": {"epochs": 2}, "lite": {}}
    NO_PROFILE = {"full": "at full scale the pre-training is ImageNet's and Sports-1M's"}

    tasks: tuple[str, ...] = ("faces/rgb",)
    epochs: int = 15
    lr: float = 1e-3
    batch_size: int = 64
    n_train: int | None = None
    n_test: int | None = None
    seed: int = 0
    seeds: tuple[int, ...] = (0,)


def normalise_landmarks(xy: torch.Tensor, size: int) -> torch.Tensor:
    """Pixel ``(x, y)`` (centres at integers) -> image centre 0, edges about +-1."""
    return (xy - (size - 1) / 2) / (size / 2)


def _task_data(task: str, stream: str, split: str, s: PretrainSettings):
    """(inputs, targets) tensors of one split."""
    n = s.n_train if split == "train" else s.n_test
    if task == "faces":
        key = "n_train_frames" if split == "train" else "n_test_frames"
        ds = faces.FaceFrames(split, s.profile, **({key: n} if n else {}))
        # whole generated sequences (FaceFrames.__getitem__ converts one per frame: slow)
        seqs = [GeneratedDataset.__getitem__(ds, j) for j in range(ds.n)]
        x = torch.cat([q["frames"] for q in seqs])[:len(ds)]
        y = torch.cat([q["landmarks"] for q in seqs])[:len(ds)]
        return x, normalise_landmarks(y, x.shape[-1]).flatten(1)
    if task == "gestures":
        key = "n_train_clips" if split == "train" else "n_test_clips"
        ds = gestures.GestureClips(split, s.profile, **({key: n} if n else {}))
        items = [ds[i] for i in range(len(ds))]
        return torch.stack([d["clip"] for d in items]), torch.stack([d["label"] for d in items])
    key = "n_train_frames" if split == "train" else "n_test_frames"
    ds = actions.ActionFrames(split, s.profile, **({key: n} if n else {}))
    items = [ds[i] for i in range(len(ds))]
    return torch.stack([d[stream] for d in items]), torch.stack([d["label"] for d in items])


def _metric(task: str, out: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    if task == "faces":
        return {"nme": float(nme(out.view(-1, 68, 2), y.view(-1, 68, 2)))}
    return {"accuracy": accuracy(out, y)}


def _cross_modality(model: nn.Module, rgb_path: Path) -> bool:
    """Initialise a flow net in place from the RGB net saved at ``rgb_path``
    (``backbones.cross_modality``: first conv averaged over channels, repeated); ``False``
    when there is no such file."""
    if not rgb_path.is_file():
        return False
    state = load_state_dict_file(rgb_path)
    path = f"{first_conv_path(model)}.weight"
    rgb = cross_modality(model, in_channels=state[path].shape[1])  # an RGB twin of model
    rgb.load_state_dict(state)
    model.load_state_dict(cross_modality(rgb, first_conv(model).in_channels).state_dict())
    return True


def pretrain(task: str, stream: str, settings: PretrainSettings, out_file: Path
             ) -> dict[str, float | str]:
    """Pre-train the lite backbone of ``task``/``stream``; save it to ``out_file``."""
    check_choice("task/stream", f"{task}/{stream}", TASKS)
    torch.manual_seed(settings.seed)
    model = LITE_BACKBONES[(task, stream)]()
    crossed = stream == "flow" and _cross_modality(model, out_file.with_name(f"{task}_rgb.pt"))
    x, y = _task_data(task, stream, "train", settings)
    xt, yt = _task_data(task, stream, "test", settings)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    start, loss_sum = time.perf_counter(), float("nan")
    for _ in range(settings.epochs):
        model.train()
        loss_sum, n = 0.0, 0
        for idx in torch.randperm(len(x), generator=gen).split(settings.batch_size):
            out = model(x[idx])
            loss = F.mse_loss(out, y[idx]) if task == "faces" else F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum, n = loss_sum + loss.item() * len(idx), n + len(idx)
        loss_sum /= n
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(c) for c in xt.split(256)])
    out_file.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out_file)
    return {"task": task, "stream": stream, "epochs": settings.epochs, "lr": settings.lr,
            "optimizer": "adam", "n_train": len(x), "n_test": len(xt),
            "train_loss": loss_sum, **_metric(task, out, yt),
            "cross_modality_init": crossed, "seconds": time.perf_counter() - start,
            "file": out_file.name, "bytes": out_file.stat().st_size}


@register("pretrain", PretrainSettings)
def run_pretrain(settings: PretrainSettings, seeds, out_dir: Path, resume: bool,
                 context=None) -> pd.DataFrame:
    """Pre-train the lite backbones (``settings.tasks``) and rewrite the MANIFEST."""
    runs_path = result_path(out_dir, "pretrain", settings.profile, "runs")
    done = done_runs(runs_path, resume)
    wrote = False
    for spec in settings.tasks:
        check_choice("task/stream", spec, TASKS)
        task, stream = spec.split("/")
        if settings.profile == "ci":
            target = Path(out_dir) / "checkpoints" / "pretrain_ci" / f"{task}_{stream}.pt"
        else:
            target = weights_path(task, stream)
        if ((done["task"] == task) & (done["stream"] == stream)).any() if len(done) else False:
            continue
        row = pretrain(task, stream, replace(settings, seed=settings.seed), target)
        append_row(runs_path, row)
        print(f"  pretrain {spec}: " + ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
        wrote = wrote or settings.profile != "ci"
    if wrote:
        write_manifest(samples_dir())
    return pd.read_csv(runs_path)
