"""The face experiments' ``ci``/``lite`` source: the face stand-in and the lite CNN.

:class:`StandInFaces` serves ``FaceSequences`` with the pre-trained lite ``LiteCNN2d``
(``pretrain.pretrained_backbone("faces")``). Its trunk is frozen, so every split's
trunk features are computed once per run context (``runner.RunContext.cached``): no
augmentation. "validation" is the stand-in's test split drawn with data seed + 1 (new
sequences, never the test set); "lr_train" and "train_plain" are "train", so the lr
grid's runs at the chosen lr are the final runs of the first seed (with
``seed_draws_data``: of the seed equal to ``data_seed``, 0 by default).

A training split's ``draw`` (``FaceSettings.train_draw``: the run's seed with
``seed_draws_data``) is the seed of ``FaceSequences("train", ..., seed=draw)``; the
features of each draw are cached once per run context, keyed by what fixes them
(profile, sizes, split, seed), so the experiments of one invocation share them.
"""

from __future__ import annotations

import torch
from torch import nn

from ...data.faces import FaceSequences
from ..features import trunk_features
from ..pretrain import normalise_landmarks, pretrained_backbone
from ..runner import RunContext
from ..settings import check_choice
from .common import SPLITS, FaceSettings


class StandInFaces:
    """The face stand-in as a ``common.FaceSource`` (``ci``/``lite``)."""

    grid_train_split = "train"
    validation_label = "validation (data seed +1)"
    test_data = "the face stand-in"
    metric = "NME on the face stand-in (lite CNN)"

    def __init__(self, settings: FaceSettings, context: RunContext | None = None) -> None:
        self.settings, self.context = settings, context or RunContext()

    def data(self, split: str, draw: int | None = None) -> list[dict]:
        """Samples ``{"x", "y", "flags"}`` of ``split`` (trunk features when cached);
        a training split of ``draw`` (``None``: ``data_seed``'s), "test" of
        ``data_seed``, "validation" of ``data_seed`` + 1."""
        check_choice("face data split", split, SPLITS)
        s = self.settings
        if split in ("lr_train", "train_plain"):
            split = "train"
        if split == "validation":
            split, seed = "test", s.data_seed + 1
        else:
            seed = draw if split == "train" and draw is not None else s.data_seed
        n = s.n_train if split == "train" else s.n_test
        key = ("faces", s.profile, split, n, seed, s.cache_trunk)
        return self.context.cached(key, lambda: self._draw(split, seed))

    def backbone(self) -> nn.Module:
        """The pre-trained lite ``LiteCNN2d``."""
        return pretrained_backbone("faces")

    def checkpoint_data(self, split: str) -> None:
        """Nothing: the stand-in's data are fixed by the arm's settings and the profile
        (another training draw is tagged by ``lr.data_tag``)."""
        return None

    def _draw(self, split: str, seed: int) -> list[dict]:
        """The stand-in's ``split`` drawn with ``seed``, trunk features cached."""
        s = self.settings
        n = s.n_train if split == "train" else s.n_test
        key = "n_train" if split == "train" else "n_test"
        ds = FaceSequences(split, s.profile, seed=seed, **({key: n} if n else {}))
        backbone = pretrained_backbone("faces")
        out = []
        for i in range(0, len(ds), 32):
            items = [ds[j] for j in range(i, min(i + 32, len(ds)))]
            frames = torch.stack([item["frames"] for item in items])     # (n, T, 3, S, S)
            x = trunk_features(backbone, frames) if s.cache_trunk else frames
            for k, item in enumerate(items):
                out.append({"x": x[k], "y": normalise_landmarks(item["landmarks"],
                                                                 frames.shape[-1]),
                            "flags": item["flags"]})
        return out
