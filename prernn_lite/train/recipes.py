"""The paper's training recipes as dataclasses.

Every PreRNN experiment trains with SGD (momentum 0.9, weight decay 5e-4) and one of
three learning-rate rules (supplementary, section 1). A :class:`Recipe` holds those
numbers plus the engineering options of this library (mixed precision, compile,
gradient clipping, seed); :data:`RECIPES` holds the paper's four; :func:`get_recipe`
returns one with overrides; :func:`scaled` shrinks a recipe's time axis for the lite
profiles and says so in the recipe's ``note``.

How a schedule is parametrised (epochs are 0-based, ``lr(e)`` is the rate used
*during* epoch ``e``):

- ``"constant"``: ``lr(e) = base_lr``.
- ``"step"``: ``lr(e) = base_lr * gamma ** n(e)`` with ``n(e) = 0`` for
  ``e < first_decay`` and ``n(e) = 1 + (e - first_decay) // step_size`` after.
- ``"plateau"``: divide by ``1 / gamma`` when the training loss has not improved for
  ``patience`` epochs; stop when the rate falls to ``stop_lr`` (see ``schedules``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

SCHEDULES = ("constant", "step", "plateau")
AMP_MODES = (False, True, "fp16", "bf16")


@dataclass(frozen=True)
class Recipe:
    """Optimizer, learning-rate schedule and loop options for :func:`~prernn_lite.train.fit`.

    Parameters
    ----------
    name : str
        A label (the key in :data:`RECIPES` for the paper's recipes).
    base_lr : float
        Initial learning rate (of every parameter group that does not set its own).
    epochs : int or None
        Number of epochs; ``None`` means "until the schedule's stop rule fires"
        (needs ``stop_lr``).
    schedule : {"constant", "step", "plateau"}
        The learning-rate rule (module docstring).
    gamma : float
        Multiplicative factor at each decay (0.5 for face/actions, 0.1 for gestures).
    step_size : int
        Epochs between two decays of the ``"step"`` schedule.
    first_decay : int or None
        Epoch at which the ``"step"`` schedule first decays; ``None`` means ``step_size``.
    patience : int
        Epochs without improvement of the training loss that trigger a ``"plateau"`` decay.
    plateau_threshold : float
        A loss improves when it is below ``best * (1 - plateau_threshold)``; 0 means any
        strict decrease.
    stop_lr : float or None
        Training ends at the end of the epoch after which the rate would be
        ``<= stop_lr`` (relative tolerance 1e-6); no epoch is trained at ``stop_lr``.
    momentum, weight_decay : float
        SGD settings (the paper's 0.9 and 5e-4, applied to every parameter).
    amp : bool or {"fp16", "bf16"}
        Mixed precision: ``True``/``"fp16"`` = float16 autocast + GradScaler on CUDA
        (a warning and full precision on CPU); ``"bf16"`` = bfloat16 autocast on any device.
    compile : bool or str
        Wrap the model in ``torch.compile``; a string names the backend (``True`` =
        ``"inductor"``; ``"eager"`` only traces). A warning where unsupported.
    grad_clip : float or None
        Clip the global gradient 2-norm to this value.
    seed : int
        Seed for ``random``, ``numpy`` and ``torch`` at the start of :func:`fit`.
    deterministic : bool
        Also call ``torch.use_deterministic_algorithms(True)`` (process-wide).
    epoch_scale : float
        Factor applied to the paper's time axis by :func:`scaled` (1.0 = the paper's).
    note : str
        Free text; :func:`scaled` states its scaling here.

    Examples
    --------
    >>> r = Recipe(base_lr=0.1, epochs=3)
    >>> (r.momentum, r.weight_decay, r.schedule)
    (0.9, 0.0005, 'constant')
    """

    name: str = "custom"
    base_lr: float = 1e-3
    epochs: int | None = 10
    schedule: str = "constant"
    gamma: float = 0.1
    step_size: int = 10
    first_decay: int | None = None
    patience: int = 10
    plateau_threshold: float = 0.0
    stop_lr: float | None = None
    momentum: float = 0.9
    weight_decay: float = 5e-4
    amp: bool | str = False
    compile: bool | str = False
    grad_clip: float | None = None
    seed: int = 0
    deterministic: bool = False
    epoch_scale: float = 1.0
    note: str = ""

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {SCHEDULES}")
        if self.amp not in AMP_MODES:
            raise ValueError(f"unknown amp mode {self.amp!r}; choose one of {AMP_MODES}")
        if self.base_lr <= 0 or not 0 < self.gamma <= 1:
            raise ValueError(f"need base_lr > 0 and 0 < gamma <= 1, got {self.base_lr}, "
                             f"{self.gamma}")
        if self.epochs is None and self.stop_lr is None:
            raise ValueError("epochs=None needs a stop_lr, or training would never end")
        if min(self.step_size, self.patience) < 1 or (self.first_decay or 1) < 0:
            raise ValueError("step_size and patience must be >= 1, first_decay >= 0")

    @property
    def decay_start(self) -> int:
        """The epoch of the first ``"step"`` decay (``first_decay`` or ``step_size``)."""
        return self.step_size if self.first_decay is None else self.first_decay

    def replace(self, **changes) -> Recipe:
        """A copy with some fields changed (unknown fields raise ``TypeError``)."""
        return dataclasses.replace(self, **changes)


_PAPER = "supplementary section 1: "
RECIPES: dict[str, Recipe] = {
    # "decay the learning rate after 10 epochs by multiplying it with a factor of 0.5
    # after each additional 5 epochs. Each network is trained for 30 epochs."
    # Reading: the first halving happens after epoch 10 (epochs 0-9 at lr, 10-14 at
    # lr/2, 15-19 at lr/4, 20-24 at lr/8, 25-29 at lr/16). "Decay after 10 epochs"
    # names when the decay happens; the other reading (first halving after 15 epochs)
    # would leave the rate unchanged at epoch 10.
    "face": Recipe(name="face", base_lr=1e-4, epochs=30, schedule="step", gamma=0.5,
                   step_size=5, first_decay=10,
                   note=_PAPER + "x0.5 at epochs 10, 15, 20, 25; 30 epochs"),
    # "divide it by 10 if the training loss has not improved over the past 40 epochs.
    # We stop the training when the learning rate lowers to 3e-7." No epoch count.
    "gesture": Recipe(name="gesture", base_lr=3e-3, epochs=None, schedule="plateau",
                      gamma=0.1, patience=40, stop_lr=3e-7,
                      note=_PAPER + "/10 after 40 epochs without a new best training "
                                    "loss; stop when lr reaches 3e-7"),
    # "divided by 2 after every 10 epochs ... 90 epochs and 100 epochs"
    "action_spatial": Recipe(name="action_spatial", base_lr=3e-4, epochs=90,
                             schedule="step", gamma=0.5, step_size=10,
                             note=_PAPER + "/2 every 10 epochs; 90 epochs"),
    "action_temporal": Recipe(name="action_temporal", base_lr=1e-2, epochs=100,
                              schedule="step", gamma=0.5, step_size=10,
                              note=_PAPER + "/2 every 10 epochs; 100 epochs"),
}


def get_recipe(name: str, **overrides) -> Recipe:
    """The paper's recipe ``name`` with some fields overridden.

    Examples
    --------
    >>> get_recipe("face", epochs=3).epochs
    3
    >>> get_recipe("faces")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown recipe 'faces'; choose one of ['face', 'gesture', ...]
    """
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {list(RECIPES)}")
    return RECIPES[name].replace(**overrides)


def _scale(n: int, factor: float) -> int:
    """``n * factor`` rounded half up, at least 1."""
    return max(1, math.floor(n * factor + 0.5))


def scaled(recipe: Recipe, factor: float) -> Recipe:
    """Shrink (``factor < 1``) or stretch a recipe's time axis.

    ``epochs`` and the schedule's own epoch counts (``first_decay`` and ``step_size`` of
    ``"step"``, ``patience`` of ``"plateau"``) are each multiplied by ``factor`` and
    rounded half up, with a minimum of 1 epoch; learning rates
    (``base_lr``, ``gamma``, ``stop_lr``) are unchanged. ``epoch_scale`` accumulates the
    factor and ``note`` states what was done.

    Examples
    --------
    >>> r = scaled(get_recipe("face"), 0.2)
    >>> (r.epochs, r.decay_start, r.step_size, r.epoch_scale)
    (6, 2, 1, 0.2)
    >>> r.note.split(";")[-1].strip()
    'scaled x0.2: epochs 30->6, first_decay 10->2, step_size 5->1'
    """
    if not factor > 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    new = {"epochs": None if recipe.epochs is None else _scale(recipe.epochs, factor)}
    if recipe.schedule == "step":
        new["first_decay"] = _scale(recipe.decay_start, factor)
        new["step_size"] = _scale(recipe.step_size, factor)
    if recipe.schedule == "plateau":
        new["patience"] = _scale(recipe.patience, factor)
    old = {k: recipe.decay_start if k == "first_decay" else getattr(recipe, k) for k in new}
    said = ", ".join(f"{k} {old[k]}->{v}" for k, v in new.items() if v is not None)
    note = f"{recipe.note}; scaled x{factor:g}: {said}" if recipe.note else \
        f"scaled x{factor:g}: {said}"
    return recipe.replace(**new, epoch_scale=recipe.epoch_scale * factor, note=note)
