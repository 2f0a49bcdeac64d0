"""``python -m prernn_lite.experiments``: chains, ``--jobs`` and its refusals, file locking."""

import multiprocessing
import os
import subprocess
import sys

import pandas as pd
import pytest

from prernn_lite.experiments import EXPERIMENTS
from prernn_lite.experiments.__main__ import AFTER_CHAINS, CHAINS, chains_of, main
from prernn_lite.experiments.results import append_row


def test_every_experiment_is_in_exactly_one_chain():
    chained = [n for _, chain in CHAINS for n in chain] + ["pretrain", *AFTER_CHAINS]
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


def test_a_task_named_alone_pretrains_all_its_streams(fake_weights, tmp_path):
    assert main(["pretrain", "--profile", "ci", "--tasks", "actions", "--out",
                 str(tmp_path)]) == 0
    runs = pd.read_csv(tmp_path / "pretrain_ci_runs.csv")
    assert list(zip(runs.task, runs.stream, strict=True)) == [("actions", "rgb"),
                                                              ("actions", "flow")]


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
    assert rows.groupby("worker").i.apply(list).tolist() == [list(range(20))] * 3


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


@pytest.fixture
def ran(monkeypatch):
    """Every experiment's run replaced by a record of its settings (nothing trains)."""
    seen = {}
    for name in EXPERIMENTS:
        monkeypatch.setattr(EXPERIMENTS[name], "run",
                            lambda s, seeds, out, resume, n=name, **kw: seen.setdefault(n, s))
    return seen


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as err:
        main(argv)
    assert err.value.code == 2
    return capsys.readouterr().err


def test_out_must_be_a_folder_that_can_be_written(ran, capsys, tmp_path):
    afile = tmp_path / "results.csv"
    afile.write_text("")
    assert f"--out {afile}: is a file, not a folder" in _usage_error(
        ["table1", "--out", str(afile)], capsys)
    under = afile / "out"
    assert f"--out {under}: cannot create or write" in _usage_error(
        ["table1", "--out", str(under)], capsys)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert f"--out {locked}: cannot create or write" in _usage_error(
            ["table1", "--out", str(locked)], capsys)
    assert ran == {}
    fresh = tmp_path / "new" / "results"  # a missing folder is created
    assert main(["table1", "--out", str(fresh)]) == 0 and set(ran) == {"table1"}
    assert (fresh / "timings.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["table1", "--data-root", "/d/300VW"],
     "--data-root is read by --profile full only (ci and lite run on generated stand-ins)"),
    (["gesture", "--profile", "lite", "--weights", "/w/c3d.pickle"],
     "--weights is read by --profile full only"),
    (["gesture", "--profile", "full", "--data-root", "/d", "--weights", "/w",
      "--data-root", "table1=/d/300VW"],
     "--data-root table1=/d/300VW: experiment 'table1' is not being run (gesture)"),
    (["table1", "table3", "--profile", "full", "--data-root", "/d",
      "--weights", "gestures=/w/c3d.pickle"],
     "--weights gestures=/w/c3d.pickle: no experiment of task 'gestures' is being run "
     "(table1, table3)"),
    (["table1", "--profile", "full", "--data-root", "/d", "--data-root", "faces=/f"],
     "--data-root /d: overridden by a more specific or later --data-root"),
])
def test_path_options_nobody_reads_are_usage_errors(argv, message, ran, capsys, tmp_path):
    out = tmp_path / "out"
    assert message in _usage_error([*argv, "--out", str(out)], capsys)
    assert ran == {} and not out.exists()  # before anything runs or is written


def test_all_means_every_experiment_that_offers_the_profile(ran, capsys, tmp_path):
    assert main(["all", "--profile", "full", "--out", str(tmp_path)]) == 0
    assert set(ran) == set(EXPERIMENTS) - {"pretrain", "table3_lr", "gesture_lr"}
    assert all(s.profile == "full" for s in ran.values())
    printed = capsys.readouterr().out
    assert "leaving out pretrain (PretrainSettings has no 'full' profile (at full scale" in printed
    assert "leaving out table3_lr (Table3LrSettings has no 'full' profile" in printed
    assert "leaving out gesture_lr (GestureLrSettings has no 'full' profile" in printed
    assert set(pd.read_csv(tmp_path / "timings.csv").experiment) == set(ran)


@pytest.mark.parametrize("name, why", [("pretrain", "ImageNet's and Sports-1M's"),
                                       ("table3_lr", "paper's learning rates"),
                                       ("gesture_lr", "paper's learning rate (3e-3)")])
def test_naming_an_experiment_without_the_profile_is_a_usage_error(name, why, ran, capsys,
                                                                   tmp_path):
    err = _usage_error([name, "table1", "--profile", "full", "--out", str(tmp_path / "o")],
                       capsys)
    assert f"experiment {name!r} does not offer --profile full" in err and why in err
    assert ran == {} and not (tmp_path / "o").exists()


class _Done:
    """A finished subprocess (``run_parallel`` reads ``poll``, ``wait`` and ``args``)."""

    def __init__(self, args):
        self.args = args

    def poll(self):
        return 0

    def wait(self):
        return 0


def test_jobs_gives_each_chain_only_its_own_path_options(ran, monkeypatch, tmp_path):
    import prernn_lite.experiments.__main__ as cli

    started = []
    monkeypatch.setattr(cli, "_start", lambda names, prefix, tasks: started.append(names)
                        or _Done([sys.executable, "-m", "cli", *names]))
    main(["all", "--profile", "full", "--jobs", "2", "--out", str(tmp_path),
          "--data-root", "faces=/d/300VW", "--data-root", "actions=/d/ucf",
          "--data-root", "gesture=/d/nv", "--weights", "random",
          "--weights", "gestures=/w/c3d.pickle"])
    assert [argv[:argv.index("--profile")] for argv in started] == [
        ["face_lr", "table1", "table2", "init", "gating"], ["table3"], ["gesture"]]
    for argv in started:  # each chain's command line passes the checks and means the same
        assert main(argv) == 0
    ran.pop("claims", None)  # run after the chains, in this process: no path options
    assert {n: (s.data_root, s.weights) for n, s in ran.items()} == {
        **{n: ("/d/300VW", "random") for n in ("face_lr", "table1", "table2", "init", "gating")},
        "table3": ("/d/ucf", "random"), "gesture": ("/d/nv", "/w/c3d.pickle")}


def test_set_changes_a_setting_of_the_experiments_that_have_it(ran, tmp_path):
    """``--set`` reaches the settings as the field's type; ``NAME.`` picks one experiment."""
    main(["gesture", "table1", "--profile", "full", "--out", str(tmp_path),
          "--data-root", "/d", "--weights", "random",
          "--set", "train_list=/d/my_train.lst", "--set", "gesture.test_list=/d/t.lst",
          "--set", "n_test=2", "--set", "table1.lrs=1e-4,1e-3", "--set", "augment=false"])
    g, t = ran["gesture"], ran["table1"]
    assert (g.train_list, g.test_list, g.n_test, g.augment) == (
        "/d/my_train.lst", "/d/t.lst", 2, False)
    assert t.n_test == 2 and t.lrs == (1e-4, 1e-3)


@pytest.mark.parametrize("argv, message", [
    (["gesture", "--set", "train_list=/d/a.lst"],
     "--set train_list=/d/a.lst: 'train_list' is read by --profile full only, got --profile ci"),
    (["table1", "--profile", "full", "--set", "train_list=/d/a.lst"],
     "no experiment being run (table1) has a setting 'train_list'"),
    (["gesture", "--set", "max_epochs=ten"], "--set max_epochs=ten: not a valid 'max_epochs'"),
    (["gesture", "--set", "augment=maybe"], "expected true or false, got 'maybe'"),
    (["gesture", "--set", "table1.n_test=3"], "experiment 'table1' is not being run (gesture)"),
    (["gesture", "--set", "data_root=/d"], "--set data_root=/d: use --data-root"),
    (["gesture", "--set", "epochs"], "--set epochs: expected FIELD=VALUE"),
])
def test_set_refuses_what_no_experiment_reads(argv, message, ran, capsys, tmp_path):
    out = tmp_path / "out"
    assert message in _usage_error([*argv, "--out", str(out)], capsys)
    assert ran == {} and not out.exists()


def test_jobs_passes_each_set_to_the_chains_it_changes(ran, monkeypatch, tmp_path):
    import prernn_lite.experiments.__main__ as cli

    started = []
    monkeypatch.setattr(cli, "_start", lambda names, prefix, tasks: started.append(names)
                        or _Done([sys.executable, "-m", "cli", *names]))
    main(["table1", "gesture", "--profile", "full", "--jobs", "2", "--out", str(tmp_path),
          "--data-root", "/d", "--weights", "random", "--set", "train_list=/d/a.lst",
          "--set", "n_train=4"])
    for argv in started:
        assert main(argv) == 0
    assert ran["gesture"].train_list == "/d/a.lst" and ran["gesture"].n_train == 4
    assert ran["table1"].n_train == 4
