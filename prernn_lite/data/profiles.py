"""Profiles: how big each generated stand-in task is in ``ci`` and ``lite``.

Every chapter has one ``PROFILE`` switch (``runtime.PROFILES``). For the generated tasks
it picks one of the dataclasses below: ``ci`` runs in seconds (what the book's stored
outputs show), ``lite`` in minutes on a laptop CPU. Only *sizes* differ between the two;
the difficulty knobs (occlusion rates, noise, speeds) keep their defaults, so both ask
the same question of the same task. The third profile, ``full``, has no stand-in: it
means the real datasets (300VW, nvGesture, UCF101), which ``data.vw300``,
``data.nvgesture`` and ``data.ucf101`` read.

Any field can be overridden by keyword, e.g. ``FaceSequences(profile="ci", seq_len=20)``;
:func:`make_profile` does that and names the valid fields when a keyword is wrong.

>>> get_profile("faces", "ci").seq_len
12
>>> make_profile("gestures", "lite", n_train=10).n_train
10
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..runtime import PROFILES

#: The profiles that have a generated stand-in (``full`` is the real datasets).
STANDIN_PROFILES = ("ci", "lite")


@dataclass(frozen=True)
class FaceProfile:
    """Sizes and difficulty of the face-alignment stand-in (300VW-like).

    Sizes: ``n_train``/``n_test`` sequences of ``seq_len`` frames (T) of ``size`` x ``size``
    pixels; ``n_train_frames``/``n_test_frames`` single frames for pre-training a frame CNN.
    Difficulty (per frame, after the first ``clean_start`` frames, which are always clean):
    an occlusion *event* starts with probability ``p_occlusion`` and lasts a number of frames
    drawn from ``occlusion_len`` (inclusive); with probability ``p_full_occlusion`` the box
    hides the whole face, otherwise one half of it. Dropped-frame events (frame replaced by
    black or by noise) start with ``p_drop`` and last ``drop_len`` frames. A frame is blurred
    with probability ``p_blur``. ``noise_std`` is the sensor noise on every frame. Motion:
    ``speed`` scales the head's velocity noise (pixels per frame at size 64).
    ``cache=False`` regenerates a sequence on every access (same result, no memory).
    """

    n_train: int = 300
    n_test: int = 100
    n_train_frames: int = 3000
    n_test_frames: int = 600
    seq_len: int = 16
    size: int = 64
    clean_start: int = 2
    p_occlusion: float = 0.08
    occlusion_len: tuple[int, int] = (3, 7)
    p_full_occlusion: float = 0.5
    p_drop: float = 0.04
    drop_len: tuple[int, int] = (1, 3)
    p_blur: float = 0.08
    noise_std: float = 0.02
    speed: float = 1.0
    cache: bool = True


@dataclass(frozen=True)
class GestureProfile:
    """Sizes and difficulty of the dynamic-gesture stand-in (nvGesture-like).

    A sequence is ``seq_len`` clips (T) of ``clip_len`` frames (L) of ``size`` x ``size``;
    each clip holds one stroke of a hand-like blob. ``n_train_clips``/``n_test_clips`` single
    clips (label = stroke direction) pre-train a 3-D CNN.

    Difficulty (lengths in pixels at size 32; with ``p_drop_clip=0`` the defaults reproduce
    the original data exactly, and ``p_drop_clip``/``distractor`` at 0 draw no random
    number): ``stroke_px`` the
    range of a stroke's length, ``noise_std`` the pixel noise, ``jitter_px`` the hand's
    tremor (std per frame), ``tilt`` the largest tilt of the hand (radians, either way),
    ``margin_px`` the room kept between a stroke and the frame's edge. ``p_drop_clip``:
    each clip independently loses its stroke with this probability (the hand rests at the
    stroke's midpoint, tremor only: a clip that shows no direction; 0 gives the original
    data of the book's first edition). Its default, 0.35, is the calibration for headroom
    (``benchmarks/standins.py``): with two or more strokes seen the class is determined
    (fixing two places of an even permutation of four fixes the rest), with one seen three
    classes remain, so the best possible accuracy is about 0.91, not 1. ``distractor``: the
    opacity (0 = none, 1 = solid) of a second, smaller hand-like blob that makes a stroke
    of its own in a random direction in every clip (motion that is not the gesture).
    """

    n_train: int = 480
    n_test: int = 240
    n_train_clips: int = 2000
    n_test_clips: int = 400
    seq_len: int = 4
    clip_len: int = 8
    size: int = 32
    stroke_px: tuple[float, float] = (6.0, 9.0)
    noise_std: float = 0.05
    jitter_px: float = 0.4
    tilt: float = 0.4
    margin_px: float = 7.0
    p_drop_clip: float = 0.35
    distractor: float = 0.0
    cache: bool = True


@dataclass(frozen=True)
class ActionProfile:
    """Sizes and difficulty of the two-stream action stand-in (UCF101-like).

    A video is rendered at ``size`` x ``size``; ``seq_len`` (T) times are sampled evenly; at
    each one the spatial stream gets the RGB frame and the temporal stream the ``flow_len``
    (10) Farnebäck flow fields that follow it, x and y stacked (20 channels). The video is
    ``seq_len * stride`` frames long (``stride >= flow_len + 1``). ``n_train_frames`` /
    ``n_test_frames`` items pre-train the two single-time streams.

    Difficulty (every default reproduces the original data exactly, and a knob left at its
    default draws no random number): ``noise_std`` pixel noise; ``light_jitter`` the
    brightness change between sampled times (one frame's colours are a noisy cue; a
    window's frames share their lighting); ``colour_jitter`` the std of the object's
    colour around its class colour (large: appearances blur into each other);
    ``object_half`` the range of the object's half-width (fraction of ``size``). Motion
    (fractions of ``size``): ``amplitude`` and ``period`` (in video lengths) of sway/bob,
    ``travel`` the distance covered by slide/drop (a long period or a short travel makes
    the two look alike), ``wander`` the std per frame of the object's drift across its
    motion (pixels at size 32). ``camera_shake``: the std (pixels at size 32) of an
    independent whole-frame shift per frame, which puts flow everywhere (0: a still
    camera). ``p_occlusion``: each sampled time independently, with this probability,
    has a static grey bar hiding a third of the frame for the whole window (its frame and
    the flow that follows it). ``random_scene``: the background scene of each video is
    drawn at random instead of following its class, so that the appearance of a class is
    its object's colour alone (False: a class has its own scene). ``oscillation``: the
    path of sway/bob, ``"sine"`` (speed varies, ``amplitude`` and ``period``) or
    ``"triangle"`` (back and forth at a slide's constant speed, drawn from ``travel``,
    turning every half ``period``): with a triangle, one flow window of a sway looks like
    one of a slide unless it holds a turn, so mostly the reversal across times tells
    them apart. ``position``: where the object's path lies, ``"centred"`` (every path is
    centred in the frame, so a slide starts near an edge and a sway stays central: where
    the object is names the motion) or ``"random"`` (the path's centre is drawn uniformly
    among the places that keep the whole path inside the frame, for every motion).
    """

    n_train: int = 320
    n_test: int = 120
    n_train_frames: int = 1600
    n_test_frames: int = 320
    seq_len: int = 4
    size: int = 64
    stride: int = 12
    flow_len: int = 10
    noise_std: float = 0.01
    light_jitter: float = 0.15
    colour_jitter: float = 0.04
    object_half: tuple[float, float] = (0.09, 0.13)
    amplitude: tuple[float, float] = (0.12, 0.2)
    period: tuple[float, float] = (0.7, 1.1)
    travel: tuple[float, float] = (0.5, 0.7)
    wander: float = 0.03
    camera_shake: float = 0.0
    p_occlusion: float = 0.0
    random_scene: bool = False
    oscillation: str = "sine"
    position: str = "centred"
    cache: bool = True


#: the action stand-in's difficulty in ci/lite, calibrated for headroom with
#: ``benchmarks/standins.py`` (``benchmarks/standins_actions_probes.csv``): the scene no
#: longer names the class (flow carried it, and one flow stack named almost every
#: class), sway/bob move at a slide's constant speed, and the T times are sparse (a
#: flow window of 11 frames every 30), so one window rarely shows a turn and mostly the
#: order of the windows tells a sway from a slide.
_ACTION_HEADROOM: dict[str, Any] = {
    "random_scene": True, "oscillation": "triangle", "period": (1.0, 1.6),
    "travel": (0.35, 0.55), "stride": 30,
}

_PROFILES: dict[str, dict[str, Any]] = {
    "faces": {
        "ci": FaceProfile(n_train=32, n_test=16, n_train_frames=256, n_test_frames=64, seq_len=12),
        "lite": FaceProfile(),
    },
    "gestures": {
        "ci": GestureProfile(n_train=48, n_test=24, n_train_clips=192, n_test_clips=64),
        "lite": GestureProfile(),
    },
    "actions": {
        # same image size and difficulty as lite, so one set of lite pre-trained weights
        # serves both
        "ci": ActionProfile(n_train=32, n_test=16, n_train_frames=128, n_test_frames=32,
                            **_ACTION_HEADROOM),
        "lite": ActionProfile(**_ACTION_HEADROOM),
    },
}


def get_profile(task: str, name: str) -> FaceProfile | GestureProfile | ActionProfile:
    """Return the stand-in profile ``name`` (``"ci"`` or ``"lite"``) of ``task``.

    Parameters
    ----------
    task : str
        ``"faces"``, ``"gestures"`` or ``"actions"``.
    name : str
        ``"ci"`` or ``"lite"`` (``"full"`` is the real dataset: no stand-in).

    >>> get_profile("actions", "ci").size
    64
    >>> get_profile("faces", "huge")
    Traceback (most recent call last):
    ...
    ValueError: unknown profile 'huge' for task 'faces'; valid names: ci, lite
    >>> get_profile("faces", "full")
    Traceback (most recent call last):
    ...
    ValueError: the full profile of 'faces' is the real dataset (data.vw300, data.nvgesture, \
data.ucf101), not a generated stand-in; stand-in profiles: ci, lite
    """
    if task not in _PROFILES:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(_PROFILES)}")
    if name in PROFILES and name not in STANDIN_PROFILES:
        raise ValueError(
            f"the {name} profile of {task!r} is the real dataset (data.vw300, data.nvgesture, "
            f"data.ucf101), not a generated stand-in; stand-in profiles: "
            f"{', '.join(STANDIN_PROFILES)}"
        )
    if name not in _PROFILES[task]:
        raise ValueError(
            f"unknown profile {name!r} for task {task!r}; valid names: "
            f"{', '.join(STANDIN_PROFILES)}"
        )
    return _PROFILES[task][name]


def make_profile(task: str, name: str, **overrides: Any):
    """:func:`get_profile` with fields replaced by ``overrides`` (unknown keys are an error).

    >>> make_profile("faces", "ci", sizee=3)
    Traceback (most recent call last):
    ...
    TypeError: unknown setting 'sizee' for FaceProfile; valid settings: n_train, n_test, \
n_train_frames, n_test_frames, seq_len, size, clean_start, p_occlusion, occlusion_len, \
p_full_occlusion, p_drop, drop_len, p_blur, noise_std, speed, cache
    """
    prof = get_profile(task, name)
    valid = [f.name for f in dataclasses.fields(prof)]
    for key in overrides:
        if key not in valid:
            raise TypeError(
                f"unknown setting {key!r} for {type(prof).__name__}; "
                f"valid settings: {', '.join(valid)}"
            )
    return dataclasses.replace(prof, **overrides)


@contextlib.contextmanager
def overridden_profile(task: str, name: str, **changes: Any) -> Iterator[Any]:
    """Within the block, profile ``name`` of ``task`` *is* :func:`make_profile`'s changed
    copy, for code that builds its data from the profile's name (e.g. the pre-training of
    ``experiments.pretrain``); a probe of the difficulty knobs (``benchmarks/standins.py``)
    uses it. The registered profile is restored on exit, error or not.

    >>> with overridden_profile("gestures", "lite", jitter_px=1.0) as prof:
    ...     prof.jitter_px, get_profile("gestures", "lite").jitter_px
    (1.0, 1.0)
    >>> get_profile("gestures", "lite").jitter_px
    0.4
    """
    prof = make_profile(task, name, **changes)
    saved = _PROFILES[task][name]
    _PROFILES[task][name] = prof
    try:
        yield prof
    finally:
        _PROFILES[task][name] = saved
