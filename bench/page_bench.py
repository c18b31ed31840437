"""How big index.html gets: 20, 500 and 5,000 sources, each with a day of news (in English,
Dari and Pashto), stored, clustered and published through the real pipeline stages.

    python bench/page_bench.py [--sources 20 500 5000] [--per-source 4]

Prints, per size, the stories in the store, the stories on index.html, its size in KB against
the cap, and the seconds publishing took.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator.config import parse_config  # noqa: E402
from aggregator.edition import FRONT_CAP  # noqa: E402
from aggregator.models import Entry  # noqa: E402
from aggregator.pipeline import assign_stories  # noqa: E402
from aggregator.publish import publish  # noqa: E402
from aggregator.store import Store  # noqa: E402

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
PAGE_CAP_KB = 300
WORDS = (
    "Kabul", "Herat", "Balkh", "Kandahar", "Bamyan", "Kunduz", "farmers", "teachers", "traders",
    "council", "ministry", "water", "wheat", "power", "road", "school", "clinic", "bridge",
    "market", "border", "flood", "drought", "aid", "fuel",
)  # fmt: skip


def config_text(sources: int) -> str:
    languages = ("en", "fa", "ps")
    lines = ["site:", '  title: "Bench"', "sources:"]
    for i in range(sources):
        lines += [
            f'  - name: "Source {i}"',
            f'    url: "https://s{i}.example/feed"',
            f"    language: {languages[i % 3]}",
            f'    category: "Section {i % 7}"',
        ]
    return "\n".join(lines) + "\n"


def fill(store: Store, sources: int, per_source: int, rng: random.Random) -> None:
    with store.transaction():
        for i in range(sources):
            for n in range(per_source):
                title = " ".join(rng.sample(WORDS, 6)).capitalize() + f" {i}-{n}"
                text = " ".join(rng.choice(WORDS) for _ in range(40))
                entry = Entry(
                    source=f"Source {i}", guid=f"{i}-{n}", url=f"https://s{i}.example/{n}",
                    title=title, summary_html=f"<p>{text}</p>", content_html="", excerpt=text,
                    published=NOW - timedelta(minutes=rng.randrange(24 * 60)), updated=None,
                    language=("en", "fa", "ps")[i % 3],
                )  # fmt: skip
                store.upsert_entry(entry, NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="+", default=[20, 500, 5000])
    parser.add_argument("--per-source", type=int, default=4)
    args = parser.parse_args()
    print(f"cap: {FRONT_CAP} stories, {PAGE_CAP_KB} KB")
    for sources in args.sources:
        config = parse_config(config_text(sources))
        with tempfile.TemporaryDirectory() as folder:
            with Store(Path(folder) / "bench.db") as store:
                fill(store, sources, args.per_source, random.Random(sources))
                assign_stories(config, store, NOW)
                stored = store.conn.execute("SELECT COUNT(*) FROM stories").fetchone()[0]
                started = time.perf_counter()
                publish(config, store, Path(folder) / "output", NOW)
                seconds = time.perf_counter() - started
            page = (Path(folder) / "output" / "index.html").read_text(encoding="utf-8")
        size = len(page.encode("utf-8")) / 1024
        on_page = page.count("<article ")
        verdict = "under the cap" if size < PAGE_CAP_KB else "OVER THE CAP"
        print(
            f"{sources:5} sources: {stored:6} stories stored, {on_page:4} on index.html, "
            f"{size:6.1f} KB ({verdict}), publish {seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
