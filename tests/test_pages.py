"""The published pages as a reader's browser sees them: a fresh `aggregator demo` in headless
Chromium (Debian's, driven by playwright) and the Nu HTML checker.

`.ci/browser-tools` installs what these need beside Python: Debian's `chromium` and a JRE, and the
npm packages `axe-core` and `vnu-jar` under `node_modules/`. Screenshots of every page go to
`screenshots/` (ignored by git) for people to look at.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from aggregator.cli import main
from aggregator.demo import QuietHandler
from tests.conftest import make_rss

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / "node_modules"
SCREENSHOTS = REPO / "screenshots"
SETUP = "run .ci/browser-tools to install Chromium, a JRE, axe-core and vnu-jar"
PAGES = ("index.html", "fa.html", "ps.html", "en.html", "status.html", "archive/index.html")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_RUN = (
    "async () => (await axe.run()).violations.map(v => `${v.id}: ${v.help} (${v.nodes.length})`)"
)
RTL_BLOCKS = """() => [...document.querySelectorAll('article[lang^="fa"], article[lang^="ps"]')]
  .flatMap(a => [a, ...a.querySelectorAll('h3, h4, p, ul, li, div')])
  .filter(e => getComputedStyle(e).direction !== 'rtl').map(e => e.outerHTML.slice(0, 80))"""
OUTSIDE = """() => { const outside = r => r.left < -1 || r.right > innerWidth + 1;
  return [...document.querySelectorAll('body *')]
    .filter(e => outside(e.getBoundingClientRect()) && !e.parentElement.closest('.scroll'))
    .map(e => e.outerHTML.slice(0, 60)) }"""  # past either edge, not in a scrolling box


def _required(path: Path | None, what: str) -> Path:
    if path is None or not path.exists():
        pytest.fail(f"{what} not found: {SETUP}")
    return path


def _which(command: str) -> Path | None:
    found = shutil.which(command)
    return Path(found) if found else None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a fresh `aggregator demo`, run as a newcomer would, offline."""
    folder = tmp_path_factory.mktemp("pages") / "demo"
    subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", str(folder)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def site(demo: Path) -> Iterator[str]:
    """The demo's output served where its feeds.yaml says it is (the pictures point there)."""
    feed_url = yaml.safe_load((demo / "feeds.yaml").read_text(encoding="utf-8"))["site"]["feed_url"]
    handler = partial(QuietHandler, directory=str(demo / "output"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", urlsplit(feed_url).port or 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = _required(_which("chromium"), "Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -e '.[test]'")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _pages(demo: Path) -> list[str]:
    archived = sorted((demo / "output" / "archive").glob("20*.html"))
    return [*PAGES, *(f"archive/{p.name}" for p in archived)]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_reads_well_in_a_real_browser(demo, site, browser, width, scheme):
    axe = _required(NODE_MODULES / "axe-core" / "axe.min.js", "axe-core").read_text("utf-8")
    SCREENSHOTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    problems: list[str] = []
    rtl_items = 0
    for name in _pages(demo):
        where = f"{name} at {width}px, {scheme}"
        response = page.goto(site + name)
        assert response is not None and response.ok, where
        page.screenshot(
            path=str(SCREENSHOTS / f"{name.replace('/', '_')}-{width}-{scheme}.png"),
            full_page=True,
        )
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            problems.append(f"{where}: scrolls sideways")
        problems += [f"{where}: past an edge: {html}" for html in page.evaluate(OUTSIDE)]
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        light = background in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
        if light != (scheme == "light"):
            problems.append(f"{where}: background {background} under a {scheme} scheme")
        problems += [f"{where}: not right to left: {html}" for html in page.evaluate(RTL_BLOCKS)]
        rtl_items += page.evaluate(
            'document.querySelectorAll(\'article[lang^="fa"], article[lang^="ps"]\').length'
        )
        page.add_script_tag(content=axe)
        problems += [f"{where}: axe {v}" for v in page.evaluate(AXE_RUN)]
    page.close()
    problems += [f"{width}px {scheme}: console error: {e}" for e in errors]
    assert problems == []
    assert rtl_items > 0  # the direction check above had Dari and Pashto items to look at


def test_every_page_is_valid_html5(demo):
    java = _required(_which("java"), "java")
    vnu = _required(NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar", "vnu-jar")
    files = [str(demo / "output" / name) for name in _pages(demo)]
    done = subprocess.run(
        [str(java), "-jar", str(vnu), "--format", "json", "--errors-only", *files],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    messages = json.loads(done.stderr)["messages"]
    errors = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages
    ]
    assert errors == []
    assert len(files) > len(PAGES)  # archived editions were checked too


WORD = "Kabul" + "x" * 300  # a run of letters no line-breaking rule can split


def test_a_long_unbroken_title_or_excerpt_wraps_instead_of_widening_the_page(
    feed_server, workspace, browser
):
    """What feeds send: a word of 300 letters (a run of dashes, a hash, a URL), a Dari run without
    a space, an outlet's long name. Each wraps within the column at a phone's width, on either
    side: right to left, an overflow runs off the left edge, where no scroll bar shows it."""
    sources = []
    for language, word in (("en", WORD), ("fa", "افغانستان" * 40)):
        item = {"title": word, "link": f"https://example.af/{language}",
                "date": "Mon, 30 Nov 2026 08:00:00 +0000", "summary": f"{word} {word}"}  # fmt: skip
        body = make_rss(language, [item], language=language)
        url = feed_server.add(f"/{language}.xml", body, headers={"Content-Type": "text/xml"})
        sources.append({"name": f"{language} " + "Long" * 30, "url": url, "language": language})
    workspace.write_config(sources)
    assert main(workspace.args("run")) == 0
    page = browser.new_page(viewport={"width": 390, "height": 900})
    for name in ("index.html", "en.html", "fa.html", "status.html", "archive/index.html"):
        page.goto((workspace.output / name).as_uri())
        assert page.evaluate(OUTSIDE) == [], name
    page.close()


PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)  # a 1 x 1 GIF
PICTURES_LOADED = """() => { const found = [...document.querySelectorAll('img.picture')];
  const loaded = found.length > 0 && found.every(i => i.complete);
  return loaded && found.map(i => [i.alt, i.naturalWidth]);
}"""


def test_a_picture_on_an_outlets_site_is_asked_for_without_a_referrer(
    feed_server, workspace, browser
):
    """News sites refuse pictures hotlinked from another site (by its Referer): the digest asks
    for them as a feed reader does, without one (and a reader's visit is not reported)."""
    picture = feed_server.add("/pic.gif", PIXEL, headers={"Content-Type": "image/gif"})
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://t.af/</link>'
        "<item><title>Flood in Baghlan</title><link>https://t.af/1</link>"
        f'<enclosure url="{picture}" type="image/gif" length="{len(PIXEL)}"/>'
        "<pubDate>Mon, 30 Nov 2026 08:00:00 +0000</pubDate></item></channel></rss>"
    ).encode()
    url = feed_server.add("/t.xml", body, headers={"Content-Type": "application/rss+xml"})
    workspace.write_config([{"name": "T", "url": url}])
    assert main(workspace.args("run")) == 0
    handler = partial(QuietHandler, directory=str(workspace.output))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/index.html")
        shown = page.wait_for_function(PICTURES_LOADED).json_value()
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    assert shown == [["", 1]]  # decorative beside its headline: no alt text to read twice
    asked = [seen for seen in feed_server.log if seen.path == "/pic.gif"]
    assert asked and all("referer" not in seen.headers for seen in asked)
