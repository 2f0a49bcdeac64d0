"""The face experiments' ``full`` source: VGG16 on 300VW, fine-tuned end to end on a GPU.

``--profile full --data-root ROOT``. :class:`VW300Faces` is the ``common.FaceSource`` of
this profile: :func:`vw300_split_videos` names the videos of each split;
``data(split)`` cuts them into windows of face crops (:class:`VW300Samples`): training
windows are augmented once per sequence, then every frame is normalised with ImageNet's
mean and std (``backbones.zoo.imagenet_normalise``). ``backbone()`` builds VGG16 from
``FaceSettings.weights``, gives it a new 136-output head and fine-tunes it frame by
frame before any arm starts from it (:func:`frame_backbone_path`).

Every choice in one place (fields of ``common.FaceSettings``, all overridable):

- backbone: torchvision's VGG16 with ``weights`` "imagenet" (``VGG16_Weights.IMAGENET1K_V1``,
  downloaded once by torchvision), "random" (no pre-training: tests only) or the path of
  a local VGG16 state_dict; fc8 replaced by a new 68x2 head (drawn with torch seed 0),
  then fine-tuned frame by frame (the full counterpart of ``pretrain``: the paper's lr
  1e-4, its face schedule) on the lr-training videos and scored on the validation videos;
  every arm starts from that network (``faces_full_frame-<key>.pt`` under
  ``results/checkpoints/``, reused). Trunk not cached or frozen: all of VGG16 is fine-tuned.
- sizes: Table 1's sweep is the paper's, ``hidden_ratios`` x VGG16's fc7 (4096): 256, 512,
  1024, 2048, 4096 and 2 fc = 8192; the matched sizes are VGG16's
  (``params.matched_hidden_size``: LSTM 5762, GRU 5499, VRNN 2731; paper 5761, 5497, 2740);
  every seed runs every size (``one_seed_sizes`` empty).
- videos: 300VW's 50 training and 64 test videos (``train_videos``/``test_videos``, ``None``
  = the official lists of ``data.vw300``); the **validation** videos are the last
  ``n_val_videos`` = 5 training videos by id (160, 204, 205, 223, 225), never the test set;
  the other 45 are the **lr-training** videos. The lr grid trains on the 45 and scores on
  the 5; after the choice every arm is trained on all 50 (as in the paper) and tested on
  the 64, so the grid runs are not reused as final runs (their checkpoints carry
  ``_lr_train``).
- lr: ``lrs`` = (1e-4,), the paper's rate for every arm and no tuning (a one-value grid is
  not run: each family's lr is that value, its lr rows say "not tuned", and the
  validation videos serve only the frame fine-tune); a larger grid (e.g. 3e-5, 1e-4,
  3e-4) is chosen by ``lr.py``'s rule at the cost of one extra 45-video run per lr and
  family (and, with ``lr_extend``, per step the grid grows beyond an edge).
- samples: windows of ``seq_len`` = 16 consecutive frames (stride 16), face-cropped to
  ``image_size`` = 224 (``VW300Sequences``); training windows augmented once per sequence
  (``SequenceAugment("faces")``: scale, crop, flip with mirrored landmark indices); then,
  in every split, RGB in [0, 1] normalised with ImageNet's mean and std (those of
  ``VGG16_Weights.IMAGENET1K_V1.transforms()``), as VGG16 was trained.
- recipe: the paper's face recipe unscaled (30 epochs), batches of 8 windows,
  ``num_workers`` = 4 loader processes, the GPU when there is one; 3 seeds, all trained
  on the same 50 videos (``seed_draws_data`` is refused: there is no other training set
  to draw; a seed changes the initialisation, augmentation and order). Evaluation in
  batches of 8 windows; the mean-shape reference is the mean of the 50 training videos'
  windows without augmentation ("train_plain").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

from ...backbones import vgg16
from ...backbones.zoo import imagenet_normalise, imagenet_weights
from ...data.augment import SequenceAugment
from ...data.vw300 import VW300Sequences, vw300_videos
from ..arms import Arm
from ..pretrain import normalise_landmarks
from ..results import results_dir
from ..runner import RunContext, run_arm
from ..settings import check_choice
from .common import SPLITS, FaceSettings, face_eval, face_loss

VW300_URL = "https://ibug.doc.ic.ac.uk/resources/300-VW/"


# --- 300VW: splits and samples ----------------------------------------------------------
def vw300_split_videos(settings: FaceSettings) -> dict[str, tuple[str, ...]]:
    """300VW video ids of each split of ``common.SPLITS`` (see the module docstring).

    Validation = the last ``n_val_videos`` training videos by id; "lr_train" = the other
    training videos; "train" and "train_plain" = all of them; "test" = ``test_videos``.

    >>> v = vw300_split_videos(FaceSettings.for_profile("full"))
    >>> v["validation"], len(v["lr_train"]), len(v["train"]), len(v["test"])
    (('160', '204', '205', '223', '225'), 45, 50, 64)
    """
    def ids(field: str, default: str) -> tuple[str, ...]:
        given = getattr(settings, field)
        return vw300_videos(default) if given is None else tuple(
            f"{v:03d}" if isinstance(v, int) else str(v) for v in given)

    train, test = ids("train_videos", "train"), ids("test_videos", "test")
    if both := sorted(set(train) & set(test)):
        raise ValueError(f"FaceSettings.train_videos and test_videos share {both}: a test "
                         "video must never be trained on or used to choose the lr")
    n = settings.n_val_videos
    if not 1 <= n < len(train):
        raise ValueError(f"FaceSettings.n_val_videos = {n}: must be at least 1 and less than "
                         f"the {len(train)} training videos (the rest are trained on)")
    val = tuple(sorted(train)[-n:])
    return {"train": train, "train_plain": train, "test": test, "validation": val,
            "lr_train": tuple(v for v in train if v not in val)}


class VW300Samples(torch.utils.data.Dataset):
    """300VW windows as ``{"x", "y", "flags"}``: ``x`` frames ``(T, 3, S, S)``, augmented
    once per sequence (``augment``) and then ImageNet-normalised; ``y`` normalised
    landmarks ``(T, 68, 2)``; ``flags`` all ``False`` (300VW has none)."""

    def __init__(self, ds, augment: bool) -> None:
        self.ds, self.augment = ds, SequenceAugment("faces") if augment else None

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        s = self.ds[i]
        if self.augment is not None:
            s = self.augment(s)
        return {"x": imagenet_normalise(s["frames"]),                    # (T, 3, S, S)
                "y": normalise_landmarks(s["landmarks"], self.ds.image_size),
                "flags": s["flags"]}


class VW300Faces:
    """300VW and VGG16 as a ``common.FaceSource`` (``full``)."""

    grid_train_split = "lr_train"  # the validation videos are held out of the grid's runs
    test_data = "300VW test videos"
    metric = "NME on 300VW test videos (VGG16)"

    def __init__(self, settings: FaceSettings, context: RunContext | None = None) -> None:
        self.settings, self.context = settings, context or RunContext()
        self.videos = vw300_split_videos(settings)

    @property
    def validation_label(self) -> str:
        return f"validation (held-out training videos {' '.join(self.videos['validation'])})"

    def data(self, split: str, draw: int | None = None) -> torch.utils.data.Dataset:
        """300VW windows of ``split`` (a clear error without the data). ``draw`` must be
        ``None``: 300VW has one training set (``FaceSettings.seed_draws_data`` is refused
        with ``full``)."""
        check_choice("face data split", split, SPLITS)
        if draw is not None:
            raise ValueError(f"300VW has one training set: no draw {draw} of {split!r} "
                             "(seed_draws_data is for the ci/lite stand-in)")
        s = self.settings
        root = Path(s.data_root) if s.data_root else None
        if root is None or not root.is_dir():
            raise FileNotFoundError(
                f"300VW not found under {root or '(no --data-root given)'}: download it from "
                f"{VW300_URL} and place it so that ROOT/001/vid.avi and ROOT/001/annot/"
                "000001.pts exist, then pass --data-root ROOT")

        def make() -> VW300Samples:
            ds = VW300Sequences(root, videos=self.videos[split], seq_len=s.seq_len,
                                image_size=s.image_size)
            return VW300Samples(ds, augment=split in ("train", "lr_train"))
        return self.context.cached(("faces", s, split), make)

    def checkpoint_data(self, split: str) -> dict:
        """What a run's checkpoint key adds (``lr.shared_checkpoint``): the backbone
        weights, window length, image size and training videos."""
        s = self.settings
        return {"weights": s.weights, "seq_len": s.seq_len, "image_size": s.image_size,
                "videos": self.videos[split]}

    def backbone(self) -> nn.Module:
        """VGG16 (``settings.weights``) with a new 136-output head (torch seed 0),
        fine-tuned frame by frame on the lr-training videos at ``base_lr`` and scored on
        the validation videos; saved to :func:`frame_backbone_path` and reused."""
        path = frame_backbone_path(self.settings)
        return self.context.cached(("vgg16_face", str(path)), lambda: self._fine_tune(path))

    def _fine_tune(self, path: Path) -> nn.Module:
        s = self.settings
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = vgg16(weights=None if path.is_file() else imagenet_weights("vgg16",
                                                                               s.weights))
            model.classifier[6] = nn.Linear(4096, 136)
        if path.is_file():
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        frame, metrics, _ = run_arm(
            Arm("frame", "frame"), model, self.data("lr_train"), self.data("validation"),
            s.recipe, 0, face_loss, face_eval, batch_size=s.batch_size, cached=False,
            checkpoint_dir=path.with_suffix(""), num_workers=s.num_workers)
        model = frame.model.cpu()
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
        path.with_suffix(".json").write_text(json.dumps(
            {"split": self.validation_label, **metrics}, indent=1, default=str))
        print(f"  frame VGG16 fine-tuned: {self.validation_label} nme "
              f"{metrics['nme']:.4f} -> {path}", flush=True)
        return model.eval()


def frame_backbone_path(settings: FaceSettings) -> Path:
    """``results/checkpoints/faces_full_frame-<key>.pt``: the fine-tuned frame VGG16 of
    these settings (weights, windows, videos, recipe)."""
    cfg = {"weights": settings.weights, "seq_len": settings.seq_len,
           "image_size": settings.image_size, "batch_size": settings.batch_size,
           "videos": vw300_split_videos(settings)["lr_train"],
           "epochs": settings.recipe.epochs, "base_lr": settings.base_lr}
    key = hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:8]
    return results_dir() / "checkpoints" / f"faces_full_frame-{key}.pt"
