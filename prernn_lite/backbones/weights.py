"""Loading pre-trained weights safely: plain state_dicts only, never arbitrary pickles.

Every backbone constructor takes ``weights``: ``None`` (random initialisation, what the
tests and the ``ci`` profile use), a torchvision weights enum (passed straight through to
torchvision, which downloads), or the path of a local file holding a plain ``state_dict``
(a mapping from parameter names to tensors, as written by ``torch.save(model.state_dict())``).

A file is read with ``torch.load(path, map_location="cpu", weights_only=True)``, so
PyTorch's restricted unpickler refuses anything that is not tensors and containers: a
pickled whole model is refused with a message, never executed. Keys must match exactly;
missing and unexpected keys are listed instead of being silently skipped. A tensor
holding NaN or inf (a corrupt file, or one saved from a diverged run) is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["load_state_dict_file", "load_weights_into"]

PathLike = str | os.PathLike


def load_state_dict_file(path: PathLike) -> dict[str, torch.Tensor]:
    """Read a plain ``state_dict`` from ``path`` without unpickling arbitrary objects.

    Parameters
    ----------
    path : str or os.PathLike
        File written by ``torch.save(model.state_dict(), path)``.

    Returns
    -------
    dict[str, torch.Tensor]
        The tensors, on the CPU.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a plain state_dict (a pickled whole model, a checkpoint dict
        holding non-tensors, or not a torch file at all), or if a tensor holds NaN or inf.
        The message names the file (and the first non-finite tensor's key).

    Examples
    --------
    >>> import tempfile, torch
    >>> path = tempfile.mktemp(suffix=".pt")
    >>> torch.save(torch.nn.Linear(2, 3).state_dict(), path)
    >>> sorted(load_state_dict_file(path))
    ['bias', 'weight']
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path!r}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # restricted unpickler refused it, or not a torch file
        raise ValueError(
            f"{path!r} is not a plain state_dict that can be loaded safely "
            f"(torch.load(..., weights_only=True) refused it: {type(exc).__name__}). "
            "A pickled whole model is never unpickled here: save `model.state_dict()` "
            "instead, with torch.save(model.state_dict(), path)."
        ) from exc
    if not isinstance(obj, Mapping) or not obj:
        raise ValueError(
            f"{path!r} holds a {type(obj).__name__}, not a state_dict "
            "(a non-empty mapping from parameter names to tensors)."
        )
    bad = [k for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        hint = ""
        if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
            hint = " It looks like a training checkpoint: save checkpoint['state_dict'] alone."
        raise ValueError(
            f"{path!r} is a dict but not a plain state_dict: entries {bad[:5]!r} are not "
            f"tensors (a state_dict maps parameter names to tensors).{hint}"
        )
    for key, value in obj.items():
        if (value.is_floating_point() or value.is_complex()) and not value.isfinite().all():
            nan, inf = int(value.isnan().sum()), int(value.isinf().sum())
            raise ValueError(
                f"{path!r}: tensor {key!r} holds {nan} NaN and {inf} inf value(s) of "
                f"{value.numel()} (the first non-finite tensor in the file); the weights are "
                "corrupt or come from a diverged run."
            )
    return dict(obj)


def load_weights_into(model: nn.Module, path: PathLike, name: str) -> nn.Module:
    """Load the state_dict in ``path`` into ``model``, requiring an exact key match.

    Parameters
    ----------
    model : nn.Module
        The freshly built network.
    path : str or os.PathLike
        A plain state_dict file (see :func:`load_state_dict_file`).
    name : str
        The network's name, for error messages.

    Returns
    -------
    nn.Module
        ``model``, with the weights loaded.

    Raises
    ------
    ValueError
        Listing missing and unexpected keys, or the tensors whose shapes differ.
    """
    state = load_state_dict_file(path)
    expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        hint = ""
        if unexpected and all(k.startswith("module.") for k in unexpected):
            hint = (" The keys start with 'module.' (saved from DataParallel/DDP): "
                    "strip that prefix before saving.")
        raise ValueError(
            f"{path!r} does not match {name}: missing keys {missing}, unexpected keys "
            f"{unexpected}.{hint}"
        )
    own = model.state_dict()
    wrong = [f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
             for k, v in state.items() if v.shape != own[k].shape]
    if wrong:
        raise ValueError(f"{path!r} does not match {name}: shapes differ for {wrong}")
    model.load_state_dict(state, strict=True)
    return model
