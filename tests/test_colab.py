"""The Colab path: badges and setup cells for any git URL, and chapters run as in Colab.

Unit tests cover ``.ci/notebooks.py`` (badge line, setup cell, sync/check) on URLs of
every kind and ``prernn_lite.colab`` (requirements against what is installed).

The end-to-end tests simulate Colab without a network or Colab:

- an importable ``google.colab`` (a fake namespace package in a temporary folder on the
  kernel's ``PYTHONPATH``, imported at kernel start-up by an IPython startup file, as
  Colab does), whose ``output.enable_custom_widget_manager`` records that it was called;
- the repository served from a local folder through the same URL setting (its
  ``file://`` URL): a temporary git repository made from the working tree's files
  (tracked and untracked-but-not-ignored, so the current code is what is tested),
  committed there on branch ``main``;
- temporary copies of two chapters whose badge and setup cell are generated for that URL
  by ``notebooks.py``'s own ``synced``, executed by nbclient in full (``ci`` profile,
  seconds each) from a working directory outside the repository, cloning into the
  folder named by ``PRERNN_BOOK_DIR``;
- a fake ``pip`` on the same ``PYTHONPATH``, so nothing can be installed into the test's
  environment: every requirement is met there and the install step must be a no-op.

Everything lives in temporary folders removed at the end.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import nbformat
import pytest
from book_tools import notebook_tools

from prernn_lite import colab

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ("book/02_recurrent_layers.ipynb", "book/03_making_layers_recurrent.ipynb")
CELL_TIMEOUT = 300  # seconds per cell; the whole ci chapter takes seconds


tools = notebook_tools()

GITHUB_URLS = {
    "https://github.com/owner/name": "owner/name",
    "https://github.com/owner/name.git": "owner/name",
    "https://github.com/owner/name/": "owner/name",
    "http://www.github.com/owner/name": "owner/name",
    "git@github.com:owner/name.git": "owner/name",
    "git@github.com:owner/name": "owner/name",
    "ssh://git@github.com/owner/name.git": "owner/name",
}
OTHER_URLS = [
    "https://gitlab.com/owner/name.git",
    "git@gitlab.com:owner/name.git",
    "ssh://git@example.org:2222/owner/name.git",
    "https://example.org/github.com/owner/name",
    "/srv/git/prernn-book.git",
    "file:///srv/git/prernn-book.git",
    "../prernn-book",
]


# --- .ci/notebooks.py: badge and setup cell for any git URL -------------------------


@pytest.mark.parametrize(("url", "slug"), GITHUB_URLS.items())
def test_github_slug_of_github_urls(url, slug):
    assert tools.github_slug(url) == slug


@pytest.mark.parametrize("url", OTHER_URLS)
def test_no_github_slug_elsewhere(url):
    assert tools.github_slug(url) is None


@pytest.mark.parametrize("url", GITHUB_URLS)
def test_badge_opens_the_chapter_in_colab(url):
    line = tools.badge_line(ROOT / CHAPTERS[0], (url, "dev"))
    colab_url = f"https://colab.research.google.com/github/owner/name/blob/dev/{CHAPTERS[0]}"
    assert f"]({colab_url})" in line and tools.BADGE_MARK in line


@pytest.mark.parametrize("url", OTHER_URLS)
def test_no_badge_where_colab_cannot_open_the_repository(url):
    assert tools.badge_line(ROOT / CHAPTERS[0], (url, "main")) is None


@pytest.mark.parametrize("url", [*GITHUB_URLS, *OTHER_URLS])
def test_setup_cell_is_python_naming_the_url(url):
    source = tools.setup_source((url, "main"))
    ast.parse(source)
    cloned = "https://github.com/owner/name" if url in GITHUB_URLS else url
    assert f"REPO, BRANCH = {json.dumps(cloned)}, \"main\"" in source
    assert "!git" not in source and source.startswith(tools.SETUP_MARK)


@pytest.mark.parametrize("url", [next(iter(GITHUB_URLS)), *OTHER_URLS])
def test_sync_is_idempotent_and_reversible(url):
    path = ROOT / CHAPTERS[0]
    stored = nbformat.writes(nbformat.read(path, as_version=4))
    once = tools.synced(nbformat.reads(stored, as_version=4), path, (url, "main"))
    twice = tools.synced(nbformat.reads(nbformat.writes(once), as_version=4), path, (url, "main"))
    assert nbformat.writes(once) == nbformat.writes(twice)
    has_badge = tools.BADGE_MARK in once.cells[0].source
    assert has_badge == (tools.github_slug(url) is not None)
    title, blank, *_ = once.cells[0].source.splitlines()
    assert title.startswith("# ") and blank == ""
    back = tools.synced(once, path, tools.repo_parts())
    assert nbformat.writes(back) == stored, "syncing back to _config.yml's URL changes more"


@pytest.mark.parametrize("url", OTHER_URLS)
def test_check_accepts_a_chapter_without_badge(url, tmp_path):
    path = tmp_path / "chapter.ipynb"
    shutil.copy(ROOT / CHAPTERS[0], path)
    assert tools.out_of_sync([path], (url, "main")) == [f"{path}: badge or setup cell out of sync"]
    nbformat.write(tools.synced(nbformat.read(path, as_version=4), path, (url, "main")), path)
    assert tools.out_of_sync([path], (url, "main")) == []
    assert tools.BADGE_MARK not in path.read_text()


def test_the_book_is_in_sync_with_config():
    assert tools.out_of_sync() == [], "run: python .ci/notebooks.py sync"


# --- prernn_lite.colab: requirements against what is installed ----------------------


def test_requirements_come_from_pyproject():
    import tomllib

    pyproject = ROOT / "pyproject.toml"
    expected = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert colab.project_requirements(pyproject) == expected
    assert colab._dependencies_without_toml(pyproject.read_text()) == expected


@pytest.mark.parametrize(
    ("version", "requirement", "ok"),
    [
        ("7.7.1", "ipywidgets>=8.0", False),
        ("8.0", "ipywidgets>=8.0", True),
        ("2.9.0+cu126", "torch>=2.9", True),
        ("2.8.0+cu126", "torch>=2.9", False),
        ("4.8.0.76", "opencv-python-headless>=4.8.0.76", True),
        ("4.8.0.74", "opencv-python-headless>=4.8.0.76", False),
        ("1.0", "jupyter-book>=1.0,<2", True),
        ("2.0.1", "jupyter-book>=1.0,<2", False),
        ("1.4.2", "x~=1.4", True),
        ("2.0", "x~=1.4", False),
        ("1.4.2", "x==1.4.*", True),
        ("1.5", "x!=1.5", False),
        ("3.0", "x", True),
    ],
)
def test_satisfied_with_and_without_packaging(version, requirement, ok):
    assert colab.satisfied(version, requirement) is ok
    assert colab._satisfied_simply(version, requirement) is ok


def test_unmet_keeps_the_ranges_of_missing_or_old_requirements():
    have = {"torch": "2.9.0+cu126", "ipywidgets": "7.7.1", "numpy": "2.0.2"}.get
    wanted = ["torch>=2.9", "ipywidgets>=8.0", "numpy>=1.24", "tqdm>=4.60"]
    assert colab.unmet(wanted, have) == ["ipywidgets>=8.0", "tqdm>=4.60"]
    assert colab.unmet(['numpy>=9; python_version < "3"'], have) == []


def test_prepare_runtime_installs_exactly_what_is_missing(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = [\n'
        '    "ipywidgets>=1.0",\n    "no-such-distribution-xyz>=1.0",\n'
        '    "ipywidgets-x>=1.0",\n]\n'
    )
    installed, said = [], []
    result = colab.prepare_runtime(tmp_path, installer=installed.append, out=said.append)
    missing = ["no-such-distribution-xyz>=1.0", "ipywidgets-x>=1.0"]
    assert result == missing and installed == [missing]
    assert said[0].startswith("installing 2 of 3 requirements: no-such-distribution-xyz>=1.0")
    assert "(have none)" in said[0]


def test_prepare_runtime_installs_nothing_when_all_are_met():
    count = len(colab.project_requirements(ROOT / "pyproject.toml"))
    installed, said = [], []
    assert colab.prepare_runtime(ROOT, installer=installed.append, out=said.append) == []
    assert installed == []
    assert said == [f"requirements: all {count} satisfied, nothing installed"]


def test_widgets_are_left_alone_outside_colab():
    assert "google.colab" not in sys.modules
    assert colab.in_colab() is False and colab.enable_colab_widgets() is False


# --- end to end: chapters run through their setup cell in a simulated Colab ---------

FAKE_OUTPUT = """\
import os
import pathlib


def enable_custom_widget_manager():
    pathlib.Path(os.environ["FAKE_COLAB_RECORD"]).write_text("enabled")
"""
FAKE_PIP = """\
import os
import pathlib
import sys

pathlib.Path(os.environ["FAKE_PIP_RECORD"]).write_text(" ".join(sys.argv))
sys.exit("pip must not run in this test: every requirement is met here")
"""
PROBE = "import json, os, prernn_lite\nprint(json.dumps([os.getcwd(), prernn_lite.__file__]))"


def _git(*args: str, cwd: pathlib.Path) -> str:
    """Run git in ``cwd`` (a temporary repository) and return its output."""
    env = dict(os.environ, GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.org",
               GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.org")
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def served():
    """A git repository of the working tree's current files, on branch ``main``, in a
    temporary folder: what the chapters clone, through a local path as URL."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    with tempfile.TemporaryDirectory(prefix="prernn-served-") as tmp:
        repo = pathlib.Path(tmp) / "prernn-book"
        for rel in filter(None, listed.split("\0")):
            source = ROOT / rel
            if source.is_file():  # a tracked file may be deleted in the working tree
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, repo / rel)
        _git("init", "-q", "-b", "main", cwd=repo)
        _git("add", "-A", cwd=repo)
        _git("commit", "-q", "--no-verify", "-m", "the working tree", cwd=repo)
        yield repo


@pytest.fixture
def fake_colab(monkeypatch):
    """A kernel environment like Colab's, in a temporary folder: ``google.colab`` imported
    at start-up, a fake ``pip``, the clone target in ``PRERNN_BOOK_DIR`` and a working
    directory outside the repository. Yields the folder's paths."""
    with tempfile.TemporaryDirectory(prefix="prernn-colab-") as tmp:
        tmp = pathlib.Path(tmp)
        site = tmp / "site"
        (site / "google" / "colab").mkdir(parents=True)  # ``google``: a namespace package
        (site / "google" / "colab" / "__init__.py").write_text("")
        (site / "google" / "colab" / "output.py").write_text(FAKE_OUTPUT)
        (site / "pip").mkdir()
        (site / "pip" / "__init__.py").write_text("")
        (site / "pip" / "__main__.py").write_text(FAKE_PIP)
        startup = tmp / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-colab.py").write_text("import google.colab  # as Colab does\n")
        paths = {name: tmp / name for name in ("content", "work")}
        paths["work"].mkdir()
        paths["book"] = paths["content"] / "prernn-book"
        paths["widgets"], paths["pip"] = tmp / "widget-manager", tmp / "pip-ran"
        pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
        monkeypatch.setenv("PYTHONPATH", pythonpath)
        monkeypatch.setenv("IPYTHONDIR", str(tmp / "ipython"))
        monkeypatch.setenv("PRERNN_BOOK_DIR", str(paths["book"]))
        monkeypatch.setenv("FAKE_COLAB_RECORD", str(paths["widgets"]))
        monkeypatch.setenv("FAKE_PIP_RECORD", str(paths["pip"]))
        monkeypatch.setenv("PROFILE", "ci")
        monkeypatch.delenv("MPLBACKEND", raising=False)
        yield paths


def _chapter_for(url: str, chapter: str, workdir: pathlib.Path) -> nbformat.NotebookNode:
    """A chapter with its badge and setup cell generated for ``url``, plus a last cell
    printing the working directory and where ``prernn_lite`` was imported from."""
    nb = tools.synced(nbformat.read(ROOT / chapter, as_version=4), ROOT / chapter, (url, "main"))
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    nbformat.write(nb, workdir / pathlib.Path(chapter).name)
    return nb


def _execute(nb: nbformat.NotebookNode, workdir: pathlib.Path) -> None:
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


NOTHING_INSTALLED = (
    f"requirements: all {len(colab.project_requirements(ROOT / 'pyproject.toml'))} satisfied, "
    "nothing installed"
)


def test_chapters_run_in_simulated_colab(served, fake_colab):
    for chapter in CHAPTERS:
        nb = _chapter_for(served.as_uri(), chapter, fake_colab["work"])
        _execute(nb, fake_colab["work"])
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert _stdout(setup) == f"{NOTHING_INSTALLED}\nprofile: ci\n"
        cwd, module = json.loads(_stdout(nb.cells[-1]))
        assert pathlib.Path(cwd) == fake_colab["book"] / "book"
        assert pathlib.Path(module).is_relative_to(fake_colab["book"]), module
        assert tools.BADGE_MARK not in nb.cells[0].source  # not github.com: no badge
    assert (fake_colab["book"] / ".git").is_dir()
    assert fake_colab["widgets"].read_text() == "enabled"
    assert not fake_colab["pip"].exists(), fake_colab["pip"].read_text()


@pytest.mark.parametrize("branch", ["main", "no-such-branch"])
def test_a_failed_clone_says_what_to_fix(served, fake_colab, branch):
    from nbclient.exceptions import CellExecutionError

    # a path to nothing, or a file:// URL of a repository without that branch
    url = str(served.parent / "no-such-repository.git") if branch == "main" else served.as_uri()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(tools.setup_source((url, branch))),
        nbformat.v4.new_code_cell('print("went on")'),
    ])
    with pytest.raises(CellExecutionError) as failure:
        _execute(nb, fake_colab["work"])
    error, message = failure.value.ename, failure.value.evalue
    assert error == "RuntimeError", (error, message)  # not chdir's FileNotFoundError
    assert message.startswith(f"could not clone branch '{branch}' of {url}:\n")
    assert "\nfatal: " in message  # git's own message
    assert "repository.url" in message and "_config.yml" in message
    assert "python .ci/notebooks.py sync" in message
    assert _stdout(nb.cells[1]) == "" and not fake_colab["book"].exists()
