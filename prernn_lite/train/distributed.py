"""Several GPUs with ``torchrun``: DistributedDataParallel in a few helpers.

Launch the same script once per GPU (``torchrun --nproc_per_node=4 train.py``); in the
script call :func:`init_distributed` (it reads ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` that ``torchrun`` sets), build the
training loader with :func:`distributed_loader` and call :func:`~prernn_lite.train.fit`
as usual. ``fit`` notices the process group, wraps the model in
``DistributedDataParallel`` (gradients are averaged over the ranks, so one step equals
one step on the union of the ranks' batches), calls ``sampler.set_epoch`` every epoch,
averages the training loss over the ranks, and lets only rank 0 show progress bars,
evaluate and write checkpoints.

The training loader *must* give each rank its own shard of the data, i.e. use a
``torch.utils.data.DistributedSampler`` (``distributed_loader`` does); otherwise every
rank trains on the whole data set and the effective batch is ``world_size`` copies of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size``, GPU ``local_rank``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when several processes train together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on rank 0, the process that logs and writes files."""
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's :class:`DistInfo` (a single process if none).

    >>> dist_info()
    DistInfo(rank=0, world_size=1, local_rank=0)
    """
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    rank = dist.get_rank()
    local = int(os.environ.get("LOCAL_RANK", rank))
    return DistInfo(rank, dist.get_world_size(), local)


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group described by ``torchrun``'s environment variables.

    Returns a single-process :class:`DistInfo` and does nothing when the variables are
    absent (a plain ``python train.py``). ``backend`` defaults to ``"nccl"`` when CUDA
    is available and ``"gloo"`` otherwise; with CUDA each process uses GPU ``LOCAL_RANK``.
    """
    if dist.is_available() and dist.is_initialized():
        return dist_info()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return DistInfo()
    local = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local)
    dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return dist_info()


def distributed_loader(dataset: Dataset, batch_size: int, *, shuffle: bool = True,
                       seed: int = 0, drop_last: bool = False, **kwargs: Any) -> DataLoader:
    """A training ``DataLoader`` that works the same with one process or many.

    With a process group: a ``DistributedSampler`` (``batch_size`` per rank, global batch
    ``batch_size * world_size``). Without: a plain loader whose shuffling uses its own
    ``torch.Generator`` seeded with ``seed`` (checkpointed by ``fit``). Other keywords
    go to ``DataLoader``.
    """
    if dist_info().enabled:
        sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
        return DataLoader(dataset, batch_size, sampler=sampler, drop_last=drop_last, **kwargs)
    gen = torch.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(dataset, batch_size, shuffle=shuffle, generator=gen,
                      drop_last=drop_last, **kwargs)


def _comm_device() -> torch.device:
    return torch.device("cuda" if dist.get_backend() == "nccl" else "cpu")


def all_mean(value: float, info: DistInfo) -> float:
    """The mean of ``value`` over the ranks (``value`` itself in a single process)."""
    if not info.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return t.item() / info.world_size


def all_gather(obj: Any, info: DistInfo) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` on every rank."""
    if not info.enabled:
        return [obj]
    out: list = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(obj: Any, info: DistInfo) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(info: DistInfo) -> None:
    """Wait for every rank (a no-op in a single process)."""
    if info.enabled:
        dist.barrier()
