"""Faces: a generated stand-in for sequential face alignment on 300VW.

Each sequence is a short video of a drawn face (skin polygon bounded by the jaw, brows,
eyes with pupils, nose, lips) that carries the 68 iBUG landmarks in their standard order
and roles: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67; 36 and 45 are the
outer eye corners, point 0 / 36 / 48 lie on the *image's* left (the subject's right).
Faces differ in shape (jaw, eye size and spacing, nose, mouth) and colours.

Over time the head translates, rotates in-plane and scales, and the expression changes
(mouth opening, brow raise), each driven by a damped random walk with momentum
``v_t = rho * v_{t-1} + noise - pull``, so the next frame is predictable from the past.
Hard frames make temporal context necessary: occlusion events (a textured box over half
or ALL of the face for several consecutive frames), dropped frames (black or pure noise),
blur. The first ``clean_start`` frames are always clean, so a causal model has a start.

Targets are the true landmarks of every frame, hard or not, as ``(x, y)`` pixels with
pixel centres at integer coordinates. The metric is NME (``metrics.nme``).

>>> ds = FaceSequences("train", profile="ci", n_train=2)
>>> s = ds[0]
>>> tuple(s["frames"].shape), tuple(s["landmarks"].shape), sorted(s["flags"])
((12, 3, 64, 64), (12, 68, 2), ['blurred', 'dropped', 'occluded'])
"""

from __future__ import annotations

from functools import partial
from typing import Any

import cv2
import numpy as np
import torch

from ._render import GeneratedDataset, check_split, smooth_noise, to_float, to_uint8
from .profiles import FaceProfile, make_profile

N_LANDMARKS = 68
FLAG_NAMES = ("occluded", "blurred", "dropped")
_SHIFT = 4  # OpenCV sub-pixel drawing: coordinates scaled by 2**_SHIFT


def face_shape(p: dict, mouth_open: np.ndarray, brow_raise: np.ndarray) -> np.ndarray:
    """The 68 iBUG points of a face in face units (y down, outer eye corners ~ +-0.6).

    Parameters
    ----------
    p : dict
        Per-face shape parameters (see ``_draw_face_params``).
    mouth_open, brow_raise : ndarray, shape (T,)
        Expression over time, in face units.

    Returns
    -------
    ndarray, shape (T, 68, 2)
    """
    T = len(mouth_open)
    pts = np.zeros((T, N_LANDMARKS, 2))
    a = np.linspace(np.pi, 0.0, 17)
    pts[:, 0:17, 0] = p["jaw_w"] * np.cos(a)
    # the jaw drops with the mouth: the chin moves down by the opening
    pts[:, 0:17, 1] = p["eye_y"] + (p["chin_y"] - p["eye_y"] + mouth_open[:, None]) * np.sin(a)
    s = np.linspace(0.0, 1.0, 5)
    x0, x1 = p["eye_dx"] + 1.2 * p["eye_w"], p["eye_dx"] - 0.9 * p["eye_w"]
    brow_y = p["eye_y"] - p["brow_off"] - p["brow_arch"] * np.sin(np.pi * s)  # (5,)
    pts[:, 17:22, 0] = -x0 + s * (x0 - x1)
    pts[:, 22:27, 0] = x1 + s * (x0 - x1)
    pts[:, 17:27, 1] = np.concatenate([brow_y, brow_y[::-1]]) - brow_raise[:, None]
    pts[:, 27:31, 1] = np.linspace(p["eye_y"], p["nose_y"], 4)
    xn = np.linspace(-p["nose_w"], p["nose_w"], 5)
    pts[:, 31:36, 0] = xn
    pts[:, 31:36, 1] = p["nose_y"] + 0.06 - 0.04 * (xn / p["nose_w"]) ** 2
    w, h = p["eye_w"], p["eye_h"]
    ex = np.array([-w, -w / 3, w / 3, w, w / 3, -w / 3])
    ey = np.array([0.0, -h, -h, 0.0, h, h])
    pts[:, 36:42, 0] = -p["eye_dx"] + ex
    pts[:, 42:48, 0] = p["eye_dx"] - ex[[3, 2, 1, 0, 5, 4]]
    pts[:, 36:48, 1] = p["eye_y"] + np.concatenate([ey, ey[[3, 2, 1, 0, 5, 4]]])
    mw, lip, o = p["mouth_w"], p["lip"], mouth_open[:, None]
    ox = mw * np.array([-1, -2 / 3, -1 / 3, 0, 1 / 3, 2 / 3, 1, 2 / 3, 1 / 3, 0, -1 / 3, -2 / 3])
    up = -lip * np.array([0, 0.7, 1, 0.8, 1, 0.7, 0]) + 0.5 * o * np.array([1, 0, 0, 0, 0, 0, 1])
    low = o + lip * np.array([0.7, 1, 1.05, 1, 0.7])
    pts[:, 48:60, 0] = ox
    pts[:, 48:60, 1] = p["mouth_y"] + np.concatenate([up, low], axis=1)
    ix = mw * np.array([-0.8, -1 / 3, 0, 1 / 3, 0.8, 1 / 3, 0, -1 / 3])
    top = np.full((T, 3), -0.2 * lip)
    iup = np.concatenate([0.5 * o, top, 0.5 * o], axis=1)
    pts[:, 60:68, 0] = ix
    pts[:, 60:68, 1] = p["mouth_y"] + np.concatenate([iup, o, o, o], axis=1)
    return pts


def _draw_face_params(rng: np.random.Generator) -> dict:
    u = rng.uniform
    p = dict(jaw_w=u(0.85, 1.05), chin_y=u(0.75, 0.95), eye_y=u(-0.35, -0.25),
             eye_dx=u(0.36, 0.44), eye_w=u(0.15, 0.21), eye_h=u(0.05, 0.09),
             brow_off=u(0.18, 0.28), brow_arch=u(0.03, 0.1), nose_y=u(0.08, 0.2),
             nose_w=u(0.13, 0.2), mouth_y=u(0.42, 0.55), mouth_w=u(0.22, 0.32), lip=u(0.05, 0.08))
    skin = np.array([u(0.55, 0.95), u(0.4, 0.8), u(0.3, 0.65)])
    p["skin"] = skin
    p["dark"] = skin * u(0.1, 0.35)
    p["lips"] = np.array([u(0.5, 0.8), u(0.15, 0.35), u(0.2, 0.4)])
    p["bg"] = rng.uniform(0.0, 1.0, 3)
    return p


def _motion(rng: np.random.Generator, T: int, size: int, speed: float) -> dict[str, np.ndarray]:
    """Head pose and expression over ``T`` frames: damped random walks with momentum."""
    px = size / 64.0
    #        name    start (and resting value)            noise sigma        bounds
    spec = [("x", size / 2 + rng.uniform(-5, 5) * px, 0.35 * speed * px, None),
            ("y", size / 2 + (2 + rng.uniform(-5, 5)) * px, 0.35 * speed * px, None),
            ("rot", rng.uniform(-0.25, 0.25), 0.02 * speed, (-0.6, 0.6)),
            ("logs", np.log(rng.uniform(0.85, 1.15)), 0.012 * speed, (-0.3, 0.25)),
            ("open", rng.uniform(0.0, 0.2), 0.025, (0.0, 0.3)),
            ("brow", rng.uniform(0.0, 0.08), 0.012, (0.0, 0.12))]
    rho, pull = 0.85, 0.02
    out = {}
    for name, mean, sigma, bounds in spec:
        x = np.empty(T)
        v = rng.normal(0.0, sigma / np.sqrt(1 - rho**2))
        x[0] = mean
        for t in range(1, T):
            v = rho * v + sigma * rng.normal() - pull * (x[t - 1] - mean)
            x[t] = x[t - 1] + v
            if bounds is not None and not bounds[0] <= x[t] <= bounds[1]:
                x[t] = np.clip(x[t], *bounds)
                v = -0.5 * v
        out[name] = x
    return out


def _schedule(rng: np.random.Generator, T: int, start: int, p: float,
              length: tuple[int, int]) -> list[tuple[int, int]]:
    """Events ``(first, last+1)``: one starts at each free frame with probability ``p``."""
    events, t = [], start
    while t < T:
        if rng.random() < p:
            n = int(rng.integers(length[0], length[1] + 1))
            events.append((t, min(T, t + n)))
            t += n + 1
        else:
            t += 1
    return events


def _pix(points: np.ndarray) -> np.ndarray:
    return np.round(points * (1 << _SHIFT)).astype(np.int32)


def _render_face(img: np.ndarray, p: dict, pts: np.ndarray, forehead: np.ndarray,
                 size: int) -> None:
    """Draw one face (points in pixels) onto ``img`` (H, W, 3 float32) in place."""
    aa, th = cv2.LINE_AA, max(1, round(size / 40))
    col = [tuple(float(c) for c in p[k]) for k in ("skin", "dark", "lips")]
    skin, dark, lips = col
    cv2.fillPoly(img, [_pix(np.concatenate([pts[0:17], forehead]))], skin, aa, _SHIFT)
    jaw_col = tuple(0.8 * c for c in skin)
    cv2.polylines(img, [_pix(pts[0:17])], False, jaw_col, 1, aa, _SHIFT)
    cv2.polylines(img, [_pix(pts[17:22]), _pix(pts[22:27])], False, dark, th, aa, _SHIFT)
    for eye in (pts[36:42], pts[42:48]):
        cv2.fillPoly(img, [_pix(eye)], (0.95, 0.95, 0.92), aa, _SHIFT)
        c = eye.mean(0)
        r = max(1.0, 0.45 * np.linalg.norm(eye[1] - eye[5]))
        cv2.circle(img, tuple(int(v) for v in _pix(c)), int(r * (1 << _SHIFT)), dark, -1, aa,
                   _SHIFT)
        cv2.polylines(img, [_pix(eye)], True, dark, 1, aa, _SHIFT)
    cv2.polylines(img, [_pix(pts[27:31]), _pix(pts[31:36])], False, jaw_col, th, aa, _SHIFT)
    cv2.fillPoly(img, [_pix(pts[48:60])], lips, aa, _SHIFT)
    cv2.fillPoly(img, [_pix(pts[60:68])], tuple(0.3 * c for c in lips), aa, _SHIFT)


def make_face_sequence(rng: np.random.Generator, prof: FaceProfile,
                       clean_start: int | None = None) -> dict[str, Any]:
    """Generate one sequence: ``uint8`` frames (T, H, W, 3), landmarks (T, 68, 2), flags."""
    T, S = prof.seq_len, prof.size
    p = _draw_face_params(rng)
    m = _motion(rng, T, S, prof.speed)
    shape = face_shape(p, m["open"], m["brow"])  # (T, 68, 2)
    a = np.linspace(0.0, -np.pi, 9)[1:-1]
    fh = np.stack([p["jaw_w"] * np.cos(a), p["eye_y"] + 0.95 * np.sin(a)], -1)  # (7, 2)
    c, s_ = np.cos(m["rot"]), np.sin(m["rot"])
    R = np.stack([np.stack([c, -s_], -1), np.stack([s_, c], -1)], -2)  # (T, 2, 2)
    scale = (S / 4.0) * np.exp(m["logs"])[:, None, None]
    centre = np.stack([m["x"], m["y"]], -1)[:, None, :]
    lm = centre + scale * np.einsum("tij,tkj->tki", R, shape)  # (T, 68, 2)
    fh_px = centre + scale * np.einsum("tij,kj->tki", R, fh)

    bg = (0.6 * p["bg"] + 0.4 * smooth_noise(rng, S, 4)).astype(np.float32)
    frames = np.empty((T, S, S, 3), np.float32)
    for t in range(T):
        frames[t] = bg
        _render_face(frames[t], p, lm[t], fh_px[t], S)

    start = prof.clean_start if clean_start is None else clean_start
    flags = {k: np.zeros(T, bool) for k in FLAG_NAMES}
    for a_, b_ in _schedule(rng, T, start, prof.p_occlusion, prof.occlusion_len):
        flags["occluded"][a_:b_] = True
        lo, hi = lm[a_:b_].min((0, 1)), lm[a_:b_].max((0, 1))
        if rng.random() < prof.p_full_occlusion:  # the whole face, plus a random margin
            lo, hi = lo - rng.uniform(1, 6, 2) * S / 64, hi + rng.uniform(1, 6, 2) * S / 64
        else:  # one half: upper, lower, left or right
            k, mid = int(rng.integers(4)), (lo + hi) / 2
            lo, hi = [(lo, [hi[0], mid[1]]), (lo * [1, 0] + mid * [0, 1], hi),
                      (lo, [mid[0], hi[1]]), ([mid[0], lo[1]], hi)][k]
        tex = rng.uniform(0, 1, 3) * 0.7 + 0.3 * smooth_noise(rng, S, 8)
        y0, x0 = np.floor(np.maximum(lo[::-1], 0)).astype(int)
        y1, x1 = np.ceil(np.minimum(hi[::-1], S - 1)).astype(int) + 1
        frames[a_:b_, y0:y1, x0:x1] = tex[y0:y1, x0:x1]
    blur = (rng.random(T) < prof.p_blur) & (np.arange(T) >= start)
    for t in np.flatnonzero(blur):
        frames[t] = cv2.GaussianBlur(frames[t], (0, 0), rng.uniform(1.2, 2.5) * S / 64)
    flags["blurred"] = blur
    frames += prof.noise_std * rng.standard_normal(frames.shape, dtype=np.float32)
    for a_, b_ in _schedule(rng, T, start, prof.p_drop, prof.drop_len):
        flags["dropped"][a_:b_] = True
        frames[a_:b_] = 0.0 if rng.random() < 0.5 else rng.random((b_ - a_, S, S, 3))
    return {"frames": to_uint8(frames), "landmarks": lm.astype(np.float32), "flags": flags}


def _face_item(rng: np.random.Generator, index: int, prof: FaceProfile,
               clean_start: int | None = None) -> dict[str, Any]:
    return make_face_sequence(rng, prof, clean_start)


def _sequence_sample(raw: dict) -> dict:
    return {"frames": to_float(raw["frames"]),
            "landmarks": torch.from_numpy(raw["landmarks"]),
            "flags": {k: torch.from_numpy(v) for k, v in raw["flags"].items()}}


class FaceSequences(GeneratedDataset):
    """Sequences of a moving, sometimes occluded face with 68 landmarks per frame.

    Parameters
    ----------
    split : {"train", "test"}
    profile : {"ci", "lite"}
        Sizes (see ``profiles.FaceProfile``); any of its fields can be overridden by keyword.
    seed : int
        Same seed, same data; train and test are independent streams.

    Items
    -----
    ``{"frames": float32 (T, 3, H, W) in [0, 1], "landmarks": float32 (T, 68, 2) (x, y)
    pixels, "flags": {"occluded", "blurred", "dropped": bool (T,)}}``
    """

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        self.profile = make_profile("faces", profile, **overrides)
        n = self.profile.n_train if split == "train" else self.profile.n_test
        super().__init__("faces", split, n, seed, self.profile.cache,
                         partial(_face_item, prof=self.profile), _sequence_sample)


class FaceFrames(GeneratedDataset):
    """Single frames for pre-training a frame-level landmark CNN (independent faces).

    Drawn by the same generator as :class:`FaceSequences` (hard frames included, at the
    same rates) from faces that appear in no sequence; ``frames_per_face`` frames of each.

    Items: ``{"frame": float32 (3, H, W), "landmarks": float32 (68, 2), "flags": {name:
    bool scalar}}``.

    >>> ds = FaceFrames("test", profile="ci")
    >>> len(ds), tuple(ds[0]["frame"].shape)
    (64, (3, 64, 64))
    """

    frames_per_face = 4

    def __init__(self, split: str = "train", profile: str = "ci", seed: int = 0,
                 **overrides: Any) -> None:
        check_split(split)
        self.profile = make_profile("faces", profile, **overrides)
        n = self.profile.n_train_frames if split == "train" else self.profile.n_test_frames
        k = self.frames_per_face
        short = make_profile("faces", profile, **{**overrides, "seq_len": k})
        super().__init__("faces", "frames-" + split, -(-n // k), seed, self.profile.cache,
                         partial(_face_item, prof=short, clean_start=0),
                         _sequence_sample)
        self.n_frames = n

    def __len__(self) -> int:
        return self.n_frames

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < self.n_frames:
            raise IndexError(f"index {index} out of range for {self.n_frames} frames")
        seq = super().__getitem__(index // self.frames_per_face)
        t = index % self.frames_per_face
        return {"frame": seq["frames"][t], "landmarks": seq["landmarks"][t],
                "flags": {k: v[t] for k, v in seq["flags"].items()}}
