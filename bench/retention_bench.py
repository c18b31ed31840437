"""A simulated year of daily runs, with the default retention and without any: database size.

    python bench/retention_bench.py [--days 365] [--sources 3] [--per-day 6] [--body-bytes 2000]

Prints, for each variant, the database size at the end (file and write-ahead log), the entries
and stories kept, the runs remembered, the archive pages listed, and the wall time.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NO_RETENTION = {"content_days": 36500, "identity_days": 36500, "runs_days": 36500}


def main() -> None:
    from tests.simulate import simulate_year

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sources", type=int, default=3)
    parser.add_argument("--per-day", type=int, default=6)
    parser.add_argument("--body-bytes", type=int, default=2000)
    args = parser.parse_args()
    sizes = {}
    for label, retention in (("default retention", None), ("no retention", NO_RETENTION)):
        with tempfile.TemporaryDirectory() as folder:
            result = simulate_year(
                Path(folder),
                days=args.days,
                retention=retention,
                sources=args.sources,
                per_day=args.per_day,
                body_bytes=args.body_bytes,
            )
        sizes[label] = result.db_bytes
        print(
            f"{label:18} {result.days} days: database {result.db_bytes / 2**20:.1f} MB, "
            f"{result.entries} entries, {result.stories} stories, {result.runs} runs kept, "
            f"{result.archive_listed}/{result.archive_pages} archive pages listed, "
            f"{len(result.id_changes)} story id changes, {result.seconds:.1f} s"
        )
    ratio = sizes["no retention"] / max(sizes["default retention"], 1)
    print(f"ratio without/with retention: {ratio:.2f}")


if __name__ == "__main__":
    main()
