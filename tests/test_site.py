"""The built site: every page renders in headless Chromium, links and images resolve.

Runs on ``_build/html`` made by the README's first command (``jupyter-book build .``),
which ``.ci/run`` runs before the tests. Checks, for every page of the table of contents:

- the page exists and every internal link (``href``) and image (``src``) points to a
  file that exists, and every ``#anchor`` to another page exists there;
- no stored output shows a Python traceback;
- headless Chromium renders it (``--dump-dom`` after the scripts ran): the math was
  typeset by the site's own MathJax (no CDN) and the page has its title;
- a screenshot of each page is kept in ``_build/screenshots/`` to look at;

A second Chromium run opens a temporary copy of each page with :data:`PROBE` injected at
the top of its ``<head>`` (network blocked, fresh profile: a first visit). The probe
records JavaScript errors (uncaught exceptions, including a script that does not parse;
rejected promises; ``console.error``; files of the site that fail to load) and, once the
page has loaded, MathJax has typeset and the fonts are in, opens every ``<details>`` and
toggle (what a reader can open is measured open), measures, and writes its findings into
the DOM, which ``--dump-dom`` returns. Chromium's own console log
(``--enable-logging=stderr``) is read as well. Checks, for every page:

- no JavaScript error;
- exactly one search box is visible (pydata-sphinx-theme >= 0.17 adds a second in a top
  bar unless ``navbar_persistent`` is set; ``_config.yml``);
- nothing is wider than the article's column: an element sticking out of it, content cut
  off by a box that hides its overflow, a horizontally scrolling box (the theme wraps
  outputs in one) taller than a screen, whose scrollbar is out of sight while the reader
  sees the table cut at the column's edge, and an image drawn much wider than the
  column's width, shown shrunk to under 60 % (:data:`MIN_SCALE`), its text too small to read.

Without a build or without Chromium the tests skip, except under CI (``CI=true``),
where both are required.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import pytest
from book_tools import notebook_tools

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"


class Page(HTMLParser):
    """Collects links, image sources and element ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.images: list[str] = []
        self.loads: list[str] = []  # scripts, stylesheets and frames the page loads
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag in ("script", "iframe") and attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or "") and attrs.get("href"):
            self.loads.append(attrs["href"])


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


PAGES = notebook_tools().toc_files()
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--virtual-time-budget=8000", "--window-size=1280,2000")


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
    flags = list(FLAGS)
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


# ---------------------------------------------------------------------------------------
# The probe: a script run inside each page by Chromium (see the module docstring).

READING_HEIGHT = 900  # px: a laptop screen; a sideways-scrolling box taller hides its bar
# an image shown at less than MIN_SCALE of its drawn width is too small to read:
# matplotlib's 10-pt text at the inline 100 dpi is 14 px, at 60 % it is 8 px
MIN_SCALE = 0.6
PROBE = r"""
(function () {
  var READING_HEIGHT = @READING_HEIGHT@, MIN_SCALE = @MIN_SCALE@;
  var errors = [];
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) {
      errors.push({kind: "load", url: t.src || t.href});
    } else {
      errors.push({kind: "js", text: (e.message || "error") + " (" + (e.filename || "") +
                   ":" + (e.lineno || 0) + ")"});
    }
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    errors.push({kind: "js", text: "unhandled promise rejection: " + String(e.reason)});
  });
  var consoleError = console.error;
  console.error = function () {
    errors.push({kind: "js", text: "console.error: " +
                 Array.prototype.map.call(arguments, String).join(" ")});
    return consoleError.apply(console, arguments);
  };
  function describe(el) {
    var s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    if (typeof el.className === "string" && el.className.trim())
      s += "." + el.className.trim().split(/\s+/).slice(0, 3).join(".");
    var up = el.parentElement;
    while (up && !up.id) up = up.parentElement;
    if (up) s += " in #" + up.id;
    if (el.tagName === "TABLE") s += " (" + el.rows.length + " rows)";
    return s;
  }
  function shown(el) {
    if (el.closest("mjx-assistive-mml")) return false;  // MathJax's copy for screen readers
    if (!el.getClientRects().length) return false;
    var r = el.getBoundingClientRect();
    return r.width >= 1 && r.height >= 1 && getComputedStyle(el).visibility !== "hidden";
  }
  function measure() {
    var out = {errors: errors, search: [], overflow: [], column: null};
    var boxes = Array.prototype.filter.call(document.querySelectorAll(
      ".search-button-field, form.bd-search, input[type=search]"), shown);
    out.search = boxes.filter(function (el) {
      return !boxes.some(function (o) { return o !== el && o.contains(el); });
    }).map(describe);
    var article = document.querySelector("article.bd-article");
    if (article) {
      var ar = article.getBoundingClientRect(), ast = getComputedStyle(article);
      var left = ar.left + parseFloat(ast.paddingLeft);
      var right = ar.right - parseFloat(ast.paddingRight);
      out.column = right - left;
      var found = [];
      article.querySelectorAll("*").forEach(function (el) {
        if (!shown(el) || el.closest(".margin, .sidebar, .full-width")) return;
        var r = el.getBoundingClientRect();
        if (el.tagName === "IMG" && el.naturalWidth * MIN_SCALE > right - left) {
          found.push({el: el, text: "an image drawn " + el.naturalWidth + " px wide, shown " +
                      Math.round(r.width) + " px wide (" +
                      Math.round(100 * r.width / el.naturalWidth) + " %)"});
        }
        var past = Math.max(r.right - right, left - r.left);
        if (past <= 2) return;
        var box = el.parentElement;  // the nearest box, inside the article, that clips it
        while (box && box !== article && getComputedStyle(box).overflowX === "visible")
          box = box.parentElement;
        if (box && box !== article) {
          var br = box.getBoundingClientRect(), how = getComputedStyle(box).overflowX;
          if (br.left >= left - 2 && br.right <= right + 2) {
            if (how !== "auto" && how !== "scroll") {
              found.push({el: box, text: "cuts off its content (overflow-x " + how + "): " +
                          Math.round(box.scrollWidth) + " px of content in " +
                          Math.round(br.width) + " px"});
            } else if (br.height > READING_HEIGHT && box.scrollWidth > box.clientWidth + 2) {
              found.push({el: box, text: "scrolls sideways (" + Math.round(box.scrollWidth) +
                          " px of content in " + Math.round(br.width) + " px) but is " +
                          Math.round(br.height) + " px tall: its scrollbar is out of sight, " +
                          "the reader sees it cut off"});
            }
            return;
          }
        }
        found.push({el: el, text: "wider than the column: " + Math.round(r.width) +
                    " px wide, " + Math.round(past) + " px beyond the " +
                    Math.round(right - left) + " px column"});
      });
      found.forEach(function (f) {
        var outer = found.some(function (o) { return o.el !== f.el && o.el.contains(f.el); });
        var line = describe(f.el) + ": " + f.text;
        if (!outer && out.overflow.indexOf(line) < 0) out.overflow.push(line);
      });
    }
    var pre = document.createElement("pre");
    pre.id = "site-probe";
    pre.hidden = true;
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }
  window.addEventListener("load", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    document.querySelectorAll(".toggle-hidden").forEach(function (d) {
      d.classList.remove("toggle-hidden");
    });
    var waits = [];
    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
      waits.push(MathJax.startup.promise);
    if (document.fonts && document.fonts.ready) waits.push(document.fonts.ready);
    var later = function () { setTimeout(measure, 500); };
    Promise.all(waits).then(later, later);
  });
})();
""".replace("@READING_HEIGHT@", str(READING_HEIGHT)).replace("@MIN_SCALE@", str(MIN_SCALE))
CONSOLE = re.compile(r':CONSOLE(?::\d+|\(\d+\))?\] "(.*)", source: (\S*) \((\d+)\)')


def probe_html(html: pathlib.Path, source: str | None = None) -> dict:
    """Open ``html`` (or ``source`` saved next to it) with :data:`PROBE` in Chromium.

    Returns the probe's findings plus ``console``: Chromium's console lines, as
    ``(message, source, line)``.
    """
    browser = chromium()
    text = html.read_text(encoding="utf-8") if source is None else source
    assert "<head>" in text, f"{html.name}: no <head> to put the probe in"
    text = text.replace("<head>", f"<head><script>{PROBE}</script>", 1)
    # next to the page, so that its relative links (_static/...) resolve
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=html.parent, prefix=".probe-",
                                     suffix=".html", delete=False) as copy:
        copy.write(text)
    copy_path = pathlib.Path(copy.name)
    try:
        with tempfile.TemporaryDirectory() as profile_dir:
            run = subprocess.run(
                [browser, *FLAGS, f"--user-data-dir={profile_dir}",
                 "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: the same offline or not
                 "--enable-logging=stderr", "--v=0", "--dump-dom", copy_path.as_uri()],
                capture_output=True, text=True, timeout=120)
    finally:
        copy_path.unlink()
    found = re.search(r'<pre id="site-probe"[^>]*>(.*?)</pre>', run.stdout, re.S)
    assert found, (f"{html.name}: the probe did not report (did the page finish loading?); "
                   f"Chromium said:\n{run.stderr[-2000:]}")
    result = json.loads(html_lib.unescape(found.group(1)))
    result["console"] = [m.groups() for m in CONSOLE.finditer(run.stderr)]
    return result


_probed: dict[str, dict] = {}


def probe(page: str) -> dict:
    """:func:`probe_html` of a built page, once per test session."""
    require_site()
    if page not in _probed:
        _probed[page] = probe_html(SITE / f"{page}.html")
    return _probed[page]


def javascript_errors(result: dict) -> list[str]:
    """Errors from the probe and the console; a remote file failing to load is not one
    (``test_page_needs_no_network`` reports those, and the probe runs offline)."""
    problems = [e["text"] for e in result["errors"] if e["kind"] == "js"]
    problems += [f"failed to load {e['url']}" for e in result["errors"]
                 if e["kind"] == "load" and not e["url"].startswith(("http:", "https:"))]
    problems += [f"console: {message} ({source}:{line})"  # what the probe did not see
                 for message, source, line in result["console"]
                 if message.startswith("Uncaught") and not any(message in p for p in problems)]
    return problems


def test_console_lines_are_read():
    line = ('[1:1:1206/051438.111445:INFO:CONSOLE:62] "Uncaught SyntaxError: Identifier '
            '\'X\' has already been declared", source: file:///site/book/a.html (62)')
    assert CONSOLE.findall(line) == [
        ("Uncaught SyntaxError: Identifier 'X' has already been declared",
         "file:///site/book/a.html", "62")]
    seen = {"errors": [], "console": CONSOLE.findall(line)}
    assert javascript_errors(seen) == [
        "console: Uncaught SyntaxError: Identifier 'X' has already been declared "
        "(file:///site/book/a.html:62)"]


@pytest.mark.parametrize("page", PAGES)
def test_no_javascript_errors(page):
    problems = javascript_errors(probe(page))
    assert not problems, f"{page}: JavaScript errors:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_one_search_box(page):
    boxes = probe(page)["search"]
    assert len(boxes) == 1, f"{page}: {len(boxes)} search boxes shown:\n  " + "\n  ".join(boxes)


@pytest.mark.parametrize("page", PAGES)
def test_nothing_wider_than_the_column(page):
    result = probe(page)
    assert result["column"], f"{page}: no article column (article.bd-article) found"
    problems = result["overflow"]
    assert not problems, (f"{page}: does not fit its {result['column']:.0f} px column:\n  "
                          + "\n  ".join(problems))


def test_the_probe_sees_each_defect():
    """Defects planted in a copy of a built page are each reported (and only planted ones)."""
    require_site()
    page = SITE / "book" / "notation.html"
    clean = probe_html(page)
    assert not javascript_errors(clean) and len(clean["search"]) == 1 and not clean["overflow"]
    planted = page.read_text(encoding="utf-8")
    planted = planted.replace(  # a script declared twice, as sphinx-thebe's was
        "</head>", "<script>const TWICE = 1;</script><script>const TWICE = 2;</script></head>", 1)
    body = ('<input type="search" placeholder="a second search box">'
            '<div id="too-wide" style="width: 2000px">wide</div>'
            '<div id="cut" style="overflow: hidden"><div style="width: 3000px">cut</div></div>'
            '<div id="tall" style="overflow-x: auto"><table>'
            + '<tr><td style="min-width: 3000px; height: 50px">row</td></tr>' * 40
            + '</table></div>'
            '<script>console.error("planted");</script>'
            '<img src="../_static/no-such-file.png" alt="">'
            '<img id="shrunk" alt="" src="data:image/svg+xml,'
            "<svg xmlns='http://www.w3.org/2000/svg' width='2000' height='20'/>\">")
    planted = planted.replace('<article class="bd-article">',
                              '<article class="bd-article">' + body, 1)
    result = probe_html(page, planted)
    errors = "\n".join(javascript_errors(result))
    assert "TWICE" in errors and "planted" in errors and "no-such-file.png" in errors, errors
    assert len(result["search"]) == 2, result["search"]
    overflow = "\n".join(result["overflow"])
    for element, what in (("div#too-wide", "wider than the column"),
                          ("div#cut", "cuts off its content"), ("div#tall", "scrolls sideways"),
                          ("img#shrunk", "an image drawn 2000 px wide")):
        assert any(line.startswith(element) and what in line for line in result["overflow"]), (
            f"missed {element}: {what} in:\n{overflow}")
