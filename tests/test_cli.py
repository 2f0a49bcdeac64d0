"""``python -m prernn_lite.experiments``: chains, ``--jobs`` and its refusals, file locking."""

import multiprocessing
import subprocess
import sys

import pandas as pd
import pytest

from prernn_lite.experiments import EXPERIMENTS
from prernn_lite.experiments.__main__ import CHAINS, chains_of, main
from prernn_lite.experiments.results import append_row


def test_every_experiment_is_in_exactly_one_chain():
    chained = [n for _, chain in CHAINS for n in chain] + ["pretrain"]
    assert sorted(chained) == sorted(EXPERIMENTS)


def test_chains_keep_the_dependency_order_and_put_pretraining_first():
    chains = chains_of(list(reversed(EXPERIMENTS)))
    assert [c for _, c in chains] == [list(c) for _, c in CHAINS]
    assert [t for t, _ in chains] == [list(t) for t, _ in CHAINS]
    actions = dict((tuple(c), t) for t, c in chains)[("table3_lr", "table3")]
    assert actions.index("actions/rgb") < actions.index("actions/flow")  # cross-modality
    assert chains_of(["gating", "table3"]) == [([], ["gating"]), ([], ["table3"])]


@pytest.mark.parametrize("extra, message", [
    (["--no-resume"], "fresh --out"),
    (["--tasks", "faces"], "--tasks with --jobs"),
    (["--jobs", "0"], "at least 1"),
])
def test_jobs_refuses_what_it_cannot_do(extra, message, capsys, tmp_path):
    jobs = [] if "--jobs" in extra else ["--jobs", "2"]
    with pytest.raises(SystemExit) as err:
        main(["table1", "gesture", "--profile", "ci", "--out", str(tmp_path), *jobs, *extra])
    assert err.value.code == 2 and message in capsys.readouterr().err


def test_parallel_pretraining_writes_every_task_once(fake_weights, tmp_path):
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-m", "prernn_lite.experiments", "pretrain",
                          "--profile", "ci", "--jobs", "2", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    runs = pd.read_csv(out / "pretrain_ci_runs.csv")
    assert sorted(zip(runs.task, runs.stream, strict=True)) == sorted(
        tuple(t.split("/")) for tasks, _ in CHAINS for t in tasks)
    assert (out / "checkpoints" / "pretrain_ci" / "actions_flow.pt").is_file()
    for prefix in ("[faces] ", "[actions] ", "[gestures] "):  # each chain's output
        assert prefix in run.stdout
    timings = pd.read_csv(out / "timings.csv")
    assert len(timings) == 3 and set(timings.experiment) == {"pretrain"}


def _append_many(path, worker):
    for i in range(20):
        append_row(path, {"worker": worker, "i": i})


def test_append_row_from_several_processes_keeps_one_header(tmp_path):
    path = tmp_path / "rows.csv"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, w)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    rows = pd.read_csv(path)
    assert list(rows.columns) == ["worker", "i"] and len(rows) == 60
    assert (rows.groupby("worker").i.apply(list) == [list(range(20))] * 3).all()


def test_the_cli_module_doctests_pass():
    """pytest's --doctest-modules skips ``__main__.py``; run its examples here."""
    import doctest

    import prernn_lite.experiments.__main__ as cli

    result = doctest.testmod(cli)
    assert result.attempted >= 5 and result.failed == 0


def test_data_root_and_weights_go_to_the_experiments_they_name(monkeypatch, tmp_path):
    seen = {}
    for name in ("table1", "gesture"):
        monkeypatch.setattr(EXPERIMENTS[name], "run",
                            lambda s, seeds, out, resume, n=name, **kw: seen.setdefault(n, s))
    main(["table1", "gesture", "--profile", "full", "--out", str(tmp_path),
          "--data-root", "faces=/d/300VW", "--data-root", "gesture=/d/nvGesture",
          "--weights", "gestures=/w/c3d.pickle", "--weights", "random"])
    assert seen["table1"].data_root == "/d/300VW" and seen["table1"].weights == "random"
    assert seen["gesture"].data_root == "/d/nvGesture"
    assert seen["gesture"].weights == "/w/c3d.pickle"
