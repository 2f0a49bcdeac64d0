"""``fit``: exact resumption, atomic checkpoints, options and errors, on tiny CPU models."""

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from prernn_lite.train import (
    CheckpointMismatchError,
    Recipe,
    fit,
    get_recipe,
    load_checkpoint,
    save_checkpoint,
    scaled,
)


class Tiny(nn.Module):
    def __init__(self, hidden=16, p=0.5):
        super().__init__()
        self.fc1, self.drop, self.fc2 = nn.Linear(4, hidden), nn.Dropout(p), nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


def dataset(n=64):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x[:, :1] - 2 * x[:, 1:2] + 0.1 * torch.randn(n, 1, generator=g))


def mse(model, batch):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def noisy_mse(model, batch):
    # draws from numpy and python random, so their states matter for exact resumption
    return mse(model, batch) + 1e-3 * (np.random.rand() + random.random())


def loader(with_generator, ds=None):
    gen = torch.Generator().manual_seed(1) if with_generator else None
    return DataLoader(ds or dataset(), batch_size=8, shuffle=True, generator=gen)


def model(seed=123, **kw):
    torch.manual_seed(seed)
    return Tiny(**kw)


class Interrupt(Exception):
    pass


def interrupt_after(k):
    def cb(epoch, history, model):
        if epoch == k:
            raise Interrupt
    return cb


STEP = Recipe(name="t", base_lr=0.02, epochs=6, schedule="step", gamma=0.5, step_size=2)
PLATEAU = Recipe(name="t", base_lr=0.02, epochs=6, schedule="plateau", gamma=0.5, patience=1)


@pytest.mark.parametrize("recipe, how, with_gen", [(STEP, "callback", False),
                                                   (PLATEAU, "callback", True),
                                                   (STEP, "short_recipe", True),
                                                   (PLATEAU, "short_recipe", False)])
def test_interrupted_and_resumed_run_equals_uninterrupted_run_bitwise(
        tmp_path, recipe, how, with_gen):
    full_model = model()
    full = fit(full_model, loader(with_gen), noisy_mse, recipe, progress=False,
               checkpoint_dir=tmp_path / "full")
    if how == "callback":  # crash after epoch 2 finished (its checkpoint is written)
        with pytest.raises(Interrupt):
            fit(model(), loader(with_gen), noisy_mse, recipe, progress=False,
                checkpoint_dir=tmp_path / "cut", callbacks=[interrupt_after(2)])
    else:
        fit(model(), loader(with_gen), noisy_mse, recipe.replace(epochs=3), progress=False,
            checkpoint_dir=tmp_path / "cut")
    # a fresh process would build a new model (other init) and a new loader
    resumed_model = model(seed=999)
    resumed = fit(resumed_model, loader(with_gen), noisy_mse, recipe, progress=False,
                  checkpoint_dir=tmp_path / "cut")
    assert resumed.train_loss == full.train_loss and len(full.train_loss) == 6
    assert resumed.lr == full.lr
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    # and the run really is random: another seed gives other losses
    other = fit(model(), loader(with_gen), noisy_mse, recipe.replace(seed=1), progress=False)
    assert other.train_loss != full.train_loss


def test_checkpoint_holds_plain_data_and_finished_runs_do_not_train_again(tmp_path):
    m = model()
    hist = fit(m, loader(True), mse, STEP.replace(epochs=2), progress=False,
               checkpoint_dir=tmp_path)
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)  # no pickled code inside
    assert {"model", "optimizer", "scheduler", "rng", "history"} <= set(ckpt)
    assert len(ckpt["history"]["train_loss"]) == 2 and hist.stop_reason == "epochs"
    before = {k: v.clone() for k, v in m.state_dict().items()}
    again = fit(m, loader(True), mse, STEP.replace(epochs=2), progress=False,
                checkpoint_dir=tmp_path)
    assert again.train_loss == hist.train_loss
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert os.listdir(tmp_path) == ["last.pt"]  # no temp files left


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(
        ("replace", Path(a).parent == Path(b).parent)), real_replace(a, b)))
    save_checkpoint(path, {"epoch": 2})
    assert events[:2] == ["fsync", ("replace", True)]  # synced temp file in the same dir
    with pytest.raises(Exception):  # noqa: B017 -- any pickling error; a lambda cannot be saved
        save_checkpoint(path, {"epoch": 3, "bad": lambda: 0})
    assert load_checkpoint(path) == {"epoch": 2}  # the old checkpoint survives a failed write
    assert os.listdir(tmp_path) == ["last.pt"]


def test_checkpoint_of_another_model_names_file_and_keys(tmp_path):
    fit(model(), loader(False), mse, STEP.replace(epochs=1), progress=False,
        checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointMismatchError) as err:
        fit(nn.Linear(4, 1), loader(False), mse, STEP, progress=False, checkpoint_dir=tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "last.pt") in msg and "fc1.weight" in msg and "'weight'" in msg
    with pytest.raises(CheckpointMismatchError, match=r"fc1.weight: \(16, 4\) in file, \(8, 4\)"):
        fit(model(hidden=8), loader(False), mse, STEP, progress=False, checkpoint_dir=tmp_path)


def test_resuming_from_a_plain_state_dict_names_file_and_what_was_expected(tmp_path):
    m = model()
    torch.save(m.state_dict(), tmp_path / "last.pt")  # weights, not fit()'s checkpoint
    with pytest.raises(ValueError) as err:
        fit(m, loader(False), mse, STEP, progress=False, checkpoint_dir=tmp_path)
    msg = str(err.value)
    assert msg.startswith(f"cannot resume from {tmp_path / 'last.pt'}: expected a training "
                          "checkpoint written by fit(): a dict with the keys ('model', ")
    assert "found a plain state_dict (4 tensors, e.g. 'fc1.weight')" in msg
    save_checkpoint(tmp_path / "last.pt", {"model": m.state_dict(), "format": 1})
    with pytest.raises(ValueError, match=r"found a dict without the keys \['optimizer', "
                                         r"'scheduler', 'scaler', 'rng', 'history', 'recipe'\]"):
        fit(m, loader(False), mse, STEP, progress=False, checkpoint_dir=tmp_path)
    save_checkpoint(tmp_path / "last.pt", [1, 2])
    with pytest.raises(ValueError, match=r"last\.pt: expected a training .*; found a list\."):
        fit(m, loader(False), mse, STEP, progress=False, checkpoint_dir=tmp_path)


def test_plateau_recipe_in_fit_stops_at_stop_lr():
    # a loss that never changes: epoch 0 sets the best, then patience (2) bad epochs per
    # decay: 3e-3 for epochs 0-2, 3e-4 for 3-4, 3e-5 for 5-6, 3e-6 for 7-8, then 3e-7: stop
    recipe = scaled(get_recipe("gesture"), 0.05)
    assert recipe.patience == 2 and recipe.epochs is None
    hist = fit(nn.Linear(4, 1), loader(False), lambda m, b: m(b[0]).sum() * 0 + 1.0, recipe,
               progress=False)
    assert hist.lr == pytest.approx([3e-3] * 3 + [3e-4] * 2 + [3e-5] * 2 + [3e-6] * 2)
    assert hist.stop_reason == "stop_lr"


def test_validation_param_groups_and_frozen_parameters():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Linear(8, 1))
    net[0].requires_grad_(False)
    frozen = net[0].weight.clone()
    seen = []

    def eval_fn(m, val):
        seen.append((m.training, torch.is_grad_enabled()))
        return {"mae": torch.stack([(m(x) - y).abs().mean() for x, y in val]).mean()}

    recipe = Recipe(base_lr=1e-2, epochs=3, schedule="step", gamma=0.5, step_size=1)
    groups = [{"params": net[2].parameters(), "lr": 1e-3}, {"params": net[3].parameters()}]
    hist = fit(net, loader(False), mse, recipe, val_loader=loader(False), eval_fn=eval_fn,
               progress=False, param_groups=groups)
    assert sum(hist.group_lr, []) == pytest.approx([1e-3, 1e-2, 5e-4, 5e-3, 2.5e-4, 2.5e-3])
    assert seen == [(False, False)] * 3 and net.training
    assert [set(v) for v in hist.val] == [{"mae"}] * 3
    assert torch.equal(net[0].weight, frozen)
    default = fit(net, loader(False), mse, recipe.replace(epochs=1), val_loader=loader(False),
                  progress=False)
    assert set(default.val[0]) == {"loss"}
    with pytest.raises(ValueError, match="val_loader"):
        fit(net, loader(False), mse, recipe, eval_fn=eval_fn, progress=False)


def test_grad_clip_bounds_the_first_step():
    # first SGD step without weight decay: momentum buffer = gradient, step = lr * grad,
    # so with clipping the parameter moves by exactly lr * grad_clip (gradient norm >> clip)
    x, y = torch.ones(8, 4), torch.full((8, 1), 100.0)
    one_batch = DataLoader(TensorDataset(x, y), batch_size=8)
    for clip, expect in [(0.01, 0.01), (None, None)]:
        net = nn.Linear(4, 1)
        w0 = torch.cat([p.detach().flatten().clone() for p in net.parameters()])
        grad_norm = torch.cat([g.flatten() for g in torch.autograd.grad(
            mse(net, (x, y)), list(net.parameters()))]).norm()
        fit(net, one_batch, mse, Recipe(base_lr=1.0, epochs=1, weight_decay=0.0,
                                        grad_clip=clip), progress=False)
        moved = (torch.cat([p.detach().flatten() for p in net.parameters()]) - w0).norm()
        assert moved.item() == pytest.approx(expect or grad_norm.item(), rel=1e-4)


def test_amp_and_compile_options_on_cpu():
    ref = model(p=0.0)
    fit(ref, loader(True), mse, STEP.replace(epochs=2), progress=False)
    fp16 = model(p=0.0)
    with pytest.warns(UserWarning, match="needs CUDA"):
        fit(fp16, loader(True), mse, STEP.replace(epochs=2, amp=True), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(ref.parameters(), fp16.parameters(), strict=True))
    dtypes = []

    def record(m, batch):
        out = m(batch[0])
        dtypes.append(out.dtype)
        return nn.functional.mse_loss(out.float(), batch[1])

    bf16 = model(p=0.0)
    hist = fit(bf16, loader(True), record, STEP.replace(epochs=1, amp="bf16"), progress=False)
    assert set(dtypes) == {torch.bfloat16} and np.isfinite(hist.train_loss[0])
    compiled, kinds = model(p=0.0), set()
    fit(compiled, loader(True), lambda m, b: (kinds.add(type(m).__name__), mse(m, b))[1],
        STEP.replace(epochs=2, compile="eager"), progress=False)
    assert kinds == {"OptimizedModule"}
    for a, b in zip(ref.parameters(), compiled.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_progress_bars_and_devices(capsys):
    fit(nn.Linear(4, 1), loader(False), mse, STEP.replace(epochs=1), progress=False)
    assert capsys.readouterr().err == ""
    fit(nn.Linear(4, 1), loader(False), mse, STEP.replace(epochs=1), progress=True,
        val_loader=loader(False))
    err = capsys.readouterr().err
    assert "loss=" in err and "lr=" in err and "val_loss=" in err
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            fit(nn.Linear(4, 1), loader(False), mse, STEP, device="cuda", progress=False)


def test_bad_losses_and_deterministic_flag():
    with pytest.raises(ValueError, match="scalar"):
        fit(nn.Linear(4, 1), loader(False), lambda m, b: m(b[0]), STEP, progress=False)
    with pytest.raises(FloatingPointError, match="epoch 0"):
        fit(nn.Linear(4, 1), loader(False), lambda m, b: mse(m, b) * float("nan"), STEP,
            progress=False)
    was = torch.are_deterministic_algorithms_enabled()
    try:
        fit(nn.Linear(4, 1), loader(False), mse, STEP.replace(epochs=1, deterministic=True),
            progress=False)
        assert torch.are_deterministic_algorithms_enabled()
    finally:
        torch.use_deterministic_algorithms(was)


def test_callback_can_stop_training():
    hist = fit(nn.Linear(4, 1), loader(False), mse, STEP,
               callbacks=[lambda epoch, h, m: epoch == 1], progress=False)
    assert hist.epochs_done == 2 and hist.stop_reason == "callback"


def test_rng_restore_with_other_generator_count_is_lenient_only_when_asked():
    from prernn_lite.train.checkpoint import rng_state, set_rng_state

    g = torch.Generator().manual_seed(1)
    saved = rng_state([g])
    expected = torch.rand(3)
    with pytest.raises(ValueError, match="1 DataLoader generator state"):
        set_rng_state(saved, [])
    set_rng_state(saved, [], strict=False)  # e.g. resumed with another number of processes
    assert torch.equal(torch.rand(3), expected)  # the torch stream is still restored
