"""Check the published pages as a reader's browser sees them, on the demo's output.

    python checks/pages_check.py [--node-modules DIR] [--chromium /usr/bin/chromium] [--keep DIR]

Needs Debian's `chromium` and a JRE, the `playwright` Python package (used with
`executable_path`, no browser download) and the npm packages `axe-core` and `vnu-jar` under
--node-modules. For every page of a fresh `aggregator demo` it prints, at 390 px and 1280 px,
light and dark: sideways scrolling, the background colour under a dark scheme, block elements of
Dari and Pashto items that are not right to left, console errors and axe-core violations; then
the Nu HTML checker's errors. Screenshots go to --keep (default: a temporary folder). Exits 1 when
anything is wrong.
"""

from __future__ import annotations

import argparse
import http.server
import json
import subprocess
import sys
import tempfile
import threading
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parent.parent
PAGES = ("index.html", "fa.html", "ps.html", "en.html", "status.html", "archive/index.html")
AXE_RUN = (
    "async () => (await axe.run()).violations.map(v => `${v.id}: ${v.help} (${v.nodes.length})`)"
)
RTL_BLOCKS = """() => [...document.querySelectorAll('article[lang^="fa"], article[lang^="ps"]')]
  .flatMap(a => [a, ...a.querySelectorAll('h4, p, ul, li')])
  .filter(e => getComputedStyle(e).direction !== 'rtl').map(e => e.outerHTML.slice(0, 80))"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node-modules", type=Path, default=REPO / "node_modules")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="pages-check-"))
    shots = args.keep or work / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", str(work / "demo")],
        check=True, capture_output=True,
    )  # fmt: skip
    output = work / "demo" / "output"
    from aggregator.demo import QuietHandler

    handler = partial(QuietHandler, directory=str(output))
    site = yaml.safe_load((work / "demo" / "feeds.yaml").read_text(encoding="utf-8"))["site"]
    port = urlsplit(site["feed_url"]).port  # where the demo's pictures say they are served
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port or 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    axe = (args.node_modules / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        for width in (390, 1280):
            for scheme in ("light", "dark"):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.emulate_media(color_scheme=scheme)
                errors: list[str] = []
                page.on(
                    "console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None
                )
                for name in PAGES:
                    where = f"{name} at {width}px, {scheme}"
                    page.goto(base + name)
                    page.screenshot(
                        path=str(shots / f"{name.replace('/', '_')}-{width}-{scheme}.png"),
                        full_page=True,
                    )
                    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                        problems.append(f"{where}: scrolls sideways")
                    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
                    if scheme == "dark" and background in (
                        "rgba(0, 0, 0, 0)",
                        "rgb(255, 255, 255)",
                    ):
                        problems.append(f"{where}: background {background} under a dark scheme")
                    for html in page.evaluate(RTL_BLOCKS):
                        problems.append(f"{where}: not right to left: {html}")
                    page.add_script_tag(content=axe)
                    result = page.evaluate(AXE_RUN)
                    problems += [f"{where}: axe {v}" for v in result]
                problems += [f"{width}px {scheme}: console error: {e}" for e in errors]
                page.close()
        browser.close()
    server.shutdown()
    vnu = args.node_modules / "vnu-jar" / "build" / "dist" / "vnu.jar"
    files = [str(output / n) for n in PAGES] + [
        str(p) for p in (output / "archive").glob("20*.html")
    ]
    done = subprocess.run(
        ["java", "-jar", str(vnu), "--format", "json", "--errors-only", *files],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    for message in json.loads(done.stderr or '{"messages": []}')["messages"]:
        where = f"{Path(message.get('url', '')).name}:{message.get('lastLine')}"
        problems.append(f"vnu: {where}: {message['message']}")
    for line in problems:
        print(line)
    print(f"{len(problems)} problems; screenshots in {shots}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
