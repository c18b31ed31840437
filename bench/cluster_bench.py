"""Benchmark story clustering: synthetic news entries, 10% near-duplicates, on one core.

Prints, for 10k, 30k and 100k entries (each size in a fresh process, so peak memory is its own):
wall time, time per entry, peak memory and pairwise precision/recall against the generated
groups, then the growth ratio (linear growth: 10k -> 100k costs about 10x). It also prints the
precision and recall on the labelled set in tests/data/dedupe/eval.yaml.

    python bench/cluster_bench.py [--sizes 10000 30000 100000]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from aggregator.config import Dedupe  # noqa: E402
from aggregator.dedupe import Clusterer, features  # noqa: E402
from aggregator.matchtext import Boilerplate  # noqa: E402

PLACES = (
    "Kabul", "Kandahar", "Herat", "Balkh", "Nangarhar", "Kunduz", "Ghazni", "Helmand",
    "Badakhshan", "Baghlan", "Bamyan", "Paktia", "Paktika", "Khost", "Kunar", "Laghman", "Logar",
    "Wardak", "Parwan", "Kapisa", "Panjshir", "Takhar", "Faryab", "Jowzjan", "Samangan",
    "Badghis", "Ghor", "Daykundi", "Uruzgan", "Zabul", "Farah", "Nimroz", "Nuristan",
)  # fmt: skip
ACTORS = (
    "Taliban", "UN envoy", "WFP", "UNICEF", "Islamic Emirate officials", "Pakistan", "Iran",
    "World Bank", "local residents", "health officials", "traders", "the interior ministry",
    "Human Rights Watch", "the economy ministry", "Amnesty International", "aid agencies",
)  # fmt: skip
EVENTS = ("flash floods", "an explosion", "an earthquake", "a landslide", "a fire", "clashes")
GOODS = ("wheat", "rice", "flour", "fuel", "cooking oil", "sugar", "gas", "saffron")
TOPICS = (
    "aid access", "girls' education", "trade routes", "water rights", "mining contracts",
    "refugee returns", "border security", "electricity imports", "drug control", "health care",
)  # fmt: skip
OUTLETS = ("TOLOnews", "Pajhwok", "Khaama Press", "Ariana News", "Amu TV", "KabulNow")
SYLLABLES = "ka ri mo ha za na sh ir ul ba de go la ma ni ta ro fa qu se".split()  # noqa: SIM905
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def story(rng: random.Random, taken: set[tuple]) -> dict:
    """A fresh story: a template filled with slots. Two different stories of one window never
    share template, place and figure, or template, place and person (real news rarely does)."""
    while True:
        slots = _slots(rng)
        key = (  # one toll per event and place: a higher one within hours is an update
            slots["kind"],
            slots["place"],
            slots["event"] if slots["kind"] == 0 else
            slots["n"] if slots["kind"] == 2 else slots["who"],
        )  # fmt: skip
        if key not in taken:
            taken.add(key)
            return slots


def _slots(rng: random.Random) -> dict:
    return {
        "place": rng.choice(PLACES),
        "actor": rng.choice(ACTORS),
        "event": rng.choice(EVENTS),
        "good": rng.choice(GOODS),
        "topic": rng.choice(TOPICS),
        "n": str(rng.randint(2, 3000)),
        "who": f"{name(rng)} {name(rng)}",
        "day": rng.choice(DAY_NAMES),
        "kind": rng.randrange(5),
    }


def render(s: dict, rng: random.Random, variant: bool) -> tuple[str, str]:
    """Title and lede of a story; a variant rewords them as a second outlet would."""
    killed = rng.choice(("killed", "dead")) if variant else "killed"
    meets = rng.choice(("holds talks with", "meets")) if variant else "meets"
    titles = (
        f"{s['n']} {killed} after {s['event']} in {s['place']}",
        f"{s['actor']} {meets} {s['who']} in {s['place']} over {s['topic']}",
        f"Prices of {s['good']} rise by {s['n']} percent in {s['place']} markets",
        f"{s['actor']} say {s['who']} detained in {s['place']}",
        f"{s['who']} appointed to lead {s['topic']} talks in {s['place']}",
    )
    ledes = (
        f"At least {s['n']} people were {killed} when {s['event']} struck {s['place']} on "
        f"{s['day']}, local official {s['who']} said.",
        f"{s['actor']} met {s['who']} in {s['place']} on {s['day']} to discuss {s['topic']}, "
        "according to a statement.",
        f"Traders in {s['place']} said on {s['day']} that {s['good']} prices rose by {s['n']} "
        f"percent, blaming {s['topic']}; {s['who']} said.",
        f"{s['actor']} said on {s['day']} that {s['who']} was detained in {s['place']} over "
        f"{s['topic']}.",
        f"{s['who']} was appointed on {s['day']} to lead talks on {s['topic']} in {s['place']}.",
    )
    title, lede = titles[s["kind"]], ledes[s["kind"]]
    if variant:
        words = title.split()
        if len(words) > 6 and rng.random() < 0.5:
            del words[rng.randrange(1, len(words) - 1)]
        title = " ".join(words)
        title = rng.choice(("", "UPDATE: ")) + title + rng.choice(("", f" - {rng.choice(OUTLETS)}"))
        lede = lede.replace(" said", " told reporters", 1) if rng.random() < 0.5 else lede
    return title, lede


def generate(size: int, seed: int = 7) -> list[tuple[int, str, str, str, datetime, str]]:
    """(key, group, title, lede, published, url): 10% near-duplicates of a recent story and 6%
    one-detail-changed copies (another price figure or place) that are different stories."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    per_day = 1400
    rows = []
    recent: list[tuple[str, dict, datetime]] = []
    taken: set[tuple] = set()
    for key in range(1, size + 1):
        if key % (3 * per_day) == 0:
            taken.clear()  # a new three-day window
        published = start + timedelta(days=key / per_day, minutes=rng.randint(0, 120))
        roll = rng.random()
        if roll < 0.10 and recent:
            group, slots, _ = rng.choice(recent[-300:])
            title, lede = render(slots, rng, variant=True)
        elif roll < 0.16 and recent:
            _, slots, _ = rng.choice(recent[-300:])
            slots = dict(slots)
            # another figure where it is not a count of people: a death toll that rises
            # within hours is the same event, so a changed "N killed" copy moves elsewhere
            if slots["kind"] == 2 and rng.random() < 0.5:
                slots["n"] = str(int(slots["n"]) + rng.randint(1, 50))
            else:
                slots["place"] = rng.choice([p for p in PLACES if p != slots["place"]])
            group = f"g{key}"
            title, lede = render(slots, rng, variant=False)
            recent.append((group, slots, published))
        else:
            slots = story(rng, taken)
            group = f"g{key}"
            title, lede = render(slots, rng, variant=False)
            recent.append((group, slots, published))
        rows.append((key, group, title, lede, published, f"https://outlet.example/{key}"))
    return rows


def pairwise(groups: dict[int, str], predicted: dict[int, str]) -> tuple[float, float]:
    """Pairwise precision and recall, counted through cluster sizes (no all-pairs loop)."""

    def pairs(labels: dict[int, tuple]) -> int:
        sizes: dict[tuple, int] = defaultdict(int)
        for label in labels.values():
            sizes[label] += 1
        return sum(n * (n - 1) // 2 for n in sizes.values())

    true_pairs = pairs({k: (g,) for k, g in groups.items()})
    predicted_pairs = pairs({k: (p,) for k, p in predicted.items()})
    both = pairs({k: (groups[k], predicted[k]) for k in groups})
    return both / max(predicted_pairs, 1), both / max(true_pairs, 1)


def run_size(size: int) -> None:
    rows = generate(size)
    boilerplate = Boilerplate(OUTLETS)
    clusterer = Clusterer(Dedupe())
    predicted: dict[int, str] = {}
    started = time.perf_counter()
    for key, _group, title, lede, published, url in rows:
        f = features(key, url, "en", title, lede, published, (), boilerplate)
        matched, _ = clusterer.match(f)
        predicted[key] = f"s{key}" if matched is None else predicted[matched]
        clusterer.add(f)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    precision, recall = pairwise({r[0]: r[1] for r in rows}, predicted)
    print(f"{size}\t{wall:.2f}\t{peak:.0f}\t{precision:.3f}\t{recall:.3f}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_size(args.one)
        return 0

    from tests.dedupe_eval import cluster, load, score

    labelled = load()
    result = score(labelled, cluster(labelled, Dedupe()))
    print(
        f"labelled set: {len(labelled)} entries, precision {result.precision:.3f}, "
        f"recall {result.recall:.3f} ({result.true_pairs} true pairs)"
    )
    print("entries  seconds  us/entry  peak_MB  precision  recall")
    times = {}
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        n, wall, peak, precision, recall = int(out[0]), float(out[1]), out[2], out[3], out[4]
        times[n] = wall
        print(f"{n:>7}  {wall:7.2f}  {wall / n * 1e6:8.1f}  {peak:>7}  {precision:>9}  {recall:>6}")
    if len(times) > 1:
        low, high = min(times), max(times)
        print(
            f"growth: {high // low}x entries -> {times[high] / times[low]:.1f}x time "
            "(linear would be the same factor)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
