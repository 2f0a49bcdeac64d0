"""Gestures: a generated stand-in for dynamic hand gestures (nvGesture, C3D clips).

A hand-like blob (a palm and four fingers) draws four strokes over a static textured
background, one stroke per clip: left, right, up or down. The class is the ORDER of the
strokes. Every class uses each direction exactly once, so the bag of strokes tells
nothing; the 12 classes are the even permutations of (left, right, up, down), which puts
each direction at each position in exactly 3 classes: one clip narrows 12 classes to 3,
and the clips must be read in order. Swapping two pairs of clips gives another class.
Each stroke is placed independently of the others (the hand does not carry on from where
the last stroke ended), so a clip's content depends on its own direction only, never on
its position in the sequence.

The clip-level task used to pre-train a 3-D CNN (:class:`GestureClips`) is the direction
of the stroke inside one clip, so the clip CNN learns motion features but cannot solve
the sequence task alone. Flipping would turn a left stroke into a right one, so gesture
sequences are never flipped (see ``augment``).

>>> ds = GestureSequences("train", profile="ci", n_train=2)
>>> s = ds[0]
>>> tuple(s["clips"].shape), s["label"].dtype, GESTURE_CLASSES[int(s["label"])]
((4, 3, 8, 32, 32), torch.int64, ('left', 'right', 'up', 'down'))
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

import numpy as np
import torch

from ._render import GeneratedDataset, check_split, smooth_noise, to_float, to_uint8
from .profiles import GestureProfile, make_profile

DIRECTIONS = ("left", "right", "up", "down")
_STEP = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, -1.0], [0.0, 1.0]])  # (x, y), y down


def _parity(perm: tuple[int, ...]) -> int:
    return sum(a > b for a, b in itertools.combinations(perm, 2)) % 2


#: Stroke order of each class (index = label): the even permutations of the 4 directions.
GESTURE_CLASSES: tuple[tuple[str, ...], ...] = tuple(
    tuple(DIRECTIONS[i] for i in p) for p in itertools.permutations(range(4)) if _parity(p) == 0
)


def gesture_label(strokes: tuple[str, ...] | list[str]) -> int:
    """Label of a stroke order; ``ValueError`` if it is no class.

    >>> gesture_label(("left", "right", "up", "down"))
    0
    >>> gesture_label(("right", "left", "down", "up"))   # two swaps: another class
    3
    """
    try:
        return GESTURE_CLASSES.index(tuple(strokes))
    except ValueError:
        raise ValueError(f"{tuple(strokes)} is not a gesture class; classes are the even "
                         f"permutations of {DIRECTIONS}") from None


def _extra_rng(rng: np.random.Generator) -> np.random.Generator:
    """A child of ``rng`` for the draws of non-default knobs: spawning leaves ``rng``'s own
    stream untouched, so the default data stay what they were."""
    return rng.spawn(1)[0]


def _hand_alpha(centre: np.ndarray, blobs, side: np.ndarray, up: np.ndarray, S: int,
                px: float) -> np.ndarray:
    """Opacity (F, S, S) of flat-topped elliptic blobs ``(offset, sigma_side, sigma_up)``
    placed relative to each frame's ``centre`` (F, 2)."""
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    alpha = np.zeros((len(centre), S, S), np.float32)
    for off, s_side, s_up in blobs:
        c = centre + off * px  # (F, 2)
        dx, dy = xx[None] - c[:, 0, None, None], yy[None] - c[:, 1, None, None]
        a_side = dx * side[0] + dy * side[1]
        a_up = dx * up[0] + dy * up[1]
        d2 = (a_side / (s_side * px)) ** 2 + (a_up / (s_up * px)) ** 2
        alpha = np.maximum(alpha, np.exp(-0.5 * d2 ** 2))  # flat-topped blobs
    return alpha


def _distractor(extra: np.random.Generator, prof: GestureProfile, T: int, ease: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """A second, smaller blob's opacity (T*L, S, S) and colour (3,): one stroke per clip
    in a random direction, placed like the hand's (``GestureProfile.distractor``)."""
    L, S, px = prof.clip_len, prof.size, prof.size / 32.0
    lengths = extra.uniform(*prof.stroke_px, T) * px
    steps = _STEP[extra.integers(0, len(DIRECTIONS), T)] * lengths[:, None]
    lo, hi = 4.0 * px + lengths[:, None] / 2, S - 1 - 4.0 * px - lengths[:, None] / 2
    mid = lo + extra.random((T, 2)) * np.maximum(hi - lo, 0.0)
    path = (mid[:, None] + (ease[None, :, None] - 0.5) * steps[:, None]).reshape(T * L, 2)
    centre = path + extra.normal(0, prof.jitter_px * px, path.shape)
    alpha = _hand_alpha(centre, [(np.zeros(2), 2.0, 2.0)], np.array([1.0, 0.0]),
                        np.array([0.0, -1.0]), S, px)
    return prof.distractor * alpha, extra.uniform(0.3, 1.0, 3)


def make_strokes(rng: np.random.Generator, prof: GestureProfile,
                 directions: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Render ``len(directions)`` clips, one stroke each: ``uint8`` (T, L, H, W, 3), and
    whether each clip shows its stroke, ``bool`` (T,) (False: dropped, the hand rests)."""
    T, L, S = len(directions), prof.clip_len, prof.size
    px = S / 32.0
    extra = _extra_rng(rng) if prof.p_drop_clip > 0 or prof.distractor > 0 else None
    lengths = rng.uniform(*prof.stroke_px, T) * px
    shown = np.ones(T, bool)
    if prof.p_drop_clip > 0:  # a dropped clip's hand rests at its stroke's midpoint
        shown = extra.random(T) >= prof.p_drop_clip
        lengths = np.where(shown, lengths, 0.0)
    # within a clip the hand eases in and out: progress 0 -> 1 over L frames
    ease = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, L + 1) / L)  # (L,)
    steps = _STEP[directions] * lengths[:, None]  # (T, 2)
    # Each stroke is placed on its own: its midpoint is uniform in the square that keeps a
    # stroke of its length inside the frame (margin for the hand) whatever its direction.
    # The same distribution for every direction and every position in the sequence, so a
    # clip reveals its own stroke and nothing about the strokes before it (a path that
    # carried on from the previous stroke would leak the order through the hand's place).
    margin = prof.margin_px * px
    half = lengths[:, None] / 2  # (T, 1)
    lo, hi = margin + half, S - 1 - margin - half
    mid = lo + rng.random((T, 2)) * np.maximum(hi - lo, 0.0)  # (T, 2)
    path = (mid[:, None] + (ease[None, :, None] - 0.5) * steps[:, None]).reshape(T * L, 2)
    centre = path + rng.normal(0, prof.jitter_px * px, path.shape)  # (F, 2)

    angle = rng.uniform(-prof.tilt, prof.tilt)  # fingers point up, tilted
    up = np.array([np.sin(angle), -np.cos(angle)])
    side = np.array([-up[1], up[0]])
    blobs = [(np.zeros(2), 3.2, 2.8)]  # (offset, sigma along side, sigma along up), palm
    for k in range(4):
        blobs.append((up * 4.0 + side * (k - 1.5) * 1.8, 0.8, 1.8))
    alpha = _hand_alpha(centre, blobs, side, up, S, px)
    skin = np.array([rng.uniform(0.7, 1.0), rng.uniform(0.5, 0.8), rng.uniform(0.35, 0.6)])
    bg = (0.25 + 0.5 * smooth_noise(rng, S, 5)) * rng.uniform(0.5, 1.0)
    if prof.distractor > 0:  # behind the hand
        d_alpha, d_colour = _distractor(extra, prof, T, ease)
        bg = bg[None] * (1 - d_alpha[..., None]) + d_colour * d_alpha[..., None]
    else:
        bg = bg[None]
    frames = bg * (1 - alpha[..., None]) + skin * alpha[..., None]
    frames += prof.noise_std * rng.standard_normal(frames.shape, dtype=np.float32)
    return to_uint8(frames).reshape(T, L, S, S, 3), shown


def _sequence_item(rng: np.random.Generator, index: int, prof: GestureProfile) -> dict:
    label = index % len(GESTURE_CLASSES)
    order = [DIRECTIONS.index(d) for d in GESTURE_CLASSES[label]]
    clips, shown = make_strokes(rng, prof, order)
    return {"clips": clips, "label": label, "shown": shown}


def _clip_item(rng: np.random.Generator, index: int, prof: GestureProfile) -> dict:
    label = index % len(DIRECTIONS)
    clips, shown = make_strokes(rng, prof, [label])
    return {"clips": clips, "label": label, "shown": shown}


def _to_sample(raw: dict) -> dict:
    clips = to_float(raw["clips"]).transpose(1, 2).contiguous()  # (T, 3, L, H, W)
    return {"clips": clips, "label": torch.tensor(raw["label"], dtype=torch.int64),
            "shown": torch.from_numpy(raw["shown"])}


def _check_length(prof: GestureProfile) -> None:
    if prof.seq_len != len(DIRECTIONS):
        raise ValueError(f"a gesture has one clip per direction: seq_len must be "
                         f"{len(DIRECTIONS)}, got {prof.seq_len}")


class GestureSequences(GeneratedDataset):
    """Clip sequences of a hand drawing four strokes; class = their order (12 classes).

    Parameters
    ----------
    split : {"train", "test"}
    profile : {"ci", "lite"}
        Sizes (``profiles.GestureProfile``); fields can be overridden by keyword.
    seed : int

    Items
    -----
    ``{"clips": float32 (T, 3, L, H, W) in [0, 1], "label": int64, "shown": bool (T,)}``
    with T = 4 clips of L frames; classes balanced (label = index % 12), names in
    :data:`GESTURE_CLASSES`; ``shown[t]`` is False where clip t lost its stroke
    (``GestureProfile.p_drop_clip``): what no model is told, and what the references of
    ``experiments.gestures`` use to say what the visible strokes allow.
    """

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        self.profile = make_profile("gestures", profile, **overrides)
        _check_length(self.profile)
        n = self.profile.n_train if split == "train" else self.profile.n_test
        super().__init__("gestures", split, n, seed, self.profile.cache,
                         partial(_sequence_item, prof=self.profile), _to_sample)


class GestureClips(GeneratedDataset):
    """Single clips for pre-training a 3-D CNN; label = stroke direction (0-3).

    Items: ``{"clip": float32 (3, L, H, W), "label": int64, "shown": bool}`` (see
    :data:`DIRECTIONS`); a clip whose stroke was dropped (``shown`` False) keeps its label,
    so pre-training learns that a resting hand names no direction.

    >>> ds = GestureClips("test", profile="ci")
    >>> len(ds), tuple(ds[3]["clip"].shape), DIRECTIONS[int(ds[3]["label"])]
    (64, (3, 8, 32, 32), 'down')
    """

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        self.profile = make_profile("gestures", profile, **overrides)
        n = self.profile.n_train_clips if split == "train" else self.profile.n_test_clips
        super().__init__("gestures", "frames-" + split, n, seed, self.profile.cache,
                         partial(_clip_item, prof=self.profile), _to_sample)

    def __getitem__(self, index: int) -> dict:
        item = super().__getitem__(index)
        return {"clip": item["clips"][0], "label": item["label"], "shown": item["shown"][0]}
