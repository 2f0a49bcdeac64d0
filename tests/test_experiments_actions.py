"""``table3`` (two-stream actions): CSVs, parameter matching, cross-modality init, errors.

Runs use random-initialised stand-in weights in a temporary ``data_samples`` (so the
tests do not depend on the committed pre-trained files) and tiny sizes.
"""

import dataclasses
import json
from importlib import resources

import pandas as pd
import pytest
import torch

from prernn_lite.backbones import LiteCNN2d
from prernn_lite.experiments import actions as A
from prernn_lite.experiments import matched_sizes
from prernn_lite.experiments.features import FeatureSet
from prernn_lite.experiments.pretrain import _cross_modality
from prernn_lite.experiments.results import ID_COLUMNS, read_results_csv, results_dir


def test_table3_ci_like_run_writes_documented_csvs(fake_weights, tmp_path):
    out = tmp_path / "results"
    s = A.ci_settings(cells=("vrnn", "gru"), n_train=8, n_test=8, epoch_scale=0.01)
    A.run_table3(s, (0,), out, resume=False)
    runs = read_results_csv(out / "table3_ci_runs.csv")
    metrics = ["spatial_accuracy", "temporal_accuracy", "fused_accuracy"]
    assert set(ID_COLUMNS) | set(metrics) | {"column", "seconds"} <= set(runs.columns)
    # VRNN has no SIH arms (Table 3 leaves them blank); GRU has all five columns
    assert sorted(runs.loc[runs.cell == "vrnn", "column"]) == sorted(
        ["prernn_pretrained", "prernn_random", "traditional"])
    assert len(runs[runs.cell == "gru"]) == 5 and (runs.arm == "frame").sum() == 1
    assert runs[metrics].apply(lambda c: c.between(0, 1)).all().all()
    assert (runs.spatial_epochs == 1).all()  # 90 * 0.01 rounds to 1
    summary = pd.read_csv(out / "table3_ci_summary.csv")
    assert {"fused_accuracy_mean", "fused_accuracy_std", "n"} <= set(summary.columns)
    paper = pd.read_csv(out / "table3_ci_paper.csv")
    table = json.loads(resources.files("prernn_lite").joinpath("paper_tables.json").read_text())
    t3 = table["table3_ucf101_split1_two_stream_accuracy"]
    assert len(paper) == 15
    gru = paper[paper.cell == "gru"].set_index("column")["paper_accuracy"]
    assert gru.to_dict() == dict(zip(t3["columns"], t3["gru"], strict=True))
    assert paper.loc[paper.cell == "lstm", "n"].eq(0).all()  # not run: no numbers
    sizes = pd.read_csv(out / "table3_ci_sizes.csv")
    assert list(sizes.cell) == ["vrnn", "gru"]
    refs = pd.read_csv(out / "table3_ci_references.csv").set_index("reference")
    assert list(refs.index) == ["chance", "frames", "reversal", "reversal_motion"]
    assert refs.accuracy.between(0, 1).all() and refs.at["chance", "accuracy"] == 1 / 8


def test_the_reversal_rule_names_the_motion_of_stand_in_videos():
    """Read from real generated flow (a still camera), the rule names sway/slide/bob/drop."""
    from prernn_lite.data.actions import CLASS_PAIRS, ActionVideos

    videos = ActionVideos("test", "ci", n_test=16)
    flow = torch.stack([videos[i]["flow"] for i in range(16)])
    truth = torch.tensor([CLASS_PAIRS[int(videos[i]["label"])][1] for i in range(16)])
    assert (A.read_motion(A.references.object_motion(flow)) == truth).double().mean() >= 0.9
    # with the true class's scores from "RGB", the rule returns the true class when it
    # names the motion
    labels = torch.tensor([int(videos[i]["label"]) for i in range(16)])
    logits = torch.nn.functional.one_hot(labels, 8).float()[:, None].expand(-1, 4, -1)
    classes, motions = A.reversal_reference(flow, logits)
    named = motions == truth
    assert (classes[named] == labels[named]).all()


def test_matched_hidden_size_is_the_closest_integer_by_brute_force():
    net = LiteCNN2d(image_size=64, fc_size=32, num_outputs=8)  # fc6 1024 -> 32, fc7 32 -> 32
    sizes = matched_sizes(("lstm", "gru", "vrnn"), net).set_index("cell")
    F, H = 1024, 32
    added = {"lstm": 3 * H * F + 4 * H * H + 3 * H * H + 4 * H * H,
             "gru": 2 * H * F + 3 * H * H + 2 * H * H + 3 * H * H,
             "vrnn": H * H + H * H}
    gates = {"lstm": 4, "gru": 3, "vrnn": 1}
    for cell, budget in added.items():
        def weights(d, g=gates[cell]):
            return g * d * (H + d) + g * d * 2 * d  # layer 1 on fc7 (H), layer 2 on d
        best = min(range(1, 2000), key=lambda d: abs(weights(d) - budget))
        assert sizes.at[cell, "prernn_added_weights"] == budget
        assert sizes.at[cell, "hidden_size"] == best
        assert sizes.at[cell, "traditional_weights"] == weights(best)


def test_cross_modality_init_matches_hand_computation(tmp_path):
    torch.manual_seed(1)
    rgb = LiteCNN2d(image_size=64, fc_size=16, num_outputs=8)
    torch.save(rgb.state_dict(), tmp_path / "actions_rgb.pt")
    flow = LiteCNN2d(in_channels=20, image_size=64, fc_size=16, num_outputs=8)
    assert _cross_modality(flow, tmp_path / "actions_rgb.pt")
    w = rgb.features[0].weight
    hand = (w[:, 0] + w[:, 1] + w[:, 2]) / 3  # (C_out, k, k)
    for c in range(20):
        torch.testing.assert_close(flow.features[0].weight[:, c], hand)
    for name, p in rgb.state_dict().items():
        if name != "features.0.weight":
            torch.testing.assert_close(flow.state_dict()[name], p)
    assert not _cross_modality(flow, tmp_path / "missing.pt")


def test_recipe_scaling_follows_the_paper():
    s = A.Table3Settings(epoch_scale=0.2)
    spatial, temporal = s.recipe("spatial"), s.recipe("temporal")
    assert (spatial.epochs, spatial.step_size, spatial.gamma) == (18, 2, 0.5)
    assert (temporal.epochs, temporal.step_size, temporal.base_lr) == (20, 2, s.temporal_lr)
    assert A.Table3Settings(temporal_lr=0.5).recipe("temporal").base_lr == 0.5
    assert spatial.gamma == temporal.gamma == 0.5


def test_video_score_averages_time_steps():
    class Steps(torch.nn.Module):
        def forward(self, x):
            return x  # logits = features
    x = torch.tensor([[[0.0, 3.0], [2.0, 0.0], [2.0, 0.0]]])
    x2 = torch.tensor([[[0.0, 9.0], [1.0, 0.0], [1.0, 0.0]]])  # mean of the 3 steps, by hand:
    data = FeatureSet(torch.cat([x, x2]), torch.tensor([0, 1]))
    torch.testing.assert_close(A.video_scores(Steps(), data),
                               torch.tensor([[4 / 3, 1.0], [2 / 3, 3.0]]))


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="ci, lite, full"):
        A.Table3Settings.for_profile("gpu")
    with pytest.raises(ValueError, match="vrnn, lstm, gru"):
        A.table3_arms(("rnn",), {})
    with pytest.raises(ValueError, match="spatial, temporal"):
        A.Table3Settings().recipe("depth")
    with pytest.raises(ValueError, match=r"\(N, T, F\)"):
        FeatureSet(torch.zeros(4, 8), torch.zeros(4))


def test_seed_draws_data_trains_each_seed_on_its_own_videos(fake_weights, tmp_path, monkeypatch):
    from prernn_lite.experiments.actions import lite as L

    seen = []  # the seed of every training set cached
    real = L.ActionVideos

    def recording(split, profile, seed=0, **kw):
        if split == "train":
            seen.append(seed)
        return real(split, profile, seed=seed, **kw)

    monkeypatch.setattr(L, "ActionVideos", recording)
    out = tmp_path / "results"
    s = A.ci_settings(cells=("vrnn",), n_train=8, n_test=8, epoch_scale=0.01,
                      seed_draws_data=True, frame_reference=False)
    A.run_table3(s, (0, 1), out, resume=False)
    assert sorted(seen) == [0, 1]  # seed 0's set once (load_streams), seed 1's once
    runs = read_results_csv(out / "table3_ci_runs.csv")
    assert (runs.train_data == "drawn with the seed").all()
    with pytest.raises(ValueError, match="one training split"):
        dataclasses.replace(A.Table3Settings.for_profile("full"), seed_draws_data=True)


def test_lite_learning_rates_are_table3_lrs_choices_inside_its_grid():
    """The rates every lite arm trains with are the ones ``table3_lr`` chose (committed
    CSV), and neither sits at an edge of the rates it tried."""
    lr = read_results_csv(results_dir() / "table3_lite_lr.csv")
    chosen = lr[lr["chosen"]].set_index("stream")["lr"]
    s = A.Table3Settings.for_profile("lite")
    assert chosen.to_dict() == {"spatial": s.spatial_lr, "temporal": s.temporal_lr}
    assert not lr["at_edge"].any()
    for _, g in lr.groupby("stream"):
        assert g["lr"].min() < g.loc[g["chosen"], "lr"].item() < g["lr"].max()


def test_the_lr_grid_grows_beyond_an_edge_its_choice_sits_at(fake_weights, monkeypatch):
    accuracy = {1e-2: 0.4, 3e-2: 0.5, 9e-2: 0.6, 0.27: 0.55}  # rises past the grid's top
    monkeypatch.setattr(A.lite, "run_arm", lambda arm, net, tr, va, recipe, *a, **k: (
        None, {"accuracy": accuracy[round(recipe.base_lr, 6)], "epochs": 1}, None))
    table = A.choose_lr(A.ci_settings(n_train=2, n_test=2), grid=(1e-2, 3e-2))
    for _, g in table.groupby("stream"):
        assert g["lr"].round(6).tolist() == [1e-2, 3e-2, 9e-2, 0.27]
        assert g.loc[g["chosen"], "lr"].item() == pytest.approx(9e-2)
    assert not table["at_edge"].any()
    table = A.choose_lr(A.ci_settings(n_train=2, n_test=2, lr_extend=0), grid=(1e-2, 3e-2))
    assert table["at_edge"].all() and len(table) == 4
