"""One training loop for every task: :func:`fit`.

The loop knows a task only through two functions: ``loss_fn(model, batch)`` returns the
scalar loss of one batch, and ``eval_fn(model, loader)`` returns a dict of validation
metrics. Models and loaders are plain ``torch.nn.Module`` and iterables of batches.

Each epoch: (1) train on every batch (SGD with the recipe's momentum and weight decay,
optional autocast, gradient scaling and clipping); (2) evaluate on the validation
loader; (3) step the schedule (the plateau rule with the epoch's mean training loss);
(4) write ``checkpoint_dir/last.pt`` atomically; (5) run the callbacks. Training ends
after ``recipe.epochs`` epochs, when the stop rule fires (``stop_lr``), or when a
callback returns ``True``. Calling :func:`fit` again with the same ``checkpoint_dir``
continues from the last finished epoch and reproduces the uninterrupted run exactly on
the CPU (same data order, dropout masks, momentum buffers and schedule state).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm.auto import tqdm

from . import distributed as D
from .checkpoint import (
    check_model_state,
    check_training_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .recipes import Recipe
from .schedules import make_scheduler, reached_stop, step_scheduler

LossFn = Callable[[nn.Module, Any], torch.Tensor]
EvalFn = Callable[[nn.Module, Iterable], dict[str, float]]
Callback = Callable[[int, "History", nn.Module], bool | None]
CHECKPOINT_NAME = "last.pt"


@dataclass
class History:
    """What happened, one entry per finished epoch.

    Attributes
    ----------
    train_loss : list of float
        Mean of ``loss_fn`` over the epoch's batches (averaged over ranks with DDP).
    val : list of dict
        ``eval_fn``'s metrics after the epoch (``{}`` without a validation loader).
    lr : list of float
        Parameter group 0's learning rate during the epoch.
    group_lr : list of list of float
        Every parameter group's learning rate during the epoch.
    wall_time : list of float
        Seconds the epoch took (training and evaluation).
    stop_reason : str
        ``"epochs"``, ``"stop_lr"`` or ``"callback"`` once training has ended.
    """

    train_loss: list[float] = field(default_factory=list)
    val: list[dict[str, float]] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    group_lr: list[list[float]] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def epochs_done(self) -> int:
        """Number of finished epochs."""
        return len(self.train_loss)


def to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor in a (nested) tuple/list/dict batch to ``device``.

    >>> to_device({"x": torch.ones(1), "ids": [torch.zeros(1), "a"]}, "cpu")["ids"][1]
    'a'
    """
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _resolve_device(device: str | torch.device, info: D.DistInfo) -> torch.device:
    if str(device) == "auto":
        device = f"cuda:{info.local_rank}" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available; "
                         "use device='auto' or 'cpu'")
    return device


def _amp_setup(recipe: Recipe, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, whether to use a GradScaler)."""
    if recipe.amp is False:
        return None, False
    if recipe.amp == "bf16":
        return torch.bfloat16, False
    if device.type == "cuda":
        return torch.float16, True
    warnings.warn(f"amp={recipe.amp!r} (float16 + GradScaler) needs CUDA; training in float32 "
                  f"on {device}. Ask for amp='bf16' to autocast to bfloat16 there.",
                  stacklevel=3)
    return None, False


def _maybe_compile(net: nn.Module, recipe: Recipe) -> nn.Module:
    backend = "inductor" if recipe.compile is True else str(recipe.compile)
    dynamo = getattr(torch, "_dynamo", None)
    if not hasattr(torch, "compile") or (dynamo and not dynamo.is_dynamo_supported()):
        warnings.warn("torch.compile is not supported here; training uncompiled", stacklevel=3)
        return net
    return torch.compile(net, backend=backend)


def _loader_generators(loader: Iterable, extra: Sequence[torch.Generator]) -> list:
    """The distinct ``torch.Generator`` objects that drive the loader's shuffling."""
    found: list[torch.Generator] = []
    sampler = getattr(loader, "sampler", None)
    for g in (getattr(loader, "generator", None), getattr(sampler, "generator", None), *extra):
        if isinstance(g, torch.Generator) and all(g is not h for h in found):
            found.append(g)
    return found


def _evaluate(model, loader, eval_fn, loss_fn, device, autocast) -> dict[str, float]:
    """``eval_fn`` on the unwrapped model in eval mode without gradients."""
    model.eval()
    with torch.no_grad(), autocast():
        if eval_fn is not None:
            metrics = eval_fn(model, loader)
        else:  # default: the mean training loss function on the validation batches
            losses = [loss_fn(model, to_device(b, device)).float().item() for b in loader]
            metrics = {"loss": sum(losses) / max(len(losses), 1)}
    model.train()
    return {k: float(v) for k, v in metrics.items()}


def fit(model: nn.Module, train_loader: Iterable, loss_fn: LossFn, recipe: Recipe, *,
        val_loader: Iterable | None = None, eval_fn: EvalFn | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = True,
        device: str | torch.device = "auto", progress: bool = True,
        param_groups: list[dict] | None = None, callbacks: Sequence[Callback] = (),
        generators: Sequence[torch.Generator] = ()) -> History:
    """Train ``model`` with ``recipe``; see the module docstring for the epoch's steps.

    Parameters
    ----------
    model : nn.Module
        Trained in place (moved to ``device``). All parameters with
        ``requires_grad=True`` are trained (the backbone is fine-tuned jointly) unless
        ``param_groups`` says otherwise.
    train_loader : iterable of batches
        Usually a ``DataLoader``; with DDP it must use a ``DistributedSampler``
        (:func:`~prernn_lite.train.distributed_loader`). Its shuffling ``torch.Generator``
        (``loader.generator`` or ``loader.sampler.generator``) is checkpointed.
    loss_fn : callable
        ``loss_fn(model, batch) -> scalar tensor``; ``batch`` is already on ``device``.
    recipe : Recipe
        Optimizer, schedule and options (:func:`~prernn_lite.train.get_recipe`).
    val_loader, eval_fn : optional
        ``eval_fn(model, val_loader) -> dict[str, float]`` after every epoch, with the
        unwrapped model in eval mode under ``torch.no_grad`` (it moves batches itself,
        e.g. with :func:`to_device`); without ``eval_fn`` the metric is the mean
        ``loss_fn`` over ``val_loader``. With DDP only rank 0 evaluates.
    checkpoint_dir : path, optional
        Where ``last.pt`` is written after every epoch (rank 0 only).
    resume : bool
        Continue from ``checkpoint_dir/last.pt`` if it exists.
    device : "auto", "cpu", "cuda", ...
        ``"auto"``: CUDA (GPU ``LOCAL_RANK``) when available, else CPU.
    progress : bool
        ``tqdm`` bars (epochs, and batches within an epoch) on rank 0.
    param_groups : list of dict, optional
        ``torch.optim.SGD`` parameter groups, e.g. a smaller ``lr`` for a pre-trained
        trunk; groups without ``lr`` use ``recipe.base_lr``. Each group's rate follows
        the schedule relative to its own initial rate.
    callbacks : sequence of callables
        ``cb(epoch, history, model)`` after each epoch's checkpoint; returning ``True``
        ends training. Callbacks that draw random numbers break exact resumption.
    generators : sequence of torch.Generator
        Further generators to checkpoint (e.g. one inside a custom sampler).

    Returns
    -------
    History

    Notes
    -----
    ``fit`` seeds ``random``, ``numpy`` and ``torch`` with ``recipe.seed + rank`` when it
    starts (so a loader without its own generator shuffles reproducibly); a resumed run
    then restores the RNG states saved after its last finished epoch.
    """
    if eval_fn is not None and val_loader is None:
        raise ValueError("eval_fn was given without a val_loader")
    info = D.dist_info()
    device = _resolve_device(device, info)
    seed_everything(recipe.seed + info.rank, recipe.deterministic)
    raw = model.to(device)
    groups = [dict(g, params=[g["params"]] if isinstance(g["params"], torch.Tensor)
                   else list(g["params"])) for g in param_groups or
              [{"params": [p for p in raw.parameters() if p.requires_grad]}]]
    if not any(g["params"] for g in groups):
        raise ValueError("the model has no trainable parameters")
    opt = torch.optim.SGD(groups, lr=recipe.base_lr, momentum=recipe.momentum,
                          weight_decay=recipe.weight_decay)
    sched = make_scheduler(opt, recipe)
    amp_dtype, use_scaler = _amp_setup(recipe, device)
    scaler = torch.amp.GradScaler(device.type, enabled=use_scaler)

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    gens = _loader_generators(train_loader, generators)
    history = History()
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    if path is not None and resume and path.exists():
        history = _resume(path, raw, opt, sched, scaler, recipe, gens, info)
        if reached_stop(opt, recipe) or (recipe.epochs is not None
                                         and history.epochs_done >= recipe.epochs):
            return history
    net: nn.Module = raw
    if info.enabled:
        if not isinstance(getattr(train_loader, "sampler", None), DistributedSampler):
            warnings.warn("training with DDP but the loader has no DistributedSampler: every "
                          "rank sees the whole data set (use distributed_loader)", stacklevel=2)
        net = DistributedDataParallel(raw, device_ids=[device.index] if device.index is not
                                      None else None)
    if recipe.compile:
        net = _maybe_compile(net, recipe)
    params = [p for g in opt.param_groups for p in g["params"]]
    show = progress and info.is_main
    bar = tqdm(total=recipe.epochs, initial=history.epochs_done, disable=not show,
               desc=recipe.name, unit="epoch")
    epoch = history.epochs_done
    while recipe.epochs is None or epoch < recipe.epochs:
        start, lrs = time.perf_counter(), [g["lr"] for g in opt.param_groups]
        lr = lrs[0]
        sampler = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        net.train()
        total, n = torch.zeros((), device=device), 0
        batches = tqdm(train_loader, leave=False, disable=not show, desc=f"epoch {epoch + 1}")
        for batch in batches:
            with autocast():
                loss = loss_fn(net, to_device(batch, device))
            if loss.ndim != 0:
                raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if recipe.grad_clip is not None:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(params, recipe.grad_clip)
            scaler.step(opt)
            scaler.update()
            total, n = total + loss.detach().float(), n + 1
            if show:
                batches.set_postfix(loss=f"{total.item() / n:.4g}", lr=f"{lr:.3g}")
        if n == 0:
            raise ValueError("train_loader yielded no batches")
        train_loss = D.all_mean(total.item() / n, info)
        if not math.isfinite(train_loss):
            kept = f"{path} holds the last finished epoch" if path and epoch else "no checkpoint"
            raise FloatingPointError(f"training loss is {train_loss} in epoch {epoch} "
                                     f"(0-based); {kept}")
        metrics: dict[str, float] = {}
        if val_loader is not None:
            if info.is_main:
                metrics = _evaluate(raw, val_loader, eval_fn, loss_fn, device, autocast)
            metrics = D.broadcast(metrics, info)
        step_scheduler(sched, train_loss)
        history.train_loss.append(train_loss)
        history.val.append(metrics)
        history.lr.append(lr)
        history.group_lr.append(lrs)
        history.wall_time.append(time.perf_counter() - start)
        stop = reached_stop(opt, recipe)
        epoch += 1
        history.stop_reason = "stop_lr" if stop else ("epochs" if epoch == recipe.epochs else "")
        if path is not None:
            rngs = D.all_gather(rng_state(gens), info)  # every rank's own RNG states
            if info.is_main:
                save_checkpoint(path, {
                    "format": 1, "model": raw.state_dict(), "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                    "rng": rngs, "history": asdict(history), "recipe": asdict(recipe)})
        bar.update()
        bar.set_postfix(loss=f"{train_loss:.4g}", lr=f"{lr:.3g}",
                        **{f"val_{k}": f"{v:.4g}" for k, v in metrics.items()})
        if any([bool(cb(epoch - 1, history, raw)) for cb in callbacks]):
            history.stop_reason = history.stop_reason or "callback"
            break
        if stop:
            break
    bar.close()
    D.barrier(info)
    return history


def _resume(path, raw, opt, sched, scaler, recipe, gens, info) -> History:
    """Load ``path`` into the run's objects; returns the stored history."""
    ckpt = load_checkpoint(path)
    check_training_checkpoint(ckpt, path)
    check_model_state(raw, ckpt["model"], path)
    raw.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    if ckpt["scaler"] and scaler.is_enabled():
        scaler.load_state_dict(ckpt["scaler"])
    changed = sorted(k for k, v in asdict(recipe).items()
                     if k not in ("epochs", "note", "name") and ckpt["recipe"].get(k) != v)
    if changed:
        warnings.warn(f"resuming {path} with a recipe that differs in {changed}", stacklevel=3)
    rngs = ckpt["rng"]
    if len(rngs) != info.world_size:
        warnings.warn(f"{path} was written by {len(rngs)} process(es), resuming with "
                      f"{info.world_size}: random streams will differ", stacklevel=3)
    set_rng_state(rngs[info.rank % len(rngs)], gens, strict=len(rngs) == info.world_size)
    return History(**ckpt["history"])
