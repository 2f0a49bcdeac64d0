"""Reproducible and resumable runs: seeding, RNG states and atomic checkpoint files.

A run is resumed *exactly* when everything random or stateful comes back as it was at
the end of the last finished epoch: the model, the optimizer (momentum buffers), the
scheduler, the gradient scaler, the history, and the random number generators of
``random``, ``numpy``, ``torch`` (CPU and CUDA) and any ``torch.Generator`` a
``DataLoader`` shuffles with. :func:`rng_state` stores all of them as plain data
(tensors, numbers, strings), so :func:`load_checkpoint` can use
``torch.load(weights_only=True)``, which never executes code from the file.

:func:`save_checkpoint` writes atomically: a temporary file in the same directory,
flushed and ``fsync``-ed, then ``os.replace``-d over the old one, so a crash mid-write
leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch


class CheckpointMismatchError(ValueError):
    """A checkpoint's model does not fit the model being trained."""


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed ``random``, ``numpy`` and ``torch`` (all devices) with ``seed``.

    With ``deterministic=True`` also ask for deterministic kernels
    (``torch.use_deterministic_algorithms(True)``, cuDNN deterministic, no benchmark);
    this setting is process-wide and makes ops without a deterministic kernel raise.

    >>> seed_everything(3); a = (random.random(), np.random.rand(), torch.rand(1).item())
    >>> seed_everything(3); a == (random.random(), np.random.rand(), torch.rand(1).item())
    True
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # needed by cuBLAS
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def rng_state(generators: Iterable[torch.Generator] = ()) -> dict:
    """Every RNG's state as plain data (see module docstring)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": random.getstate(),  # (version, tuple of 625 ints, float or None)
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": [g.get_state() for g in generators],
    }


def set_rng_state(
    state: dict, generators: Iterable[torch.Generator] = (), strict: bool = True
) -> None:
    """Restore what :func:`rng_state` returned (same generators, same order).

    With ``strict=False`` a different number of generators (a run resumed with another
    number of processes, whose samplers differ anyway) leaves the generators as they are
    instead of raising; the Python, NumPy and torch streams are still restored.
    """
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generators = list(generators)
    if len(generators) != len(state["generators"]):
        if not strict:
            return
        raise ValueError(f"checkpoint holds {len(state['generators'])} DataLoader generator "
                         f"state(s) but {len(generators)} generator(s) were given")
    for g, s in zip(generators, state["generators"], strict=True):
        g.set_state(s)


def save_checkpoint(path: str | os.PathLike, obj: dict) -> Path:
    """Write ``obj`` to ``path`` atomically (temp file, fsync, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` onto the CPU.

    Uses ``weights_only=True``: the files hold tensors and plain Python data only.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise RuntimeError(f"cannot read checkpoint {path}: {err}") from err


#: What :func:`~prernn_lite.train.fit` writes into ``last.pt`` (besides ``"format"``).
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "history", "recipe")


def check_training_checkpoint(ckpt: object, path: str | os.PathLike) -> None:
    """Raise ValueError naming ``path`` unless ``ckpt`` is a checkpoint written by ``fit``.

    A plain ``state_dict`` (``torch.save(model.state_dict(), path)``) is the usual
    mistake: the message says so, and how to start from its weights instead.
    """
    keys = list(ckpt) if isinstance(ckpt, dict) else []
    missing = [k for k in CHECKPOINT_KEYS if k not in keys]
    if not missing:
        return
    expected = f"a training checkpoint written by fit(): a dict with the keys {CHECKPOINT_KEYS}"
    if keys and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
        found = (f"a plain state_dict ({len(keys)} tensors, e.g. {keys[0]!r}), as written by "
                 "torch.save(model.state_dict(), path). To start from these weights, load "
                 "them into the model before fit() and use another checkpoint_dir")
    elif isinstance(ckpt, dict):
        found = f"a dict without the keys {missing}"
    else:
        found = f"a {type(ckpt).__name__}"
    raise ValueError(f"cannot resume from {path}: expected {expected}; found {found}.")


def check_model_state(model: torch.nn.Module, state: dict, path: str | os.PathLike) -> None:
    """Raise :class:`CheckpointMismatchError` naming ``path`` and the keys that differ."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(f"{k}: {tuple(state[k].shape)} in file, {tuple(own[k].shape)} in model"
                    for k in set(own) & set(state)
                    if hasattr(state[k], "shape") and state[k].shape != own[k].shape)
    if missing or unexpected or shapes:
        parts = [f"{name} {keys}" for name, keys in (("missing from the file:", missing),
                 ("not in the model:", unexpected), ("shape mismatch:", shapes)) if keys]
        raise CheckpointMismatchError(f"checkpoint {path} was written for another model; "
                                      + "; ".join(parts))
