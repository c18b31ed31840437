"""A month of closed editions: what a publish costs once digest.xml and the archive hold 30 days.

    python bench/editions_bench.py [--sources 500] [--per-source 20] [--days 32] [--body-bytes 2000]

Every simulated day, each source brings `--per-source` new items (English, Dari and Pashto),
which are stored, clustered and published at noon, as a daily run would; then one publish more,
with a single new story. Prints each publish's seconds and this process's peak memory so far,
then the size of digest.xml and of the largest archive page. `scale.py` runs within one day,
where no edition closes.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from page_bench import NOW, WORDS, config_text  # noqa: E402

from aggregator.config import Config, parse_config  # noqa: E402
from aggregator.models import Entry  # noqa: E402
from aggregator.pipeline import assign_stories  # noqa: E402
from aggregator.publish import publish  # noqa: E402
from aggregator.store import Store  # noqa: E402

LANGUAGES = ("en", "fa", "ps")


def entry(
    rng: random.Random, source: int, day: int, n: int, now: datetime, body_bytes: int = 2000
) -> Entry:
    """Item `n` of source `source` on day `day`: a title of its own, 40 words of text and an
    article of about `body_bytes`."""
    title = " ".join(rng.sample(WORDS, 6)).capitalize() + f" {source}-{n}-{day}"
    text = " ".join(rng.choice(WORDS) for _ in range(40))
    body = " ".join(rng.choice(WORDS) for _ in range(body_bytes // 7))
    return Entry(
        source=f"Source {source}", guid=f"{source}-{n}-{day}",
        url=f"https://s{source}.example/{day}/{n}", title=title, summary_html=f"<p>{text}</p>",
        content_html=f"<p>{body}</p>", excerpt=text,
        published=now - timedelta(minutes=rng.randrange(600)),
        updated=None, language=LANGUAGES[source % 3],
    )  # fmt: skip


def timed_publish(label: str, config: Config, store: Store, output: Path, now: datetime) -> None:
    """Publish, and print how long it took and the peak memory so far."""
    started = time.perf_counter()
    publish(config, store, output, now)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: publish {time.perf_counter() - started:5.2f} s, peak memory {peak:5.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--per-source", type=int, default=20)
    parser.add_argument("--days", type=int, default=32)
    parser.add_argument("--body-bytes", type=int, default=2000)
    args = parser.parse_args()
    config = parse_config(config_text(args.sources))
    rng = random.Random(args.sources)
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "output"
        with Store(Path(folder) / "bench.db") as store:
            for day in range(args.days):
                now = NOW - timedelta(days=args.days - 1 - day)
                with store.transaction():
                    for source in range(args.sources):
                        for n in range(args.per_source):
                            item = entry(rng, source, day, n, now, args.body_bytes)
                            store.upsert_entry(item, now)
                assign_stories(config, store, now)
                timed_publish(f"day {day + 1:2}", config, store, output, now)
            later = NOW + timedelta(minutes=30)
            with store.transaction():
                store.upsert_entry(entry(rng, 0, args.days, 0, later), later)
            assign_stories(config, store, later)
            timed_publish("one new story", config, store, output, later)
        pages = list((output / "archive").glob("????-??-??.html"))
        largest = max((p.stat().st_size for p in pages), default=0)
        digest = (output / "digest.xml").stat().st_size
        print(f"digest.xml {digest / 1e6:.1f} MB; largest archive page {largest / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
