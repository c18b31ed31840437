"""Cleaning an entry of hostile HTML takes time linear in its size: the shapes that once took
quadratic or worse (deep nesting in nh3's parser, a regular expression that rescanned the rest
of the text from every tag left open), each cleaned at N and 4N repetitions.

    python bench/hostile_html.py [--repeat 25000]

Prints, per shape, the size and seconds at both lengths and their ratio: about 4 is linear, 16
quadratic. At 4183a18 (--repeat 1000), 4,000 nested <ul><li> (36 KB) took 0.28 s, 17 times the
time of a quarter of them, and 4,000 <img> tags left open with a data-src (64 KB) 190 s, 61
times.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator.models import RawEntry  # noqa: E402
from aggregator.normalize import normalize_entry  # noqa: E402

SHAPES = {
    "nested <div>": ("<div>", "x</div>"),
    "<div> left open": ("<div>x", ""),
    "nested <ul><li>": ("<ul><li>x", ""),
    "nested <blockquote>": ("<blockquote>", "</blockquote>"),
    "<img data-src> left open": ("<img data-src=x ", ""),
    "<a left open": ('<a title="x ', ""),
    "<span><div> left open": ("<span><div>x", ""),
    "<iframe> left open": ('<iframe src="https://www.youtube.com/embed/a" ', ""),
    "<video> of <source>s": ('<video><source src="https://x.af/v.mp4">', ""),
    "players": ('<iframe src="https://player.vimeo.com/video/1"></iframe>', ""),
    "<script data-telegram-post> open": ('<script data-telegram-post="chan/1" a="', ""),
}


def seconds(html: str) -> float:
    """CPU seconds to clean one entry whose content (and title) is `html`."""
    raw = RawEntry("g", "https://t.example/a", html, "", html, base="https://t.example/")
    started = time.process_time()
    normalize_entry(raw, "Hostile", "en", datetime.now(UTC), "en")
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=25_000)
    args = parser.parse_args()
    print(f"{'shape':28s} {'size':>9s} {'seconds':>8s} {'size x4':>9s} {'seconds':>8s}  ratio")
    for name, (opening, closing) in SHAPES.items():
        row = []
        for count in (args.repeat, 4 * args.repeat):
            html = opening * count + closing * count
            row.append((len(html), seconds(html)))
        (small, fast), (large, slow) = row
        ratio = slow / fast if fast else float("inf")
        sizes = f"{small / 1e3:7.0f}KB {fast:8.3f} {large / 1e3:7.0f}KB {slow:8.3f}"
        print(f"{name:28s} {sizes}  {ratio:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
