"""Table 3's ``full`` setup: UCF101 split 1, VGG16/ResNet50 fine-tuned end to end on a GPU.

``table3 --profile full --data-root ROOT`` runs the arms of ``common.py`` (its settings,
arms, matched sizes and fusion) on real videos; this module holds what only that run
needs: the streams' datasets, the ImageNet backbones with a new head, and the training of
one arm on decoded videos (:func:`full_setup`). Every choice the paper leaves open, as
the ``full`` profile of ``common.Table3Settings`` makes it:

- backbone ResNet50 (``backbone="resnet50"``): the supplementary gives ResNet50's hidden
  size (2048) without naming its task; faces use VGG16 and gestures C3D, so Table 3 is
  the likely place. The transformed layer is ``layer4[-1].conv3`` (``"conv"``: a
  PreConv cell with a 1x1 hidden conv, ``build.py``); the traditional 2-layer arm reads
  the pooled 2048-d feature, its size matched to what the PreConv cell adds
  (``(G-1)·2048·512 + G·2048²`` weights, ``arms.matched_sizes``). ``backbone="vgg16"``
  (fc6+fc7, as the lite arms) is the other reading (``backbones.zoo``'s docstring).
- weights: torchvision's ``IMAGENET1K_V1`` (the original ImageNet weights, closest to
  the paper's time; torchvision downloads them), or ``"random"``, or a local state_dict
  with torchvision's keys. The 1000-way head is replaced by a new 101-way head drawn
  with the run's seed; PreRNN and frame arms keep it, a traditional arm gets its own
  (``arms``), so unlike lite's pre-trained fc8 every arm's head starts untrained. The
  temporal net is :func:`~prernn_lite.backbones.cross_modality` of that spatial net
  (first conv averaged over RGB, repeated 20 times; same head).
- data: ``ROOT/UCF-101``, ``ROOT/ucfTrainTestlist``, ``ROOT/flow`` (``data/ucf101.py``);
  T = 3 TSN-style segments per video (``num_segments``, the book's choice), each an RGB
  frame and a stack of L = 10 flow fields, 224x224 px; RGB normalised with ImageNet's
  mean/std; flow (pixels of the resized frame) divided by :data:`FLOW_BOUND` = 20, the
  bound ``data.flow`` clips to, so about [-1, 1]; one random scale/crop/flip per training
  video (``data.augment``; a flip negates flow x), none at test; a test video's score is
  its T steps' mean logits (no 25-frame or multi-crop testing).
- training: the whole CNN is fine-tuned with the recurrent layers (no cache, trunk not
  frozen; :func:`train_video_arm`), with the paper's recipes unscaled (90 / 100 epochs,
  lr 3e-4 / 1e-2, /2 every 10 epochs), 16 videos a batch and 8 loader workers (the
  book's choices), bfloat16 autocast when CUDA is available, 3 seeds, ``other_init``
  and fusion weights as in lite; each arm's ``last.pt`` per stream is kept under
  ``<out>/checkpoints/table3_full/`` while it trains (resumable) and removed once its row
  is written. ``table3_lr`` refuses ``full``: it uses the paper's rates.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ...backbones import cross_modality, replace_head, resnet50, vgg16
from ...backbones.zoo import imagenet_normalise, imagenet_weights
from ...data.augment import augment_video, draw_params
from ...data.metrics import accuracy
from ...data.ucf101 import UCF101Videos
from ...train import Recipe, fit, seed_everything
from ..arms import Arm, build_model
from ..settings import check_choice
from .common import FULL_BACKBONES, INPUT, STREAMS, StreamSetup, Table3Settings, per_step_loss

_BUILD = {"resnet50": resnet50, "vgg16": vgg16}
#: flow is divided by this (pixels): ``data.flow`` clips displacements to +-20 px
FLOW_BOUND = 20.0
FLOW_CHANNELS = 20  # 10 flow fields, x and y
UCF101_URL = "https://www.crcv.ucf.edu/data/UCF101.php"


class StreamVideos(Dataset):
    """One stream of ``UCF101Videos`` as ``{"x": (T, C, H, W), "y": label}``.

    ``spatial``: RGB in [0, 1] normalised with ImageNet's mean/std (C = 3); ``temporal``:
    flow in pixels divided by :data:`FLOW_BOUND` (C = 20). With ``augment`` one random
    scale/crop/flip per video (``data.augment``; a flip negates flow's x channels).
    """

    def __init__(self, videos: Dataset, stream: str, augment: bool = False) -> None:
        check_choice("stream", stream, STREAMS)
        self.videos, self.stream, self.augment = videos, stream, augment

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = self.videos[i]
        x = item[INPUT[self.stream]]                                    # (T, C, H, W)
        if self.augment:
            x, _ = augment_video(x, draw_params(tuple(x.shape[-2:])),
                                 flow=self.stream == "temporal")
        if self.stream == "spatial":
            x = imagenet_normalise(x)
        else:
            x = x / FLOW_BOUND
        return {"x": x, "y": item["label"]}


def ucf101_streams(s: Table3Settings) -> dict[str, dict[str, StreamVideos]]:
    """Train/test videos of ``s.split`` per stream (a clear error without the data)."""
    root = Path(s.data_root) if s.data_root else None
    parts = ("UCF-101", "ucfTrainTestlist", "flow")
    missing = [p for p in parts if root is None or not (root / p).is_dir()]
    if missing:
        raise FileNotFoundError(
            f"UCF101 not found under {root or '(no --data-root given)'} (missing "
            f"{', '.join(missing)}): download UCF101.rar and UCF101TrainTestSplits-"
            f"RecognitionTask.zip from {UCF101_URL}, unpack them to ROOT/UCF-101/<Class>/"
            "*.avi and ROOT/ucfTrainTestlist/, compute flow with `python -m "
            "prernn_lite.data.flow --videos ROOT/UCF-101 --out ROOT/flow`, then pass "
            "--data-root ROOT")
    videos = {split: UCF101Videos(root / "UCF-101", root / "flow", s.split, split == "train",
                                  s.num_segments, s.image_size) for split in ("train", "test")}
    return {stream: {split: StreamVideos(v, stream, s.augment and split == "train")
                     for split, v in videos.items()} for stream in STREAMS}


def _weights_arg(s: Table3Settings):
    """The ``weights`` argument of ``vgg16``/``resnet50`` for ``s.weights``
    (``backbones.zoo.imagenet_weights``)."""
    return imagenet_weights(s.backbone, s.weights)


def full_backbones(s: Table3Settings, seed: int) -> dict[str, nn.Module]:
    """Spatial net (``s.backbone``, ``s.weights``, a new head drawn with ``seed``) and its
    temporal twin ``cross_modality(spatial, 20)``; the global RNG is left as it was."""
    check_choice("backbone", s.backbone, FULL_BACKBONES)
    weights = _weights_arg(s)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        spatial = replace_head(_BUILD[s.backbone](weights=weights), s.num_classes)
        return {"spatial": spatial, "temporal": cross_modality(spatial, FLOW_CHANNELS)}


@torch.no_grad()
def loader_scores(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Time-averaged logits ``(N, C)`` and labels ``(N,)`` of ``loader``'s videos."""
    model.eval()
    device = next(model.parameters()).device
    scores, labels = [], []
    for batch in loader:
        scores.append(model(batch["x"].to(device)).mean(1).float().cpu())      # (B, C)
        labels.append(batch["y"])
    return torch.cat(scores), torch.cat(labels)


def train_video_arm(arm: Arm, backbone: nn.Module, data: dict, recipe: Recipe, seed: int,
                    s: Table3Settings, checkpoint_dir: Path | None = None,
                    resume: bool = True) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """``runner.run_arm(cached=False)`` for the full profile, plus the test scores.

    The CNN is fine-tuned jointly on the GPU when there is one. What ``run_arm`` does not
    do: the test videos' scores come back for fusion (``run_arm`` returns metrics only),
    and the loaders pin memory when CUDA is available.

    Returns ``({"accuracy", "seconds", "epochs"}, scores (N, C), labels (N,))``.
    """
    seed_everything(seed)
    model = build_model(arm, backbone)
    pin = torch.cuda.is_available()
    train = DataLoader(data["train"], batch_size=s.batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(seed),
                       num_workers=s.num_workers, pin_memory=pin)
    test = DataLoader(data["test"], batch_size=s.batch_size, num_workers=s.num_workers,
                      pin_memory=pin)
    start = time.perf_counter()
    hist = fit(model, train, per_step_loss, recipe.replace(seed=seed),
               checkpoint_dir=checkpoint_dir, resume=resume, device="auto",
               progress=recipe.epochs != 1)  # a one-epoch demo (chapter 9) needs no bars
    scores, labels = loader_scores(model, test)
    metrics = {"accuracy": accuracy(scores, labels), "seconds": time.perf_counter() - start,
               "epochs": hist.epochs_done}
    return metrics, scores, labels


def _stream_run(s: Table3Settings, arm: Arm, stream: str, data: dict, seed: int,
                ckpt: Path | None, resume: bool
                ) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """One arm, seed and stream on UCF101 (``data["backbone"]``: the seed's net)."""
    return train_video_arm(arm, data["backbone"], data, s.recipe(stream), seed, s,
                           ckpt / stream if ckpt else None, resume)


def full_setup(s: Table3Settings) -> StreamSetup:
    """What ``common.run_table3_arms`` needs for ``--profile full``: UCF101's streams, a
    shapes-only reference net (meta device: no weights, no download), the backbones of
    a seed (:func:`full_backbones`) and :func:`train_video_arm`."""
    check_choice("backbone", s.backbone, FULL_BACKBONES)
    _weights_arg(s)  # fail on a bad weights setting before reading any data
    streams = ucf101_streams(s)
    with torch.device("meta"):  # shapes only: no weights, no download
        reference = _BUILD[s.backbone](weights=None)
    return StreamSetup(streams, reference, lambda seed: full_backbones(s, seed), _stream_run)
