"""Learning-rate schedules: the paper's three rules as ``torch.optim`` schedulers.

:func:`make_scheduler` turns a :class:`~prernn_lite.train.Recipe` into a scheduler that
the loop steps once at the *end* of every epoch (epochs are 0-based, and the rate an
epoch trains with is the one the optimizer holds when it starts):

- ``"constant"`` and ``"step"``: a ``torch.optim.lr_scheduler.LambdaLR`` whose factor is
  a :class:`StepRule` (a small callable, so the scheduler's ``state_dict`` is plain data);
- ``"plateau"``: a :class:`PlateauDecay`, stepped with the epoch's training loss.

:func:`reached_stop` is the stop rule (``stop_lr``) and :func:`lr_trace` replays a
schedule epoch by epoch, e.g. to draw it in the book:

>>> from prernn_lite.train import get_recipe
>>> lr_trace(get_recipe("action_spatial"))[8:12]
[0.0003, 0.0003, 0.00015, 0.00015]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau

from .recipes import Recipe

STOP_RTOL = 1e-6  # "lr has fallen to stop_lr" allows this relative float error


@dataclass
class StepRule:
    """``gamma ** n(e)`` with ``n(e) = 0`` before ``decay_start``, then one more per ``step_size``.

    >>> [StepRule(decay_start=2, step_size=3, gamma=0.5)(e) for e in range(7)]
    [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    """

    decay_start: int = 10
    step_size: int = 10
    gamma: float = 1.0

    def __call__(self, epoch: int) -> float:
        n = 0 if epoch < self.decay_start else 1 + (epoch - self.decay_start) // self.step_size
        return float(self.gamma ** n)


class PlateauDecay:
    """Multiply every group's rate by ``factor`` when the training loss stops improving.

    Rule, applied in :meth:`step` at the end of each epoch with that epoch's training
    loss ``L``: ``L`` *improves* when ``L < best * (1 - threshold)`` (``threshold=0``:
    any strict decrease; an equal loss is no improvement), and then ``best = L`` and the
    count of bad epochs restarts at 0; otherwise the count grows by one. When the count
    reaches ``patience`` (``patience`` epochs in a row without a new best) every rate is
    multiplied by ``factor`` and the count restarts at 0; ``best`` is kept, so after a
    decay the loss must beat the best loss ever seen.

    This is exactly ``torch.optim.lr_scheduler.ReduceLROnPlateau(mode="min",
    patience=patience - 1, threshold=threshold, threshold_mode="rel", cooldown=0,
    min_lr=0, eps=0)`` (torch decays after ``patience + 1`` bad epochs), which does the
    work: :attr:`scheduler`. On top, each group's ``initial_lr`` is recorded for the
    paper's stop rule (:func:`reached_stop`), and :attr:`num_decays` is counted.

    Examples
    --------
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = PlateauDecay(opt, factor=0.1, patience=2)
    >>> for loss in [3.0, 2.0, 2.0, 2.5]:
    ...     sched.step(loss)
    >>> sched.get_last_lr(), sched.num_decays
    ([0.1], 1)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, factor: float = 0.1,
                 patience: int = 40, threshold: float = 0.0) -> None:
        if patience < 1:
            raise ValueError(f"patience: expected >= 1 epoch, got {patience}")
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.optimizer, self.patience, self.num_decays = optimizer, patience, 0
        self.scheduler = ReduceLROnPlateau(
            optimizer, mode="min", factor=factor, patience=patience - 1, threshold=threshold,
            threshold_mode="rel", cooldown=0, min_lr=0.0, eps=0.0)

    factor = property(lambda self: self.scheduler.factor, doc="Decay factor.")
    threshold = property(lambda self: self.scheduler.threshold, doc="Relative threshold.")
    best = property(lambda self: self.scheduler.best, doc="Best loss so far.")
    num_bad_epochs = property(lambda self: self.scheduler.num_bad_epochs,
                              doc="Epochs in a row without a new best.")
    last_epoch = property(lambda self: self.scheduler.last_epoch, doc="Steps taken.")

    def step(self, metric: float) -> None:
        """Record one epoch's training loss and decay the rates if the rule says so."""
        before = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step(float(metric))
        self.num_decays += int(self.optimizer.param_groups[0]["lr"] < before)

    def get_last_lr(self) -> list[float]:
        """The rates the next epoch will use, one per parameter group."""
        return self.scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """Plain data only (safe for ``torch.load(weights_only=True)``)."""
        return {"reduce_lr_on_plateau": self.scheduler.state_dict(),
                "patience": self.patience, "num_decays": self.num_decays}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (the rates live in the optimizer).

        The flat state of earlier versions (``best``, ``num_bad_epochs``, ``num_decays``,
        ``last_epoch``, ...) is read too.
        """
        inner = state.get("reduce_lr_on_plateau")
        if inner is None:  # the earlier flat format
            inner = self.scheduler.state_dict()
            inner.update({k: state[k] for k in ("factor", "threshold", "best",
                                                "num_bad_epochs", "last_epoch")},
                         patience=state["patience"] - 1,
                         _last_lr=[g["lr"] for g in self.optimizer.param_groups])
        self.scheduler.load_state_dict(inner)
        self.patience, self.num_decays = state["patience"], state["num_decays"]


Scheduler = LambdaLR | PlateauDecay


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe) -> Scheduler:
    """The scheduler for ``recipe.schedule``; every group's rate follows the same rule.

    Raises
    ------
    ValueError
        For an unknown schedule name (listing the valid ones).
    """
    if recipe.schedule == "constant":
        return LambdaLR(optimizer, StepRule(gamma=1.0))
    if recipe.schedule == "step":
        return LambdaLR(optimizer, StepRule(recipe.decay_start, recipe.step_size, recipe.gamma))
    if recipe.schedule == "plateau":
        return PlateauDecay(optimizer, recipe.gamma, recipe.patience, recipe.plateau_threshold)
    raise ValueError(f"unknown schedule {recipe.schedule!r}; choose one of "
                     "('constant', 'step', 'plateau')")


def step_scheduler(scheduler: Scheduler, train_loss: float) -> None:
    """End-of-epoch step: the plateau rule reads the training loss, the others do not."""
    if isinstance(scheduler, PlateauDecay):
        scheduler.step(train_loss)
    else:
        scheduler.step()


def reached_stop(optimizer: torch.optim.Optimizer, recipe: Recipe) -> bool:
    """Whether the stop rule fires: group 0's rate has fallen to ``stop_lr / base_lr`` of
    its initial rate (so to ``stop_lr`` itself when group 0 starts at ``base_lr``)."""
    if recipe.stop_lr is None:
        return False
    group = optimizer.param_groups[0]
    scale = group["lr"] / group.get("initial_lr", group["lr"])
    return scale <= recipe.stop_lr / recipe.base_lr * (1 + STOP_RTOL)


def lr_trace(recipe: Recipe, train_losses: Sequence[float] | None = None,
             max_epochs: int | None = None) -> list[float]:
    """The rate of every epoch that :func:`fit` would train, replayed on a dummy optimizer.

    ``train_losses[e]`` is fed to a plateau rule after epoch ``e``; the trace ends at
    ``recipe.epochs``, at the stop rule, at ``max_epochs``, or when the losses run out.
    """
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=recipe.base_lr)
    sched = make_scheduler(opt, recipe)
    limits = [n for n in (recipe.epochs, max_epochs) if n is not None]
    if train_losses is not None:
        limits.append(len(train_losses))
    if not limits:
        raise ValueError("an unbounded recipe needs train_losses or max_epochs")
    trace: list[float] = []
    for epoch in range(min(limits)):
        trace.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradients: a no-op that keeps LambdaLR's order check quiet
        step_scheduler(sched, train_losses[epoch] if train_losses is not None else 0.0)
        if reached_stop(opt, recipe):
            break
    return trace
