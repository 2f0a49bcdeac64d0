"""``gesture --profile full``: nvGesture + C3D, run end to end on the format fixtures.

No GPU, no dataset, no download: the real list-file layout of ``data_samples/nvgesture``
(2 training videos, 1 test video) and a *random* C3D saved as a plain state_dict stand in
for nvGesture and the Sports-1M weights. C3D needs 16×112×112 clips (its fc6 reads
512·1·4·4 = 8192 features), so only the number of clips, the epochs and the cells are
shrunk, and one training video is used (``n_train=1``).
"""

import dataclasses
import math

import pandas as pd
import pytest
import torch

from prernn_lite.backbones import c3d
from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.nvgesture import NvGestureSequences
from prernn_lite.experiments import gestures as G
from prernn_lite.experiments.__main__ import main
from prernn_lite.experiments.gestures import full as GF
from prernn_lite.experiments.results import ID_COLUMNS, load_results

NVGESTURE = samples_dir() / "nvgesture"


@pytest.fixture(scope="module")
def c3d_file(tmp_path_factory):
    """A random (not pre-trained) C3D, 487-way as the Sports-1M file, as a state_dict."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "c3d_random.pt"
    torch.save(c3d().state_dict(), path)
    return path


def full_settings(c3d_file, **changes) -> G.GestureSettings:
    """The full profile on the fixtures: 2 clips of 16 frames, 1 epoch, batches of 1."""
    s = dataclasses.replace(G.GestureSettings.for_profile("full"), data_root=str(NVGESTURE),
                            weights=str(c3d_file), num_clips=2, max_epochs=1, batch_size=1,
                            num_workers=0, seeds=(0,))
    return dataclasses.replace(s, **changes)


def test_full_settings_are_the_papers_recipe(monkeypatch):
    s = G.GestureSettings.for_profile("full")
    assert (s.profile, s.lr, s.epoch_scale, s.num_classes, s.seeds) == (
        "full", 3e-3, 1.0, 25, (0, 1, 2))
    assert (s.num_clips, s.clip_len, s.image_size, s.stream) == (5, 16, 112, "color")
    assert (s.data_root, s.weights) == (None, None)  # the CLI's --data-root / --weights
    r = s.recipe()  # supplementary: /10 after 40 epochs without improvement, stop at 3e-7
    assert (r.base_lr, r.patience, r.gamma, r.stop_lr, r.momentum, r.weight_decay) == (
        3e-3, 40, 0.1, 3e-7, 0.9, 5e-4)
    assert r.epochs == s.max_epochs >= 161  # the stop rule needs at least 4 x 40 + 1 epochs
    assert s.amp == "bf16" and r.amp is False  # no CUDA here: float32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert G.GestureSettings.for_profile("full").recipe().amp == "bf16"
    # ci and lite are what they were: no AMP, patience 1 and 4, caps 4 and 40
    for profile, want in (("ci", (1, 4, 16)), ("lite", (4, 40, 16))):
        r = G.GestureSettings.for_profile(profile).recipe()
        assert (r.patience, r.epochs, G.GestureSettings.for_profile(profile).batch_size) == want
        assert r.amp is False


def test_c3d_inputs_are_0_to_255_and_only_training_is_augmented(c3d_file):
    s = full_settings(c3d_file)
    data = GF.load_nvgesture(s)
    raw = NvGestureSequences(NVGESTURE, "test", num_clips=2)
    x = data["test"][0]["x"]
    assert x.shape == (2, 3, 16, 112, 112)  # (T, 3, L, H, W): C3D's clip
    torch.testing.assert_close(x, raw[0]["clips"] * 255)  # pixel_mean 0: the port's scale
    assert data["test"].y.tolist() == [0] and data["train"].y.tolist() == [0, 1]
    plain = NvGestureSequences(NVGESTURE, "train", num_clips=2)[0]["clips"] * 255
    torch.manual_seed(0)
    draws = [data["train"][0]["x"] for _ in range(4)]  # a new scale and crop each time
    assert all(d.shape == plain.shape and 0 <= d.min() and d.max() <= 255 for d in draws)
    assert not all(torch.equal(d, plain) for d in draws)
    assert len(GF.load_nvgesture(dataclasses.replace(s, n_train=1))["train"]) == 1
    mean = (100.0, 110.0, 120.0)  # a mean is subtracted per channel when given
    shifted = GF.load_nvgesture(dataclasses.replace(s, pixel_mean=mean))["test"][0]["x"]
    torch.testing.assert_close(shifted, x - torch.tensor(mean).view(1, 3, 1, 1, 1))
    state = torch.load(c3d_file, weights_only=True)
    assert torch.equal(data["backbone"].fc6.weight, state["fc6.weight"])
    assert data["backbone"].fc8.out_features == 487  # run_gesture puts a 25-way head on


def test_full_run_on_the_fixtures_writes_the_books_csvs(c3d_file, tmp_path):
    out, s = tmp_path / "results", full_settings(c3d_file, cells=("vrnn",), n_train=1)
    G.run_gesture(s, (0,), out, resume=False)
    runs = load_results("gesture", "full", "runs", out)
    assert set(ID_COLUMNS) | {"accuracy", "epochs", "lr", "stream"} <= set(runs.columns)
    assert list(runs.arm) == ["vrnn/prernn", "vrnn/traditional", "clip"]
    assert (runs.epochs == 1).all() and (runs.stream == "color").all()
    assert runs.accuracy.isin([0.0, 1.0]).all() and (runs.lr == 3e-3).all()
    summary = load_results("gesture", "full", "summary", out)
    assert {"accuracy_mean", "accuracy_std", "n"} <= set(summary.columns)
    # C3D's fc6 8192->4096 and fc7 4096->4096: a VRNN adds 2 * 4096^2 weights, so the
    # traditional 2-layer VRNN on fc7 has 3d^2 + 4096d = 2 * 4096^2: d = 4096 * 4/6
    sizes = load_results("gesture", "full", "sizes", out).set_index("cell")
    assert sizes.at["vrnn", "layer_shapes"] == "8192x4096 4096x4096"
    assert sizes.at["vrnn", "hidden_exact"] == pytest.approx(4096 * 4 / 6, rel=1e-5)
    assert runs.set_index("arm").at["vrnn/traditional", "hidden_size"] == math.ceil(4096 * 4 / 6)
    refs = load_results("gesture", "full", "references", out).set_index("reference")
    assert refs["accuracy"].to_dict() == pytest.approx({"chance": 1.0, "uniform": 1 / 25})
    preds = load_results("gesture", "full", "predictions", out)
    assert len(preds) == 3 and (preds.true == 0).all() and preds.pred.between(0, 24).all()
    conf = load_results("gesture", "full", "confusion", out)
    pred_cols = [f"pred_{k}" for k in range(25)]
    assert list(conf.columns) == ["arm", "true", "true_class", *pred_cols]
    assert conf.true_class.iloc[0] == "class_01" and len(conf) == 3 * 25
    for arm, m in conf.groupby("arm"):
        counts = m.set_index("true")[pred_cols]
        assert counts.to_numpy().sum() == 1  # one test video, one seed
        acc = runs.set_index("arm").at[arm, "accuracy"]
        assert sum(counts.at[k, f"pred_{k}"] for k in range(25)) == acc
    assert not any((out / "checkpoints" / "gesture_full").iterdir())  # removed when done
    # resuming finds every arm done: nothing is trained, the tables stay the same
    G.run_gesture(s, (0,), out, resume=True)
    pd.testing.assert_frame_equal(load_results("gesture", "full", "runs", out), runs)


def test_full_profile_errors_name_the_flag_or_the_file(c3d_file, tmp_path):
    with pytest.raises(ValueError, match="--data-root ROOT"):
        GF.load_nvgesture(full_settings(c3d_file, data_root=None))
    with pytest.raises(ValueError, match="--weights FILE .*Sports-1M .*state_dict"):
        GF.load_nvgesture(full_settings(c3d_file, weights=None))
    with pytest.raises(FileNotFoundError, match="--weights .*missing.pt: file not found"):
        GF.load_nvgesture(full_settings(c3d_file, weights=str(tmp_path / "missing.pt")))
    with pytest.raises(FileNotFoundError, match="Request nvGesture"):
        GF.load_nvgesture(full_settings(c3d_file, data_root=str(tmp_path / "nowhere")))
    with pytest.raises(ValueError, match="color, depth"):
        GF.load_nvgesture(full_settings(c3d_file, stream="duo_left"))
    with pytest.raises(ValueError, match="--weights FILE"):  # through the CLI
        main(["gesture", "--profile", "full", "--data-root", str(NVGESTURE),
              "--out", str(tmp_path / "cli")])
    out = tmp_path / "depth"  # resuming a folder of colour runs with depth is refused
    out.mkdir()
    pd.DataFrame([{"arm": "clip", "seed": 0, "stream": "color"}]).to_csv(
        out / "gesture_full_runs.csv", index=False)
    with pytest.raises(ValueError, match="stream \\['color'\\], not 'depth'.*--out"):
        G.run_gesture(full_settings(c3d_file, stream="depth"), (0,), out, resume=True)


def test_settings_name_the_list_files_explicitly(c3d_file, tmp_path):
    """``train_list``/``test_list`` replace the lookup: here the test list doubles as the
    training list (one video), which the name-based lookup would never pick."""
    test_list = NVGESTURE / "nvgesture_test_correct_cvpr2016.lst"
    s = full_settings(c3d_file, train_list=str(test_list), test_list=str(test_list))
    data = GF.load_nvgesture(s)
    assert data["train"].y.tolist() == data["test"].y.tolist() == [0]
    with pytest.raises(FileNotFoundError, match="nope.lst"):
        GF.load_nvgesture(dataclasses.replace(s, train_list=str(tmp_path / "nope.lst")))


def test_the_cli_names_the_list_files(c3d_file, tmp_path):
    """``--set train_list=FILE`` reaches the loader: the named list's one video is used."""
    test_list = NVGESTURE / "nvgesture_test_correct_cvpr2016.lst"
    out = tmp_path / "out"
    main(["gesture", "--profile", "full", "--data-root", str(NVGESTURE), "--weights",
          str(c3d_file), "--cells", "vrnn", "--seeds", "0", "--out", str(out),
          "--set", f"train_list={test_list}", "--set", "num_clips=2", "--set", "max_epochs=1",
          "--set", "batch_size=1", "--set", "num_workers=0"])
    assert len(load_results("gesture", "full", "runs", out)) == 3
    with pytest.raises(FileNotFoundError, match="nope.lst"):
        main(["gesture", "--profile", "full", "--data-root", str(NVGESTURE), "--weights",
              str(c3d_file), "--cells", "vrnn", "--seeds", "0", "--out", str(tmp_path / "o2"),
              "--set", f"test_list={tmp_path / 'nope.lst'}"])
