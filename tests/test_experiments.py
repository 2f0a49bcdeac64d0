"""The experiments CLI and machinery: errors, CSV schemas, resume, weights, summaries.

Runs use a random (not pre-trained) backbone saved to a temporary ``PRERNN_LITE_SAMPLES``
folder and tiny sizes, so they test behaviour, never results.
"""

import dataclasses
import math

import pandas as pd
import pytest
import torch

from prernn_lite.backbones import FeatureModel
from prernn_lite.experiments import (
    EXPERIMENTS,
    LITE_BACKBONES,
    Arm,
    build_model,
    faces,
    load_results,
    pretrained_backbone,
    run_arm,
    summarize,
)
from prernn_lite.experiments.__main__ import main
from prernn_lite.experiments.faces import lr as faces_lr
from prernn_lite.train import seed_everything

TINY = dict(profile="ci", seeds=(0,), n_train=4, n_test=3, epoch_scale=0.05,
            hidden_ratios=(1 / 8,), batch_size=2, lrs=(1e-3, 1e-2),
            gating_epoch_scale=None)


@pytest.fixture()
def samples(tmp_path, monkeypatch):
    """A samples folder holding random faces weights; results under tmp_path/results."""
    root = tmp_path / "samples"
    (root / "weights").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(LITE_BACKBONES[("faces", "rgb")]().state_dict(), root / "weights" / "faces_rgb.pt")
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(root))
    monkeypatch.setenv("PRERNN_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def tiny(**changes):
    return dataclasses.replace(faces.FaceSettings(), **{**TINY, **changes})


@pytest.mark.parametrize("argv, valid", [
    (["nope"], "table1"), (["table1", "--profile", "huge"], "lite"),
    (["table1", "--cells", "rnn"], "lstm")])
def test_cli_errors_list_valid_choices(argv, valid, capsys):
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    msg = capsys.readouterr().err
    assert "valid choices" in msg and valid in msg


def test_registry_has_the_face_experiments():
    assert {"pretrain", "table1", "table2", "init", "gating", "face_lr"} <= set(EXPERIMENTS)


def test_missing_weights_name_the_pretrain_command(tmp_path, monkeypatch):
    (tmp_path / "weights").mkdir()
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="experiments pretrain --profile lite"):
        pretrained_backbone("faces")


def test_full_profile_without_data_says_what_to_download(tmp_path):
    settings = dataclasses.replace(faces.FaceSettings.for_profile("full"),
                                   data_root=str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="300VW not found under .*download it from"):
        faces.face_data(settings, "train")


def test_summary_mean_std_by_hand():
    runs = pd.DataFrame({"arm": ["a", "a", "a", "b"], "kind": ["frame"] * 4,
                         "seed": [0, 1, 2, 0], "nme": [0.1, 0.2, 0.6, 0.5]})
    s = summarize(runs).set_index("arm")
    assert s.at["a", "nme_mean"] == pytest.approx(0.3)
    # sample std: sqrt(((-0.2)^2 + (-0.1)^2 + 0.3^2) / 2) = sqrt(0.07)
    assert s.at["a", "nme_std"] == pytest.approx(math.sqrt(0.07))
    assert s.at["a", "n"] == 3 and s.at["b", "n"] == 1 and math.isnan(s.at["b", "nme_std"])
    assert s.at["a", "kind"] == "frame" and "seed" not in s.columns


def test_matched_sizes_come_from_the_profiles_backbone():
    # full: VGG16's fc6 25088->4096 and fc7 (params.matched_hidden_size: LSTM 5762);
    # lite: LiteCNN2d's fc6 1024->256 and fc7 256->256
    full, lite = faces.FaceSettings.for_profile("full"), faces.FaceSettings()
    assert [full.matched_hidden(c) for c in ("vrnn", "lstm", "gru")] == [2731, 5762, 5499]
    assert lite.fc_layers == [(1024, 256), (256, 256)] and lite.matched_hidden("lstm") == 314


def test_table1_writes_documented_csvs_and_resume_skips_finished_arms(samples, monkeypatch):
    settings = tiny(cells=("vrnn",))
    runs = faces.table1(settings, (0,), samples, resume=True)
    for kind in ("runs", "summary", "paper"):
        assert (samples / f"table1_ci_{kind}.csv").is_file()
    arms = {"frame", "vrnn-trad-32", "vrnn-trad-matched", "vrnn-prernn", "causal_reference",
            "interpolation_reference", "mean_shape_reference"}
    assert arms == set(runs["arm"])
    cols = {"arm", "kind", "cell", "hidden_size", "seed", "loss", "nme", "nme_clean",
            "nme_occluded", "nme_dropped", "nme_blurred", "nme_hard", "seconds", "epochs",
            "base_lr", "epoch_scale", "lr_family"}
    assert cols <= set(runs.columns)
    grid = load_results("table1", "ci", "lr")
    assert set(grid["lr_family"]) == {"frame", "vrnn-trad", "vrnn-pretrained"}
    assert grid.groupby("lr_family")["chosen"].sum().eq(1).all()
    chosen = grid[grid["chosen"]].set_index("lr_family")["base_lr"]
    trained = runs[runs["kind"] != "reference"]
    assert (trained["base_lr"] == trained["lr_family"].map(chosen)).all()
    summary = load_results("table1", "ci", "summary")
    assert {"arm", "nme_mean", "nme_std", "n"} <= set(summary.columns)
    paper = load_results("table1", "ci", "paper")
    assert {"cell", "paper_column", "paper_value", "nme_mean", "paper_rel", "ours_rel"} <= \
        set(paper.columns)
    calls = []
    real = faces_lr.run_arm
    monkeypatch.setattr(faces_lr, "run_arm", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = faces.table1(settings, (0,), samples, resume=True)
    assert calls == [] and len(again) == len(runs)
    faces.table1(settings, (0,), samples, resume=False)
    assert len(calls) == 4  # --no-resume starts over


def test_lr_grid_trains_on_train_and_scores_on_validation_never_test(samples, monkeypatch):
    settings = tiny(cells=("vrnn",))
    seen, real = [], faces_lr.run_arm
    monkeypatch.setattr(faces_lr, "run_arm", lambda arm, bb, tr, te, *a, **k:
                        seen.append((tr, te)) or real(arm, bb, tr, te, *a, **k))
    src = faces.face_source(settings)
    faces.tune_lrs([Arm("frame", "frame")], src, samples)
    train, val, test = src.data("train"), src.data("validation"), src.data("test")
    assert len(seen) == 2 and all(tr is train and te is val for tr, te in seen)
    assert not torch.equal(val[0]["y"], test[0]["y"])  # another draw (data seed + 1)


def test_landmark_loss_by_hand():
    pred = torch.zeros(1, 1, 68, 2)
    target = torch.zeros(1, 1, 68, 2)
    target[0, 0, 0] = torch.tensor([3.0, 4.0])  # one landmark 5 away, the rest exact
    assert faces.landmark_loss(pred.flatten(2), target).item() == pytest.approx(5.0)
    target = target.repeat(2, 3, 1, 1)
    target[1] *= 2  # second sequence: 10 per frame; mean over 6 frames = 7.5
    assert faces.landmark_loss(torch.zeros(2, 3, 136), target).item() == pytest.approx(7.5)


def test_choose_lr_takes_the_smallest_within_tolerance_and_skips_diverged():
    rows = pd.DataFrame({"base_lr": [1e-4, 1e-3, 1e-2, 1e-1],
                         "nme": [0.30, 0.2015, 0.20, float("nan")]})
    assert faces.choose_lr(rows) == 1e-3
    assert faces.choose_lr(rows, tolerance=0.0) == 1e-2


def test_fresh_traditional_layers_learn(samples):
    """A new 2-layer RNN + head on fc7 must cut its loss well below where it starts."""
    settings = tiny(n_train=16, epoch_scale=0.2, batch_size=4)  # 6 epochs
    arm = Arm("lstm-trad-32", "traditional", "lstm", hidden_size=32)
    train, bb = faces.face_data(settings, "train"), faces.backbone_for(settings)
    loader = torch.utils.data.DataLoader(train, batch_size=64)
    seed_everything(0)  # run_arm's start: the same weights
    with torch.no_grad():
        start = faces.face_eval(FeatureModel(build_model(arm, bb, freeze_trunk=True)).eval(),
                                loader)["loss"]
    _, end, _ = run_arm(arm, bb, train, train, settings.recipe_at(1e-2), 0,
                              faces.face_loss, faces.face_eval, batch_size=4)
    assert end["loss"] < 0.5 * start


def test_interrupted_arm_continues_from_its_checkpoint(samples):
    settings = tiny(cells=("vrnn",), epoch_scale=0.1)  # 3 epochs
    arm = Arm("vrnn-prernn", cell="vrnn")
    bb, data = faces.backbone_for(settings), faces.face_data(settings, "train")
    test, ckpt = faces.face_data(settings, "test"), samples / "ckpt"
    short = settings.recipe.replace(epochs=1)
    run_arm(arm, bb, data, test, short, 0, faces.face_loss, faces.face_eval,
                  checkpoint_dir=ckpt, batch_size=2)
    _, m, hist = run_arm(arm, bb, data, test, settings.recipe, 0, faces.face_loss,
                               faces.face_eval, checkpoint_dir=ckpt, batch_size=2)
    assert hist.epochs_done == 3 and m["epochs"] == 3


def test_init_and_gating_write_curves_and_saturation(samples):
    settings = tiny(cells=("gru",))
    faces.init(settings, (0,), samples, resume=True)
    curves = load_results("init", "ci", "curves")
    assert {"arm", "seed", "epoch", "lr", "train_loss", "loss", "nme", "nme_hard"} <= \
        set(curves.columns)
    assert curves.groupby("arm")["epoch"].min().eq(0).all()
    faces.gating(settings, (0,), samples, resume=True)
    sat = load_results("gating", "ci", "saturation")
    assert {"arm", "seed", "layer", "gate", "unit", "left", "right"} <= set(sat.columns)
    assert set(sat["gate"]) == {"r", "z"} and sat[["left", "right"]].sum(axis=1).le(1).all()
    assert {"sat_left", "sat_right"} <= set(load_results("gating", "ci", "runs").columns)


def test_cli_ci_run_writes_csvs_and_timings(samples):
    assert main(["table2", "--profile", "ci", "--cells", "vrnn", "--out", str(samples)]) == 0
    assert (samples / "table2_ci_paper.csv").is_file()
    timings = pd.read_csv(samples / "timings.csv")
    assert list(timings.columns) == ["experiment", "profile", "seconds"]
    assert timings.iloc[-1]["experiment"] == "table2"
