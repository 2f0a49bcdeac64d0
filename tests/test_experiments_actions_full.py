"""``table3 --profile full`` (UCF101, VGG16/ResNet50) proven on the fixtures, on a CPU.

The full settings are shrunk to the 4 clips of ``data_samples/ucf101`` (2 train, 2 test),
random weights (no download), 32 px frames, T = 2 segments and one epoch per stream; the
code path (``actions.full``, reached through ``actions.run_table3``) is the one the GPU
run takes.
"""

from dataclasses import replace

import pandas as pd
import pytest
import torch
import torchvision

from prernn_lite.backbones import make_baseline, make_recurrent, resnet50, vgg16
from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.ucf101 import UCF101Videos
from prernn_lite.experiments import CELLS, Arm, matched_sizes
from prernn_lite.experiments import actions as A
from prernn_lite.experiments.__main__ import main
from prernn_lite.experiments.actions import full as AF
from prernn_lite.experiments.results import ID_COLUMNS, read_results_csv
from prernn_lite.train import load_checkpoint, save_checkpoint

UCF = samples_dir() / "ucf101"
METRICS = ["spatial_accuracy", "temporal_accuracy", "fused_accuracy"]


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core CPU two threads ran these tiny models ~10x
    slower (spinning), and the numbers do not depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**changes) -> A.Table3Settings:
    """The full profile on the fixtures: random weights, 32 px, T = 2, 1 epoch a stream."""
    small = dict(data_root=str(UCF), weights="random", image_size=32, num_segments=2,
                 seeds=(0,), epoch_scale=0.01, batch_size=2, num_workers=0, checkpoint=False)
    return replace(A.Table3Settings.for_profile("full"), **{**small, **changes})


def test_full_profile_is_what_the_docstring_says():
    s = A.Table3Settings.for_profile("full")
    assert (s.profile, s.backbone, s.layers, s.weights, s.split) == (
        "full", "resnet50", ("conv",), "imagenet", 1)
    assert (s.num_segments, s.image_size, s.num_classes, s.batch_size, s.num_workers) == (
        3, 224, 101, 16, 8)
    assert (s.seeds, s.cells, s.epoch_scale, s.fusion_weights) == (
        (0, 1, 2), ("vrnn", "lstm", "gru"), 1.0, (1.0, 1.0))
    assert (s.amp, s.augment, s.checkpoint, s.other_init, s.frame_reference) == (
        "bf16", True, True, "zeros", True)
    spatial, temporal = s.recipe("spatial"), s.recipe("temporal")  # the paper's recipes
    assert (spatial.base_lr, spatial.epochs, spatial.step_size, spatial.gamma) == (
        3e-4, 90, 10, 0.5)
    assert (temporal.base_lr, temporal.epochs, temporal.step_size, temporal.gamma) == (
        1e-2, 100, 10, 0.5)
    assert spatial.amp == ("bf16" if torch.cuda.is_available() else False)
    assert replace(s, backbone="vgg16").layers == ("fc6", "fc7")
    assert AF._weights_arg(s) is torchvision.models.ResNet50_Weights.IMAGENET1K_V1  # no download
    assert AF._weights_arg(replace(s, backbone="vgg16")) is \
        torchvision.models.VGG16_Weights.IMAGENET1K_V1
    # ci and lite keep their settings
    assert A.Table3Settings.for_profile("lite") == A.Table3Settings(
        seeds=(0, 1, 2, 3, 4), seed_draws_data=True)
    assert (s.threads, A.Table3Settings.for_profile("lite").threads) == (None, 1)
    ci = A.Table3Settings.for_profile("ci")
    assert (ci.seeds, ci.epoch_scale, ci.backbone, ci.amp, ci.recipe("spatial").amp) == (
        (0,), 0.03, "lite", False, False)


def _check_csvs(out, cells, frame: bool) -> pd.DataFrame:
    runs = read_results_csv(out / "table3_full_runs.csv")
    assert set(ID_COLUMNS) | set(METRICS) | {"column", "seconds", "backbone"} <= set(runs.columns)
    arms = [a.name for a in A.table3_arms(cells, {c: 1 for c in cells}, frame_reference=frame)]
    assert list(runs.arm) == arms and (runs.seed == 0).all()
    assert runs[METRICS].apply(lambda c: c.between(0, 1)).all().all()
    assert (runs.spatial_epochs == 1).all() and (runs.temporal_epochs == 1).all()
    assert (runs.spatial_lr == 3e-4).all() and (runs.temporal_lr == 1e-2).all()
    summary = read_results_csv(out / "table3_full_summary.csv")
    assert {"fused_accuracy_mean", "fused_accuracy_std", "n"} <= set(summary.columns)
    assert list(summary.arm) == arms
    paper = read_results_csv(out / "table3_full_paper.csv")
    assert len(paper) == 15 and set(paper.arm[paper.n > 0]) == set(arms) - {"frame"}
    return runs


def test_full_run_resnet50_writes_the_table3_csvs(tmp_path):
    out = tmp_path / "results"
    A.run_table3(tiny(), (0,), out, resume=False)  # every cell and column
    runs = _check_csvs(out, CELLS, frame=True)
    assert len(runs) == 3 + 5 + 5 + 1 and (runs.backbone == "resnet50").all()
    pre = runs[runs.kind == "prernn"]
    assert (pre.layers == "conv").all() and set(pre["mode"]) == {"gate", "sih"}
    assert set(pre.init) == {"pretrained", "random"}
    sizes = read_results_csv(out / "table3_full_sizes.csv").set_index("cell")
    assert (sizes.layer_shapes == "512x2048").all()
    assert sizes.at["vrnn", "prernn_added_weights"] == 2048 * 2048  # VRNN adds W_hh only
    trad = runs[runs.column == "traditional"].set_index("cell").hidden_size
    assert trad.to_dict() == sizes.hidden_size.to_dict()
    before = runs.copy()
    A.run_table3(tiny(), (0,), out, resume=True)  # all done: nothing re-run
    pd.testing.assert_frame_equal(read_results_csv(out / "table3_full_runs.csv"), before)


def test_full_run_vgg16_writes_the_table3_csvs(tmp_path):
    out = tmp_path / "results"
    A.run_table3(tiny(backbone="vgg16", cells=("vrnn",), frame_reference=False), (0,), out,
                 resume=False)
    runs = _check_csvs(out, ("vrnn",), frame=False)
    assert (runs[runs.kind == "prernn"].layers == "fc6+fc7").all()
    sizes = read_results_csv(out / "table3_full_sizes.csv")
    assert sizes.loc[0, "layer_shapes"] == "25088x4096 4096x4096"
    assert sizes.loc[0, "hidden_size"] == 2731  # params.matched_hidden_size("vrnn")


@pytest.mark.parametrize("backbone, layers", [("resnet50", ("conv",)), ("vgg16", ("fc6", "fc7"))])
def test_matched_sizes_count_what_the_built_models_add(backbone, layers):
    with torch.device("meta"):  # shapes only
        net = {"resnet50": resnet50, "vgg16": vgg16}[backbone]()
    sizes = matched_sizes(("vrnn", "lstm", "gru"), net, layers=layers).set_index("cell")
    for cell in ("vrnn", "lstm", "gru"):
        with torch.device("meta"):
            pre = make_recurrent(net, layers=layers, cell=cell, other_init="zeros")
            trad = make_baseline(net, cell=cell, hidden_size=int(sizes.at[cell, "hidden_size"]))
        added = sum(p.numel() for c in pre.cells().values() for n, p in c.named_parameters()
                    if n in ("weight_ih", "weight_hh"))  # W_xy is the backbone's own
        rnn = sum(p.numel() for n, p in trad.cells()["rnn"].named_parameters()
                  if n.startswith("weight"))
        assert sizes.at[cell, "prernn_added_weights"] == added
        assert sizes.at[cell, "traditional_weights"] == rnn


def test_stream_videos_normalise_as_documented():
    videos = UCF101Videos(UCF / "UCF-101", UCF / "flow", num_segments=2, image_size=32)
    item = videos[1]
    rgb, flow = AF.StreamVideos(videos, "spatial")[1], AF.StreamVideos(videos, "temporal")[1]
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.testing.assert_close(rgb["x"], (item["rgb"] - mean) / std)
    torch.testing.assert_close(flow["x"], item["flow"] / 20)
    assert rgb["y"] == flow["y"] == item["label"] == 36
    torch.manual_seed(0)
    aug = AF.StreamVideos(videos, "temporal", augment=True)[1]["x"]
    assert aug.shape == (2, 20, 32, 32) and aug.abs().max() <= 1.5


def test_train_video_arm_checkpoints_and_resumes(tmp_path):
    s = tiny()
    net = AF.full_backbones(s, 0)["temporal"]
    data = AF.ucf101_streams(s)["temporal"]
    first, scores, labels = AF.train_video_arm(Arm("frame", "frame"), net, data,
                                               s.recipe("temporal"), 0, s, tmp_path / "ck")
    assert first["epochs"] == 1 and scores.shape == (2, 101) and labels.tolist() == [0, 36]
    ckpt = load_checkpoint(tmp_path / "ck" / "last.pt")  # mark the finished run's head:
    ckpt["model"]["model.fc.weight"].zero_()               # logits = bias = one-hot(5)
    ckpt["model"]["model.fc.bias"].zero_()[5] = 1.0
    save_checkpoint(tmp_path / "ck" / "last.pt", ckpt)
    again, resumed, _ = AF.train_video_arm(Arm("frame", "frame"), net, data,
                                           s.recipe("temporal"), 0, s, tmp_path / "ck")
    mark = torch.zeros(2, 101)
    mark[:, 5] = 1.0
    assert torch.equal(resumed, mark) and again["epochs"] == 1  # loaded, not trained again


def test_full_backbones_load_a_local_file_and_draw_the_head_with_the_seed(tmp_path):
    torch.manual_seed(5)
    saved = resnet50().state_dict()  # torchvision keys, 1000-way head
    torch.save(saved, tmp_path / "r50.pt")
    s = tiny(weights=str(tmp_path / "r50.pt"))
    state = torch.get_rng_state()
    nets, same, other = (AF.full_backbones(s, seed) for seed in (0, 0, 1))
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    spatial, temporal = nets["spatial"], nets["temporal"]
    assert torch.equal(spatial.layer4[-1].conv3.weight, saved["layer4.2.conv3.weight"])
    assert spatial.fc.out_features == 101 and temporal.conv1.in_channels == 20
    assert torch.equal(temporal.fc.weight, spatial.fc.weight)  # one head for both streams
    assert torch.equal(same["spatial"].fc.weight, spatial.fc.weight)
    assert not torch.equal(other["spatial"].fc.weight, spatial.fc.weight)


def test_full_errors_name_what_to_do(tmp_path, capsys):
    for root in (None, str(tmp_path)):
        with pytest.raises(FileNotFoundError, match=r"UCF101\.rar.*crcv\.ucf\.edu.*flow"):
            A.run_table3(tiny(data_root=root), (0,), tmp_path / "out", resume=False)
    with pytest.raises(ValueError, match="unknown backbone 'c3d'; valid choices: resnet50, vgg16"):
        A.run_table3(tiny(backbone="c3d"), (0,), tmp_path / "out", resume=False)
    with pytest.raises(FileNotFoundError, match="'imagenet', 'random' or an existing"):
        A.run_table3(tiny(weights=str(tmp_path / "nope.pt")), (0,), tmp_path / "out", False)
    with pytest.raises(ValueError, match="--profile full only"):
        A.run_table3(A.ci_settings(backbone="vgg16"), (0,), tmp_path / "out", resume=False)
    with pytest.raises(FileNotFoundError, match="UCF101.rar"):  # the CLI passes --data-root
        main(["table3", "--profile", "full", "--data-root", str(tmp_path),
              "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as err:  # a usage error, before anything runs
        main(["table3_lr", "--profile", "full", "--out", str(tmp_path / "out")])
    assert err.value.code == 2 and "paper's learning rates" in capsys.readouterr().err
    with pytest.raises(ValueError, match="ci, lite, full"):
        A.Table3Settings.for_profile("gpu")
