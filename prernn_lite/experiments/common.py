"""What every experiment shares: arms, models, one seeded training run, results on disk.

An experiment compares *arms* (:class:`Arm`): a PreRNN (``make_recurrent``), a traditional
RNN on fc7 features (``make_baseline``) or the frame-level network (``make_frame_model``),
all built from the same pre-trained lite backbone (:func:`pretrained_backbone`). How the
arms start, stated once here:

- the convolutional trunk and fc6/fc7 are the pre-trained backbone's in every arm;
- a **PreRNN** turns the named layers into Pre cells (``W_xy``, ``b`` kept, unless
  ``init="random"``; ``W_hh = 0``) and keeps the pre-trained head fc8;
- a **traditional** arm keeps fc6/fc7 feed-forward and adds a new ``num_layers`` RNN
  (hidden size free) and a *new* head: its outputs are not fc7's features, so fc8 cannot
  be reused (the one exception, hidden = fc size, is not used so that all sizes match);
- the **frame** arm is the pre-trained network itself, fine-tuned on the same frames.

Every arm is trained by :func:`run_arm` with the same recipe, data order and seed.
With ``cache_trunk`` (the ``ci``/``lite`` default) the trunk is frozen and its features
are computed once (:func:`trunk_features`), and :class:`FeatureModel` runs the rest; fc6,
fc7, the recurrent layers and the head are still fine-tuned. Results go to
``results/<name>_<profile>_{runs,summary,paper}.csv`` (:func:`write_results`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from ..backbones import (
    FrameModel,
    LiteCNN2d,
    LiteCNN3d,
    SequenceModel,
    dissect,
    load_state_dict_file,
    make_baseline,
    make_frame_model,
    make_recurrent,
)
from ..params import prernn_added_params, solve_hidden_size
from ..train import Recipe, fit, seed_everything

KINDS = ("prernn", "traditional", "frame")
CELLS = ("vrnn", "lstm", "gru")
PROFILES = ("ci", "lite", "full")
RESULT_KINDS = ("runs", "summary", "paper")
ID_COLUMNS = ("arm", "kind", "cell", "mode", "init", "other_init", "layers", "extra_layers",
              "hidden_size", "num_layers", "hh_init", "gate_bias", "seed")
#: Numeric columns that describe the settings of a run, not its outcome.
SETTING_COLUMNS = ("base_lr", "epoch_scale", "epochs")

#: (task, stream) -> lite backbone builder; the same weights serve ``ci`` and ``lite``.
LITE_BACKBONES: dict[tuple[str, str], Callable[[], nn.Module]] = {
    ("faces", "rgb"): lambda: LiteCNN2d(image_size=64, fc_size=256, num_outputs=136),
    ("gestures", "rgb"): lambda: LiteCNN3d(clip_len=8, image_size=32, fc_size=256,
                                           num_outputs=4),
    ("actions", "rgb"): lambda: LiteCNN2d(image_size=64, fc_size=256, num_outputs=8),
    ("actions", "flow"): lambda: LiteCNN2d(in_channels=20, image_size=64, fc_size=256,
                                           num_outputs=8),
}
DEFAULT_STREAM = {"faces": "rgb", "gestures": "rgb", "actions": "rgb"}


@dataclass(frozen=True)
class Arm:
    """One model of a comparison (see the module docstring for how each kind starts).

    ``kind`` "prernn": ``layers`` made recurrent with ``cell``/``mode``/``init``/
    ``other_init``/``hh_init``, plus ``extra_layers`` random traditional layers.
    ``kind`` "traditional": a ``num_layers`` ``cell`` RNN of ``hidden_size`` on fc7.
    ``kind`` "frame": the fine-tuned frame-level network (``cell`` is ignored).
    """

    name: str
    kind: str = "prernn"
    cell: str = "lstm"
    mode: str = "gate"
    init: str = "pretrained"
    other_init: str = "copy"
    layers: tuple[str, ...] = ("fc6", "fc7")
    extra_layers: int = 0
    hidden_size: int | None = None
    num_layers: int = 2
    hh_init: str = "zeros"
    gate_bias: float = 4.0

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        if self.kind != "frame":
            check_choice("cell", self.cell, CELLS)

    def describe(self) -> dict[str, Any]:
        """The identifying columns of a result row; settings that do not apply to the
        arm's kind are blank ("" or ``None``), so a traditional arm records no PreRNN
        start and a PreRNN no hidden size of its own.

        >>> Arm("t", "traditional", "gru", hidden_size=64).describe()["init"]
        ''
        >>> Arm("p", cell="gru").describe()["hidden_size"] is None
        True
        """
        d = {"arm": self.name, **asdict(self)}
        d.pop("name")
        d["layers"] = "+".join(self.layers)
        if self.kind == "prernn":  # its hidden sizes are the layers' own
            d.update(hidden_size=None, num_layers=None)
        else:  # only a PreRNN has these settings: leave them blank
            d.update(mode="", init="", other_init="", layers="", extra_layers=None,
                     hh_init="", gate_bias=None)
        if self.kind == "frame":
            d.update(cell="", hidden_size=None, num_layers=None)
        return d


def check_choice(what: str, value: Any, valid: Sequence) -> None:
    """Raise ``ValueError`` listing ``valid`` unless ``value`` is one of them."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {', '.join(map(str, valid))}")


def build_model(arm: Arm, backbone: nn.Module, *, freeze_trunk: bool = False) -> nn.Module:
    """The arm's model on a deep copy of ``backbone`` (``SequenceModel`` or ``FrameModel``)."""
    if arm.kind == "frame":
        return make_frame_model(backbone)
    if arm.kind == "traditional":
        return make_baseline(backbone, cell=arm.cell, hidden_size=arm.hidden_size,
                             num_layers=arm.num_layers, head="new", freeze_trunk=freeze_trunk)
    return make_recurrent(backbone, layers=arm.layers, cell=arm.cell, mode=arm.mode,
                          init=arm.init, extra_layers=arm.extra_layers,
                          freeze_trunk=freeze_trunk, other_init=arm.other_init,
                          hh_init=arm.hh_init, gate_bias=arm.gate_bias)


class FeatureModel(nn.Module):
    """A sequence model without its trunk: trunk features ``(N, T, F)`` -> ``(N, T, out)``.

    Shares the modules of ``model`` (a ``SequenceModel`` or a ``FrameModel``), so training
    it trains them; ``forward(z, lengths=None, return_gates=False)`` as ``SequenceModel``.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        if isinstance(model, SequenceModel):
            self.stages, self.head = model.stages, model.head
        elif isinstance(model, FrameModel):
            parts = dissect(model.model)
            self.stages = nn.ModuleList([_PerFrame(nn.Sequential(*[
                m for layer in parts.layers.values() for m in (layer.module, layer.act,
                                                               layer.drop)]))])
            self.head = parts.head
        else:
            raise TypeError(f"expected a SequenceModel or FrameModel, got {type(model).__name__}")

    def forward(self, z: torch.Tensor, lengths=None, return_gates: bool = False):
        gates: dict | None = {} if return_gates else None
        for stage in self.stages:
            z = stage(z, lengths, gates)                                  # (N, T, H)
        out = self.head(z.flatten(0, 1)).unflatten(0, z.shape[:2])         # (N, T, out)
        return (out, gates) if return_gates else out


class _PerFrame(nn.Module):
    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, z: torch.Tensor, lengths=None, gates=None) -> torch.Tensor:
        return self.module(z.flatten(0, 1)).unflatten(0, z.shape[:2])


@torch.no_grad()
def trunk_features(backbone: nn.Module, frames: torch.Tensor, batch_size: int = 256
                   ) -> torch.Tensor:
    """The backbone trunk's features of ``frames`` ``(N, T, *frame)`` -> ``(N, T, F)``."""
    trunk = dissect(backbone).trunk.eval()
    flat = frames.flatten(0, 1)
    out = torch.cat([trunk(flat[i:i + batch_size]) for i in range(0, len(flat), batch_size)])
    return out.unflatten(0, frames.shape[:2])


def matched_size(cell: str, layer_shapes: Sequence[tuple[int, int]], feature_size: int,
                 num_layers: int = 2, mode: str = "gate") -> tuple[int, float]:
    """Traditional hidden size with as many weights as PreRNN adds to ``layer_shapes``.

    ``params.matched_hidden_size``'s rule (weight matrices only, no biases) for any
    backbone: returns ``(rounded, exact)``.
    """
    budget = prernn_added_params(cell, mode=mode, bias=False, layer_sizes=layer_shapes)
    exact = solve_hidden_size(budget, cell, feature_size, num_layers, bias=False)
    return round(exact), exact


def run_arm(arm: Arm, backbone: nn.Module, train_set: Any, test_set: Any, recipe: Recipe,
            seed: int, loss_fn: Callable, evaluate: Callable[[nn.Module, Iterable], dict],
            *, batch_size: int = 16, cached: bool = True, checkpoint_dir: Path | None = None,
            resume: bool = True, curves: bool = False, num_workers: int = 0,
            device: str | None = None
            ) -> tuple[nn.Module, dict[str, float], Any]:
    """Build, train (``fit``) and evaluate one arm with one seed.

    ``train_set``/``test_set`` yield dict samples whose ``"x"`` is the model input (trunk
    features when ``cached``); ``loss_fn(model, batch)`` and ``evaluate(model, loader)``
    are the task's. The seed fixes the new weights (heads, random ``W_xy``, extra layers),
    dropout and data order. With ``curves`` ``evaluate`` also runs after every epoch.
    ``num_workers`` loads batches in that many processes (decoding videos at full
    scale); ``device`` defaults to the CPU when ``cached`` (small models), else "auto"
    (the GPU when there is one).

    Returns
    -------
    (model, metrics, history) : the trained model, ``evaluate``'s dict plus ``seconds``
        and ``epochs``, and ``fit``'s History.
    """
    seed_everything(seed)
    model = build_model(arm, backbone, freeze_trunk=cached)
    if cached:
        model = FeatureModel(model)
    gen = torch.Generator().manual_seed(seed)
    train = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=gen,
                       num_workers=num_workers)
    test = DataLoader(test_set, batch_size=64 if cached else batch_size,
                      num_workers=num_workers)
    start = time.perf_counter()
    hist = fit(model, train, loss_fn, recipe.replace(seed=seed), val_loader=test if curves
               else None, eval_fn=evaluate if curves else None, checkpoint_dir=checkpoint_dir,
               resume=resume, device=device or ("cpu" if cached else "auto"),
               progress=not cached)
    model.eval()
    with torch.no_grad():
        metrics = dict(evaluate(model, test))
    metrics.update(seconds=time.perf_counter() - start, epochs=hist.epochs_done)
    return model, metrics, hist


# --- the registry -----------------------------------------------------------------------
@dataclass
class Experiment:
    """A registered experiment: ``run(settings, seeds, out_dir, resume) -> DataFrame``."""

    name: str
    run: Callable[..., pd.DataFrame]
    settings: Callable[[str], Any]
    doc: str = field(default="")


EXPERIMENTS: dict[str, Experiment] = {}


def register(name: str, settings: Callable[[str], Any]) -> Callable:
    """Decorator: register ``fn(settings, seeds, out_dir, resume)`` as experiment ``name``.

    ``settings(profile)`` returns the experiment's settings dataclass for a profile.
    """
    def deco(fn: Callable) -> Callable:
        EXPERIMENTS[name] = Experiment(name, fn, settings, (fn.__doc__ or "").strip())
        return fn
    return deco


# --- results on disk --------------------------------------------------------------------
def results_dir() -> Path:
    """``$PRERNN_RESULTS`` or ``<repo>/results``."""
    env = os.environ.get("PRERNN_RESULTS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "results"


def result_path(out_dir: Path, name: str, profile: str, kind: str) -> Path:
    """``out_dir/<name>_<profile>_<kind>.csv``."""
    return Path(out_dir) / f"{name}_{profile}_{kind}.csv"


def load_results(name: str, profile: str, kind: str = "summary",
                 out_dir: str | Path | None = None) -> pd.DataFrame:
    """Read ``<name>_<profile>_<kind>.csv`` for the book.

    ``kind``: ``runs``, ``summary``, ``paper`` or one of the extra tables some experiments
    write (``curves``, ``saturation``, ``lr``, ``sizes``, ``references``, ``confusion``,
    ``predictions``). An unknown kind is a ``ValueError`` listing the kinds; a missing file
    a ``FileNotFoundError`` naming the kinds on disk for ``name``/``profile`` and the
    command that writes them.
    """
    kinds = RESULT_KINDS + ("curves", "saturation", "lr", "sizes", "references", "confusion",
                            "predictions")
    check_choice("result kind", kind, kinds)
    folder = Path(out_dir) if out_dir else results_dir()
    path = result_path(folder, name, profile, kind)
    if not path.is_file():
        found = [k for k in kinds if result_path(folder, name, profile, k).is_file()]
        raise FileNotFoundError(
            f"{path} not found; kinds on disk for {name!r} {profile!r}: "
            f"{', '.join(found) or 'none'} (valid kinds: {', '.join(kinds)}); write them "
            f"with `python -m prernn_lite.experiments {name} --profile {profile}`")
    return read_results_csv(path)


#: Text columns of the results: an empty cell there is an empty string, not NaN.
TEXT_COLUMNS = ("arm", "kind", "cell", "mode", "init", "other_init", "layers", "hh_init",
                "column", "status", "lr_family", "split", "stop_reason", "task", "stream",
                "reference", "meaning", "paper_column", "file", "optimizer")


def read_results_csv(path: str | Path) -> pd.DataFrame:
    """A results CSV: empty numeric cells are NaN, empty text cells stay ``""``.

    Text columns are those of :data:`TEXT_COLUMNS` and every non-numeric column, so a
    blank setting (e.g. a frame arm's ``cell``) reads back as written.
    """
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    for col in frame.columns:
        if col in TEXT_COLUMNS or frame[col].dtype == object:
            if not pd.api.types.is_bool_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
    return frame


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Numeric columns of a runs table that are not identifiers."""
    skip = set(ID_COLUMNS) | set(SETTING_COLUMNS)
    return [c for c in runs.columns if c not in skip and pd.api.types.is_numeric_dtype(runs[c])]


def summarize(runs: pd.DataFrame, by: Sequence[str] = ("arm",)) -> pd.DataFrame:
    """Mean, sample std (ddof=1; NaN for one seed) and number of seeds ``n`` per arm.

    Descriptive columns constant within an arm are kept; metric ``m`` becomes
    ``m_mean`` and ``m_std``. Arms keep their first-appearance order.
    """
    by = list(by)
    metrics = metric_columns(runs)
    keep = [c for c in runs.columns if c not in metrics and c not in by and c != "seed"
            and (runs.groupby(by, sort=False)[c].nunique(dropna=False) <= 1).all()]
    g = runs.groupby(by, sort=False)
    out = g[keep].first() if keep else g.size().to_frame("_").drop(columns="_")
    for m in metrics:
        out[f"{m}_mean"], out[f"{m}_std"] = g[m].mean(), g[m].std(ddof=1)
    out["n"] = g.size()
    return out.reset_index()


def write_results(runs: pd.DataFrame, name: str, profile: str, out_dir: Path,
                  paper: pd.DataFrame | None = None) -> dict[str, Path]:
    """Write the runs, summary (and paper side-by-side) CSVs; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"runs": result_path(out_dir, name, profile, "runs"),
             "summary": result_path(out_dir, name, profile, "summary")}
    runs.to_csv(paths["runs"], index=False, float_format="%.6g")
    summarize(runs).to_csv(paths["summary"], index=False, float_format="%.6g")
    if paper is not None:
        paths["paper"] = result_path(out_dir, name, profile, "paper")
        paper.to_csv(paths["paper"], index=False, float_format="%.6g")
    return paths


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Append one row to a CSV (header written with the first row).

    Processes appending to the same file (``--jobs``) take turns through a lock file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        _append_row(path, row)


@contextmanager
def _locked(path: Path):
    """An exclusive ``flock`` on ``path.lock`` (POSIX; no lock where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _append_row(path: Path, row: dict[str, Any]) -> None:
    frame = pd.DataFrame([row])
    if path.is_file():
        header = list(pd.read_csv(path, nrows=0).columns)
        if set(frame.columns) - set(header):  # new columns: rewrite with their union
            old = pd.read_csv(path, keep_default_na=False, na_values=[""])
            pd.concat([old, frame]).to_csv(path, index=False, float_format="%.6g")
            return
        frame = frame.reindex(columns=header)
    frame.to_csv(path, mode="a", header=not path.is_file(), index=False, float_format="%.6g")


def done_runs(path: Path, resume: bool) -> pd.DataFrame:
    """Rows already in ``path`` (resume), or none (the file is removed without resume)."""
    if path.is_file() and not resume:
        path.unlink()
    return read_results_csv(path) if path.is_file() \
        else pd.DataFrame(columns=["arm", "seed"])


def append_timing(out_dir: Path, experiment: str, profile: str, seconds: float) -> None:
    """Append ``experiment, profile, seconds`` to ``out_dir/timings.csv``."""
    append_row(Path(out_dir) / "timings.csv",
               {"experiment": experiment, "profile": profile, "seconds": round(seconds, 1)})


# --- pre-trained lite weights -----------------------------------------------------------
def weights_path(task: str, stream: str | None = None) -> Path:
    """``data_samples/weights/<task>_<stream>.pt`` (``PRERNN_LITE_SAMPLES`` honoured)."""
    from ..data.manifest import samples_dir

    stream = stream or DEFAULT_STREAM.get(task, "rgb")
    check_choice("task/stream", (task, stream), list(LITE_BACKBONES))
    return samples_dir() / "weights" / f"{task}_{stream}.pt"


def pretrained_backbone(task: str, stream: str | None = None) -> nn.Module:
    """The lite backbone of ``task``/``stream`` with its pre-trained weights (eval mode)."""
    stream = stream or DEFAULT_STREAM.get(task, "rgb")
    path = weights_path(task, stream)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: pre-trained lite weights for {task}/{stream} not found; write them "
            f"with `python -m prernn_lite.experiments pretrain --profile lite --tasks {task}`")
    model = LITE_BACKBONES[(task, stream)]()
    model.load_state_dict(load_state_dict_file(path), strict=True)
    return model.eval()
