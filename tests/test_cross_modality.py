"""``backbones.cross_modality``: the temporal stream's start from an RGB network.

The reference is the function that made the committed ``data_samples/weights/
actions_flow.pt`` (kept inline below as it was): the new code must give its tensors
bit for bit, so the committed lite results stay reproducible.
"""

from pathlib import Path

import pytest
import torch
from torch import nn

from prernn_lite.backbones import (
    C3D,
    LiteCNN2d,
    LiteCNN3d,
    cross_modality,
    dissect,
    resnet50,
    vgg16,
)
from prernn_lite.experiments.pretrain import _cross_modality


def _old_cross_modality(model: nn.Module, rgb_path: Path) -> bool:
    """``pretrain._cross_modality`` before ``backbones.cross`` existed (the reference)."""
    if not rgb_path.is_file():
        return False
    state = torch.load(rgb_path, map_location="cpu", weights_only=True)
    own = model.state_dict()
    for k, v in state.items():
        if own[k].shape == v.shape:
            own[k] = v
        elif v.dim() == 4:  # first conv: (C_out, 3, k, k) -> (C_out, 20, k, k)
            own[k] = v.mean(1, keepdim=True).expand_as(own[k]).clone()
    model.load_state_dict(own)
    return True


def _flow_net(seed: int) -> LiteCNN2d:
    torch.manual_seed(seed)  # as the lite actions/flow backbone, random start
    return LiteCNN2d(in_channels=20, image_size=64, fc_size=256, num_outputs=8)


def test_new_function_gives_exactly_the_old_tensors(tmp_path):
    torch.manual_seed(3)
    rgb = LiteCNN2d(image_size=64, fc_size=256, num_outputs=8)
    path = tmp_path / "actions_rgb.pt"
    torch.save(rgb.state_dict(), path)
    old, wrapped = _flow_net(7), _flow_net(7)
    rng = torch.get_rng_state()
    assert _old_cross_modality(old, path) and _cross_modality(wrapped, path)
    assert torch.equal(torch.get_rng_state(), rng)  # pre-training's dropout draws unchanged
    direct = cross_modality(rgb, in_channels=20).state_dict()
    reference = old.state_dict()
    assert list(direct) == list(reference)
    for name, tensor in reference.items():
        assert torch.equal(wrapped.state_dict()[name], tensor), name
        assert torch.equal(direct[name], tensor), name
    assert not _cross_modality(_flow_net(7), tmp_path / "missing.pt")


def test_first_conv_is_the_channel_mean_repeated_for_vgg16_and_resnet50():
    torch.manual_seed(0)
    for net, path in ((vgg16(), "features.0"), (resnet50(), "conv1")):
        flow = cross_modality(net, in_channels=6)
        old, new = net.get_submodule(path), flow.get_submodule(path)
        assert new.weight.shape == (old.out_channels, 6, *old.kernel_size)
        assert (new.stride, new.padding, new.bias is None) == (
            old.stride, old.padding, old.bias is None)
        hand = sum(old.weight[:, c] for c in range(3)) / 3  # (C_out, k, k)
        for c in range(6):
            torch.testing.assert_close(new.weight[:, c], hand)
        if old.bias is not None:
            assert torch.equal(new.bias, old.bias)
        rest = {k: v for k, v in net.state_dict().items() if not k.startswith(path + ".")}
        for k, v in rest.items():
            assert torch.equal(flow.state_dict()[k], v), k
        assert net.get_submodule(path).in_channels == 3  # the original is untouched
        assert flow.eval()(torch.zeros(1, 6, 32, 32)).shape == (1, 1000)
        # anatomy reads the channels from the first conv: sequence models accept 6
        assert (dissect(net).spec.sizes[0], dissect(flow).spec.sizes[0]) == (3, 6)
        assert dissect(flow).spec.describe() == "(N, T, 6, H, W) with H, W >= 32"


def test_unsupported_models_and_bad_channels_raise():
    with torch.device("meta"):
        nets = (C3D(num_classes=4), LiteCNN3d(clip_len=4, image_size=16), nn.Linear(2, 2))
    for net in nets:
        with pytest.raises(TypeError, match=type(net).__name__ + r".*LiteCNN2d.*VGG16.*ResNet50"):
            cross_modality(net)
    with pytest.raises(ValueError, match="in_channels"):
        cross_modality(LiteCNN2d(image_size=32), in_channels=0)
