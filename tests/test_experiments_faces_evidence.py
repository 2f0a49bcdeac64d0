"""The face experiments' evidence options (``FaceSettings``): an lr grid that grows beyond
an edge its choice sits at (``lr_extend``), seeds that redraw the training data
(``seed_draws_data``) and Table 2 with both starts of the other gates
(``table2_other_inits``); each default keeps today's runs.

Training is replaced by a fake loss-vs-lr curve where only the choices are tested, so
the grid's extension is deterministic and takes no training time.
"""

import dataclasses
import math

import pandas as pd
import pytest
import torch

from prernn_lite.backbones import FeatureModel
from prernn_lite.experiments import LITE_BACKBONES, Arm, build_model, faces, load_results
from prernn_lite.experiments.faces import lr as faces_lr
from prernn_lite.experiments.faces.full import VW300Faces
from prernn_lite.experiments.overrides import set_changes

TINY = dict(profile="ci", seeds=(0,), n_train=4, n_test=3, epoch_scale=0.05,
            hidden_ratios=(1 / 8,), batch_size=2, lrs=(1e-4, 1e-3, 1e-2))
FRAME = [Arm("frame", "frame")]


@pytest.fixture()
def results(tmp_path, monkeypatch):
    """Random (not pre-trained) faces weights in a temporary samples folder; results
    under tmp_path/results."""
    root = tmp_path / "samples"
    (root / "weights").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(LITE_BACKBONES[("faces", "rgb")]().state_dict(), root / "weights" / "faces_rgb.pt")
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(root))
    monkeypatch.setenv("PRERNN_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def tiny(**changes):
    return dataclasses.replace(faces.FaceSettings(), **{**TINY, **changes})


def fake_curve(monkeypatch, best: float, diverge_above: float = math.inf) -> list[float]:
    """Grid runs replaced by validation NME = a parabola in log10(lr) with its minimum at
    ``best`` (diverged above ``diverge_above``); returns the rates trained, in order."""
    trained = []

    def train_arm(arm, src, lr, seed, eval_set, ckpt, resume, curves=False,
                  train_split="train", draw=None):
        trained.append(lr)
        if lr > diverge_above:
            raise FloatingPointError("loss is nan")
        nme = 0.2 + 0.05 * (math.log10(lr) - math.log10(best)) ** 2
        return None, {"loss": 10 * nme, "nme": nme, "seconds": 0.0, "epochs": 1}, None

    monkeypatch.setattr(faces_lr, "train_arm", train_arm)
    return trained


@pytest.mark.parametrize("best, extend, tried, chosen, at_edge", [
    (1e-1, 2, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], 1e-1, False),    # up until inside
    (1e-5, 2, [1e-4, 1e-3, 1e-2, 1e-5, 1e-6], 1e-5, False),   # down until inside
    (1e2, 2, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], 1.0, True),       # steps spent: still at edge
    (1e-3, 2, [1e-4, 1e-3, 1e-2], 1e-3, False),               # inside: nothing added
])
def test_lr_grid_extends_beyond_an_edge_until_the_choice_is_inside(
        results, monkeypatch, best, extend, tried, chosen, at_edge):
    trained = fake_curve(monkeypatch, best)
    src = faces.face_source(tiny(lr_extend=extend))
    lrs, grid = faces.tune_lrs(FRAME, src, results)
    assert trained == pytest.approx(tried) and lrs["frame"] == pytest.approx(chosen)
    assert grid["base_lr"].tolist() == pytest.approx(sorted(tried))  # every rate a row
    assert grid["chosen"].sum() == 1 and grid.loc[grid["chosen"], "base_lr"].item() == \
        pytest.approx(chosen)
    assert grid["at_edge"].eq(at_edge).all()


def test_without_lr_extend_the_grid_is_fixed_and_has_no_at_edge_column(results, monkeypatch):
    trained = fake_curve(monkeypatch, best=1.0)  # the choice sits at the top edge
    lrs, grid = faces.tune_lrs(FRAME, faces.face_source(tiny()), results)
    assert trained == [1e-4, 1e-3, 1e-2] and lrs["frame"] == 1e-2
    assert "at_edge" not in grid.columns


def test_a_diverged_rate_beyond_the_edge_bounds_the_choice(results, monkeypatch):
    trained = fake_curve(monkeypatch, best=1.0, diverge_above=0.05)
    lrs, grid = faces.tune_lrs(FRAME, faces.face_source(tiny(lr_extend=3)), results)
    assert trained == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1]) and lrs["frame"] == 1e-2
    assert grid["status"].tolist() == ["ok", "ok", "ok", "diverged"]
    assert not grid["at_edge"].any()  # a larger rate was tried: it diverged


def test_resume_never_retrains_grid_rows_and_more_steps_train_only_the_new_rates(
        results, monkeypatch):
    trained = fake_curve(monkeypatch, best=1e2)
    first = faces.tune_lrs(FRAME, faces.face_source(tiny(lr_extend=2)), results)
    assert len(trained) == 5
    again = faces.tune_lrs(FRAME, faces.face_source(tiny(lr_extend=2)), results)
    assert len(trained) == 5 and again[0] == first[0]
    pd.testing.assert_frame_equal(again[1], first[1])
    wider = faces.tune_lrs(FRAME, faces.face_source(tiny(lr_extend=5)), results)
    assert trained[5:] == pytest.approx([10.0, 100.0, 1000.0])  # only the new steps
    assert wider[0]["frame"] == pytest.approx(1e2) and not wider[1]["at_edge"].any()
    runs = load_results("face_lr", "ci", "runs")
    assert len(runs) == 8 and runs["base_lr"].is_unique


def fake_runs(monkeypatch) -> list[tuple]:
    """``run_arm`` replaced by a record of (arm, seed, training set, test set, checkpoint)
    and an untrained model (the frame arm's references read its predictions)."""
    seen = []

    def run_arm(arm, backbone, train, test, recipe, seed, *args, checkpoint_dir=None, **kw):
        seen.append((arm.name, seed, train, test, checkpoint_dir))
        model = FeatureModel(build_model(arm, backbone, freeze_trunk=True)).eval()
        return model, {"loss": 1.0, "nme": 0.2, "seconds": 0.0, "epochs": 1}, None

    monkeypatch.setattr(faces_lr, "run_arm", run_arm)
    return seen


@pytest.mark.parametrize("draws", [True, False])
def test_a_seed_draws_its_own_training_data_and_the_test_set_stays_one(
        results, monkeypatch, draws):
    seen = fake_runs(monkeypatch)
    seeds = tuple(range(10))
    settings = tiny(lrs=(1e-3,), seeds=seeds, seed_draws_data=draws, n_train=2)
    src = faces.face_source(settings)
    arms = [Arm("vrnn-fc7", cell="vrnn", layers=("fc7",)), Arm("gru-fc7", cell="gru",
                                                               layers=("fc7",))]
    runs = faces_lr.run_face_arms("t", arms, src, seeds, results, resume=True)
    assert sorted(set(runs["seed"])) == list(seeds) and len(runs) == 20
    by_seed = {seed: train for _, seed, train, _, _ in seen}
    for _, seed, train, test, _ in seen:
        assert test is src.data("test")  # one test set for every seed
        assert train is by_seed[seed]    # arms of one seed share its data
    ys = {seed: torch.stack([s["y"] for s in train]) for seed, train in by_seed.items()}
    if draws:  # ten different training sets; seed 0 = data_seed's draw (the lr grid's)
        assert all(not torch.equal(ys[a], ys[b]) for a in seeds for b in seeds if a < b)
        assert torch.equal(ys[0], torch.stack([s["y"] for s in src.data("train")]))
        assert (runs["train_data"] == "drawn with the seed").all()
        names = {seed: ckpt.name for _, seed, _, _, ckpt in seen}
        assert not names[0].endswith("_data0") and names[3].endswith("_s3_data3")
    else:
        assert all(train is src.data("train") for _, _, train, _, _ in seen)
        assert "train_data" not in runs.columns
    test = torch.stack([s["y"] for s in src.data("test")])
    val = torch.stack([s["y"] for s in src.data("validation")])
    assert not any(torch.equal(test, y) or torch.equal(val, y) for y in ys.values())


def test_the_stand_in_keeps_one_cache_entry_per_draw(results):
    src = faces.face_source(tiny(seed_draws_data=True))
    assert src.data("train", 1) is src.data("train_plain", 1) is src.data("lr_train", 1)
    assert src.data("train", 0) is src.data("train")  # data_seed's draw: the fixed set
    assert src.data("test", 5) is src.data("test")    # the test set is never redrawn
    again = faces.face_source(tiny(seed_draws_data=True, seeds=(4, 5)), src.context)
    assert again.data("train", 1) is src.data("train", 1)  # shared in one context


def test_seed_draws_data_is_refused_with_300vw():
    full = faces.FaceSettings.for_profile("full")
    with pytest.raises(ValueError, match="300VW.*no training set to redraw"):
        dataclasses.replace(full, seed_draws_data=True)
    with pytest.raises(ValueError, match="300VW has one training set"):
        VW300Faces(full).data("train", draw=1)


def test_table2_arms_keep_their_names_and_add_the_zero_start():
    old = [a.name for a in faces.table2_arms(faces.FaceSettings())]
    assert old == ["frame"] + [f"{c}-{h}" for c in ("vrnn", "lstm", "gru") for h in
                               ("fc6", "fc7", "fc6+fc7", "fc6+fc7+random")]
    both = faces.table2_arms(faces.FaceSettings(table2_other_inits=("copy", "zeros")))
    zeros = [a for a in both if a.name.endswith("-zeros")]
    assert [a.name for a in both if not a.name.endswith("-zeros")] == old
    assert len(zeros) == 8 and {a.cell for a in zeros} == {"lstm", "gru"}
    assert all(a.other_init == "zeros" for a in zeros)
    by_name = {a.name: a for a in both}
    assert dataclasses.replace(by_name["gru-fc6+fc7+random-zeros"], name="x", other_init="copy") \
        == dataclasses.replace(by_name["gru-fc6+fc7+random"], name="x")


def test_table2_with_both_starts_writes_both_arm_sets(results, monkeypatch):
    fake_runs(monkeypatch)
    settings = tiny(cells=("gru",), lrs=(1e-3,), table2_other_inits=("copy", "zeros"))
    runs = faces.table2(settings, (0,), results, resume=True)
    trained = runs[runs["kind"] == "prernn"].set_index("arm")["other_init"]
    assert trained.to_dict() == {
        **{f"gru-{h}": "copy" for h in ("fc6", "fc7", "fc6+fc7", "fc6+fc7+random")},
        **{f"gru-{h}-zeros": "zeros" for h in ("fc6", "fc7", "fc6+fc7", "fc6+fc7+random")}}
    summary = load_results("table2", "ci", "summary")
    assert {"gru-fc6-zeros", "gru-fc6"} <= set(summary["arm"])
    paper = load_results("table2", "ci", "paper").set_index("paper_column")
    assert paper.at["fc6/7 (zero gates)", "arm"] == "gru-fc6+fc7-zeros"
    assert paper.at["fc6/7", "arm"] == "gru-fc6+fc7" and paper.at["fc6/7", "ours_rel"] == 1
    assert math.isnan(paper.at["fc6 (zero gates)", "paper_value"])  # ours only


@pytest.mark.parametrize("changes, match", [
    ({"lr_extend": -1}, "lr_extend"), ({"table2_other_inits": ("zeros",)}, "must hold 'copy'"),
    ({"table2_other_inits": ("copy", "random")}, "valid choices: copy, zeros"),
    ({"table2_other_inits": ("copy", "copy")}, "each start once")])
def test_invalid_settings_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        faces.FaceSettings(**changes)


def test_the_options_are_set_from_the_command_line():
    run = {"table2": faces.FaceSettings.for_profile("ci")}
    changes, problems = set_changes(["lr_extend=2", "seed_draws_data=true",
                                     "table2_other_inits=copy,zeros"], run)
    assert problems == [] and changes == {"table2": {
        "lr_extend": 2, "seed_draws_data": True, "table2_other_inits": ("copy", "zeros")}}
    defaults = faces.FaceSettings()
    assert (defaults.lr_extend, defaults.seed_draws_data, defaults.table2_other_inits) == \
        (0, False, ("copy",))


def test_own_checkpoints_are_named_by_lr_and_draw(results, monkeypatch):
    """``init``'s own checkpoints: a run at another lr (an extended grid's choice) or on
    another draw never resumes from one trained before."""
    seen = fake_runs(monkeypatch)
    arm = [Arm("vrnn-fc7", cell="vrnn", layers=("fc7",))]
    for lr in (1e-3, 1e-1):
        settings = tiny(lrs=(lr,), seeds=(0, 1), seed_draws_data=True, n_train=2)
        faces_lr.run_face_arms(f"own{lr:g}", arm, faces.face_source(settings), (0, 1),
                               results, resume=True, own_checkpoints=True)
    names = [ckpt.name for *_, ckpt in seen]
    assert names == ["vrnn-fc7_e2_lr0.001_s0", "vrnn-fc7_e2_lr0.001_s1_data1",
                     "vrnn-fc7_e2_lr0.1_s0", "vrnn-fc7_e2_lr0.1_s1_data1"]
