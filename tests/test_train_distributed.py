"""DDP: two CPU processes (gloo) train like one process over the same global batch.

Equivalence tested: with ``DistributedSampler(shuffle=False)`` rank r of 2 gets samples
r, r+2, r+4, ..., so step i of rank 0 and rank 1 together hold samples 8i..8i+7, which
is batch i of a single process with ``batch_size=8`` and no shuffling. Each rank's loss
is the mean over its 4 samples and DDP averages the gradients over the ranks, so every
step uses the gradient of the mean loss over the 8 samples: parameters must agree with
the single-process run up to float rounding (the model has no dropout or batch norm),
and the two ranks must hold bitwise-identical parameters.
"""

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from prernn_lite.train import Recipe, dist_info, distributed_loader, fit, load_checkpoint

RECIPE = Recipe(name="ddp", base_lr=0.05, epochs=3, schedule="step", gamma=0.5, step_size=1)


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))


def make_data():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(32, 3, generator=g)
    return TensorDataset(x, x.sum(1, keepdim=True) ** 2)


def mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def _worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        assert dist_info().world_size == world
        model = make_model()
        if rank == 1:  # DDP must broadcast rank 0's start to the others
            nn.init.zeros_(model[0].weight)
        loader = distributed_loader(make_data(), batch_size=4, shuffle=False)
        hist = fit(model, loader, mse, RECIPE, device="cpu", progress=False,
                   checkpoint_dir=os.path.join(out, "ckpt"))
        torch.save({"params": [p.detach() for p in model.parameters()],
                    "loss": hist.train_loss}, os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_gloo_ranks_match_one_process_over_the_global_batch(tmp_path):
    mp.spawn(_worker, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for a, b in zip(r0["params"], r1["params"], strict=True):
        assert torch.equal(a, b)
    assert r0["loss"] == r1["loss"]

    single = make_model()
    hist = fit(single, DataLoader(make_data(), batch_size=8, shuffle=False), mse, RECIPE,
               device="cpu", progress=False)
    for a, b in zip(r0["params"], single.parameters(), strict=True):
        torch.testing.assert_close(a, b.detach(), rtol=1e-5, atol=1e-6)
    assert r0["loss"] == pytest.approx(hist.train_loss, rel=1e-5)
    assert hist.train_loss[-1] < hist.train_loss[0]  # it did train

    ckpt = load_checkpoint(tmp_path / "ckpt" / "last.pt")  # written once, by rank 0
    assert len(ckpt["rng"]) == 2 and os.listdir(tmp_path / "ckpt") == ["last.pt"]
