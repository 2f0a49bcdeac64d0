"""The runs behind the book's tables: ``python -m prernn_lite.experiments NAME --profile P``.

How the experiments are built
-----------------------------
An **experiment** (``table1``, ``gesture``, ...) compares **arms**: models built from one
pre-trained backbone (``arms.Arm``: a PreRNN, a traditional RNN on fc7 features, or
the frame-level network), each trained and tested with several seeds. One run goes
down this path, top to bottom, without coming back up:

1. ``__main__`` parses the command line; the experiment's settings class resolves the
   profile once (``settings.ProfileSettings.for_profile``: ``ci`` seconds, ``lite``
   minutes, both on generated stand-ins; ``full`` the real datasets and backbones);
   ``registry.Experiment.run`` sets the thread count for that experiment only.
2. The experiment (``faces.tables``, ``faces.analysis``, ``gestures.experiment``,
   ``actions.experiment``) picks its task's data source for the profile, once: the
   task's ``lite`` module (stand-in, lite backbone, trunk features cached) or its
   ``full`` module (real dataset, VGG16 / C3D / ResNet50 fine-tuned end to end). Both
   import the task's ``common`` module (settings, arms, losses, metrics); never the
   reverse.
3. ``runner.run_arms`` loops over arms x seeds, skipping those already on disk;
   ``runner.run_arm`` trains one (``train.fit``) and tests it.
4. Each finished run's **row** is appended at once to ``results/<NAME>_<P>_runs.csv``
   (``results``), so an interrupted experiment resumes; at the end the experiment
   writes ``..._summary.csv`` (mean, std and n over seeds) and, where the paper has the
   table, ``..._paper.csv`` (side by side), plus tables of its own (``lr``, ``curves``,
   ``saturation``, ``sizes``, ``references``, ``confusion``, ``predictions``). The
   chapters read them with :func:`load_results`.

What the experiments of one invocation share is explicit in a ``runner.RunContext``
(computed data, checkpoints finished in this invocation).

Modules (each imports only those above it in this list, and ``prernn_lite`` below):

- ``settings``   the profile -> settings rule, ``check_choice``
- ``arms``       ``Arm``, ``build_model``, ``matched_sizes``
- ``results``    where rows land, ``load_results``, ``summarize``
- ``features``   trunk features computed once (``ci``/``lite``)
- ``runner``     ``run_arm`` (one arm, one seed), ``run_arms`` (all, with resume)
- ``registry``   experiments by name
- ``pretrain``   the lite backbones: pre-training (``pretrain``) and loading
- ``faces/``     ``table1``, ``table2``, ``init``, ``gating``, ``face_lr``
- ``actions/``   ``table3``, ``table3_lr``
- ``gestures/``  ``gesture``
- ``claims``     the paper's claims decided by the runs CSVs (``claims``; trains nothing)
- ``__main__``   the command line, ``--jobs`` chains

Every experiment takes ``--profile ci|lite|full`` except ``pretrain`` and ``table3_lr``
(``ci``/``lite`` only: at full scale the pre-training is ImageNet's and Sports-1M's, and
Table 3 uses the paper's learning rates).
"""

from . import pretrain  # noqa: I001  (importing registers: this is the listing order)
from . import faces, actions, gestures
from . import claims  # last: it reads the results of all the others
from .arms import CELLS, Arm, build_model, matched_sizes
from .pretrain import LITE_BACKBONES, normalise_landmarks, pretrained_backbone, weights_path
from .registry import EXPERIMENTS, Experiment, register
from .results import load_results, read_results_csv, results_dir, summarize, write_results
from .runner import RunContext, run_arm, run_arms

__all__ = [
    "CELLS", "EXPERIMENTS", "LITE_BACKBONES", "Arm", "Experiment", "RunContext", "actions",
    "build_model", "claims", "faces", "gestures", "load_results", "matched_sizes",
    "normalise_landmarks", "pretrain", "pretrained_backbone", "read_results_csv", "register",
    "results_dir", "run_arm", "run_arms", "summarize", "weights_path", "write_results",
]
