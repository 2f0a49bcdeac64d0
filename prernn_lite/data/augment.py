"""Sequence-consistent augmentation: one random scale, crop and flip per sequence.

The paper augments with random scaling, cropping and flipping. For a sequence the draw
is made ONCE and applied to every frame, or the motion between frames would be changed.
The geometry is torchvision's: frames travel as a ``tv_tensors.Video`` ``(T, C, H, W)``
and landmarks as ``tv_tensors.KeyPoints`` through ``transforms.v2.functional`` (resize,
crop -- padding with zeros where the crop leaves the image -- and horizontal flip), so
image and points are moved by the same kernels. Output size = input size.

Two things a flip changes beyond geometry:

* faces: a mirrored face's point 36 (image-left outer eye corner) is now on the right, so
  the landmark *indices* are permuted by :data:`IBUG_FLIP_PERM` (left <-> right partners);
* optical flow: horizontal displacements change sign (the x channels are negated); a
  resize by ``s`` also multiplies displacements by ``s``.

Gestures are never flipped: a flip turns a "left" stroke into a "right" one, i.e. changes
the class (``SequenceAugment`` refuses ``p_flip > 0`` for them).

Coordinate note: torchvision flips points as ``x -> W - 1 - x`` (pixel centres at
integers, as our landmarks) but resizes them as ``x -> s x``; the two conventions differ
by ``(s - 1) / 2`` pixels, a tenth of a pixel for ``s`` in [0.8, 1.2].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

#: Mirror partner of each of the 68 iBUG points (0-based); ``IBUG_FLIP_PERM[i]`` = j means
#: after a horizontal flip, new point i is old point j. It is an involution.
IBUG_FLIP_PERM: tuple[int, ...] = (
    *range(16, -1, -1),  # jaw 0..16 -> 16..0
    26, 25, 24, 23, 22, 21, 20, 19, 18, 17,  # brows 17..26
    27, 28, 29, 30,  # nose bridge (on the midline)
    35, 34, 33, 32, 31,  # nostrils 31..35
    45, 44, 43, 42, 47, 46,  # right eye 36..41 <- left eye
    39, 38, 37, 36, 41, 40,  # left eye 42..47 <- right eye
    54, 53, 52, 51, 50, 49, 48,  # outer upper lip 48..54
    59, 58, 57, 56, 55,  # outer lower lip 55..59
    64, 63, 62, 61, 60,  # inner upper lip 60..64
    67, 66, 65,  # inner lower lip 65..67
)


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the per-sequence draw.

    ``scale``: zoom factor range (below 1 shrinks and pads with zeros); the crop position
    is uniform over all positions; ``p_flip``: probability of a horizontal flip.
    """

    scale: tuple[float, float] = (0.9, 1.15)
    p_flip: float = 0.5


@dataclass(frozen=True)
class AugmentParams:
    """One draw: resize to ``(round(H*scale), round(W*scale))``, crop at ``(top, left)``."""

    scale: float
    top: int
    left: int
    flip: bool


def draw_params(size_hw: tuple[int, int], config: AugmentConfig = AugmentConfig(),
                generator: torch.Generator | None = None) -> AugmentParams:
    """Draw one :class:`AugmentParams` for frames of size ``(H, W)``.

    >>> p = draw_params((64, 64), AugmentConfig(scale=(1.25, 1.25), p_flip=0.0))
    >>> p.scale, 0 <= p.top <= 16, p.flip
    (1.25, True, False)
    """
    H, W = size_hw
    lo, hi = config.scale
    u = torch.rand(4, generator=generator).tolist()
    s = lo + (hi - lo) * u[0]
    dh, dw = round(H * s) - H, round(W * s) - W  # negative when shrinking: pad
    top = round(min(0, dh) + abs(dh) * u[1])
    left = round(min(0, dw) + abs(dw) * u[2])
    return AugmentParams(scale=s, top=top, left=left, flip=u[3] < config.p_flip)


def augment_video(video: torch.Tensor, params: AugmentParams,
                  keypoints: torch.Tensor | None = None,
                  flip_perm: tuple[int, ...] | None = IBUG_FLIP_PERM,
                  flow: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Apply one draw to all frames (and points) of a sequence.

    Parameters
    ----------
    video : Tensor, shape (T, C, H, W)
        Frames (or flow stacks: ``flow=True`` treats channels as x0, y0, x1, y1, ...
        displacements, negated in x on a flip and scaled by ``params.scale``).
    params : AugmentParams
    keypoints : Tensor, shape (T, K, 2), optional
        ``(x, y)`` pixel positions in every frame.
    flip_perm : tuple of int, optional
        Index permutation applied to the K points on a flip (``None``: none).

    Returns
    -------
    (video, keypoints) : Tensor (T, C, H, W), Tensor (T, K, 2) or None

    >>> v = torch.zeros(2, 1, 4, 4); v[:, 0, 1, 0] = 1   # a dot at x=0, y=1
    >>> out, _ = augment_video(v, AugmentParams(1.0, 0, 0, True))
    >>> out[1, 0, 1].tolist()                           # flipped: now at x=3
    [0.0, 0.0, 0.0, 1.0]
    """
    H, W = video.shape[-2:]
    size = [round(H * params.scale), round(W * params.scale)]
    vid = tv_tensors.Video(video)
    vid = F.resize(vid, size, antialias=True)
    vid = F.crop(vid, params.top, params.left, H, W)
    if params.flip:
        vid = F.horizontal_flip(vid)
    out = vid.as_subclass(torch.Tensor)
    if flow:
        sx, sy = size[1] / W, size[0] / H
        gain = torch.tensor([-sx if params.flip else sx, sy], dtype=out.dtype)
        out = (out.unflatten(1, (-1, 2)) * gain[:, None, None]).flatten(1, 2)
    if keypoints is None:
        return out, None
    kp = tv_tensors.KeyPoints(keypoints, canvas_size=(H, W))
    kp = F.resize(kp, size)
    kp = F.crop(kp, params.top, params.left, H, W)
    if params.flip:
        kp = F.horizontal_flip(kp)
    kp = kp.as_subclass(torch.Tensor)
    if params.flip and flip_perm is not None:
        kp = kp[..., list(flip_perm), :]
    return out, kp


class SequenceAugment:
    """Augment a stand-in (or real-loader) sample dict with one draw per sequence.

    Parameters
    ----------
    task : {"faces", "gestures", "actions"}
        Faces: ``frames`` and ``landmarks`` (indices mirrored on a flip). Gestures: all
        ``clips`` as one video (no flip). Actions: ``rgb`` and ``flow`` (flow-aware).
    config : AugmentConfig
    generator : torch.Generator, optional
        For reproducible draws.

    >>> aug = SequenceAugment("faces", generator=torch.Generator().manual_seed(0))
    >>> s = {"frames": torch.rand(3, 3, 16, 16), "landmarks": torch.rand(3, 68, 2) * 15}
    >>> tuple(aug(s)["frames"].shape), tuple(aug(s)["landmarks"].shape)
    ((3, 3, 16, 16), (3, 68, 2))
    """

    def __init__(self, task: str, config: AugmentConfig | None = None,
                 generator: torch.Generator | None = None) -> None:
        if task not in ("faces", "gestures", "actions"):
            raise ValueError(f"unknown task {task!r}; valid tasks: faces, gestures, actions")
        if config is None:
            config = AugmentConfig(p_flip=0.0) if task == "gestures" else AugmentConfig()
        if task == "gestures" and config.p_flip > 0:
            raise ValueError("gestures cannot be flipped: a flip turns a left stroke into a "
                             "right one and so changes the class; use p_flip=0")
        self.task, self.config, self.generator = task, config, generator

    def __call__(self, sample: dict) -> dict:
        out = dict(sample)
        if self.task == "faces":
            p = draw_params(sample["frames"].shape[-2:], self.config, self.generator)
            out["frames"], out["landmarks"] = augment_video(
                sample["frames"], p, sample.get("landmarks"))
        elif self.task == "gestures":
            clips = sample["clips"]  # (T, 3, L, H, W)
            T, C, L, H, W = clips.shape
            p = draw_params((H, W), self.config, self.generator)
            frames = clips.transpose(1, 2).reshape(T * L, C, H, W)
            frames, _ = augment_video(frames, p)
            out["clips"] = frames.reshape(T, L, C, H, W).transpose(1, 2)
        else:
            p = draw_params(sample["rgb"].shape[-2:], self.config, self.generator)
            out["rgb"], _ = augment_video(sample["rgb"], p)
            out["flow"], _ = augment_video(sample["flow"], p, flow=True)
        return out
