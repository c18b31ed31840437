"""Load the labelled clustering set (tests/data/dedupe/eval.yaml) and score a clustering of it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import combinations
from pathlib import Path

import yaml

from aggregator.config import Dedupe
from aggregator.dedupe import Clusterer, features
from aggregator.matchtext import Boilerplate

EVAL = Path(__file__).parent / "data" / "dedupe" / "eval.yaml"  # thresholds are tuned on this
HELD_OUT = Path(__file__).parent / "data" / "dedupe" / "heldout.yaml"  # and never on this
ARABIC_FORMS = str.maketrans(
    {"ی": "ي", "ک": "ك", "\u200c": "", **{chr(0x06F0 + i): chr(0x0660 + i) for i in range(10)}}
)


@dataclass(frozen=True)
class LabelledEntry:
    key: int
    group: str
    event: str  # groups of one event in several languages share it: links, not merges
    outlet: str
    language: str
    url: str
    title: str
    lede: str
    published: datetime
    links: tuple[str, ...]


def arabic_forms(text: str) -> str:
    """What a second CMS publishes: Arabic yeh and kaf, no ZWNJ, Arabic-Indic digits, tatweel."""
    text = text.translate(ARABIC_FORMS)
    return re.sub(r"(\w)(\w)(\w*)$", r"\1ـ\2\3", text, count=1) if text else text


def load(path: Path = EVAL) -> list[LabelledEntry]:
    """Entries with their group labels, URLs and times derived as the file's header explains."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    outlets = document["outlets"]
    entries: list[LabelledEntry] = []
    for group in document["groups"]:
        start = datetime.fromisoformat(str(group["at"]).replace("Z", "+00:00"))
        urls: list[str] = []
        first_lede = ""
        for position, item in enumerate(group["entries"]):
            outlet, title, lede, *rest = item
            options = rest[0] if rest else {}
            if options.get("forms") == "arabic":
                title, lede = arabic_forms(title), arabic_forms(lede or first_lede)
            first_lede = first_lede or lede
            host = outlets[outlet]["host"]
            url = f"https://{host}/{group['id']}-{position}"
            urls.append(url)
            links = (urls[options["links_to"]],) if "links_to" in options else ()
            minutes = options.get("minutes", 25 * position)
            entries.append(
                LabelledEntry(
                    key=len(entries) + 1,
                    group=group["id"],
                    event=group.get("event", group["id"]),
                    outlet=outlet,
                    language=outlets[outlet]["language"],
                    url=url,
                    title=title,
                    lede=lede,
                    published=start + timedelta(minutes=minutes),
                    links=links,
                )
            )
    return entries


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int
    false_merges: list[tuple[LabelledEntry, LabelledEntry]]
    missed: list[tuple[LabelledEntry, LabelledEntry]]


def cluster(
    entries: list[LabelledEntry],
    settings: Dedupe,
    vectors: dict[int, bytes] | None = None,
    links: set[frozenset[str]] | None = None,
) -> dict[int, str]:
    """Cluster entries in publication order, as runs would see them; returns key -> story.
    With `vectors` (key -> meaning vector) the semantic matcher runs, and the stories it
    links across languages are added to `links`."""
    boilerplate = Boilerplate(e.outlet for e in entries)
    clusterer = Clusterer(settings)
    if vectors is not None:
        from aggregator.semantic import VectorIndex

        clusterer.vectors = VectorIndex()
    stories: dict[int, str] = {}
    for entry in sorted(entries, key=lambda e: (e.published, e.key)):
        f = features(
            entry.key,
            entry.url,
            entry.language,
            entry.title,
            entry.lede,
            entry.published,
            entry.links,
            boilerplate,
            settings.lede_words,
        )
        if vectors is not None:
            f = replace(f, vector=vectors[entry.key])
        matched, _ = clusterer.match(f)
        stories[entry.key] = f"story-{entry.key}" if matched is None else stories[matched]
        if links is not None:
            links.update(
                frozenset((stories[entry.key], stories[link.other]))
                for link in clusterer.translations(f)
            )
        clusterer.add(f)
    return stories


def link_score(
    entries: list[LabelledEntry], stories: dict[int, str], links: set[frozenset[str]]
) -> tuple[float, float, int]:
    """Pairwise precision and recall of cross-language links: two entries in different
    languages are linked when their stories are; they should be when they report one event."""
    tp = fp = fn = 0
    for a, b in combinations(entries, 2):
        if a.language == b.language:
            continue
        truth = a.event == b.event
        predicted = frozenset((stories[a.key], stories[b.key])) in links
        tp += truth and predicted
        fp += predicted and not truth
        fn += truth and not predicted
    return (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp + fn)


def score(entries: list[LabelledEntry], stories: dict[int, str]) -> Score:
    """Pairwise precision and recall of a clustering against the groups."""
    tp = fp = fn = 0
    false_merges, missed = [], []
    for a, b in combinations(entries, 2):
        truth = a.group == b.group
        predicted = stories[a.key] == stories[b.key]
        if truth and predicted:
            tp += 1
        elif predicted:
            fp += 1
            false_merges.append((a, b))
        elif truth:
            fn += 1
            missed.append((a, b))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return Score(precision, recall, tp + fn, tp + fp, false_merges, missed)
