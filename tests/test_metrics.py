"""Metrics and temporal references against hand computations."""

import math

import pytest
import torch

from prernn_lite.data.metrics import (
    accuracy,
    causal_reference,
    hard_mask,
    interpolation_reference,
    late_fusion,
    nme,
)


def test_nme_three_points_by_hand():
    # eye corners = points 0 and 1, 4 px apart; point 0 is off by 3 px, others exact
    target = torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 3.0]])
    pred = torch.tensor([[0.0, 3.0], [4.0, 0.0], [2.0, 3.0]])
    assert nme(pred, target, left=0, right=1).item() == pytest.approx((3 + 0 + 0) / 3 / 4)


def test_nme_68_points_default_eye_corners():
    target = torch.zeros(68, 2)
    target[36] = torch.tensor([10.0, 10.0])
    target[45] = torch.tensor([30.0, 10.0])
    pred = target + torch.tensor([3.0, 4.0])  # every point off by 5 px
    assert nme(pred, target).item() == pytest.approx(5 / 20)


def test_nme_per_frame_and_mask():
    target = torch.tensor([[0.0, 0.0], [4.0, 0.0], [2.0, 3.0]]).expand(2, 3, 3, 2).clone()
    pred = target.clone()
    pred[0, 0, 2, 1] += 6.0  # frame (0, 0): 6/3/4 = 0.5
    pred[1, 2, :, 0] += 2.0  # frame (1, 2): every point off by 2 px -> 2/4
    per = nme(pred, target, left=0, right=1, reduction="none")
    assert per.shape == (2, 3)
    expected = torch.tensor([[0.5, 0, 0], [0, 0, 0.5]])
    torch.testing.assert_close(per, expected)
    mask = torch.tensor([[True, True, False], [False, False, True]])
    assert nme(pred, target, left=0, right=1, mask=mask).item() == pytest.approx(1.0 / 3)
    assert nme(pred, target, left=0, right=1).item() == pytest.approx(1.0 / 6)


def test_nme_rejects_bad_shapes():
    with pytest.raises(ValueError, match="equal shape"):
        nme(torch.zeros(5, 68, 2), torch.zeros(5, 68, 3))


def test_accuracy_from_logits_and_labels():
    logits = torch.tensor([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 2.0]])
    labels = torch.tensor([1, 0, 0, 2])
    assert accuracy(logits, labels) == pytest.approx(2 / 4)
    assert accuracy(torch.tensor([1, 0, 2, 2]), labels) == pytest.approx(3 / 4)


def test_late_fusion_by_hand():
    spatial = torch.tensor([[0.0, math.log(3.0)]])  # softmax -> (0.25, 0.75)
    temporal = torch.tensor([[5.0, 5.0]])  # softmax -> (0.5, 0.5)
    torch.testing.assert_close(late_fusion(spatial, temporal), torch.tensor([[0.375, 0.625]]))
    torch.testing.assert_close(late_fusion(spatial, temporal, weights=(1, 2)),
                               torch.tensor([[1.25 / 3, 1.75 / 3]]))
    probs = late_fusion(torch.tensor([[0.2, 0.8]]), torch.tensor([[0.6, 0.4]]),
                        weights=(3, 1), from_logits=False)
    torch.testing.assert_close(probs, torch.tensor([[0.3, 0.7]]))


def test_late_fusion_a_confident_stream_wins():
    spatial = torch.log(torch.tensor([[0.55, 0.45]]))  # weakly class 0
    temporal = torch.log(torch.tensor([[0.1, 0.9]]))  # strongly class 1
    assert late_fusion(spatial, temporal).argmax(-1).item() == 1
    with pytest.raises(ValueError):
        late_fusion(spatial, temporal, weights=(0, 0))


def _seq(values):
    return torch.tensor(values, dtype=torch.float32).view(-1, 1, 1).expand(-1, 1, 2)


def test_causal_reference_by_hand():
    x = _seq([5.0, 1.0, 2.0, 7.0, 7.0, 7.0, 10.0, 7.0])
    hard = torch.tensor([True, False, False, True, True, True, False, True])
    hold = causal_reference(x, hard)[:, 0, 0]
    # frame 0: no clean frame yet -> kept; 3..5 hold frame 2; 7 holds frame 6
    assert hold.tolist() == [5.0, 1.0, 2.0, 2.0, 2.0, 2.0, 10.0, 10.0]
    ext = causal_reference(x, hard, extrapolate=True)[:, 0, 0]
    # velocity 1/frame from frames 1,2; at 7 the velocity is (10-2)/(6-2) = 2
    assert ext.tolist() == [5.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 12.0]


def test_causal_reference_is_causal_and_batched():
    x = torch.randn(3, 6, 4, 2)
    hard = torch.zeros(3, 6, dtype=torch.bool)
    hard[:, 3:] = True
    y = x.clone()
    y[:, 4:] += 100.0  # the future of hard frames must not matter
    torch.testing.assert_close(causal_reference(x, hard), causal_reference(y, hard))
    for n in range(3):
        for t in range(3, 6):
            torch.testing.assert_close(causal_reference(x, hard)[n, t], x[n, 2])


def test_interpolation_reference_by_hand():
    x = _seq([9.0, 2.0, 9.0, 9.0, 9.0, 6.0, 9.0])
    hard = torch.tensor([True, False, True, True, True, False, True])
    out = interpolation_reference(x, hard)[:, 0, 0]
    # 0: only a clean frame after -> copy frame 1; 2..4 between 2 and 6; 6: copy frame 5
    assert out.tolist() == [2.0, 2.0, 3.0, 4.0, 5.0, 6.0, 6.0]


def test_hard_mask_from_flags():
    flags = {"occluded": torch.tensor([1, 0, 0, 0], dtype=torch.bool),
             "dropped": torch.tensor([0, 0, 1, 0], dtype=torch.bool),
             "blurred": torch.tensor([0, 1, 0, 0], dtype=torch.bool)}
    assert hard_mask(flags).tolist() == [True, False, True, False]
