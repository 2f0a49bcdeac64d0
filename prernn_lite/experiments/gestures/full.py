"""The gesture experiment's ``full`` setup: the stand-in's arms on nvGesture, C3D fine-tuned.

The same arms as the stand-in (``common.py``: PreRNN, traditional, clip) run on nvGesture
(``data.nvgesture``, 25 classes) with C3D pre-trained on Sports-1M (``--data-root ROOT
--weights C3D_FILE``; no download). What the paper fixes: C3D's fc6 (8192→4096) and fc7
made recurrent, the CNN fine-tuned jointly (no feature cache), SGD with lr 3e-3 and the
plateau rule unscaled (/10 after 40 epochs without a new best training loss, stop at
3e-7), scaling and cropping augmentation. What it leaves open, chosen here
(``common.GestureSettings``, its ``full`` profile):

- lists: ``data.nvgesture.find_nvgesture_list`` looks for each split's list under the
  names used in the wild (``nvgesture_{split}_correct_cvpr2016_v2.lst`` first, then
  without ``_v2``, then ``nvgesture_{split}_correct.lst``); ``train_list``/``test_list``
  name one explicitly (``GestureSettings.train_list``). The label of a sample is its list
  line's ``label:`` token, not its ``class_NN`` folder (in the ``_v2`` lists 15 training
  and 8 test labels differ from their folder);
- input (the book's choice): ``T = 5`` clips of 16 frames at 112×112 (C3D's input; the
  loader resizes the 320×240 frames, aspect ratio not kept), evenly spaced over the
  annotated gesture; a list line such as ``color:sk_color:138:218`` spans 80 frames, which
  5 × 16 covers with consecutive clips. Colour by default (``stream="depth"`` possible);
- scaling: RGB in 0–255 with nothing subtracted (``pixel_mean`` 0), as the c3d-pytorch
  port's own ``predict.py`` feeds the Sports-1M file; depth frames are grey × 3;
- augmentation: one random scale (×0.9–1.15) and crop per sequence, the same for every
  frame (``data.augment.SequenceAugment("gestures")``); never flipped (a flip turns
  "move left" into "move right"); test sequences are not augmented;
- a new seeded 25-way fc8 (``with_new_head``), the scores and losses of the stand-in (last
  step; clip mean); traditional sizes matched to C3D's fc6/fc7 (``arms.matched_sizes``:
  VRNN 2731, LSTM 4240, GRU 4096);
- at most 300 epochs (the stop rule alone needs at least 161: four decays 40 epochs
  apart), batches of 8 sequences (40 clips), bf16 autocast on a GPU, up to 8 loader
  processes, seeds 0, 1, 2; every arm and seed checkpoints each epoch
  (``checkpoints/gesture_full/``, resumed by ``--resume``, removed once its row is
  written: up to ~3 GB each);
- references: only what the labels allow (``chance``: the most frequent test class;
  ``uniform``: 1/25). The stand-in's ``one_clip``/``bag`` need classes that are stroke
  orders and do not apply to nvGesture.

One stream per results folder: run ``stream="depth"`` with another ``--out``.
:func:`full_setup` is what ``experiment.py`` runs for ``--profile full``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ...backbones import c3d
from ...data.augment import SequenceAugment
from ...data.metrics import accuracy
from ...data.nvgesture import NvGestureSequences
from ..arms import Arm
from ..runner import run_arm
from ..settings import check_choice
from .common import GestureSettings, GestureSetup, score_loss, sequence_scores, with_new_head

#: what ``--weights`` must name in the full profile
C3D_WEIGHTS = ("C3D pre-trained on Sports-1M as a plain state_dict with the c3d-pytorch key "
               "names (conv1.weight ... fc8.bias, fc8 487-way), e.g. c3d.pickle of "
               "github.com/DavideA/c3d-pytorch")


class C3DClips(torch.utils.data.Dataset):
    """nvGesture sequences as C3D inputs: ``{"x": (T, 3, L, H, W), "y": ()}``.

    ``x`` is RGB (depth: grey × 3) in 0–255 minus ``pixel_mean``; with ``augment`` one
    random scale and crop is drawn per sequence and applied to all its frames
    (``SequenceAugment("gestures")``, never flipped). ``y`` holds every label ``(N,)``.
    ``n`` keeps the list's first ``n`` videos only (smoke runs).
    """

    def __init__(self, videos: NvGestureSequences, pixel_mean=(0.0, 0.0, 0.0),
                 augment: bool = False, n: int | None = None) -> None:
        self.videos = videos
        self.mean = torch.tensor(pixel_mean, dtype=torch.float32).view(1, 3, 1, 1, 1)
        self.augment = SequenceAugment("gestures") if augment else None
        items = videos.items[:n] if n else videos.items
        self.y = torch.tensor([label for *_, label in items], dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        sample = self.videos[i]                               # clips (T, 3, L, H, W) in [0, 1]
        if self.augment is not None:
            sample = self.augment(sample)
        return {"x": sample["clips"] * 255 - self.mean, "y": sample["label"]}


def check_full(s: GestureSettings) -> None:
    """Fail early, naming the flag, when the full profile lacks its data or weights."""
    if not s.data_root:
        raise ValueError("the full gesture profile trains on nvGesture: pass --data-root ROOT "
                         "(settings.data_root), ROOT holding the list files (e.g. "
                         "nvgesture_train_correct_cvpr2016_v2.lst) and Video_data/")
    if not s.weights:
        raise ValueError(f"the full gesture profile fine-tunes C3D: pass --weights FILE "
                         f"(settings.weights), FILE = {C3D_WEIGHTS}")
    if not Path(s.weights).is_file():
        raise FileNotFoundError(f"--weights {s.weights}: file not found; expected {C3D_WEIGHTS}")
    check_choice("stream", s.stream, ("color", "depth"))


def load_nvgesture(s: GestureSettings) -> dict:
    """C3D with the Sports-1M weights (eval mode) and the nvGesture train/test sets."""
    check_full(s)
    kw = {"stream": s.stream, "num_clips": s.num_clips, "clip_len": s.clip_len,
          "image_size": s.image_size}
    n = {"train": s.n_train, "test": s.n_test}
    lists = {"train": s.train_list, "test": s.test_list}
    data = {split: C3DClips(NvGestureSequences(s.data_root, split, list_file=lists[split],
                                               **kw),
                            s.pixel_mean, augment=s.augment and split == "train", n=n[split])
            for split in ("train", "test")}
    return {"backbone": c3d(weights=s.weights).eval(), **data}


def class_references(labels: torch.Tensor, num_classes: int) -> pd.DataFrame:
    """What the test labels alone allow (nvGesture: its classes are not stroke orders).

    >>> class_references(torch.tensor([0, 0, 1, 2]), 25)["accuracy"].tolist()
    [0.5, 0.04]
    """
    chance = torch.bincount(labels, minlength=num_classes).max().item() / len(labels)
    rows = [("chance", chance, "the most frequent test class"),
            ("uniform", 1 / num_classes, f"a uniform guess over {num_classes} classes")]
    return pd.DataFrame(rows, columns=["reference", "accuracy", "meaning"])


class RecordPredictions:
    """An ``evaluate`` for ``run_arm`` on any device that keeps its predictions.

    Batches go to the model's device; after a call ``pred`` and ``true`` hold the
    predicted and true classes ``(N,)`` on the CPU (so the full profile reads the test
    videos once per arm).
    """

    pred: torch.Tensor
    true: torch.Tensor

    @torch.no_grad()
    def __call__(self, model: nn.Module, loader) -> dict[str, float]:
        device = next(model.parameters()).device
        pred, true = [], []
        for batch in loader:
            pred.append(sequence_scores(model, batch["x"].to(device)).argmax(-1).cpu())
            true.append(batch["y"])
        self.pred, self.true = torch.cat(pred), torch.cat(true)
        return {"accuracy": accuracy(self.pred, self.true)}


def checkpoint_dir(out_dir: Path, arm: Arm, seed: int) -> Path:
    """``out_dir/checkpoints/gesture_full/<arm>_s<seed>`` (``/`` in arm names as ``-``)."""
    return Path(out_dir) / "checkpoints" / "gesture_full" / f"{arm.name.replace('/', '-')}_s{seed}"


def fit_c3d_arm(arm: Arm, seed: int, data: dict, s: GestureSettings, out_dir: Path,
                resume: bool) -> tuple[dict, object, torch.Tensor]:
    """Train and test one arm, C3D fine-tuned jointly, batches decoded by loader processes
    and checkpointed each epoch: ``run_arm``'s metrics and history, test predictions (N,)."""
    net, record = with_new_head(data["backbone"], s.classes, seed), RecordPredictions()
    _, metrics, hist = run_arm(arm, net, data["train"], data["test"], s.recipe(arm.name), seed,
                               score_loss, record, batch_size=s.batch_size, cached=False,
                               checkpoint_dir=checkpoint_dir(out_dir, arm, seed),
                               resume=resume, num_workers=s.num_workers, device=None)
    return metrics, hist, record.pred


def full_setup(s: GestureSettings, out_dir: Path, resume: bool) -> GestureSetup:
    """``--profile full``: nvGesture with C3D fine-tuned end to end.

    Rows carry the ``stream`` (a runs file of another stream is not resumed); an arm's
    checkpoints are removed once its row is written; the confusion CSV names the true
    class ``class_01`` ... (``true_class``, as nvGesture's folders).
    """
    data, K = load_nvgesture(s), s.classes

    def written(arm: Arm, seed: int) -> None:  # the row is the record now; a checkpoint
        shutil.rmtree(checkpoint_dir(out_dir, arm, seed), ignore_errors=True)  # is ~3 GB

    return GestureSetup(data["backbone"], data["test"].y, class_references(data["test"].y, K),
                        lambda arm, seed: fit_c3d_arm(arm, seed, data, s, out_dir, resume),
                        extra={"stream": s.stream}, written=written,
                        names=[f"class_{k + 1:02d}" for k in range(K)])
