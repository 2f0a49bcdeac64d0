"""Fixtures shared by several test modules."""

import pytest
import torch

from prernn_lite.experiments.pretrain import LITE_BACKBONES


@pytest.fixture
def fake_weights(tmp_path, monkeypatch):
    """Random (not pre-trained) lite weights for every backbone in a temporary data_samples."""
    root = tmp_path / "samples"
    (root / "weights").mkdir(parents=True)
    for (task, stream), make in LITE_BACKBONES.items():
        torch.manual_seed(0)
        torch.save(make().state_dict(), root / "weights" / f"{task}_{stream}.pt")
    monkeypatch.setenv("PRERNN_LITE_SAMPLES", str(root))
    return root
