"""The README's two set-up commands are the ones CI runs, and the code is ruff clean."""

import pathlib
import re
import subprocess

import pytest
from book_tools import notebook_tools
from book_tools import ruff as find_ruff

ROOT = pathlib.Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", setup, flags=re.S)]


def test_readme_has_exactly_two_setup_commands():
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert "jupyter-book build ." in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_commands_verbatim():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in readme_commands():
        assert command in ci_lines, f"{command!r} is not a line of .ci/run"


def test_ruff_clean():
    ruff = find_ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the [test] extra)")
    result = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chapters_share_one_code_style():
    """Every chapter's code is ``ruff format``ted with book/ruff.toml (lines that fit the
    site's column); format them with ``ruff format book``."""
    ruff = find_ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the [test] extra)")
    result = subprocess.run([ruff, "format", "--check", "book"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_run_times_come_from_the_csvs():
    assert (ROOT / "README.md").read_text() == notebook_tools().readme_with_run_times(), (
        "README run times differ from results/*.csv: run python .ci/notebooks.py readme"
    )
