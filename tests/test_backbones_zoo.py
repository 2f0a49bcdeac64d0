"""The paper's backbones: VGG16 and ResNet50 equivalence, parameter counts, C3D weights.

Real VGG16 (138 M parameters, random init, no download) is built once for the module;
inputs are tiny (N = 1, T = 2, 32×32: the adaptive pooling still gives 25088 features).
Parameter counts use a VGG16 on the ``meta`` device (shapes only, no memory).
"""

from __future__ import annotations

import os
import pickle

import pytest
import torch
from torch import nn

from prernn_lite.backbones import (
    c3d,
    load_state_dict_file,
    make_baseline,
    make_recurrent,
    resnet50,
    vgg16,
)

H, FC6_IN = 4096, 25088


def frame_by_frame(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.stack([model(x[:, t]) for t in range(x.shape[1])], 1)


@pytest.fixture(scope="module")
def vgg() -> nn.Module:
    torch.manual_seed(0)
    return vgg16(weights=None).eval()


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(1, 2, 3, 32, 32)


# ------------------------------------------------------------ VGG16 equivalence
@pytest.mark.parametrize("layers", [("fc6",), ("fc7",), ("fc6", "fc7")])
def test_vgg16_prevrnn_equals_frame_network(vgg, clip, layers):
    ref = frame_by_frame(vgg, clip)
    with torch.no_grad():
        zero = make_recurrent(vgg, layers, cell="vrnn", hh_init="zeros", copy=False).eval()
        torch.testing.assert_close(zero(clip), ref, rtol=1e-4, atol=1e-5)
        torch.manual_seed(2)
        unif = make_recurrent(vgg, layers, cell="vrnn", hh_init="uniform", copy=False).eval()
        out = unif(clip)
    torch.testing.assert_close(out[:, 0], ref[:, 0], rtol=1e-4, atol=1e-5)
    assert not torch.allclose(out[:, 1], ref[:, 1], atol=1e-4)


def test_vgg16_layer_names_map_to_classifier(vgg):
    seq = make_recurrent(vgg, ("fc7",), cell="gru", mode="sih", copy=False)
    assert seq.stages[0].module[0] is vgg.classifier[0]  # fc6 stays feed-forward
    assert seq.stages[1].cell.weight_xy is vgg.classifier[3].weight  # fc7 is transformed
    assert seq.head is vgg.classifier[6]


def test_vgg16_one_backward_pass(vgg, clip):
    seq = make_recurrent(vgg, ("fc6", "fc7"), cell="vrnn", hh_init="uniform", copy=False)
    try:  # shares the module's VGG16 (no 0.5 GB copy); restore it afterwards
        seq.train()(clip).sum().backward()
        assert seq.trunk[0][0].weight.grad.abs().sum() > 0
        assert seq.stages[0].cell.weight_hh.grad.abs().sum() > 0
    finally:
        vgg.eval().zero_grad(set_to_none=True)


# ------------------------------------------------------------- parameter counts
@pytest.fixture(scope="module")
def meta_vgg() -> nn.Module:
    with torch.device("meta"):
        return vgg16()


def count(module: nn.Module, weights: bool) -> int:
    return sum(p.numel() for p in module.parameters() if (p.dim() >= 2) == weights)


# hand formulas for VGG16 fc6 (25088→4096) + fc7 (4096→4096): (weights, biases)
ADDED = {
    ("lstm", "gate"): (3 * FC6_IN * H + 11 * H * H, 2 * (3 * H + 4 * H)),
    ("gru", "gate"): (2 * FC6_IN * H + 8 * H * H, 2 * (2 * H + 3 * H)),
    ("vrnn", "gate"): (2 * H * H, 2 * H),
    ("lstm", "sih"): (8 * H * H, 2 * 4 * H),
    ("gru", "sih"): (6 * H * H, 2 * 3 * H),
}


@pytest.mark.parametrize("cell,mode", sorted(ADDED))
def test_vgg16_added_parameters_match_hand_formula(meta_vgg, cell, mode):
    seq = make_recurrent(meta_vgg, ("fc6", "fc7"), cell=cell, mode=mode)
    weights, biases = ADDED[cell, mode]
    assert count(seq, True) - count(meta_vgg, True) == weights
    assert count(seq, False) - count(meta_vgg, False) == biases
    params = pytest.importorskip("prernn_lite.params")
    assert params.prernn_added_params(cell, mode=mode) == weights


def test_vgg16_lstm_gate_count_is_the_papers_492_8_million(meta_vgg):
    seq = make_recurrent(meta_vgg, ("fc6", "fc7"), cell="lstm")
    assert round((count(seq, True) - count(meta_vgg, True)) / 1e6, 1) == 492.8


def test_vgg16_extra_layer_is_a_traditional_layer_of_the_same_size(meta_vgg):
    seq = make_recurrent(meta_vgg, ("fc6", "fc7"), cell="gru", extra_layers=1)
    extra = seq.stages[-1].cell
    assert (extra.input_size, extra.hidden_size) == (H, H)
    assert sum(p.numel() for p in extra.parameters()) == 3 * H * (H + H) + 2 * 3 * H


def test_vgg16_input_checks(meta_vgg):
    seq = make_recurrent(meta_vgg, ("fc6",), cell="vrnn")
    with pytest.raises(ValueError, match=r"VGG16 expects .*\(N, T, 3, H, W\) with H, W >= 32"):
        seq(torch.empty(1, 2, 3, 16, 16, device="meta"))
    with pytest.raises(ValueError, match=r"\(N, T, 3, H, W\).*got \(2, 3, 32, 32\)"):
        seq(torch.empty(2, 3, 32, 32, device="meta"))
    with pytest.raises(ValueError, match=r"'fc8'.*VGG16.*'fc6' \(classifier\[0\]\).*'fc7'"):
        make_recurrent(meta_vgg, ("fc8",))


def test_vgg16_non_linear_layer_is_refused(meta_vgg):
    import copy

    broken = copy.deepcopy(meta_vgg)
    broken.classifier[0] = nn.Identity()
    with pytest.raises(TypeError, match=r"fc6 \(classifier\[0\]\) is Identity, not nn.Linear"):
        make_recurrent(broken, ("fc6",))


# ------------------------------------------------------------------- ResNet50
@pytest.fixture(scope="module")
def resnet() -> nn.Module:
    torch.manual_seed(0)
    return resnet50(weights=None).eval()


@pytest.mark.parametrize("layers", [("conv",), ("pool",), ("conv", "pool")])
def test_resnet50_prevrnn_equals_frame_network(resnet, clip, layers):
    with torch.no_grad():
        seq = make_recurrent(resnet, layers, cell="vrnn", hh_init="zeros", copy=False).eval()
        torch.testing.assert_close(seq(clip), frame_by_frame(resnet, clip), rtol=1e-4,
                                   atol=1e-5)


def test_resnet50_conv_form_uses_pretrained_conv3(resnet, clip):
    seq = make_recurrent(resnet, ("conv",), cell="lstm", hh_init="uniform").train()
    cell = seq.stages[0].cell
    torch.testing.assert_close(cell.weight_xy, resnet.layer4[-1].conv3.weight, rtol=0, atol=0)
    assert cell.activation == "identity"  # conv3 has no activation of its own
    out, gates = seq(clip, return_gates=True)
    assert out.shape == (1, 2, 1000) and gates["conv"]["i"].shape == (1, 1, 2, 2048, 1, 1)
    out.sum().backward()
    assert cell.weight_hh.grad.abs().sum() > 0


def test_resnet50_pool_form_starts_from_identity(resnet):
    seq = make_recurrent(resnet, ("pool",), cell="gru")
    torch.testing.assert_close(seq.stages[0].cell.weight_xy.detach(), torch.eye(2048))


def test_resnet50_names_and_baseline(resnet, clip):
    with pytest.raises(ValueError, match=r"'fc6', 'fc7'.*ResNet50.*'conv'.*'pool'"):
        make_recurrent(resnet)
    base = make_baseline(resnet, cell="gru", hidden_size=8, num_layers=1, num_outputs=3)
    assert base.eval()(clip).shape == (1, 2, 3)


def test_resnet50_loads_a_local_state_dict(resnet, tmp_path):
    path = tmp_path / "resnet50.pt"
    torch.save(resnet.state_dict(), path)
    loaded = resnet50(weights=str(path))
    torch.testing.assert_close(loaded.fc.weight, resnet.fc.weight, rtol=0, atol=0)


# ------------------------------------------------------------------ C3D weights
# The public Sports-1M port (c3d-pytorch) layout, written out by hand: name -> shape.
C3D_PUBLIC = {
    **{f"{name}.weight": (cout, cin, 3, 3, 3) for name, cin, cout in [
        ("conv1", 3, 64), ("conv2", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256),
        ("conv4a", 256, 512), ("conv4b", 512, 512), ("conv5a", 512, 512),
        ("conv5b", 512, 512)]},
    **{f"{name}.bias": (c,) for name, c in [
        ("conv1", 64), ("conv2", 128), ("conv3a", 256), ("conv3b", 256), ("conv4a", 512),
        ("conv4b", 512), ("conv5a", 512), ("conv5b", 512)]},
    "fc6.weight": (4096, 8192), "fc6.bias": (4096,),
    "fc7.weight": (4096, 4096), "fc7.bias": (4096,),
    "fc8.weight": (487, 4096), "fc8.bias": (487,),
}


def test_c3d_loads_public_key_names(tmp_path):
    torch.manual_seed(0)
    state = {k: torch.randn(s) if len(s) == 1 else torch.zeros(s) for k, s in C3D_PUBLIC.items()}
    path = tmp_path / "c3d.pickle"
    torch.save(state, path)
    model = c3d(weights=path)
    assert set(model.state_dict()) == set(C3D_PUBLIC)
    torch.testing.assert_close(model.fc8.bias, state["fc8.bias"], rtol=0, atol=0)


def test_c3d_sequence_model_shapes_on_meta():
    with torch.device("meta"):
        model = c3d(num_classes=25)
    seq = make_recurrent(model, ("fc6", "fc7"), cell="lstm")
    assert seq(torch.empty(1, 2, 3, 16, 112, 112, device="meta")).shape == (1, 2, 25)
    with pytest.raises(ValueError, match=r"C3D expects .*\(N, T, 3, 16, 112, 112\)"):
        seq(torch.empty(1, 2, 3, 8, 112, 112, device="meta"))


def test_key_mismatch_lists_missing_and_unexpected(tmp_path):
    state = {k: torch.zeros(1) for k in C3D_PUBLIC if k != "fc8.weight"}
    state["module.fc9.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"missing keys \['fc8.weight'\].*unexpected keys "
                                         r"\['module.fc9.weight'\]"):
        c3d(weights=path)


class _Trap:
    """Unpickling this would create a marker file: it must never happen."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_pickled_model_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.pt"
    torch.save({"conv1.weight": torch.zeros(1), "trap": _Trap(str(marker))}, path)
    with pytest.raises(ValueError, match=r"model\.pt.*not a plain state_dict"):
        c3d(weights=path)
    assert not marker.exists()
    whole = tmp_path / "whole.pt"
    torch.save(nn.Linear(2, 2), whole)
    with pytest.raises(ValueError, match=r"whole\.pt.*not a plain state_dict.*state_dict\(\)"):
        load_state_dict_file(whole)
    with open(tmp_path / "plain.pkl", "wb") as f:
        pickle.dump({"a": 1}, f)
    with pytest.raises(ValueError, match=r"plain\.pkl"):
        load_state_dict_file(tmp_path / "plain.pkl")


def test_non_state_dict_files_are_refused(tmp_path):
    for name, obj, message in [
        ("epoch.pt", {"epoch": 3, "lr": 0.1}, r"epoch\.pt.*not tensors"),
        ("ckpt.pt", {"state_dict": {"w": torch.zeros(1)}, "epoch": 3},
         r"ckpt\.pt.*checkpoint\['state_dict'\]"),
        ("list.pt", [torch.zeros(1)], r"list\.pt.*holds a list, not a state_dict"),
    ]:
        torch.save(obj, tmp_path / name)
        with pytest.raises(ValueError, match=message):
            load_state_dict_file(tmp_path / name)
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"junk\.pt"):
        load_state_dict_file(tmp_path / "junk.pt")
    with pytest.raises(FileNotFoundError, match="absent"):
        load_state_dict_file(os.path.join(tmp_path, "absent.pt"))
    with pytest.raises(TypeError, match="no C3D weights enum"):
        c3d(weights=object())


def test_weights_enum_is_passed_through_to_torchvision(monkeypatch):
    import torchvision

    seen = {}

    def fake_builder(weights=None):
        seen["weights"] = weights
        return nn.Identity()

    monkeypatch.setattr(torchvision.models, "vgg16", fake_builder)
    monkeypatch.setattr(torchvision.models, "resnet50", fake_builder)
    enum = torchvision.models.VGG16_Weights.IMAGENET1K_V1
    vgg16(weights=enum)  # nothing is downloaded: the builder is a fake
    assert seen["weights"] is enum
    resnet50(weights=torchvision.models.ResNet50_Weights.IMAGENET1K_V2)
    assert seen["weights"] is torchvision.models.ResNet50_Weights.IMAGENET1K_V2
