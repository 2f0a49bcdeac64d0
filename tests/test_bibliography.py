"""``book/references.bib`` and the book's citations agree, both ways.

The References page lists every entry of the ``.bib`` (``:all:``), so an entry that no page
cites is a reference the reader is never pointed to; a citation of a key the ``.bib`` lacks
breaks the build (``jupyter-book build . -W``) and is caught here first, without a build.
Citations are MyST roles in markdown, ``{cite:p}`key` ``, ``{cite:t}`a,b` ``, in the
markdown files and the notebooks' markdown cells of ``_toc.yml``.
"""

from __future__ import annotations

import json
import pathlib
import re

from book_tools import notebook_tools

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
ENTRY = re.compile(r"^\s*@(\w+)\s*\{\s*([^,\s]+)\s*,", re.M)
CITE = re.compile(r"\{(?:foot)?cite(?::\w+)?\}`([^`]+)`")


def _toc_files() -> list[pathlib.Path]:
    found = []
    for name in notebook_tools().toc_files():
        found += [p for p in (ROOT / f"{name}.md", ROOT / f"{name}.ipynb") if p.exists()]
    return found


def bib_keys(text: str) -> list[str]:
    """Entry keys of a ``.bib`` text, in order (``@comment``/``@string``/``@preamble`` aside)."""
    return [key for kind, key in ENTRY.findall(text)
            if kind.lower() not in ("comment", "string", "preamble")]


def markdown_of(path: pathlib.Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def citations(text: str) -> list[str]:
    """Keys cited in MyST markdown ``text``."""
    return [key.strip() for keys in CITE.findall(text) for key in keys.split(",") if key.strip()]


def mismatches(bib_text: str, pages: dict[str, str]) -> list[str]:
    """Duplicate, uncited and missing keys, one line each; ``pages``: name -> markdown."""
    keys = bib_keys(bib_text)
    problems = [f"{key}: in references.bib {keys.count(key)} times"
                for key in sorted(set(keys)) if keys.count(key) > 1]
    cited: dict[str, list[str]] = {}
    for name, text in pages.items():
        for key in citations(text):
            cited.setdefault(key, []).append(name)
    problems += [f"{key}: cited by {', '.join(sorted(set(where)))}, not in references.bib"
                 for key, where in sorted(cited.items()) if key not in keys]
    problems += [f"{key}: in references.bib, cited nowhere in the book"
                 for key in keys if key not in cited]
    return problems


def test_every_citation_has_an_entry_and_every_entry_is_cited():
    pages = {str(p.relative_to(ROOT)): markdown_of(p) for p in _toc_files()}
    assert pages and any(citations(t) for t in pages.values()), "found no citation at all"
    problems = mismatches(BIB.read_text(encoding="utf-8"), pages)
    assert not problems, "book/references.bib vs the citations:\n  " + "\n  ".join(problems)


def test_the_check_sees_each_mismatch():
    bib = "@article{a2020,\n title={A}}\n@inproceedings{ b2021 ,\n title={B}}\n@comment{x,}\n"
    assert bib_keys(bib) == ["a2020", "b2021"]
    assert citations("as {cite:t}`a2020` shows ({cite:p}`a2020, b2021`; {cite}`c`)") == [
        "a2020", "a2020", "b2021", "c"]
    assert mismatches(bib, {"p.md": "{cite:p}`a2020,b2021`"}) == []
    assert mismatches(bib, {"p.md": "{cite:p}`a2020`"}) == [
        "b2021: in references.bib, cited nowhere in the book"]
    assert mismatches(bib, {"p.md": "{cite:p}`a2020,b2021,zz`"}) == [
        "zz: cited by p.md, not in references.bib"]
    assert mismatches(bib + "@misc{a2020,}\n", {"p.md": "{cite:p}`a2020,b2021`"}) == [
        "a2020: in references.bib 2 times"]
