"""Matching alone, on the scale bench's entries: its CPU per entry and a hash of its decisions.

    python bench/decisions.py [--sources 5000]

The items of `scale.py`'s N sources (first version) are folded into matching features, their
lede the text of their HTML, then matched in order of publication in this one process:
`Clusterer.match`, then `add`, for each, as the helper of a large run does. It prints the CPU
this took per entry and a hash of every entry's decision (the entry whose story it joins). A
change meant only to make matching faster must leave the hash as it was; at 5,000 sources
(199,981 entries) it is e651b1fb3388.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from scale import items_of  # noqa: E402

from aggregator.config import Dedupe  # noqa: E402
from aggregator.dedupe import Clusterer, Features, features  # noqa: E402
from aggregator.matchtext import Boilerplate  # noqa: E402

_TAG = re.compile("<[^>]+>")


def folded(sources: int) -> list[Features]:
    """Every item's features, keyed in order of publication (then link and outlet)."""
    boilerplate = Boilerplate(sorted(f"Outlet {n}" for n in range(sources)))
    items = sorted(
        (published, link, title, _TAG.sub(" ", html), f"Outlet {feed}")
        for feed in range(sources)
        for _, link, title, html, published in items_of(feed, 0)
    )
    return [
        features(key, link, "en", title, lede, published, (), boilerplate, source=outlet)
        for key, (published, link, title, lede, outlet) in enumerate(items)
    ]


def decide(entries: list[Features]) -> tuple[float, str]:
    """CPU seconds to match and index every entry, and the hash of the decisions."""
    clusterer = Clusterer(Dedupe())
    digest = hashlib.sha256()
    gc.disable()  # as clustering runs: millions of small objects, no cycles
    started = time.process_time()
    for f in entries:
        joined, _ = clusterer.match(f)
        digest.update(f"{f.key}:{joined}\n".encode())
        clusterer.add(f)
    spent = time.process_time() - started
    gc.enable()
    return spent, digest.hexdigest()[:12]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=5000)
    args = parser.parse_args()
    entries = folded(args.sources)
    spent, digest = decide(entries)
    print(
        f"{args.sources} sources, {len(entries)} entries: matching {spent:.2f} CPU-s, "
        f"{spent / len(entries) * 1e6:.1f} us an entry; decisions {digest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
