"""Inputs that used to fail late or silently, now refused early with a clear message."""

import re

import pytest
import torch
from torch import nn

from prernn_lite.backbones.weights import load_state_dict_file, load_weights_into


def test_weight_file_with_nan_or_inf_names_file_and_first_key(tmp_path):
    f = tmp_path / "w.pt"
    state = {"a.weight": torch.ones(2, 2), "b.weight": torch.tensor([1.0, float("inf")]),
             "c.weight": torch.full((3,), float("nan")), "n": torch.tensor(5)}
    torch.save(state, f)
    with pytest.raises(ValueError, match=rf"^{re.escape(repr(str(f)))}: tensor 'b\.weight' "
                                         r"holds 0 NaN and 1 inf value\(s\) of 2 "):
        load_state_dict_file(f)
    state["b.weight"] = torch.zeros(2, dtype=torch.float64)  # now c.weight is the first
    torch.save(state, f)
    with pytest.raises(ValueError, match=r"tensor 'c\.weight' holds 3 NaN and 0 inf"):
        load_state_dict_file(f)


def test_finite_weights_still_load_and_a_nan_file_never_reaches_the_model(tmp_path):
    f = tmp_path / "bn.pt"
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))  # an int64 buffer too
    torch.save(net.state_dict(), f)
    assert set(load_state_dict_file(f)) == set(net.state_dict())
    bad = {k: v.clone() for k, v in net.state_dict().items()}
    bad["1.running_var"][0] = float("nan")
    torch.save(bad, f)
    before = net[1].running_var.clone()
    with pytest.raises(ValueError, match=r"'1\.running_var' holds 1 NaN"):
        load_weights_into(net, f, "net")
    assert torch.equal(net[1].running_var, before)


def test_cells_run_shapes_only_on_the_meta_device():
    """The meta device has no autocast: the dtype check must not ask it (chapter 9 sizes
    VGG16/C3D models this way without allocating their weights)."""
    from prernn_lite.cells import PreLSTM

    with torch.device("meta"):
        cell = PreLSTM.from_linear(torch.nn.Linear(6, 4))
    out, _ = cell(torch.empty(2, 3, 6, device="meta"))
    assert out.shape == (2, 3, 4) and out.device.type == "meta"


def test_pretrained_backbone_refuses_weights_the_manifest_disagrees_with(tmp_path, monkeypatch):
    import shutil

    from prernn_lite.data.manifest import samples_dir, write_manifest
    from prernn_lite.experiments import pretrained_backbone

    root = tmp_path / "samples"
    shutil.copytree(samples_dir() / "weights", root / "weights")
    write_manifest(root)
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(root))
    pretrained_backbone("faces")  # as written: loads
    state = torch.load(root / "weights" / "faces_rgb.pt", weights_only=True)
    state["fc8.bias"] = state["fc8.bias"] + 1  # tampered, still finite
    torch.save(state, root / "weights" / "faces_rgb.pt")
    with pytest.raises(ValueError, match=r"faces_rgb\.pt.*MANIFEST"):
        pretrained_backbone("faces")
