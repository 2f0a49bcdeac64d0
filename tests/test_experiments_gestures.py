"""``gesture``: CSVs, the confusion matrix, order references and order-blindness, errors.

Runs use random-initialised stand-in weights in a temporary ``data_samples`` and tiny sizes.
"""

import pandas as pd
import pytest
import torch

from prernn_lite.backbones import FeatureModel, LiteCNN3d, make_frame_model, make_recurrent
from prernn_lite.data.gestures import GESTURE_CLASSES, GestureSequences
from prernn_lite.experiments import gestures as G
from prernn_lite.experiments.results import ID_COLUMNS, load_results, read_results_csv


def test_gesture_ci_like_run_writes_csvs_and_a_consistent_confusion(fake_weights, tmp_path):
    out, seeds, n_test = tmp_path / "results", (0, 1), 14
    s = G.ci_settings(cells=("vrnn",), n_train=12, n_test=n_test, max_epochs=1)
    G.run_gesture(s, seeds, out, resume=False)
    runs = read_results_csv(out / "gesture_ci_runs.csv")
    assert set(ID_COLUMNS) | {"accuracy", "epochs", "lr", "seconds"} <= set(runs.columns)
    assert sorted(runs.arm.unique()) == ["clip", "vrnn/prernn", "vrnn/traditional"]
    assert len(runs) == 3 * len(seeds) and runs.accuracy.between(0, 1).all()
    summary = read_results_csv(out / "gesture_ci_summary.csv")
    assert {"accuracy_mean", "accuracy_std", "n"} <= set(summary.columns)
    conf = read_results_csv(out / "gesture_ci_confusion.csv")
    K = len(GESTURE_CLASSES)
    pred_cols = [f"pred_{k}" for k in range(K)]
    assert list(conf.columns) == ["arm", "true", "true_order", *pred_cols]
    labels = [int(d["label"]) for d in GestureSequences("test", "ci", n_test=n_test)]
    for arm, m in conf.groupby("arm"):
        rows = m.set_index("true")[pred_cols].sum(axis=1)
        assert rows.sum() == n_test * len(seeds)
        for k in range(K):
            assert rows[k] == labels.count(k) * len(seeds)
        # the diagonal over all counts is the seed-averaged accuracy of the runs table
        acc = sum(m.set_index("true").at[k, f"pred_{k}"] for k in range(K)) / rows.sum()
        assert acc == pytest.approx(runs.loc[runs.arm == arm, "accuracy"].mean(), abs=1e-5)
    refs = read_results_csv(out / "gesture_ci_references.csv").set_index("reference")["accuracy"]
    assert set(refs.index) == {"chance", "one_clip", "bag", "strokes_seen", "ordered_clips"}
    assert refs["chance"] <= refs["one_clip"] <= refs["strokes_seen"] <= 1
    # the book reads every table the experiment writes through load_results
    for kind in ("runs", "summary", "sizes", "references", "confusion", "predictions"):
        pd.testing.assert_frame_equal(
            load_results("gesture", "ci", kind, out_dir=out),
            read_results_csv(out / f"gesture_ci_{kind}.csv"))
    assert len(load_results("gesture", "ci", "predictions", out)) == 3 * len(seeds) * n_test
    with pytest.raises(ValueError, match="valid choices: runs, summary, paper, .*predictions"):
        load_results("gesture", "ci", "confusions", out)
    # a missing file names what is on disk for that experiment and the command
    with pytest.raises(FileNotFoundError, match=r"on disk for 'gesture' 'ci': runs, summary, "
                       r"sizes, references, confusion, predictions \(valid kinds: .*lr.*"
                       r"experiments gesture --profile ci"):
        load_results("gesture", "ci", "paper", out)
    with pytest.raises(FileNotFoundError, match="on disk for 'gesture' 'lite': none"):
        load_results("gesture", "lite", "lr", out)


def test_order_references_by_hand():
    refs = G.order_references(torch.arange(24) % 12).set_index("reference")["accuracy"]
    assert refs["chance"] == pytest.approx(1 / 12)
    assert refs["one_clip"] == pytest.approx(1 / 3)  # each stroke at a place: 3 classes
    assert refs["bag"] == pytest.approx(1 / 12)      # every class uses every stroke once
    toy = (("a", "b"), ("b", "a"), ("a", "a"))
    refs = G.order_references(torch.tensor([0, 0, 1, 2]), toy).set_index("reference")
    assert refs.at["chance", "accuracy"] == pytest.approx(2 / 4)
    # place 0: a -> labels 0, 0, 2 (best 2), b -> 1 (1); place 1 likewise: (2 + 1) / 4
    assert refs.at["one_clip", "accuracy"] == pytest.approx(3 / 4)
    # bags {a,b}: labels 0,0,1 -> best 2; {a,a}: label 2 -> 1; (2 + 1) / 4
    assert refs.at["bag", "accuracy"] == pytest.approx(3 / 4)


def test_strokes_seen_by_hand():
    """Two places of an even permutation of four fix the class: with two strokes seen
    the class is known; with one, 3 classes remain (each direction at each place in 3)."""
    labels = torch.arange(12)
    two = torch.tensor([[True, True, False, False]] * 12)
    one = torch.tensor([[False, False, True, False]] * 12)
    for shown, expected in ((two, 1.0), (one, 4 / 12)):
        refs = G.order_references(labels, shown=shown).set_index("reference")["accuracy"]
        assert refs["strokes_seen"] == pytest.approx(expected)


def test_ordered_clip_reference_reads_the_directions_in_order():
    labels = torch.arange(12)
    exact = torch.full((12, 4, 4), -20.0)
    for n, order in enumerate(GESTURE_CLASSES):
        for t, d in enumerate(order):
            exact[n, t, ["left", "right", "up", "down"].index(d)] = 0.0
    assert G.ordered_clip_reference(exact, labels) == 1.0
    assert G.ordered_clip_reference(exact[:, [1, 0, 3, 2]], labels) == 0.0  # wrong order
    # no information at all: every class ties, argmax picks class 0 for every sequence
    assert G.ordered_clip_reference(torch.zeros(12, 4, 4), labels) == pytest.approx(1 / 12)


def test_a_seed_draws_its_own_training_data(fake_weights):
    s = G.ci_settings(n_train=12, n_test=6)
    data = G.load_gestures(s)
    a, b = G.train_set(data, s, 0), G.train_set(data, s, 1)
    assert a is data["train"] and not torch.equal(a.x, b.x)
    assert torch.equal(a.y, b.y)  # balanced classes, the same labels
    fixed = G.ci_settings(n_train=12, n_test=6, seed_draws_data=False)
    assert G.train_set(data, fixed, 1) is a
    assert data["test_shown"].shape == (6, 4) and data["test_log_probs"].shape == (6, 4, 4)


def test_confusion_by_hand_and_errors():
    m = G.confusion(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 2]), 3)
    assert m.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    with pytest.raises(ValueError, match="shape"):
        G.confusion(torch.tensor([0, 1]), torch.tensor([0]), 3)


def test_clip_model_is_blind_to_order_and_prernn_is_not():
    torch.manual_seed(0)
    net = G.with_new_head(LiteCNN3d(clip_len=4, image_size=8, fc_size=16, num_outputs=4), 12, 0)
    assert net.fc8.out_features == 12
    clip = FeatureModel(make_frame_model(net)).eval()
    pre = FeatureModel(make_recurrent(net, cell="gru", hh_init="uniform")).eval()
    x = torch.randn(2, 4, net.fc6.in_features)
    flipped = x.flip(1)
    with torch.no_grad():
        torch.testing.assert_close(G.sequence_scores(clip, x), G.sequence_scores(clip, flipped))
        torch.testing.assert_close(G.sequence_scores(clip, x), clip(x).sum(1) / 4)
        assert not torch.allclose(G.sequence_scores(pre, x), G.sequence_scores(pre, flipped))
        torch.testing.assert_close(G.sequence_scores(pre, x), pre(x)[:, 3])


def test_settings_and_errors():
    r = G.GestureSettings(epoch_scale=0.1, max_epochs=40).recipe()
    assert (r.patience, r.epochs, r.base_lr, r.gamma, r.stop_lr) == (4, 40, 3e-3, 0.1, 3e-7)
    with pytest.raises(ValueError, match="ci, lite, full"):
        G.GestureSettings.for_profile("huge")
    with pytest.raises(ValueError, match="vrnn, lstm, gru"):
        G.gesture_arms(("transformer",), {})


def test_gesture_lr_grows_beyond_an_edge_and_the_arms_train_at_their_rate(fake_weights,
                                                                        monkeypatch, tmp_path):
    from prernn_lite.experiments.gestures import lite as GL

    tried = []  # (arm, lr) of every grid run, read from the settings fit_arm gets

    def fake_fit(arm, seed, data, s, test=None):
        lr = s.recipe(arm.name).base_lr
        tried.append((arm.name, lr))
        assert test is not None and "test" not in data  # validation, never the test set
        acc = {1e-2: 0.4, 3e-2: 0.5, 9e-2: 0.6, 0.27: 0.55}[round(lr, 6)]
        return {"accuracy": acc, "epochs": 1}, None, None

    monkeypatch.setattr(GL, "fit_arm", fake_fit)
    s = G.ci_settings(cells=("vrnn",), n_train=4, n_test=4)
    table = GL.choose_lrs(s, grid=(1e-2, 3e-2))
    assert table.groupby("arm")["lr"].apply(lambda v: v.round(6).tolist()).to_dict() == {
        a: [1e-2, 3e-2, 9e-2, 0.27] for a in ("clip", "vrnn/prernn", "vrnn/traditional")}
    assert (table.loc[table.chosen, "lr"].round(6) == 9e-2).all() and not table.at_edge.any()
    # the chosen rates reach the runs: arm_lrs picks each arm's, the rest keep lr
    monkeypatch.undo()
    out = tmp_path / "results"
    s = G.ci_settings(cells=("vrnn",), n_train=8, n_test=8, max_epochs=1,
                      arm_lrs=(("vrnn/traditional", 0.05),))
    runs = G.run_gesture(s, (0,), out, resume=False).set_index("arm")
    assert runs.at["vrnn/traditional", "lr"] == 0.05 and runs.at["clip", "lr"] == s.lr


def test_lite_arm_rates_are_gesture_lrs_choices_inside_its_grid():
    lr = load_results("gesture", "lite", "lr")
    chosen = lr[lr["chosen"]].set_index("arm")["lr"].to_dict()
    s = G.GestureSettings.for_profile("lite")
    assert chosen == dict(s.arm_lrs) and not lr["at_edge"].any()
    assert G.GestureSettings.for_profile("full").arm_lrs == ()  # the paper's rate
