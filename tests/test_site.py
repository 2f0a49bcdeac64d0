"""The built site: every page renders in headless Chromium, links and images resolve.

Runs on ``_build/html`` made by the README's first command (``jupyter-book build .``),
which ``.ci/run`` runs before the tests. Checks, for every page of the table of contents:

- the page exists and every internal link (``href``) and image (``src``) points to a
  file that exists, and every ``#anchor`` to another page exists there;
- no stored output shows a Python traceback;
- headless Chromium renders it (``--dump-dom`` after the scripts ran): the math was
  typeset by the site's own MathJax (no CDN) and the page has its title;
- a screenshot of each page is kept in ``_build/screenshots/`` to look at.

Without a build or without Chromium the tests skip, except under CI (``CI=true``),
where both are required.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _notebook_tools():
    """``.ci/notebooks.py``, the book tooling that owns the reading of ``_toc.yml``."""
    spec = importlib.util.spec_from_file_location("notebooks", ROOT / ".ci" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Page(HTMLParser):
    """Collects links, image sources and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def parse(path: pathlib.Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def require_site():
    if not (SITE / "index.html").exists():
        if IN_CI:
            pytest.fail("_build/html is missing: .ci/run builds the book before the tests")
        pytest.skip("book not built; run: jupyter-book build .")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    if IN_CI:
        pytest.fail("Chromium is required under CI (.ci/run installs it)")
    pytest.skip("Chromium not installed (apt-get install chromium)")


PAGES = _notebook_tools().toc_files()


@pytest.mark.parametrize("page", PAGES)
def test_links_images_and_no_tracebacks(page):
    require_site()
    html = SITE / f"{page}.html"
    assert html.exists(), f"{page}: no page {html.relative_to(ROOT)}"
    parsed = parse(html)
    problems = []
    for src in parsed.images:
        url = urlparse(src)
        if url.scheme in ("http", "https"):
            problems.append(f"image from the network: {src}")
        elif url.scheme != "data" and not (html.parent / unquote(url.path)).exists():
            problems.append(f"missing image: {src}")
    for href in parsed.links:
        url = urlparse(href)
        if url.scheme or href.startswith(("mailto:", "javascript:")):
            continue
        target = (html.parent / unquote(url.path)).resolve() if url.path else html
        if not target.exists():
            problems.append(f"broken link: {href}")
        elif url.fragment and target.suffix == ".html":
            if url.fragment not in parse(target).ids:
                problems.append(f"broken anchor: {href}")
    text = html.read_text(encoding="utf-8")
    if "Traceback (most recent call last)" in text or re.search(r"\w+Error</span>:", text):
        problems.append("a stored output shows a Python traceback")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_in_chromium(page):
    require_site()
    browser = chromium()
    html = SITE / f"{page}.html"
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{page.replace('/', '_')}.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--virtual-time-budget=8000", "--window-size=1280,2000"]
    with tempfile.TemporaryDirectory() as profile_dir:
        flags.append(f"--user-data-dir={profile_dir}")
        dom = subprocess.run([browser, *flags, "--dump-dom", html.as_uri()], capture_output=True,
                             text=True, timeout=120).stdout
        subprocess.run([browser, *flags, f"--screenshot={shot}", html.as_uri()],
                       capture_output=True, timeout=120)
    assert "<title>" in dom, f"{page}: Chromium returned no document"
    source = html.read_text(encoding="utf-8")
    if 'class="math' in source:
        assert "mjx-container" in dom, f"{page}: math was not typeset (MathJax did not run)"
        assert "<mjx-merror" not in dom, f"{page}: MathJax reported an error"
    assert shot.exists() and shot.stat().st_size > 10_000, f"{page}: no screenshot"
