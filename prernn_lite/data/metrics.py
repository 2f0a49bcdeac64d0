"""Metrics and temporal references: NME, accuracy, two-stream late fusion.

* :func:`nme` — face alignment's normalised mean error: the mean point-to-point distance
  divided by the outer-eye-corner distance (iBUG 0-based points 36 and 45), per frame, then
  averaged; a frame mask splits the error by frame condition (clean, occluded, ...).
* :func:`accuracy` — of logits or of predicted labels.
* :func:`late_fusion` — the two-stream rule: a weighted average of the two streams'
  softmax scores.
* :func:`causal_reference` and :func:`interpolation_reference` — what simple temporal
  reasoning gets on hard frames: carry the last clean frame's landmarks forward (causal,
  the fair reference for a causal RNN), or interpolate between the nearest clean frames
  on both sides (non-causal). Both need to know which frames are hard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def nme(pred: torch.Tensor, target: torch.Tensor, left: int = 36, right: int = 45,
        mask: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """Normalised mean error of landmarks.

    ``nme_f = mean_k ||pred_fk - target_fk|| / ||target_f,left - target_f,right||``.

    Parameters
    ----------
    pred, target : Tensor, shape (..., K, 2)
        Landmarks, any leading frame dimensions (e.g. ``(N, T)``).
    left, right : int
        Normalising points (0-based; 36 and 45 are iBUG's outer eye corners).
    mask : Tensor of bool, shape (...), optional
        Frames to include in the mean (e.g. ``flags["occluded"]``).
    reduction : {"mean", "none"}
        ``"none"`` returns the per-frame NME, shape (...), and ignores ``mask``.

    >>> t = torch.tensor([[0., 0.], [3., 0.], [3., 4.]])   # eye corners: points 0 and 1
    >>> p = t + torch.tensor([[0., 0.], [0., 0.], [0., 1.5]])
    >>> float(nme(p, t, left=0, right=1))   # (0 + 0 + 1.5) / 3 / 3
    0.16666...
    """
    if pred.shape != target.shape or pred.shape[-1] != 2:
        raise ValueError(f"expected pred and target of equal shape (..., K, 2), got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    err = (pred - target).norm(dim=-1).mean(-1)  # (...)
    norm = (target[..., left, :] - target[..., right, :]).norm(dim=-1)
    per_frame = err / norm
    if reduction == "none":
        return per_frame
    if reduction != "mean":
        raise ValueError(f"unknown reduction {reduction!r}; valid: mean, none")
    if mask is None:
        return per_frame.mean()
    if mask.shape != per_frame.shape:
        raise ValueError(f"mask must have the frame shape {tuple(per_frame.shape)}, "
                         f"got {tuple(mask.shape)}")
    return per_frame[mask.bool()].mean()


def accuracy(logits_or_labels: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correct predictions.

    ``logits_or_labels`` is either scores of shape ``(N, C)`` (argmax is taken) or
    predicted labels of shape ``(N,)``; ``labels`` has shape ``(N,)``.

    >>> accuracy(torch.tensor([[2., 1.], [0., 3.], [5., 4.]]), torch.tensor([0, 1, 1]))
    0.6666...
    >>> accuracy(torch.tensor([1, 1]), torch.tensor([1, 0]))
    0.5
    """
    pred = logits_or_labels
    if pred.dim() == labels.dim() + 1:
        pred = pred.argmax(-1)
    if pred.shape != labels.shape:
        raise ValueError(f"expected (N, C) scores or (N,) labels for labels of shape "
                         f"{tuple(labels.shape)}, got {tuple(logits_or_labels.shape)}")
    return (pred == labels).float().mean().item()


def late_fusion(spatial_scores: torch.Tensor, temporal_scores: torch.Tensor,
                weights: Sequence[float] = (1.0, 1.0), from_logits: bool = True) -> torch.Tensor:
    """Two-stream late fusion: weighted average of the streams' softmax scores.

    ``p = (w_s * softmax(s) + w_t * softmax(t)) / (w_s + w_t)``, a probability vector.

    Simonyan & Zisserman (2014) fused the streams by averaging softmax scores or by a
    linear SVM on them; Feichtenhofer et al. (2016) weight the temporal stream more
    (e.g. ``weights=(1, 2)``), as it is the stronger one on UCF101. ``(1, 1)`` is the plain
    average. With ``from_logits=False`` the inputs are already probabilities.

    Parameters
    ----------
    spatial_scores, temporal_scores : Tensor, shape (N, C)

    Returns
    -------
    Tensor, shape (N, C)

    >>> s = torch.log(torch.tensor([[0.6, 0.4]]))   # softmax(log p) = p
    >>> t = torch.log(torch.tensor([[0.2, 0.8]]))
    >>> late_fusion(s, t, weights=(1, 3))           # (0.6 + 3*0.2)/4, (0.4 + 3*0.8)/4
    tensor([[0.3000, 0.7000]])
    """
    if spatial_scores.shape != temporal_scores.shape:
        raise ValueError(f"stream scores differ in shape: {tuple(spatial_scores.shape)} vs "
                         f"{tuple(temporal_scores.shape)}")
    ws, wt = (float(w) for w in weights)
    if ws < 0 or wt < 0 or ws + wt <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights}")
    if from_logits:
        spatial_scores, temporal_scores = spatial_scores.softmax(-1), temporal_scores.softmax(-1)
    return (ws * spatial_scores + wt * temporal_scores) / (ws + wt)


def hard_mask(flags: Mapping[str, torch.Tensor] | torch.Tensor,
              keys: Sequence[str] = ("occluded", "dropped")) -> torch.Tensor:
    """Frames whose image does not show the landmarks: the OR of ``flags[k]`` over ``keys``.

    A bool tensor is returned unchanged. Blurred frames still show the face, so they are
    not hard by default.
    """
    if isinstance(flags, torch.Tensor):
        return flags.bool()
    out = torch.zeros_like(flags[keys[0]], dtype=torch.bool)
    for k in keys:
        out = out | flags[k].bool()
    return out


def causal_reference(pred: torch.Tensor, flags: Mapping[str, torch.Tensor] | torch.Tensor,
                     extrapolate: bool = False) -> torch.Tensor:
    """Replace each hard frame by the last clean frame before it (causal).

    With ``extrapolate=True`` the last clean frame is moved on with the velocity between
    the last two clean frames: ``x_a + (t - a) (x_a - x_b) / (a - b)``. Hard frames before
    the first clean frame keep ``pred``.

    Parameters
    ----------
    pred : Tensor, shape (..., T, K, 2)
    flags : dict of bool (..., T) or bool Tensor (..., T)
        Hard frames: ``hard_mask(flags)`` (occluded or dropped).

    >>> x = torch.tensor([0., 1., 2., 3., 4.]).view(5, 1, 1).expand(5, 1, 2)
    >>> hard = torch.tensor([False, False, True, True, False])
    >>> causal_reference(x, hard)[:, 0, 0]
    tensor([0., 1., 1., 1., 4.])
    >>> causal_reference(x, hard, extrapolate=True)[:, 0, 0]
    tensor([0., 1., 2., 3., 4.])
    """
    hard = hard_mask(flags)
    T = pred.shape[-3]
    idx = torch.arange(T).expand_as(hard)
    last = _last_clean(hard, idx)  # (..., T): last clean frame at or before t, or -1
    before_last = torch.cat([torch.full_like(last[..., :1], -1), last[..., :-1]], -1)
    prev = torch.gather(before_last, -1, last.clamp(min=0))  # clean frame before `last`
    p_last = _take(pred, last.clamp(min=0))
    fill = p_last
    if extrapolate:
        p_prev = _take(pred, prev.clamp(min=0))
        gap = (last - prev).clamp(min=1).to(pred.dtype)[..., None, None]
        steps = (idx - last).to(pred.dtype)[..., None, None]
        vel = torch.where((prev >= 0)[..., None, None], (p_last - p_prev) / gap, 0.0)
        fill = p_last + steps * vel
    ok = (hard & (last >= 0))[..., None, None]
    return torch.where(ok, fill, pred)


def _last_clean(hard: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.where(~hard, idx, torch.full_like(idx, -1)).cummax(-1).values


def _take(pred: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """``pred[..., t[..., s], :, :]`` for every s: (..., T, K, 2) gathered along time."""
    return torch.gather(pred, -3, t[..., None, None].expand_as(pred))


def interpolation_reference(pred: torch.Tensor,
                            flags: Mapping[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
    """Replace each hard frame by linear interpolation between the nearest clean frames.

    Non-causal (it looks ahead). A hard run with clean frames on one side only copies that
    side; a sequence with no clean frame keeps ``pred``. Shapes as :func:`causal_reference`.

    >>> x = torch.tensor([0., 1., 9., 9., 4.]).view(5, 1, 1).expand(5, 1, 2)
    >>> hard = torch.tensor([False, False, True, True, False])
    >>> interpolation_reference(x, hard)[:, 0, 0]
    tensor([0., 1., 2., 3., 4.])
    """
    hard = hard_mask(flags)
    T = pred.shape[-3]
    idx = torch.arange(T).expand_as(hard)
    before = _last_clean(hard, idx)  # (..., T), -1 if none
    after = T - 1 - _last_clean(hard.flip(-1), idx).flip(-1)  # next clean frame, T if none
    has_b, has_a = before >= 0, after < T
    b, a = before.clamp(0, T - 1), after.clamp(0, T - 1)
    w = ((idx - b) / (a - b).clamp(min=1)).to(pred.dtype)
    w = torch.where(has_a & has_b, w, has_a.to(pred.dtype))[..., None, None]
    fill = (1 - w) * _take(pred, b) + w * _take(pred, a)
    ok = (hard & (has_a | has_b))[..., None, None]
    return torch.where(ok, fill, pred)
