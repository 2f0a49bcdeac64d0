"""The face experiments' ``full`` profile (VGG16 on 300VW), offline and at toy scale.

The full path runs on the 300VW fixtures with ``weights="random"`` (nothing is
downloaded: torchvision's download function is made to fail), 32 px crops, windows of 4
frames, 1 epoch, 1 seed and the VRNN only. Training videos: fixture 001 and a copy of
it named 002 (the last by id: the held-out validation video); test video: 114. These
tests check the wiring (splits, sizes, normalisation, CSVs), never results. Training
calls go through a spy that records which videos each run trains and is scored on and
skips the ~1 GB VGG16 checkpoint writes (checkpointing is tested in ``ci``).
"""

import dataclasses
import shutil

import pandas as pd
import pytest
import torch
from torchvision.models import VGG16_Weights
from torchvision.transforms.v2 import functional as TF

from prernn_lite.backbones import dissect, vgg16
from prernn_lite.backbones.zoo import imagenet_weights
from prernn_lite.data.augment import SequenceAugment
from prernn_lite.data.manifest import samples_dir
from prernn_lite.data.vw300 import VW300Sequences, vw300_videos
from prernn_lite.experiments import LITE_BACKBONES, Arm, faces, load_results
from prernn_lite.experiments.faces import full as faces_full
from prernn_lite.experiments.faces import lr as faces_lr
from prernn_lite.paper import paper_tables
from prernn_lite.params import matched_hidden_size

TOY = dict(weights="random", cells=("vrnn",), hidden_ratios=(1 / 16,), seeds=(0,),
           epoch_scale=1 / 30, seq_len=4, image_size=32, batch_size=4,
           train_videos=("001", "002"), test_videos=("114",), n_val_videos=1, num_workers=0)


def full(**changes) -> faces.FaceSettings:
    return dataclasses.replace(faces.FaceSettings.for_profile("full"), **{**TOY, **changes})


class Spy:
    """Stands in for ``run_arm``: records each run's videos and metrics, then trains for
    real without a checkpoint directory."""

    def __init__(self, real):
        self.real, self.calls = real, []

    def __call__(self, arm, backbone, train_set, test_set, recipe, seed, *args, **kw):
        call = {"arm": arm.name, "train": train_set.ds.videos, "eval": test_set.ds.videos,
                "lr": recipe.base_lr, "ckpt": str(kw.get("checkpoint_dir"))}
        kw["checkpoint_dir"] = None
        out = self.real(arm, backbone, train_set, test_set, recipe, seed, *args, **kw)
        self.calls.append({**call, "nme": out[1]["nme"]})
        return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """300VW fixtures (001, 002 = copy of 001, 114) and a results folder, shared by the
    module so the fine-tuned frame VGG16 is trained once; no download possible."""
    tmp = tmp_path_factory.mktemp("faces_full")
    src, root = samples_dir() / "300vw", tmp / "300vw"
    for new, old in (("001", "001"), ("002", "001"), ("114", "114")):
        shutil.copytree(src / old, root / new)

    def no_download(*args, **kwargs):
        raise AssertionError("a test tried to download weights")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRERNN_RESULTS", str(tmp / "results"))
        mp.setattr("torchvision.models._api.load_state_dict_from_url", no_download)
        yield {"root": str(root), "out": tmp / "results"}
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def frame_fine_tune(env):
    """The frame VGG16's fine-tune, run once through a spy: its recorded call."""
    with pytest.MonkeyPatch.context() as mp:
        spy = Spy(faces_full.run_arm)
        mp.setattr(faces_full, "run_arm", spy)
        faces.backbone_for(full(data_root=env["root"]))
    assert len(spy.calls) == 1
    return spy.calls[0]


@pytest.fixture()
def spy(monkeypatch):
    s = Spy(faces_lr.run_arm)
    monkeypatch.setattr(faces_lr, "run_arm", s)
    monkeypatch.setattr(faces_full, "run_arm", s)
    return s


# --- settings: sizes, splits, weights (no training) -------------------------------------
def test_full_sweep_is_table1s_vgg16_columns_and_matched_sizes_vgg16s():
    s = faces.FaceSettings.for_profile("full")
    assert faces.hidden_sizes(s) == [256, 512, 1024, 2048, 4096, 8192]  # paper + 2 fc
    cols = paper_tables()["table1_300vw_test_loss_2_layers"]["columns"]
    assert [str(h) for h in faces.hidden_sizes(s)[:5]] == cols[:5]
    ours = {c: s.matched_hidden(c) for c in ("vrnn", "lstm", "gru")}
    assert ours == {"vrnn": 2731, "lstm": 5762, "gru": 5499}  # FACTS.md's solutions
    paper = paper_tables()["table1_300vw_test_loss_2_layers"]["similar_hidden_size"]
    assert all(abs(ours[c] - paper[c]) / paper[c] < 0.005 for c in ours)  # 5761/5497/2740
    sizes = {a.name: a.hidden_size for a in faces.table1_arms(s) if a.kind == "traditional"}
    assert sizes["lstm-trad-8192"] == 8192 and sizes["gru-trad-matched"] == 5499


def test_lite_sweep_and_matched_sizes_unchanged():
    s = faces.FaceSettings.for_profile("lite")
    assert faces.hidden_sizes(s) == [16, 32, 64, 128, 256, 512]
    for cell in ("vrnn", "lstm", "gru"):  # LiteCNN2d: fc6 1024 -> 256, fc7 256 -> 256
        assert s.matched_hidden(cell) == matched_hidden_size(
            cell, layer_sizes=[(1024, 256), (256, 256)])


def test_fc_layers_are_those_of_the_profiles_backbone():
    def shapes(model):
        return {n: (layer.module.in_features, layer.module.out_features)
                for n, layer in dissect(model).layers.items()}
    with torch.device("meta"):
        full = list(shapes(vgg16()).values())
        lite = list(shapes(LITE_BACKBONES[("faces", "rgb")]()).values())
    assert full == faces.FaceSettings.for_profile("full").fc_layers
    assert lite == faces.FaceSettings.for_profile("lite").fc_layers


def test_full_validation_videos_are_held_out_training_videos():
    v = faces_full.vw300_split_videos(faces.FaceSettings.for_profile("full"))
    assert v["validation"] == ("160", "204", "205", "223", "225")  # last 5 training ids
    assert set(v["validation"]) <= set(vw300_videos("train"))
    assert not set(v["validation"]) & set(v["lr_train"])
    assert set(v["lr_train"]) | set(v["validation"]) == set(v["train"])
    assert len(v["lr_train"]) == 45 and v["test"] == vw300_videos("test")
    assert not set(v["train"]) & set(v["test"])
    with pytest.raises(ValueError, match="n_val_videos = 2: .*2 training videos"):
        faces_full.vw300_split_videos(full(n_val_videos=2))
    with pytest.raises(ValueError, match=r"train_videos and test_videos share \['001'\]"):
        faces_full.vw300_split_videos(full(test_videos=("001", "114")))


def test_weights_field_choices_and_a_clear_error(tmp_path):
    assert imagenet_weights("vgg16", "imagenet") is VGG16_Weights.IMAGENET1K_V1
    assert imagenet_weights("vgg16", "random") is None
    (tmp_path / "vgg.pt").touch()
    assert imagenet_weights("vgg16", str(tmp_path / "vgg.pt")) == str(tmp_path / "vgg.pt")
    with pytest.raises(FileNotFoundError, match="'imagenet'.*'random'.*state_dict"):
        imagenet_weights("vgg16", "nope.pt")


def test_full_default_lr_is_the_papers_and_is_not_tuned(spy, tmp_path):
    s = faces.FaceSettings.for_profile("full")
    assert s.lrs == (paper_tables()["schedules"]["face"]["base_lr"],)
    chosen, grid = faces.tune_lrs(faces.table1_arms(s), faces.face_source(s), tmp_path)
    assert spy.calls == [] and set(chosen.values()) == {1e-4}
    assert grid["chosen"].all() and set(grid["status"]) == {"not tuned"}
    assert not (tmp_path / "face_lr_full_runs.csv").exists()


def test_imagenet_normalisation_is_torchvisions():
    tf = VGG16_Weights.IMAGENET1K_V1.transforms()  # its numbers, not ours
    frames = torch.rand(4, 3, 8, 8)
    want = TF.normalize(frames, mean=list(tf.mean), std=list(tf.std))
    torch.testing.assert_close(faces_full.imagenet_normalise(frames), want)


# --- data: augmentation, then normalisation ---------------------------------------------
def test_full_samples_are_augmented_then_normalised(env):
    s = full(data_root=env["root"])
    raw = VW300Sequences(env["root"], videos=["114"], seq_len=4, image_size=32)
    test = faces.face_data(s, "test")
    assert test.ds.videos == ("114",) and len(test) == 2
    torch.testing.assert_close(test[1]["x"], faces_full.imagenet_normalise(raw[1]["frames"]))
    train = faces.face_data(s, "train")
    torch.manual_seed(3)
    got = train[0]
    torch.manual_seed(3)  # the same draw: augment the raw window, then normalise
    aug = SequenceAugment("faces")(VW300Sequences(env["root"], videos=["001"], seq_len=4,
                                                  image_size=32)[0])
    torch.testing.assert_close(got["x"], faces_full.imagenet_normalise(aug["frames"]))
    torch.testing.assert_close(got["y"], (aug["landmarks"] - 15.5) / 16)  # 32 px: centre 0


# --- training on the fixtures ------------------------------------------------------------
def test_frame_vgg16_is_fine_tuned_on_lr_training_videos_scored_on_validation(
        env, frame_fine_tune):
    assert frame_fine_tune["train"] == ("001",) and frame_fine_tune["eval"] == ("002",)
    assert frame_fine_tune["lr"] == 1e-4  # the paper's rate
    saved = list((env["out"] / "checkpoints").glob("faces_full_frame-*.json"))
    assert len(saved) == 1 and "held-out training videos 002" in saved[0].read_text()
    s = full(data_root=env["root"])
    first = faces.backbone_for(s)
    # a new run context (as in a new process): the saved network is loaded, not trained
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(faces_full, "run_arm", lambda *a, **k: pytest.fail("trained again"))
        again = faces.backbone_for(s)
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_full_lr_is_chosen_on_validation_videos_never_test(env, frame_fine_tune, spy):
    s = full(data_root=env["root"], lrs=(1e-4, 1e-3))
    chosen, grid = faces.tune_lrs([Arm("frame", "frame")], faces.face_source(s), env["out"])
    assert [c["lr"] for c in spy.calls] == [1e-4, 1e-3]
    for c in spy.calls:  # trained on the 45 (here: 001), scored on the held-out 002
        assert c["train"] == ("001",) and c["eval"] == ("002",)
        assert c["ckpt"].endswith("_lr_train")
    val = {c["lr"]: c["nme"] for c in spy.calls}
    best = min(val.values())  # the rule, by hand: smallest lr within 1 % of the best
    assert chosen["frame"] == min(lr for lr, v in val.items() if v <= best * 1.01)
    assert grid.set_index("base_lr")["nme"].to_dict() == pytest.approx(val, rel=1e-5)
    assert set(grid["split"]) == {"validation (held-out training videos 002)"}
    assert grid["chosen"].sum() == 1


def test_full_table1_trains_on_all_training_videos_with_vgg16_sizes(env, frame_fine_tune,
                                                                     spy):
    s = full(data_root=env["root"], lrs=(1e-4,))
    out = env["out"] / "table1"
    runs = faces.table1(s, (0,), out, resume=True)
    for kind in ("runs", "summary", "paper", "lr"):
        assert (out / f"table1_full_{kind}.csv").is_file()
    assert {c["arm"] for c in spy.calls} == {"frame", "vrnn-trad-256", "vrnn-trad-matched",
                                             "vrnn-prernn"}
    for c in spy.calls:  # after the choice: all training videos, scored on the test video
        assert c["train"] == ("001", "002") and c["eval"] == ("114",) and c["lr"] == 1e-4
    sizes = runs.set_index("arm")["hidden_size"]
    assert sizes["vrnn-trad-256"] == 256 and sizes["vrnn-trad-matched"] == 2731
    paper = load_results("table1", "full", "paper", out).set_index("paper_column")
    assert paper.at["256", "arm"] == "vrnn-trad-256" and paper.at["similar", "hidden_size"] \
        == 2731
    assert set(paper["ours_metric"]) == {"NME on 300VW test videos (VGG16)"}
    lr = pd.read_csv(out / "table1_full_lr.csv")
    assert lr["chosen"].all() and set(lr["split"]) == {"none (one lr: not tuned)"}
    refs = runs[runs["kind"] == "reference"]
    assert set(refs["arm"]) == {"mean_shape_reference", "causal_reference",
                                "interpolation_reference"}
