"""Sequence-consistent augmentation: one draw per sequence, points follow pixels."""

import cv2
import numpy as np
import pytest
import torch

from prernn_lite.data.augment import (
    IBUG_FLIP_PERM,
    AugmentConfig,
    AugmentParams,
    SequenceAugment,
    augment_video,
    draw_params,
)
from prernn_lite.data.faces import FaceSequences


def test_flip_perm_is_the_ibug_mirror():
    perm = list(IBUG_FLIP_PERM)
    assert sorted(perm) == list(range(68))
    assert [perm[p] for p in perm] == list(range(68))  # an involution
    pairs = {(36, 45), (0, 16), (48, 54), (39, 42), (17, 26), (21, 22), (31, 35), (60, 64),
             (37, 44), (41, 46), (55, 59), (65, 67), (1, 15)}
    for a, b in pairs:
        assert perm[a] == b and perm[b] == a
    fixed = {i for i in range(68) if perm[i] == i}
    assert fixed == {8, 27, 28, 29, 30, 33, 51, 57, 62, 66}  # the midline points


def test_flipped_face_keeps_point_roles():
    s = FaceSequences("train", profile="ci", n_train=1, seq_len=4)[0]
    _, lm = augment_video(s["frames"], AugmentParams(1.0, 0, 0, True), s["landmarks"])
    # after the flip point 36 is still the image-left outer eye corner, 0 the left jaw end
    assert (lm[:, 36, 0] < lm[:, 45, 0]).all() and (lm[:, 0, 0] < lm[:, 16, 0]).all()
    W = s["frames"].shape[-1]
    torch.testing.assert_close(lm[:, 36, 0], W - 1 - s["landmarks"][:, 45, 0])
    torch.testing.assert_close(lm[:, 36, 1], s["landmarks"][:, 45, 1])


def test_flip_twice_is_identity():
    v, kp = torch.rand(3, 3, 20, 24), torch.rand(3, 68, 2) * 20
    p = AugmentParams(1.0, 0, 0, True)
    v1, k1 = augment_video(v, p, kp)
    v2, k2 = augment_video(v1, p, k1)
    torch.testing.assert_close(v2, v)
    torch.testing.assert_close(k2, kp)
    assert not torch.allclose(v1, v)


def test_same_transform_for_every_frame():
    frame = torch.rand(1, 3, 32, 32)
    video = frame.expand(5, -1, -1, -1).contiguous()
    kp = torch.tensor([[10.0, 12.0], [20.0, 5.0]]).expand(5, 2, 2).contiguous()
    aug = SequenceAugment("faces", AugmentConfig((0.8, 1.25), 0.5),
                          generator=torch.Generator().manual_seed(3))
    for _ in range(5):
        out = aug({"frames": video, "landmarks": torch.zeros(5, 68, 2)})
        assert all(torch.equal(out["frames"][t], out["frames"][0]) for t in range(5))
        o, k = augment_video(video, draw_params((32, 32), AugmentConfig((0.8, 1.25), 0.5)), kp,
                             flip_perm=None)
        assert all(torch.equal(o[t], o[0]) and torch.equal(k[t], k[0]) for t in range(5))


def _dots(points, size):
    """One Gaussian dot (sigma 1.5 px) per frame at (x, y), pixel centres at integers."""
    yy, xx = np.mgrid[0:size, 0:size]
    img = [np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5**2)) for x, y in points]
    return torch.tensor(np.stack(img), dtype=torch.float32)[:, None].expand(-1, 3, -1, -1)


def _centroid(img):
    yy, xx = torch.meshgrid(torch.arange(img.shape[-2]), torch.arange(img.shape[-1]),
                            indexing="ij")
    w = img / img.sum()
    return torch.stack([(w * xx).sum(), (w * yy).sum()])


@pytest.mark.parametrize("params", [AugmentParams(1.0, 0, 0, True),
                                    AugmentParams(1.2, 5, 3, False),
                                    AugmentParams(1.15, 2, 6, True),
                                    AugmentParams(0.85, -4, -2, True)])
def test_landmarks_follow_the_image(params):
    pts = [(15.3, 20.7), (25.0, 18.2), (20.6, 28.9)]
    video = _dots(pts, 48)
    kp = torch.tensor(pts, dtype=torch.float32)[:, None, :]  # (T=3, K=1, 2)
    out, kp_out = augment_video(video, params, kp, flip_perm=None)
    for t in range(3):
        c = _centroid(out[t, 0])
        assert (c - kp_out[t, 0]).abs().max() < 0.5, (t, c, kp_out[t, 0])


def _moving_square(dx, n=4, size=48):
    frames = []
    for i in range(n):
        img = np.zeros((size, size), np.uint8)
        x = 14 + i * dx
        img[16:30, int(x):int(x) + 12] = 200
        img[20:24, int(x) + 3:int(x) + 6] = 60  # texture inside the square
        frames.append(img)
    return frames


def _farneback(frames):
    flows = [cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
             for a, b in zip(frames[:-1], frames[1:], strict=True)]
    return torch.tensor(np.concatenate(flows, -1)).permute(2, 0, 1)  # (2*(n-1), H, W)


def test_flip_of_flow_equals_flow_of_flipped_frames():
    frames = _moving_square(2)
    flow = _farneback(frames)[None]  # (1, 6, H, W): x0, y0, x1, y1, x2, y2
    out, _ = augment_video(flow, AugmentParams(1.0, 0, 0, True), flow=True)
    reference = _farneback([np.ascontiguousarray(f[:, ::-1]) for f in frames])[None]
    moving = reference[0, 0].abs() > 0.5
    assert moving.sum() > 50
    assert reference[0, 0][moving].mean() < -1.0  # the flipped square moves left
    torch.testing.assert_close(out[0][:, moving], reference[0][:, moving], atol=0.15, rtol=0)


def test_scaling_scales_the_flow():
    flow = torch.zeros(1, 20, 32, 32)
    flow[:, 0::2] = 1.0  # 1 px/frame to the right everywhere
    flow[:, 1::2] = -0.5
    out, _ = augment_video(flow, AugmentParams(1.25, 2, 2, False), flow=True)
    torch.testing.assert_close(out[:, 0::2], torch.full_like(out[:, 0::2], 1.25))
    torch.testing.assert_close(out[:, 1::2], torch.full_like(out[:, 1::2], -0.625))


def test_gestures_are_not_flipped():
    with pytest.raises(ValueError, match="changes the class"):
        SequenceAugment("gestures", AugmentConfig(p_flip=0.5))
    aug = SequenceAugment("gestures", generator=torch.Generator().manual_seed(0))
    clips = torch.rand(4, 3, 8, 32, 32)
    assert aug({"clips": clips, "label": torch.tensor(1)})["clips"].shape == clips.shape


def test_draw_params_covers_flip_and_range():
    g = torch.Generator().manual_seed(0)
    draws = [draw_params((64, 64), AugmentConfig((0.9, 1.1), 0.5), g) for _ in range(200)]
    assert 0.3 < np.mean([d.flip for d in draws]) < 0.7
    assert all(0.9 <= d.scale <= 1.1 for d in draws)
    for d in draws:
        extra = round(64 * d.scale) - 64
        assert min(0, extra) <= d.top <= max(0, extra)
