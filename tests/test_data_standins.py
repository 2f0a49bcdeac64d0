"""Generated stand-in tasks: format, determinism, and the task-design checks.

The task-design checks are fixed before any PreRNN comparison: temporal context must
matter (faces: a causal reference beats any frame-only guess on hard frames; gestures:
order matters; actions: appearance and motion are both needed).
"""

import hashlib
import itertools

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from prernn_lite.data.actions import ACTION_CLASSES, CLASS_PAIRS, ActionFrames, ActionVideos
from prernn_lite.data.faces import FaceFrames, FaceSequences
from prernn_lite.data.gestures import (
    DIRECTIONS,
    GESTURE_CLASSES,
    GestureClips,
    GestureSequences,
    gesture_label,
)
from prernn_lite.data.metrics import causal_reference, hard_mask, interpolation_reference, nme
from prernn_lite.data.profiles import get_profile, make_profile


def _stack(ds):
    items = [ds[i] for i in range(len(ds))]
    return {k: torch.stack([x[k] for x in items]) if k != "flags" else
            {f: torch.stack([x[k][f] for x in items]) for f in items[0][k]} for k in items[0]}


# ----------------------------------------------------------------------------- profiles
def test_profiles_name_the_valid_choices():
    with pytest.raises(ValueError, match="valid names: ci, lite"):
        get_profile("faces", "tiny")
    with pytest.raises(ValueError, match="valid tasks"):
        get_profile("speech", "ci")
    with pytest.raises(TypeError, match="valid settings: .*seq_len"):
        FaceSequences(profile="ci", T=3)
    for task in ("faces", "gestures", "actions"):
        sizes = [get_profile(task, n).n_train for n in ("ci", "lite")]
        assert sizes[0] < sizes[1]
    assert make_profile("faces", "ci", seq_len=5).seq_len == 5


# ----------------------------------------------------------------------------- faces
@pytest.fixture(scope="module")
def faces():
    kw = dict(n_train=40, n_test=40, seq_len=16)
    return FaceSequences("train", "ci", **kw), FaceSequences("test", "ci", **kw)


def test_face_sample_format_and_collate(faces):
    s = faces[0][0]
    assert s["frames"].dtype == torch.float32 and s["frames"].shape == (16, 3, 64, 64)
    assert 0.0 <= s["frames"].min() and s["frames"].max() <= 1.0
    assert s["landmarks"].dtype == torch.float32 and s["landmarks"].shape == (16, 68, 2)
    assert all(s["flags"][k].dtype == torch.bool and s["flags"][k].shape == (16,)
               for k in ("occluded", "blurred", "dropped"))
    batch = next(iter(DataLoader(faces[0], batch_size=4)))
    assert batch["frames"].shape == (4, 16, 3, 64, 64)
    assert batch["flags"]["occluded"].shape == (4, 16)


def test_faces_are_deterministic_and_splits_differ():
    a = FaceSequences("train", "ci", n_train=3)[2]
    b = FaceSequences("train", "ci", n_train=3, cache=False)[2]  # regenerated on access
    c = FaceSequences("train", "ci", n_train=3, seed=1)[2]
    d = FaceSequences("test", "ci", n_test=3)[2]
    assert torch.equal(a["frames"], b["frames"]) and torch.equal(a["landmarks"], b["landmarks"])
    assert not torch.allclose(a["landmarks"], c["landmarks"])
    assert not torch.allclose(a["landmarks"], d["landmarks"])
    with pytest.raises(ValueError, match="valid splits"):
        FaceSequences("val", "ci")


def test_face_landmark_roles(faces):
    lm = _stack(faces[0])["landmarks"]  # (N, T, 68, 2)
    # midline points top to bottom: nose bridge 27, nose tip 30, lip 57, chin 8
    y = lm[..., 1]
    assert (y[..., 27] < y[..., 30]).all() and (y[..., 30] < y[..., 57]).all()
    assert (y[..., 57] < y[..., 8]).all()
    # along the eye line, image left to right: 36 outer, 39 inner | 42 inner, 45 outer
    eye_axis = lm[..., 45, :] - lm[..., 36, :]
    proj = (lm[..., [36, 39, 42, 45], :] * eye_axis[..., None, :]).sum(-1)
    assert (proj.diff(dim=-1) > 0).all()
    assert (lm[..., 36, 0] < lm[..., 45, 0]).all() and (lm[..., 0, 0] < lm[..., 16, 0]).all()


def test_face_image_shows_the_landmarks(faces):
    """On clean frames the pupils (centre of each eye's 6 points) are darker than the skin
    between the eye and the jaw, and the mouth interior differs from the background."""
    d = _stack(faces[1])
    clean = ~(hard_mask(d["flags"]) | d["flags"]["blurred"])
    img = d["frames"].sum(2)  # (N, T, H, W) brightness
    lm = d["landmarks"]

    def at(points):  # bilinear-free lookup at rounded positions
        x = points[..., 0].round().long().clamp(0, 63)
        y = points[..., 1].round().long().clamp(0, 63)
        return torch.gather(img.flatten(2), 2, (y * 64 + x)[..., None])[..., 0]

    pupil = at(lm[..., 36:42, :].mean(-2))
    cheek = at(0.5 * lm[..., 41, :] + 0.5 * lm[..., 3, :])
    assert (pupil[clean] < cheek[clean]).float().mean() > 0.95


def test_face_hard_frames_last_several_frames(faces):
    flags = _stack(faces[0])["flags"]
    occ = flags["occluded"]
    assert not hard_mask(flags)[:, :2].any()  # clean start
    runs = []
    for row in occ.tolist():
        for k, g in itertools.groupby(row):
            runs.append((k, len(list(g))))
    lengths = [n for k, n in runs if k]
    assert len(lengths) > 10 and np.mean(lengths) >= 3.0
    frames = _stack(faces[0])["frames"]
    drop = flags["dropped"]
    dropped = frames[drop]
    assert drop.any()
    # a dropped frame is black or structureless noise: no face left in it
    std = dropped.std(dim=(1, 2, 3))
    assert ((std < 1e-6) | ((std - 0.289).abs() < 0.02)).all()


def test_full_occlusion_hides_the_face_while_it_moves():
    ds = FaceSequences("train", "ci", n_train=12, seq_len=16, p_occlusion=0.5,
                       p_full_occlusion=1.0, p_drop=0.0, p_blur=0.0)
    d = _stack(ds)
    occ = d["flags"]["occluded"]
    both = occ[:, 1:] & occ[:, :-1]  # consecutive frames of one occlusion event
    lm = d["landmarks"]
    # mean absolute change between frames t and t+1 inside the face's box at frame t
    diff = torch.zeros(both.shape)
    for n, t in itertools.product(range(both.shape[0]), range(both.shape[1])):
        x0, y0 = lm[n, t].min(0).values.long().clamp(0, 63).tolist()
        x1, y1 = lm[n, t].max(0).values.long().clamp(0, 63).tolist()
        box = d["frames"][n, t:t + 2, :, y0:y1 + 1, x0:x1 + 1]
        diff[n, t] = (box[1] - box[0]).abs().mean()
    moved = (lm[:, 1:] - lm[:, :-1]).norm(dim=-1).mean(-1)
    assert both.sum() > 20
    # the image does not change (sensor noise only) although the face moved
    noise = 0.02 * 2**0.5 * (2 / np.pi) ** 0.5  # E|n1 - n2| for noise_std 0.02
    assert diff[both].max() < 1.5 * noise and moved[both].mean() > 0.3
    clean = ~occ[:, 1:] & ~occ[:, :-1]
    assert diff[clean].mean() > 2 * noise


def test_face_task_needs_temporal_context(faces):
    """TASK-DESIGN CHECK (fixed before any model comparison). On hard frames (occluded or
    dropped) carrying the last clean frame's TRUE landmarks forward is far better than the
    best frame-independent guess, the training set's mean shape; on clean frames a constant
    prediction (the first frame) is bad, so the image must be read."""
    train, test = _stack(faces[0]), _stack(faces[1])
    lm, hard = test["landmarks"], hard_mask(test["flags"])
    mean_shape = train["landmarks"].mean((0, 1)).expand_as(lm)
    nme_mean = nme(mean_shape, lm, mask=hard).item()
    nme_causal = nme(causal_reference(lm, hard), lm, mask=hard).item()
    nme_interp = nme(interpolation_reference(lm, hard), lm, mask=hard).item()
    assert hard.float().mean() > 0.15
    assert nme_causal < 0.5 * nme_mean, (nme_causal, nme_mean)
    assert nme_interp < nme_causal
    later_clean = ~hard
    later_clean[:, 0] = False
    nme_const = nme(lm[:, :1].expand_as(lm), lm, mask=later_clean).item()
    assert nme_const > 0.15, nme_const


def test_face_frames_are_other_faces():
    fr = FaceFrames("train", "ci", n_train_frames=8)
    seq = FaceSequences("train", "ci", n_train=2)
    assert len(fr) == 8 and fr[7]["frame"].shape == (3, 64, 64)
    assert fr[0]["landmarks"].shape == (68, 2) and fr[0]["flags"]["occluded"].dim() == 0
    firsts = torch.stack([seq[i]["landmarks"][0] for i in range(2)])
    assert all(not torch.allclose(fr[i]["landmarks"], f, atol=1.0) for i in range(8)
               for f in firsts)


# ----------------------------------------------------------------------------- gestures
def _mean_flow(clip):
    """Mean Farnebäck flow (x, y) of a clip (3, L, H, W), over pixels that move."""
    grey = [cv2.cvtColor((f.permute(1, 2, 0).numpy() * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
            for f in clip.transpose(0, 1)]
    flows = np.stack([cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 2, 7, 3, 5, 1.1, 0)
                      for a, b in zip(grey[:-1], grey[1:], strict=True)])
    mag = np.linalg.norm(flows, axis=-1)
    return flows[mag > 0.3].mean(0)


def test_gesture_classes_need_the_order():
    assert 8 <= len(GESTURE_CLASSES) <= 12 and len(set(GESTURE_CLASSES)) == len(GESTURE_CLASSES)
    assert all(sorted(c) == sorted(DIRECTIONS) for c in GESTURE_CLASSES)  # same bag
    for t, d in itertools.product(range(4), DIRECTIONS):  # one clip leaves 3 candidates
        assert sum(c[t] == d for c in GESTURE_CLASSES) == 3
    for label, c in enumerate(GESTURE_CLASSES):  # permuting the clips changes the label
        swapped = (c[1], c[0], c[3], c[2])
        assert gesture_label(swapped) != label


def test_gesture_sequences_render_their_strokes():
    ds = GestureSequences("test", "ci", n_test=12, p_drop_clip=0.0)  # every stroke drawn
    batch = next(iter(DataLoader(ds, batch_size=12)))
    assert batch["clips"].shape == (12, 4, 3, 8, 32, 32) and batch["label"].dtype == torch.int64
    assert sorted(batch["label"].tolist()) == list(range(12))
    for clips, label in zip(batch["clips"], batch["label"], strict=True):
        for clip, d in zip(clips, GESTURE_CLASSES[label], strict=True):
            u, v = _mean_flow(clip)
            # the direction whose unit vector best matches the measured mean flow
            assert DIRECTIONS[int(np.argmax([-u, u, -v, v]))] == d
    # the permuted clips ARE a sequence of another class
    s = ds[0]
    perm = s["clips"][[1, 0, 3, 2]]
    dirs = tuple(GESTURE_CLASSES[int(s["label"])][i] for i in (1, 0, 3, 2))
    assert gesture_label(dirs) != int(s["label"]) and perm.shape == s["clips"].shape


def _hand_track(clips):
    """Hand position (x, y) in every frame, measured from the pixels alone.

    The hand is skin-coloured (red well above blue), the background grey (red = blue up
    to noise), so ``max(R - B - 0.15, 0)`` is a hand mask and its centroid is where the
    hand is. ``clips``: (N, T, 3, L, H, W) -> (N, T, L, 2).
    """
    w = (clips[:, :, 0] - clips[:, :, 2] - 0.15).clamp(min=0)           # (N, T, L, H, W)
    g = torch.arange(clips.shape[-1], dtype=torch.float64)
    mass = w.sum((-1, -2), dtype=torch.float64)
    x = (w * g).sum((-1, -2), dtype=torch.float64) / mass
    y = (w * g[:, None]).sum((-1, -2), dtype=torch.float64) / mass
    return torch.stack([x, y], -1).numpy()


def _f_statistic(groups):
    """One-way ANOVA F (between-group over within-group mean square) of 1-D samples."""
    n, k = sum(len(g) for g in groups), len(groups)
    grand = np.concatenate(groups).mean()
    between = sum(len(g) * (g.mean() - grand) ** 2 for g in groups) / (k - 1)
    within = sum(((g - g.mean()) ** 2).sum() for g in groups) / (n - k)
    return between / within


def test_gesture_clip_reveals_its_stroke_not_its_place_in_the_order():
    """Given its position t and its direction d, a clip looks the same in every class.

    Each (t, d) is shared by 3 classes; if the hand's place in clip t depended on the
    other strokes (a path that carries on from stroke to stroke), the clip alone would
    tell these 3 classes apart and a bag of clips would beat the one-clip ceiling (1/3).
    For each (t, d) and each axis, a one-way ANOVA F over the 3 classes of the measured
    hand position; without a dependence F ~ F(2, m - 3) (m sequences in the group), so
    the mean of the 32 F values is E[F] = d2 / (d2 - 2) with sd sqrt(Var[F] / 32); allow 4
    sd. (Grouping by t alone would not show it: averaged over the classes the old path
    placement was symmetric; the dependence is on the class given (t, d).)
    The path-continuing generator gave a mean F of 4-5 here, this one about 1.
    """
    n = 240                                                  # 20 sequences per class
    ds = GestureSequences("test", "ci", n_test=n)
    items = [ds[i] for i in range(n)]
    track = _hand_track(torch.stack([d["clips"] for d in items]))
    pos = track.mean(2)                                      # (N, T, 2): where, per clip
    labels = np.array([int(d["label"]) for d in items])
    # the measurement works: the hand moves the stroke's way, by several pixels
    moves = track[:, :, -1] - track[:, :, 0]                 # (N, T, 2)
    strokes = np.array([GESTURE_CLASSES[k] for k in labels])  # (N, T)
    for d, (axis, sign) in zip(DIRECTIONS, ((0, -1), (0, 1), (1, -1), (1, 1)), strict=True):
        assert sign * moves[strokes == d][:, axis].mean() > 1.5
    fs = []
    for t, d in itertools.product(range(4), DIRECTIONS):
        classes = [k for k, c in enumerate(GESTURE_CLASSES) if c[t] == d]
        for axis in range(2):
            fs.append(_f_statistic([pos[labels == k, t, axis] for k in classes]))
    m = n // len(GESTURE_CLASSES) * 3
    d1, d2 = 2, m - 3
    mean_f = d2 / (d2 - 2)
    var_f = 2 * d2 ** 2 * (d1 + d2 - 2) / (d1 * (d2 - 2) ** 2 * (d2 - 4))
    assert np.mean(fs) < mean_f + 4 * np.sqrt(var_f / len(fs)), (np.mean(fs), max(fs))


def test_gesture_clips_and_determinism():
    clips = GestureClips("train", "ci", n_train_clips=8)
    assert clips[5]["clip"].shape == (3, 8, 32, 32) and int(clips[5]["label"]) == 1
    again = GestureClips("train", "ci", n_train_clips=8, cache=False)
    assert torch.equal(clips[5]["clip"], again[5]["clip"])
    with pytest.raises(ValueError, match="seq_len must be 4"):
        GestureSequences("train", "ci", seq_len=3)


# ----------------------------------------------------------------------------- actions
@pytest.fixture(scope="module")
def actions():
    # each class with its own scene, so that a frame's mean colour is its appearance (the
    # ci/lite videos draw the scene at random: test_random_scene_unties_...)
    return _stack(ActionVideos("train", "ci", n_train=48, random_scene=False))


def _motion_signature(flow):
    """Per video: mean signed u and v over a video's times, |.| (the object's coherent
    motion; Farnebäck's noise on flat scenes cancels), and the fraction of direction
    reversals of the dominant axis between sampled times."""
    u, v = flow[:, :, 0::2].mean((2, 3, 4)), flow[:, :, 1::2].mean((2, 3, 4))  # (N, T)
    au, av = u.abs().mean(1), v.abs().mean(1)
    dom = torch.where((au > av)[:, None], u, v)
    rev = (dom[:, 1:] * dom[:, :-1] < 0).float().mean(1)
    return au, av, rev


def test_action_format(actions):
    assert actions["rgb"].shape == (48, 4, 3, 64, 64) and actions["flow"].shape[2] == 20
    assert actions["label"].dtype == torch.int64 and actions["label"].tolist()[:9] == [
        0, 1, 2, 3, 4, 5, 6, 7, 0]
    f = ActionFrames("train", "ci", n_train_frames=6)
    assert len(f) == 6 and f[5]["rgb"].shape == (3, 64, 64) and f[5]["flow"].shape[0] == 20
    assert not torch.equal(f[0]["rgb"], actions["rgb"][0, 0])


def test_action_flow_is_farneback_of_the_motion():
    """The temporal stream's channels are (x, y) displacements: a horizontal slide shows
    horizontal flow, a vertical drop vertical flow. Read from the mean *signed* flow (the
    object's motion is coherent, Farnebäck's noise on flat scenes is not); a
    low-contrast object on a random scene can lose its flow, as in real videos, so most
    videos, not every one."""
    ds = ActionVideos("test", "ci", n_test=16)
    right = 0
    for i in range(16):
        s = ds[i]
        axis = {"sway": 0, "slide": 0, "bob": 1, "drop": 1}[ACTION_CLASSES[i % 8].split("-")[1]]
        drift = s["flow"].unflatten(1, (10, 2)).mean((1, 3, 4)).abs().mean(0)  # (2,) x, y
        right += int(drift[axis] > drift[1 - axis])
    assert right >= 14, right


def test_actions_need_both_streams(actions):
    """TASK-DESIGN CHECK: two classes share appearance and differ only in motion, and
    two share motion and differ only in appearance."""
    label = actions["label"]
    colour = actions["rgb"].mean((1, 3, 4))  # (N, 3)
    au, av, rev = _motion_signature(actions["flow"])

    def cls(name):
        return label == ACTION_CLASSES.index(name)

    same_look = ("red-sway", "red-slide")
    a, b = cls(same_look[0]), cls(same_look[1])
    assert (colour[a].mean(0) - colour[b].mean(0)).abs().max() < 0.03
    assert rev[a].mean() - rev[b].mean() > 0.3  # sway reverses, slide does not
    same_motion = ("yellow-drop", "magenta-drop")
    a, b = cls(same_motion[0]), cls(same_motion[1])
    assert (colour[a].mean(0) - colour[b].mean(0)).abs().max() > 0.15
    # both vertical in every video, never reversing (flow *magnitude* depends a little on
    # the contrast with the scene, as in real videos)
    assert rev[a].max() == 0 and rev[b].max() == 0
    assert (av[a] > 1.5 * au[a]).all() and (av[b] > 1.5 * au[b]).all()
    for app in range(4):  # every appearance and every motion in exactly two classes
        assert sum(p[0] == app for p in CLASS_PAIRS) == 2
        assert sum(p[1] == app for p in CLASS_PAIRS) == 2


# ----------------------------------------------------------------------------- difficulty knobs
def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


# sha256 (first 16 hex digits) of the raw uint8 samples that the generators wrote before
# the difficulty knobs became profile fields (numpy 2.4, OpenCV 5.1, x86-64). With every
# knob at its original value (the defaults, but p_drop_clip 0: the gesture stand-in was
# later calibrated for headroom) the data must stay byte-identical: a knob that is off
# draws no random number. (Farnebäck flow is left out: its float arithmetic may differ
# between CPUs; it is computed from these same frames.)
_ORIGINAL_GESTURES = {"p_drop_clip": 0.0}
#: the action knobs that ci/lite later changed for headroom, at their original values
_ORIGINAL_ACTIONS = {"random_scene": False, "oscillation": "sine", "period": (0.7, 1.1),
                     "travel": (0.5, 0.7), "stride": 12, "position": "centred"}
_DEFAULT_DIGESTS = {
    ("gestures", "train"): "a22527af6853382a", ("gestures", "test"): "e953a50fb8b3e385",
    ("gesture_clips", "train"): "126958f9ca9c8621", ("gesture_clips", "test"): "8b84cf1414a4a70a",
    ("actions", "train"): "52fd5b1b1f1a92f2", ("actions", "test"): "41eb7bea0abe7387",
}


def _raw_digests(**knobs) -> dict:
    out = {}
    for split in ("train", "test"):
        ds = GestureSequences(split, "lite", n_train=5, n_test=5, **knobs.get("g", {}))
        out["gestures", split] = _digest(*[ds._cache[i]["clips"] for i in range(5)],
                                         np.array([ds._cache[i]["label"] for i in range(5)]))
        ds = GestureClips(split, "lite", n_train_clips=5, n_test_clips=5, **knobs.get("g", {}))
        out["gesture_clips", split] = _digest(*[ds._cache[i]["clips"] for i in range(5)])
        ds = ActionVideos(split, "lite", n_train=3, n_test=3, **knobs.get("a", {}))
        out["actions", split] = _digest(*[ds._cache[i]["rgb"] for i in range(3)],
                                        np.array([ds._cache[i]["label"] for i in range(3)]))
    return out


def test_original_knobs_reproduce_the_original_data_byte_for_byte():
    assert _raw_digests(g=_ORIGINAL_GESTURES, a=_ORIGINAL_ACTIONS) == _DEFAULT_DIGESTS
    # the knobs given explicitly at their original values: the same bytes
    g, a = get_profile("gestures", "lite"), get_profile("actions", "lite")
    explicit = {"g": {**{k: getattr(g, k) for k in ("stroke_px", "noise_std", "jitter_px",
                                                    "tilt", "margin_px", "distractor")},
                      **_ORIGINAL_GESTURES},
                "a": {k: getattr(a, k) for k in ("noise_std", "light_jitter", "colour_jitter",
                                                 "object_half", "amplitude", "period",
                                                 "travel", "wander", "camera_shake",
                                                 "p_occlusion")} | _ORIGINAL_ACTIONS}
    assert _raw_digests(**explicit) == _DEFAULT_DIGESTS
    # the calibrated defaults (gestures drop strokes; actions have random scenes, triangle
    # paths and sparse times): other bytes
    calibrated = _raw_digests()
    assert calibrated["gestures", "train"] != _DEFAULT_DIGESTS["gestures", "train"]
    assert calibrated["actions", "train"] != _DEFAULT_DIGESTS["actions", "train"]


@pytest.mark.parametrize("knob", [{"p_drop_clip": 0.5}, {"distractor": 0.6}, {"tilt": 0.1},
                                  {"jitter_px": 1.0}, {"margin_px": 5.0}])
def test_gesture_knobs_change_the_data_deterministically(knob):
    base = GestureSequences("test", "ci", n_test=4)
    a = GestureSequences("test", "ci", n_test=4, **knob)
    b = GestureSequences("test", "ci", n_test=4, cache=False, **knob)
    assert any(not torch.equal(base[i]["clips"], a[i]["clips"]) for i in range(4))
    assert all(torch.equal(a[i]["clips"], b[i]["clips"]) for i in range(4))
    assert [int(a[i]["label"]) for i in range(4)] == [int(base[i]["label"]) for i in range(4)]


def test_a_dropped_gesture_clip_shows_no_stroke():
    def moves(**knobs):  # mean |displacement| of the hand over a clip, measured
        ds = GestureSequences("test", "ci", n_test=24, jitter_px=0.0, **knobs)
        track = _hand_track(torch.stack([ds[i]["clips"] for i in range(24)]))
        return np.abs(track[:, :, -1] - track[:, :, 0]).sum(-1).mean()

    assert moves(p_drop_clip=1.0) < 1.2 < 2.5 < moves(p_drop_clip=0.0)  # rests / strokes


def test_shown_says_which_clips_kept_their_stroke():
    """``shown`` is the drop mask: about 1 - p_drop_clip of the clips, the clips whose
    hand moves (measured, tremor off; the measurement is noisy, hence means and deciles)."""
    ds = GestureSequences("test", "ci", n_test=48, jitter_px=0.0)
    assert get_profile("gestures", "ci").p_drop_clip == 0.35
    items = [ds[i] for i in range(48)]
    shown = torch.stack([d["shown"] for d in items]).numpy()           # (N, T)
    assert shown.dtype == bool and abs(shown.mean() - 0.65) < 0.1
    track = _hand_track(torch.stack([d["clips"] for d in items]))
    moved = np.abs(track[:, :, -1] - track[:, :, 0]).sum(-1)          # (N, T)
    assert moved[~shown].mean() < 1.2 < 2.5 < moved[shown].mean()
    assert np.quantile(moved[~shown], 0.9) < np.quantile(moved[shown], 0.1)
    clips = GestureClips("test", "ci", n_test_clips=40)
    assert 0 < sum(bool(clips[i]["shown"]) for i in range(40)) < 40


@pytest.mark.parametrize("knob", [{"camera_shake": 1.0}, {"p_occlusion": 0.5},
                                  {"colour_jitter": 0.2}, {"period": (1.5, 3.0)},
                                  {"travel": (0.2, 0.3)}, {"amplitude": (0.05, 0.1)},
                                  {"random_scene": False}, {"oscillation": "sine"},
                                  {"stride": 20}, {"position": "random"}])
def test_action_knobs_change_the_data_deterministically(knob):
    sine = {"oscillation": "sine"} if "amplitude" in knob else {}  # a triangle has none
    base = ActionVideos("test", "ci", n_test=2, **sine)
    a = ActionVideos("test", "ci", n_test=2, **sine, **knob)
    b = ActionVideos("test", "ci", n_test=2, cache=False, **sine, **knob)
    assert any(not torch.equal(base[i]["rgb"], a[i]["rgb"]) for i in range(2))
    assert all(torch.equal(a[i]["rgb"], b[i]["rgb"]) and torch.equal(a[i]["flow"], b[i]["flow"])
               for i in range(2))


def test_random_scene_unties_the_background_from_the_class(monkeypatch):
    from prernn_lite.data import actions

    scenes = []  # (class appearance, scene drawn) of every video made
    real = actions._background
    monkeypatch.setattr(actions, "_background",
                        lambda rng, kind, S: scenes.append(kind) or real(rng, kind, S))
    ActionVideos("test", "ci", n_test=16, random_scene=True)
    apps = [actions.CLASS_PAIRS[i % 8][0] for i in range(16)]
    assert len(scenes) == 16 and scenes != apps and set(scenes) <= {0, 1, 2, 3}
    scenes.clear()
    ActionVideos("test", "ci", n_test=16, random_scene=False)
    assert scenes == apps  # the original: each class has its own scene


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_triangle_sway_moves_at_a_slides_speed_and_turns(seed):
    from prernn_lite.data.actions import _trajectory

    prof = get_profile("actions", "lite")  # triangle paths
    rng, n, S = np.random.default_rng(seed), 120, 64
    sway, slide = (np.diff(_trajectory(rng, m, n, S, prof)[:, 0]) for m in (0, 1))
    lo, hi = (t * S / (n - 1) for t in prof.travel)
    for v in (sway, slide):  # one constant speed, in the slide's range
        speed = np.abs(v)[np.abs(v) > 0.99 * np.abs(v).max()]
        assert lo <= speed.min() and speed.max() <= hi
        assert (np.abs(v) > 0.99 * np.abs(v).max()).mean() > 0.95  # only turns are slower
    assert len(set(np.sign(sway))) >= 2 and len(set(np.sign(slide))) == 1
    with pytest.raises(ValueError, match="oscillation must be 'sine' or 'triangle'"):
        ActionVideos("test", "ci", n_test=1, oscillation="square")


def _moving_centroid(flow: torch.Tensor) -> torch.Tensor:
    """Mean pixel (x, y) of each window's fast pixels (at least half the fastest; slower
    ones are noise): (N, T, 2L, H, W) -> (N, T, 2)."""
    speed = flow.unflatten(2, (-1, 2)).norm(dim=3).sum(2)              # (N, T, H, W)
    speed = speed * (speed >= 0.5 * speed.amax((-2, -1), keepdim=True))
    H, W = speed.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(H).float(), torch.arange(W).float(), indexing="ij")
    total = speed.sum((-2, -1)).clamp_min(1e-9)
    return (torch.stack([(speed * xs).sum((-2, -1)), (speed * ys).sum((-2, -1))], -1)
            / total[..., None])


def test_random_position_moves_the_path_and_keeps_it_in_frame():
    """Centred paths: a slide crosses the centre at mid-video. position="random": the
    path is shifted, so mid-video slides spread; the object stays inside the frame."""
    def slides_mid_x(**knobs):  # where the slides (labels 1 and 2) move at mid-video
        ds = ActionVideos("test", "ci", n_test=96, **knobs)
        slides = [i for i in range(96) if int(ds[i]["label"]) in (1, 2)]
        return _moving_centroid(torch.stack([ds[i]["flow"] for i in slides]))[:, 2, 0]

    centred, shifted = slides_mid_x(), slides_mid_x(position="random")
    assert (centred - 32).abs().mean() + 1.0 < (shifted - 32).abs().mean()
    assert shifted.min() > 64 * 0.09 and shifted.max() < 64 * 0.91  # inside, by a half-width
    with pytest.raises(ValueError, match="position must be 'centred' or 'random'"):
        ActionVideos("test", "ci", n_test=1, position="middle")


def test_camera_shake_puts_flow_everywhere():
    def corner_flow(**knobs):  # mean |flow| in a corner of the scene (pixels per frame)
        flow = ActionVideos("test", "ci", n_test=2, **knobs)[0]["flow"]
        return flow.unflatten(1, (10, 2)).norm(dim=2)[..., :8, :8].mean()

    assert corner_flow(camera_shake=1.5) > 4 * corner_flow()


def test_overridden_profile_is_restored():
    from prernn_lite.data.profiles import overridden_profile

    with pytest.raises(RuntimeError), overridden_profile("actions", "lite", camera_shake=2.0):
        assert ActionVideos("test", "lite", n_test=1).profile.camera_shake == 2.0
        raise RuntimeError
    assert get_profile("actions", "lite").camera_shake == 0.0
