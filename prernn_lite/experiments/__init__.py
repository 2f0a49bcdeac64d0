"""The runs behind the book's tables: ``python -m prernn_lite.experiments NAME --profile P``.

Each experiment is a function registered by name (``common.register``) with one settings
dataclass per profile; it trains its arms over seeds and writes CSV under ``results/``:
``<name>_<profile>_runs.csv`` (one row per arm and seed), ``..._summary.csv`` (mean, std
and n over seeds) and, where the paper has the table, ``..._paper.csv`` (side by side).
Chapters read them with :func:`load_results`.

- ``common``          arms, models, one seeded training run, the registry, CSV helpers
- ``pretrain``        the lite backbones' frame/clip-level pre-training
                      (``data_samples/weights``)
- ``faces_common``    face settings, data, loss, metrics, references
- ``faces_lr``        the face experiments' lr rule and shared runs
- ``faces``           Tables 1 and 2 on the face stand-in (``table1``, ``table2``)
- ``faces_analysis``  initialisation and gating on the face stand-in (``init``, ``gating``)
- ``faces_full``      the face experiments at full scale: VGG16 on 300VW
- ``gestures``        PreRNN vs traditional vs the clip model (``gesture``)
- ``gestures_full``   the same at full scale: C3D on nvGesture
- ``actions``         Table 3 with two streams (``table3``, ``table3_lr``)
- ``actions_full``    the same at full scale: ResNet50 or VGG16 on UCF101
- ``__main__``        the command line, ``--jobs`` chains

Every experiment takes ``--profile ci|lite|full`` except ``pretrain`` and ``table3_lr``
(``ci``/``lite`` only: at full scale the pre-training is ImageNet's and Sports-1M's, and
Table 3 uses the paper's learning rates).
"""

from importlib import import_module

from .common import (
    EXPERIMENTS,
    Arm,
    build_model,
    load_results,
    pretrained_backbone,
    register,
    results_dir,
    run_arm,
    summarize,
    write_results,
)

# importing the experiment modules registers their experiments, in this (listing) order
for _module in ("pretrain", "faces", "faces_analysis", "gestures", "actions"):
    import_module(f"{__name__}.{_module}")

__all__ = ["EXPERIMENTS", "Arm", "build_model", "load_results", "pretrained_backbone",
           "register", "results_dir", "run_arm", "summarize", "write_results"]
