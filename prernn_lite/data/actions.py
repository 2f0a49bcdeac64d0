"""Actions: a generated stand-in for two-stream action recognition on UCF101.

A video shows one object moving over a static scene. Its class is a pair
(appearance, motion), and the eight classes are chosen so that neither stream alone
can name all of them:

* appearance = the object's colour; the background scene (grass stripes, sky gradient,
  indoor checkerboard, sand noise) follows the class by default and is drawn at random
  in ci/lite (``ActionProfile.random_scene``); two classes share each appearance and
  differ in motion;
* motion = ``sway`` (horizontal oscillation), ``slide`` (steady horizontal travel),
  ``bob`` (vertical oscillation), ``drop`` (steady vertical travel); two classes share
  each motion and differ in appearance.

Sway and slide (bob and drop) look alike over a few frames (in ci/lite a sway moves at a
slide's speed between its turns: ``ActionProfile.oscillation``); mostly the direction
reversal over the whole video tells them apart, so the temporal stream gains from
context. Where the object is still says something: a slide starts near an edge and
crosses the centre, a sway stays around it (chapter 8 measures this).
``ActionProfile.position="random"`` shifts every path at random within the frame; ci/lite
keep centred paths (``benchmarks/standins_actions_probes.csv``: without the cue, no arm
trained at lite size reads the reversal, while an untrained rule does).
The lighting changes between sampled times (never inside a flow window, where it would
fake motion), so one frame's colours are a noisy cue.

``T`` times are sampled evenly (every ``stride`` frames). At each, the spatial stream gets
the RGB frame and the temporal stream the 10 Farnebäck flow fields (``cv2``) between the
next 11 frames, stacked as ``x0, y0, x1, y1, ...`` (20 channels), in pixels per frame.
Flow is stored quantised to 1/16 pixel (int8, |flow| <= 7.9), as two-stream pipelines
store flow as 8-bit images.

>>> ds = ActionVideos("test", profile="ci", n_test=2)
>>> s = ds[1]
>>> tuple(s["rgb"].shape), tuple(s["flow"].shape), int(s["label"]), ACTION_CLASSES[1]
((4, 3, 64, 64), (4, 20, 64, 64), 1, 'red-slide')
"""

from __future__ import annotations

from functools import partial
from typing import Any

import cv2
import numpy as np
import torch

from ._render import GeneratedDataset, check_split, smooth_noise, to_float, to_uint8
from .profiles import ActionProfile, make_profile

APPEARANCES = ("red", "blue", "yellow", "magenta")
MOTIONS = ("sway", "slide", "bob", "drop")
#: (appearance index, motion index) of each class
CLASS_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 0),
)
ACTION_CLASSES = tuple(f"{APPEARANCES[a]}-{MOTIONS[m]}" for a, m in CLASS_PAIRS)
_COLOURS = np.array([[0.85, 0.15, 0.1], [0.15, 0.3, 0.9], [0.95, 0.85, 0.1], [0.85, 0.2, 0.8]])
FLOW_STEP = 1.0 / 16  # flow quantisation, pixels


def _background(rng: np.random.Generator, kind: int, S: int) -> np.ndarray:
    yy, xx = np.mgrid[0:S, 0:S] / S
    if kind == 0:  # grass: green with horizontal stripes
        base = np.array([0.2, 0.55, 0.2]) * (0.8 + 0.2 * np.sin(2 * np.pi * 6 * yy))[..., None]
    elif kind == 1:  # sky: light-blue vertical gradient
        base = np.array([0.55, 0.75, 0.95]) * (0.7 + 0.3 * yy)[..., None]
    elif kind == 2:  # indoor: grey checkerboard
        check = ((xx * 4).astype(int) + (yy * 4).astype(int)) % 2
        base = np.full((S, S, 3), 0.45) + 0.15 * check[..., None]
    else:  # sand: beige, blotchy
        base = np.array([0.8, 0.7, 0.5]) * np.ones((S, S, 1))
    return base * rng.uniform(0.85, 1.1) + 0.12 * (smooth_noise(rng, S, 6) - 0.5)


def _trajectory(rng: np.random.Generator, motion: int, n: int, S: int,
                prof: ActionProfile) -> np.ndarray:
    """Object centre (n, 2) in pixels for one motion pattern."""
    t = np.arange(n)
    along = np.empty(n)
    if motion in (0, 2) and prof.oscillation == "triangle":
        # back and forth at a slide's constant speed, turning every half period
        speed = rng.uniform(*prof.travel) * S / (n - 1)
        period = rng.uniform(*prof.period) * n
        phase = rng.uniform(0, 1) + t / period  # in periods
        along = S / 2 + speed * period * (np.abs((phase % 1.0) - 0.5) - 0.25)
    elif motion in (0, 2):  # oscillation: reverses direction within the video
        amp, period = rng.uniform(*prof.amplitude) * S, rng.uniform(*prof.period) * n
        along = S / 2 + amp * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    else:  # steady travel across the frame, either way
        travel = rng.uniform(*prof.travel) * S * rng.choice([-1.0, 1.0])
        along = S / 2 - travel / 2 + travel * t / (n - 1)
    across = (S / 2 + rng.uniform(-0.15, 0.15) * S
              + np.cumsum(rng.normal(0, prof.wander * S / 32, n)))
    xy = np.stack([along, across], -1) if motion in (0, 1) else np.stack([across, along], -1)
    return xy


def _free_shift(extra: np.random.Generator, along: np.ndarray, S: int, half: float) -> float:
    """A shift drawn uniformly among those that keep the path ``along`` (pixels) and the
    object (half-width ``half``) inside ``[0, S]``; 0 if the path has no room to move.

    >>> rng = np.random.default_rng(0)
    >>> path = np.array([20.0, 30.0, 40.0])
    >>> shifts = [_free_shift(rng, path, 64, 8.0) for _ in range(1000)]
    >>> bool(min(shifts) >= -12.0 and max(shifts) <= 16.0 and np.ptp(shifts) > 25)
    True
    """
    lo, hi = half - along.min(), S - half - along.max()
    return float(extra.uniform(lo, hi)) if hi > lo else 0.0


def _occluders(extra: np.random.Generator, p: float, T: int, S: int) -> list:
    """Per sampled time, ``None`` or a static bar ``(x0, y0, x1, y1)`` hiding a third of
    the frame (a vertical or a horizontal band at a random place) for its whole window."""
    bars = []
    for hit, vertical, start in zip(extra.random(T) < p, extra.random(T) < 0.5,
                                    extra.integers(0, S - S // 3 + 1, T), strict=True):
        if not hit:
            bars.append(None)
        elif vertical:
            bars.append((int(start), 0, int(start) + S // 3, S))
        else:
            bars.append((0, int(start), S, int(start) + S // 3))
    return bars


def make_action_video(rng: np.random.Generator, prof: ActionProfile, label: int) -> dict:
    """One video of class ``label``: ``uint8`` RGB (T, H, W, 3), int8 flow (T, H, W, 20)."""
    S, T, L = prof.size, prof.seq_len, prof.flow_len
    if prof.stride < L + 1:
        raise ValueError(f"stride ({prof.stride}) must be at least flow_len + 1 ({L + 1})")
    if prof.oscillation not in ("sine", "triangle"):
        raise ValueError(f"oscillation must be 'sine' or 'triangle', got {prof.oscillation!r}")
    if prof.position not in ("centred", "random"):
        raise ValueError(f"position must be 'centred' or 'random', got {prof.position!r}")
    app, motion = CLASS_PAIRS[label]
    n = T * prof.stride
    # non-default knobs draw from a child generator: rng's own stream stays as it was
    extra = (rng.spawn(1)[0] if prof.camera_shake > 0 or prof.p_occlusion > 0
             or prof.random_scene or prof.position == "random" else None)
    scene = int(extra.integers(len(APPEARANCES))) if prof.random_scene else app
    bg = _background(rng, scene, S)
    colour = np.clip(_COLOURS[app] + rng.normal(0, prof.colour_jitter, 3), 0, 1)
    centre = _trajectory(rng, motion, n, S, prof)
    half = rng.uniform(*prof.object_half) * S
    if prof.position == "random":  # shift the path along its motion, keeping it in frame
        axis = 0 if motion in (0, 1) else 1
        centre[:, axis] += _free_shift(extra, centre[:, axis], S, half)
    # lighting changes between sampled times, never inside a flow window (it would fake flow)
    light = np.repeat(1.0 + prof.light_jitter * rng.uniform(-1, 1, T), prof.stride)
    shake = (extra.normal(0, prof.camera_shake * S / 32, (n, 2)) if prof.camera_shake > 0
             else None)
    bars = (_occluders(extra, prof.p_occlusion, T, S) if prof.p_occlusion > 0 else None)
    frames = np.empty((n, S, S, 3), np.float32)
    sh = 16
    for i in range(n):
        img = bg.astype(np.float32).copy()
        (x, y), h = centre[i], half
        p0, p1 = np.round([(x - h) * sh, (y - h) * sh]), np.round([(x + h) * sh, (y + h) * sh])
        cv2.rectangle(img, p0.astype(int).tolist(), p1.astype(int).tolist(), colour.tolist(),
                      -1, cv2.LINE_AA, 4)
        cv2.line(img, np.round([x * sh, (y - h) * sh]).astype(int).tolist(),
                 np.round([x * sh, (y + h) * sh]).astype(int).tolist(),
                 (0.5 * colour).tolist(), max(1, round(S / 32)), cv2.LINE_AA, 4)
        if shake is not None:  # the camera moves: the whole frame shifts
            img = cv2.warpAffine(img, np.float32([[1, 0, shake[i, 0]], [0, 1, shake[i, 1]]]),
                                 (S, S), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REFLECT)
        if bars is not None and bars[i // prof.stride] is not None:
            (x0, y0, x1, y1) = bars[i // prof.stride]
            img[y0:y1, x0:x1] = 0.5
        frames[i] = img * light[i]
    frames += prof.noise_std * rng.standard_normal(frames.shape, dtype=np.float32)
    frames8 = to_uint8(frames)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames8]
    starts = np.arange(T) * prof.stride
    win = max(5, round(11 * S / 64)) | 1
    flow = np.empty((T, S, S, 2 * L), np.int8)
    for k, s0 in enumerate(starts):
        for j in range(L):
            f = cv2.calcOpticalFlowFarneback(grey[s0 + j], grey[s0 + j + 1], None,
                                             0.5, 2, win, 2, 5, 1.1, 0)
            flow[k, ..., 2 * j:2 * j + 2] = np.clip(np.round(f / FLOW_STEP), -127, 127)
    return {"rgb": frames8[starts], "flow": flow, "label": label}


def _video_sample(raw: dict) -> dict:
    flow = torch.from_numpy(raw["flow"]).float().mul_(FLOW_STEP).movedim(-1, -3).contiguous()
    return {"rgb": to_float(raw["rgb"]), "flow": flow,
            "label": torch.tensor(raw["label"], dtype=torch.int64)}


def _make_balanced(rng: np.random.Generator, index: int, prof: ActionProfile) -> dict:
    return make_action_video(rng, prof, index % len(CLASS_PAIRS))


class ActionVideos(GeneratedDataset):
    """Videos for two-stream action recognition; classes balanced (label = index % 8).

    Parameters
    ----------
    split : {"train", "test"}
    profile : {"ci", "lite"}
        Sizes (``profiles.ActionProfile``); fields can be overridden by keyword.
    seed : int

    Items
    -----
    ``{"rgb": float32 (T, 3, H, W) in [0, 1], "flow": float32 (T, 20, H, W) pixels/frame,
    "label": int64}``; class names in :data:`ACTION_CLASSES`.
    """

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        self.profile = make_profile("actions", profile, **overrides)
        n = self.profile.n_train if split == "train" else self.profile.n_test
        super().__init__("actions", split, n, seed, self.profile.cache,
                         partial(_make_balanced, prof=self.profile), _video_sample)


class ActionFrames(ActionVideos):
    """Single sampled times, for pre-training the spatial and the temporal stream.

    From videos that appear in no :class:`ActionVideos` split; each of a video's T times is
    one item: ``{"rgb": (3, H, W), "flow": (20, H, W), "label": int64}``.

    >>> ds = ActionFrames("test", profile="ci")
    >>> len(ds), tuple(ds[0]["flow"].shape)
    (32, (20, 64, 64))
    """

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        prof = make_profile("actions", profile, **overrides)
        n = prof.n_train_frames if split == "train" else prof.n_test_frames
        self.n_items, T = n, prof.seq_len
        n_videos = -(-n // T)
        self.profile = prof
        GeneratedDataset.__init__(self, "actions", "frames-" + split, n_videos, seed,
                                  prof.cache, partial(_make_balanced, prof=prof), _video_sample)

    def __len__(self) -> int:
        return self.n_items

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.n_items:
            raise IndexError(f"index {index} out of range for {self.n_items} items")
        T = self.profile.seq_len
        video = super().__getitem__(index // T)
        return {"rgb": video["rgb"][index % T], "flow": video["flow"][index % T],
                "label": video["label"]}

