"""Table 3's references on the action stand-in: what reading the motion in order gives.

A stand-in class is an (appearance, motion) pair (``data.actions``). Sway and slide (bob
and drop) differ in one thing no single sampled time shows: whether the object's
direction *reverses* within the video. :func:`reversal_reference` reads that, with no
training, as a simple causal temporal reference (the face task's is "keep the last clean
frame", the gestures' "read the clip network's directions in order"):

1. at each sampled time ``t``, the object's motion ``d_t`` (2,): the flow of the window
   summed over its fields, averaged over the pixels weighted by their speed (the camera
   is still, so the moving pixels are the object's);
2. the axis of the motion: the one with the larger ``sum_t |d_t|`` (horizontal: sway or
   slide; vertical: bob or drop);
3. an oscillation iff the motion along that axis changes sign between two times read in
   order (times moving less than ``still`` x the fastest one are skipped), so the rule
   decides at the last time from the times before it;
4. the appearance from the pre-trained spatial network's single-time read-out, summed
   over times, between the two classes with that motion.

:func:`action_references` adds ``chance`` and ``frames`` (both pre-trained single-time
networks, no training, late-fused and averaged over times: order-blind) and
``reversal_motion``, the share of videos whose motion the rule names.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from ...data.actions import CLASS_PAIRS
from ...data.metrics import accuracy, late_fusion

#: a time whose motion is below this fraction of the video's fastest is skipped
STILL = 0.1


def object_motion(flow: torch.Tensor) -> torch.Tensor:
    """Speed-weighted mean displacement of each window: ``(N, T, 2*L, H, W)`` -> ``(N, T, 2)``.

    >>> flow = torch.zeros(1, 2, 4, 3, 3)  # L = 2 fields, x and y stacked
    >>> flow[0, 0, 0, 1, 1] = flow[0, 0, 2, 1, 1] = 1.0  # one pixel moves right, twice
    >>> object_motion(flow)[0]
    tensor([[2., 0.],
            [0., 0.]])
    """
    if flow.dim() != 5 or flow.shape[2] % 2:
        raise ValueError(f"flow must be (N, T, 2*L, H, W) with x, y stacked; got "
                         f"{tuple(flow.shape)}")
    shift = flow.unflatten(2, (-1, 2)).sum(2)                        # (N, T, 2, H, W)
    speed = shift.norm(dim=2, keepdim=True)                          # (N, T, 1, H, W)
    total = speed.sum((-2, -1)).clamp_min(1e-12)                     # (N, T, 1)
    return (shift * speed).sum((-2, -1)) / total


def read_motion(motion: torch.Tensor, still: float = STILL) -> torch.Tensor:
    """The motion index (``data.actions.MOTIONS``) read from ``(N, T, 2)`` displacements.

    >>> from prernn_lite.data.actions import MOTIONS
    >>> d = torch.tensor([[[1., 0.], [-1., 0.]],    # right, then left: sway
    ...                   [[1., 0.], [2., 0.1]],    # right, right: slide
    ...                   [[0., -1.], [0., 1.]],    # up, then down: bob
    ...                   [[0., 1.], [0.01, 1.]]])  # down, down: drop
    >>> [MOTIONS[m] for m in read_motion(d)]
    ['sway', 'slide', 'bob', 'drop']
    """
    vertical = motion[..., 1].abs().sum(1) > motion[..., 0].abs().sum(1)     # (N,)
    along = torch.where(vertical[:, None], motion[..., 1], motion[..., 0])  # (N, T)
    moving = along.abs() >= still * along.abs().amax(1, keepdim=True).clamp_min(1e-12)
    reverses = torch.zeros(len(along), dtype=torch.bool)
    for n in range(len(along)):
        signs = torch.sign(along[n][moving[n]])
        reverses[n] = bool((signs[1:] != signs[:-1]).any())
    # MOTIONS: sway (horizontal, reverses), slide, bob (vertical, reverses), drop
    return 2 * vertical.long() + (~reverses).long()


def reversal_reference(flow: torch.Tensor, rgb_logits: torch.Tensor,
                       still: float = STILL) -> tuple[torch.Tensor, torch.Tensor]:
    """Class and motion read per video: ``flow (N, T, 2*L, H, W)``, ``rgb_logits (N, T, C)``
    (the pre-trained spatial network's per-time scores) -> ``(classes (N,), motions (N,))``.

    The class is the one of the two with the motion read whose summed scores are higher.
    """
    motions = read_motion(object_motion(flow), still)
    scores = rgb_logits.log_softmax(-1).sum(1)                        # (N, C)
    motion_of = torch.tensor([m for _, m in CLASS_PAIRS])
    allowed = motion_of[None, :] == motions[:, None]                  # (N, C)
    return scores.masked_fill(~allowed, float("-inf")).argmax(-1), motions


@torch.no_grad()
def per_time_logits(net: nn.Module, x: torch.Tensor, chunk: int = 64) -> torch.Tensor:
    """A single-time network applied to every time: ``(N, T, ...)`` -> ``(N, T, C)``."""
    net.eval()
    flat = x.flatten(0, 1)
    out = torch.cat([net(flat[i:i + chunk]) for i in range(0, len(flat), chunk)])
    return out.unflatten(0, x.shape[:2])


def action_references(videos, nets: dict[str, nn.Module], still: float = STILL
                      ) -> pd.DataFrame:
    """References on the test ``videos`` (``ActionVideos``), with the pre-trained
    single-time networks ``nets`` (``{"rgb": ..., "flow": ...}``, their own 8-class heads).
    Columns ``reference``, ``accuracy``, ``meaning``."""
    items = [videos[i] for i in range(len(videos))]
    rgb = torch.stack([v["rgb"] for v in items])                      # (N, T, 3, H, W)
    flow = torch.stack([v["flow"] for v in items])                    # (N, T, 2L, H, W)
    labels = torch.stack([v["label"] for v in items])
    logits = {"rgb": per_time_logits(nets["rgb"], rgb),
              "flow": per_time_logits(nets["flow"], flow)}
    classes, motions = reversal_reference(flow, logits["rgb"], still)
    true_motion = torch.tensor([CLASS_PAIRS[int(y)][1] for y in labels])
    frames = late_fusion(logits["rgb"].mean(1), logits["flow"].mean(1))
    rows = [
        ("chance", 1 / len(CLASS_PAIRS), "one class in eight (the classes are balanced)"),
        ("frames", accuracy(frames, labels), "the pre-trained single-time networks, no "
         "training, fused and averaged over times (order-blind)"),
        ("reversal", accuracy_of(classes, labels), "motion read from the flow in order "
         "(does the direction reverse?), appearance from the pre-trained RGB network; no "
         "training (causal)"),
        ("reversal_motion", accuracy_of(motions, true_motion), "share of videos whose "
         "motion the reversal rule names (4 motions)"),
    ]
    return pd.DataFrame(rows, columns=["reference", "accuracy", "meaning"])


def accuracy_of(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """Share of equal entries.

    >>> accuracy_of(torch.tensor([0, 1, 2]), torch.tensor([0, 1, 1]))
    0.6666666666666666
    """
    return float((predicted == target).double().mean())
