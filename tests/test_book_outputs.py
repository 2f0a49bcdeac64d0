"""The stored outputs of every chapter read as a lesson: no stderr, no warnings, no bars.

A chapter's outputs are what the site shows (the build never executes). For every notebook
of ``_toc.yml`` this reads them as stored, no build needed, and fails on

- a stream written to ``stderr`` (the site prints it on a red background);
- an ``error`` output (a traceback);
- text that shows a Python warning (``RuntimeWarning: ...``, ``UserWarning`` ...);
- a progress bar: ``tqdm``'s ``42%|████  | 4/10 [00:01<00:02, ...]``, as text or as the
  ``text/plain`` of a notebook widget (``tqdm.auto`` in Jupyter).

Cure the cause (the library's switch that silences bars, an operation that does not
warn), not the output: every stored output is re-made by ``.ci/notebooks.py execute``.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from book_tools import notebook_tools

ROOT = pathlib.Path(__file__).resolve().parents[1]

WARNING = re.compile(r"\b[A-Z]\w*Warning\b")  # RuntimeWarning, UserWarning, ...
BAR = re.compile(r"\d+%\|"  # tqdm: "42%|"
                 r"|\|\s*\d+/\d+ \[\d+:\d+"  # "| 4/10 [00:01"
                 r"|[█▏▎▍▌▋▊▉]{2,}")  # bar blocks
TEXT_TYPES = ("text/plain", "text/html", "text/markdown")


def _chapters() -> list[pathlib.Path]:
    return notebook_tools().chapters()


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def output_problems(notebook: dict) -> list[str]:
    """What a reader should not see in ``notebook``'s stored outputs, one line each."""
    problems: list[str] = []
    number = 0
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        number += 1
        first = _text(cell["source"]).strip().split("\n")[0][:60]
        where = f"code cell {number} (cell {index} of the file, {first!r})"
        for output in cell.get("outputs", []):
            kind = output["output_type"]
            if kind == "error":
                problems.append(f"{where}: an error output ({output.get('ename')})")
                continue
            if kind == "stream":
                texts = [_text(output.get("text", ""))]
                if output.get("name") == "stderr":
                    problems.append(f"{where}: output on stderr: {texts[0].strip()[:120]!r}")
            else:
                data = output.get("data", {})
                texts = [_text(data[t]) for t in TEXT_TYPES if t in data]
            for text in texts:
                if match := WARNING.search(text):
                    line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n")[0]
                    problems.append(f"{where}: a warning: {line.strip()[:160]!r}")
                if match := BAR.search(text):
                    line = text[text.rfind("\n", 0, match.start()) + 1:].split("\n")[0]
                    problems.append(f"{where}: a progress bar: {line.strip()[:120]!r}")
    counts = {p: problems.count(p) for p in problems}  # one line per kind, with its count
    return [p if n == 1 else f"{p} (x{n})" for p, n in counts.items()]


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_no_stderr_warnings_or_progress_bars(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    problems = output_problems(notebook)
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_the_check_sees_each_problem():
    """Each kind of problem, planted in a one-cell notebook, is found (and clean text not)."""
    def notebook(*outputs):
        return {"cells": [{"cell_type": "code", "source": "run()", "outputs": list(outputs)}]}

    stream = {"output_type": "stream", "name": "stdout"}
    planted = {
        "stderr": {"output_type": "stream", "name": "stderr", "text": "optical flow: tvl1\n"},
        "error": {"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []},
        "warning": {**stream, "text": "<frozen runpy>:128: RuntimeWarning: 'x' found in "
                                      "sys.modules\nflow: computed 2\n"},
        "text bar": {**stream, "text": "\rflow: 100%|██████████| 4/4 [00:00<00:00, 167video/s]"},
        "widget bar": {"output_type": "display_data", "metadata": {}, "data": {
            "application/vnd.jupyter.widget-view+json": {"model_id": "0"},
            "text/plain": ["epoch 1:   0%|          | 0/1 [00:00<?, ?it/s]"]}},
    }
    for name, output in planted.items():
        assert output_problems(notebook(output)), f"missed: {name}"
    clean = {**stream, "text": "accuracy 93% | loss 0.12 | 4/4 folds\nno Warnings seen\n"}
    assert not output_problems(notebook(clean)), "flagged clean text"


def marker_comments(notebook: dict) -> list[str]:
    """Code cells that carry an nbval marker as a comment (``# NBVAL_...``): on the page
    it is plumbing; nbval reads the same marker as a cell tag (``nbval-ignore-output``)."""
    return [f"code cell {k}: {line.strip()}"
            for k, cell in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code")
            for line in "".join(cell["source"]).splitlines()
            if line.strip().startswith("# NBVAL")]


@pytest.mark.parametrize("path", _chapters(), ids=lambda p: p.stem)
def test_nbval_markers_are_tags(path):
    found = marker_comments(json.loads(path.read_text(encoding="utf-8")))
    assert not found, f"{path.name}: use the cell tag instead:\n  " + "\n  ".join(found)


def test_marker_check_sees_a_comment():
    cell = {"cell_type": "code", "source": ["# NBVAL_IGNORE_OUTPUT\n", "widget"]}
    assert marker_comments({"cells": [cell]}) == ["code cell 0: # NBVAL_IGNORE_OUTPUT"]
