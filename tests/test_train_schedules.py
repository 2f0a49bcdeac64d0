"""The paper's learning-rate rules, checked epoch by epoch against tables written by hand.

Epochs are 0-based; ``lr[e]`` is the rate epoch ``e`` trains with. Readings (stated in
``prernn_lite.train.recipes``): face = 1e-4 for epochs 0-9, then x0.5 at epochs 10, 15,
20, 25; gesture = /10 once 40 epochs in a row bring no new best training loss (equal is
not better), stop as soon as the rate would be 3e-7; actions = /2 every 10 epochs.
"""

import io
import types

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import ReduceLROnPlateau

from prernn_lite.train import (
    RECIPES,
    PlateauDecay,
    Recipe,
    get_recipe,
    lr_trace,
    make_scheduler,
    scaled,
)

FACE = [1e-4] * 10 + [5e-5] * 5 + [2.5e-5] * 5 + [1.25e-5] * 5 + [6.25e-6] * 5


def test_paper_optimizer_settings():
    for r in RECIPES.values():
        assert (r.momentum, r.weight_decay) == (0.9, 5e-4)
    assert {k: RECIPES[k].base_lr for k in RECIPES} == {
        "face": 1e-4, "gesture": 3e-3, "action_spatial": 3e-4, "action_temporal": 1e-2}


def test_face_schedule_epoch_by_epoch():
    assert lr_trace(get_recipe("face")) == pytest.approx(FACE, rel=1e-12, abs=0)


@pytest.mark.parametrize("name, base, epochs", [("action_spatial", 3e-4, 90),
                                                ("action_temporal", 1e-2, 100)])
def test_action_schedules_halve_every_ten_epochs(name, base, epochs):
    expected = [base / 2 ** (e // 10) for e in range(epochs)]
    trace = lr_trace(get_recipe(name))
    assert trace == pytest.approx(expected, rel=1e-12, abs=0)
    assert trace[-1] == pytest.approx(base / 2 ** (epochs // 10 - 1))


def test_scheduler_drives_every_param_group_of_a_real_optimizer():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([{"params": [a], "lr": 1e-5}, {"params": [b]}], lr=1e-4)
    sched = make_scheduler(opt, get_recipe("face"))
    seen = []
    for _ in range(30):
        seen.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    assert [s[1] for s in seen] == pytest.approx(FACE, rel=1e-12, abs=0)
    assert [s[0] for s in seen] == pytest.approx([x / 10 for x in FACE], rel=1e-12, abs=0)


def test_gesture_plateau_on_a_flat_loss_and_its_stop():
    # best = 1.0 at epoch 4; epochs 5..44 are 40 epochs without a new best -> /10 after
    # epoch 44; the same after 84 and 124; after epoch 164 the rate would be 3e-7: stop.
    losses = [5.0, 4.0, 3.0, 2.0] + [1.0] * 400
    expected = [3e-3] * 45 + [3e-4] * 40 + [3e-5] * 40 + [3e-6] * 40
    trace = lr_trace(get_recipe("gesture"), losses)
    assert len(trace) == 165
    assert trace == pytest.approx(expected, rel=1e-9, abs=0)


def test_gesture_plateau_counts_only_consecutive_epochs_without_a_new_best():
    # 39 epochs equal to the best (epochs 1..39) do not decay; a tiny improvement at
    # epoch 40 restarts the count; 40 equal epochs (41..80) then decay after epoch 80.
    losses = [1.0] * 40 + [0.999] * 41 + [0.5] * 10
    trace = lr_trace(get_recipe("gesture"), losses)
    assert trace == pytest.approx([3e-3] * 81 + [3e-4] * 10, rel=1e-9, abs=0)


def test_gesture_plateau_keeps_the_best_loss_across_a_decay():
    # best 1.0 at epoch 0; 2.0 for 40 epochs -> decay after 40; 1.5 beats 2.0 but not
    # the best 1.0, so 40 more epochs -> decay after 80; 0.9 is a new best: no decay.
    losses = [1.0] + [2.0] * 40 + [1.5] * 40 + [0.9] * 41
    trace = lr_trace(get_recipe("gesture"), losses)
    assert trace == pytest.approx([3e-3] * 41 + [3e-4] * 40 + [3e-5] * 41, rel=1e-9, abs=0)


def test_steadily_improving_gesture_run_never_decays():
    trace = lr_trace(get_recipe("gesture"), [1.0 / (e + 1) for e in range(300)])
    assert trace == [3e-3] * 300


def test_scaled_recipes_shrink_epochs_and_milestones():
    face = scaled(get_recipe("face"), 0.2)  # 30 -> 6 epochs, decay at 2, then every 1
    assert face.epochs == 6 and face.epoch_scale == 0.2
    assert lr_trace(face) == pytest.approx([1e-4, 1e-4, 5e-5, 2.5e-5, 1.25e-5, 6.25e-6])
    assert "x0.2" in face.note and "epochs 30->6" in face.note
    spatial = scaled(get_recipe("action_spatial"), 0.1)  # 9 epochs, /2 every epoch
    assert lr_trace(spatial) == pytest.approx([3e-4 / 2 ** e for e in range(9)])
    gesture = scaled(get_recipe("gesture"), 0.1)  # patience 40 -> 4
    assert gesture.patience == 4 and gesture.stop_lr == 3e-7 and "patience 40->4" in gesture.note
    assert scaled(get_recipe("face"), 0.1).step_size == 1  # 0.5 rounds up, never 0


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="face.*gesture.*action_spatial.*action_temporal"):
        get_recipe("nvgesture")
    with pytest.raises(ValueError, match="constant.*step.*plateau"):
        Recipe(schedule="cosine")
    with pytest.raises(ValueError, match="constant.*step.*plateau"):
        make_scheduler(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0),
                       types.SimpleNamespace(schedule="cosine"))
    with pytest.raises(TypeError):
        get_recipe("face", learning_rate=1.0)
    with pytest.raises(ValueError, match="stop_lr"):
        Recipe(epochs=None)


def two_group_sgd():
    a, b = torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)
    return torch.optim.SGD([{"params": [a], "lr": 3e-3}, {"params": [b], "lr": 1e-2}], lr=1.0)


def random_losses(rng, n=120):
    if rng.random() < 0.5:  # few distinct values: many ties with the best
        return rng.integers(0, 4, n).astype(float).tolist()
    return (5 + np.cumsum(rng.normal(-0.02, 0.3, n))).tolist()  # a noisy descent


@pytest.mark.parametrize("seed", range(12))
def test_plateau_decay_equals_reduce_lr_on_plateau_with_patience_minus_one(seed):
    rng = np.random.default_rng(seed)
    patience = int(rng.integers(1, 6))
    factor = float(rng.choice([0.1, 0.5]))
    threshold = float(rng.choice([0.0, 0.01]))
    ours_opt, torch_opt = two_group_sgd(), two_group_sgd()
    ours = PlateauDecay(ours_opt, factor, patience, threshold)
    ref = ReduceLROnPlateau(torch_opt, mode="min", factor=factor, patience=patience - 1,
                            threshold=threshold, threshold_mode="rel", eps=0)
    decays = 0
    for loss in random_losses(rng):
        ours.step(loss)
        before = torch_opt.param_groups[0]["lr"]
        ref.step(loss)
        decays += torch_opt.param_groups[0]["lr"] < before
        assert [g["lr"] for g in ours_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
        assert (ours.best, ours.num_bad_epochs) == (ref.best, ref.num_bad_epochs)
    assert ours.get_last_lr() == ref.get_last_lr() and ours.num_decays == decays
    assert ours.last_epoch == 120 and ours.patience == patience


def _resume(opt_state, sched_state):
    """A fresh optimizer and PlateauDecay restored through a weights_only file."""
    buf = io.BytesIO()
    torch.save({"opt": opt_state, "sched": sched_state}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    opt = two_group_sgd()
    opt.load_state_dict(state["opt"])
    sched = PlateauDecay(opt, 0.5, 3)
    sched.load_state_dict(state["sched"])
    return opt, sched


def test_plateau_decay_state_dict_round_trip_continues_exactly():
    losses = random_losses(np.random.default_rng(0), 60)
    full_opt = two_group_sgd()
    full = PlateauDecay(full_opt, 0.5, 3)
    part_opt = two_group_sgd()
    part = PlateauDecay(part_opt, 0.5, 3)
    for loss in losses[:25]:
        full.step(loss)
        part.step(loss)
    opt, sched = _resume(part_opt.state_dict(), part.state_dict())
    for loss in losses[25:]:
        full.step(loss)
        sched.step(loss)
        assert [g["lr"] for g in opt.param_groups] == [g["lr"] for g in full_opt.param_groups]
    assert sched.state_dict() == full.state_dict()


def test_plateau_decay_reads_the_earlier_flat_state():
    # the flat state of earlier versions: best 1.0, two bad epochs, one decay, 7 epochs
    opt = two_group_sgd()
    for g in opt.param_groups:  # the optimizer as the earlier version left it
        g["initial_lr"], g["lr"] = g["lr"], g["lr"] * 0.5
    old = {"factor": 0.5, "patience": 3, "threshold": 0.0, "best": 1.0, "num_bad_epochs": 2,
           "num_decays": 1, "last_epoch": 7}
    opt, sched = _resume(opt.state_dict(), old)
    assert (sched.best, sched.num_bad_epochs, sched.num_decays, sched.last_epoch) == (1.0, 2, 1, 7)
    sched.step(1.0)  # the third bad epoch in a row: decay
    assert sched.get_last_lr() == [3e-3 / 4, 1e-2 / 4] and sched.num_bad_epochs == 0


def test_plateau_patience_below_one_is_refused():
    with pytest.raises(ValueError, match="patience: expected >= 1 epoch, got 0"):
        PlateauDecay(two_group_sgd(), 0.5, 0)
