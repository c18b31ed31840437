"""Match entries to each other, purely: features, guards and the windowed clusterer (link-outs,
then title and lede similarity). `stories.py` reads and writes the stories it decides.

Candidates are found through an inverted index on each entry's rarest words and compared only
within a time window, so clustering N entries costs close to O(N) rather than all pairs.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from urllib.parse import urlsplit

from aggregator.config import Config, Dedupe
from aggregator.languages import primary
from aggregator.matchtext import Boilerplate, canonical, is_number, number_value, stem, tokens
from aggregator.models import Entry
from aggregator.places import places_in


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _capitalized(title: str) -> list[str]:
    """Words written with a capital inside a title (not its first word): names in Latin script.
    A Title Case headline capitalizes every word, so it tells nothing and gives none."""
    words = title.split()[1:]
    capitals = [w for w in words if w[:1].isupper()]
    title_case = all(w[:1].isupper() for w in words if len(w) > 3 and w[:1].isalpha())
    return [] if title_case else capitals


def _telling(number: str) -> bool:
    """A figure specific enough to tie two reports together (81, 1.4, 3000; not 2 or 2026)."""
    is_year = len(number) == 4 and number[:2] in ("19", "20")
    return ("." in number or len(number) >= 2) and not is_year


@dataclass(frozen=True)
class Features:
    """What matching looks at in one entry, computed once."""

    key: int
    url: str
    source: str
    language: str
    published: float  # POSIX seconds
    title: frozenset[str]
    lede: frozenset[str]
    title_numbers: frozenset[str]
    numbers: frozenset[str]
    title_places: frozenset[str]
    places: frozenset[str]
    title_names: frozenset[str]  # capitalized words inside the title: people, bodies, places
    links: frozenset[str]


def features(
    key: int,
    url: str,
    language: str,
    title: str,
    lede: str,
    published: datetime,
    links: Iterable[str],
    boilerplate: Boilerplate,
    lede_words: int = 40,
    source: str = "",
) -> Features:
    """Fold an entry's title and lede into the word sets, numbers and places used to match it."""
    clean_title = boilerplate.title(title)
    title_words = [number_value(w) for w in tokens(clean_title)]
    lede_tokens = [number_value(w) for w in tokens(boilerplate.lede(lede))[:lede_words]]
    all_words = title_words + lede_tokens
    own_site = _site(url)
    return Features(
        key=key,
        url=url,
        source=sys.intern(source),
        language=sys.intern(language),
        published=published.timestamp(),
        # interned: the window holds each word once, however many entries use it
        title=frozenset(sys.intern(canonical(stem(w))) for w in title_words),
        lede=frozenset(sys.intern(canonical(stem(w))) for w in lede_tokens),
        title_numbers=frozenset(w for w in title_words if is_number(w)),
        numbers=frozenset(w for w in all_words if is_number(w)),
        title_places=places_in(title_words),
        places=places_in(all_words),
        title_names=frozenset(
            canonical(stem(w)) for w in tokens(" ".join(_capitalized(clean_title)))
        ),
        links=frozenset(link for link in links if link != url and _site(link) != own_site),
    )


@dataclass(frozen=True)
class Comparison:
    """The scores of one pair and the verdict, as `aggregator explain` prints them."""

    other: int
    title: float
    lede: float
    combined: float
    linked: bool
    guard: str | None
    same: bool
    reason: str


@dataclass
class _Indexed:
    features: Features
    story: str
    totals: tuple[float, float, float]  # summed word weights of title, lede and both
    totals_at: int  # index size when the totals were summed; resummed as the index grows


@dataclass
class Clusterer:
    """Incremental story clustering over a sliding time window."""

    settings: Dedupe
    items: dict[int, _Indexed] = field(default_factory=dict)
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_url: dict[str, int] = field(default_factory=dict)
    linked_from: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    order: deque[tuple[float, int]] = field(default_factory=deque)
    newest: float = 0.0
    weights: dict[str, float] = field(default_factory=dict)

    @property
    def window(self) -> float:
        return self.settings.window_hours * 3600.0

    # similarity

    def _reweigh(self, word: str) -> None:
        """IDF of a word, kept up to date when its document frequency changes."""
        df = len(self.postings.get(word, ()))
        if df:
            self.weights[word] = math.log(1.0 + (len(self.items) + 1) / (df + 1))
        else:
            self.weights.pop(word, None)

    def _weight_of(self, words: frozenset[str]) -> float:
        unseen = math.log(2.0 + len(self.items))
        # fsum: the same total whatever order a set iterates in (it follows the hash seed)
        return math.fsum(map(self.weights.get, words, repeat(unseen, len(words))))

    def totals(self, f: Features) -> tuple[float, float, float]:
        """Summed word weights of an entry's title, lede and both, for fast Jaccard."""
        return (
            self._weight_of(f.title),
            self._weight_of(f.lede),
            self._weight_of(f.title | f.lede),
        )

    def _indexed_totals(self, f: Features) -> tuple[float, float, float]:
        """An indexed entry's totals, resummed once the index has grown by a quarter since."""
        indexed = self.items.get(f.key)
        if indexed is None:
            return self.totals(f)
        if len(self.items) > 1.25 * indexed.totals_at + 8:
            indexed.totals, indexed.totals_at = self.totals(f), len(self.items)
        return indexed.totals

    def _similarity(
        self, a: frozenset[str], b: frozenset[str], total_a: float, total_b: float
    ) -> float:
        """IDF-weighted Jaccard: shared rare words count, shared common words barely do.

        Totals are summed when an entry is indexed, so only the shared words are summed here."""
        shared = a & b
        if not shared:
            return 0.0
        both = self._weight_of(shared)
        return min(1.0, both / max(total_a + total_b - both, both))

    @staticmethod
    def _guard(a: Features, b: Features) -> str | None:
        """Why two similar texts are still different stories, if they are."""
        mine, theirs = a.title_numbers - b.numbers, b.title_numbers - a.numbers
        if mine and theirs:
            return f"numbers differ: {', '.join(sorted(mine))} vs {', '.join(sorted(theirs))}"
        mine, theirs = a.title_places - b.places, b.title_places - a.places
        if mine and theirs:
            return f"places differ: {', '.join(sorted(mine))} vs {', '.join(sorted(theirs))}"
        if a.places and b.places and not a.places & b.places:
            mine, theirs = ", ".join(sorted(a.places)), ", ".join(sorted(b.places))
            return f"places differ: {mine} vs {theirs}"
        mine = a.title_names - b.title - b.lede
        theirs = b.title_names - a.title - a.lede
        if mine and theirs:
            return f"names differ: {', '.join(sorted(mine))} vs {', '.join(sorted(theirs))}"
        return None

    def compare(
        self,
        a: Features,
        b: Features,
        totals: tuple[float, float, float] | None = None,
        any_age: bool = False,
    ) -> Comparison:
        """Score a pair and decide whether it is one story (`any_age`: however far apart they
        were published, as for one outlet's items at the same URL)."""
        s = self.settings
        ta = totals or self.totals(a)
        tb = self._indexed_totals(b)
        title = self._similarity(a.title, b.title, ta[0], tb[0])
        lede = self._similarity(a.lede, b.lede, ta[1], tb[1])
        combined = self._similarity(a.title | a.lede, b.title | b.lede, ta[2], tb[2])
        linked = b.url in a.links or a.url in b.links
        guard = self._guard(a, b)

        def verdict(same: bool, reason: str) -> Comparison:
            return Comparison(b.key, title, lede, combined, linked, guard, same, reason)

        if not any_age and abs(a.published - b.published) > self.window:
            return verdict(False, f"published more than {s.window_hours} h apart")
        if linked and max(title, lede, combined) >= s.link_threshold:
            return verdict(True, "one links to the other")
        if guard:
            return verdict(False, guard)
        if a.language != b.language:
            return verdict(False, f"different languages: {a.language} vs {b.language}")
        if title >= s.title_threshold:
            return verdict(True, f"title {title:.2f} >= {s.title_threshold}")
        if lede >= s.lede_threshold:
            return verdict(True, f"lede {lede:.2f} >= {s.lede_threshold}")
        if combined >= s.combined_threshold:
            return verdict(True, f"title+lede {combined:.2f} >= {s.combined_threshold}")
        figures = a.numbers & b.numbers
        if combined >= s.number_threshold and (
            any(map(_telling, figures)) or (figures and a.places & b.places)
        ):
            figure = f"same figure and title+lede {combined:.2f} >= {s.number_threshold}"
            return verdict(True, figure)
        return verdict(False, "not similar enough")

    # index

    def candidates(self, f: Features) -> list[int]:
        """Indexed entries sharing the most of this entry's rarest words, or linked with it.

        Blocking: only the `block_words` rarest words with short postings are looked up, and
        only the `block_candidates` entries sharing most of them within the window are compared.
        """
        s = self.settings
        words = sorted(
            (w for w in f.title | f.lede if w in self.postings),
            key=lambda w: (len(self.postings[w]), w),  # ties by the word: no hash-seed order
        )
        counts: dict[int, int] = defaultdict(int)
        for word in words[: s.block_words]:
            posting = self.postings[word]
            if len(posting) > s.block_max_postings:
                break
            for key in posting:
                counts[key] += 1
        window = self.window
        near = [k for k in counts if abs(self.items[k].features.published - f.published) <= window]
        near.sort(key=lambda k: (-counts[k], self._identity(k)))
        found = dict.fromkeys(near[: s.block_candidates])
        for link in f.links:
            if link in self.by_url:
                found[self.by_url[link]] = None
        found.update(dict.fromkeys(self.linked_from.get(f.url, ())))
        return [k for k in found if k in self.items and k != f.key]

    def add(self, f: Features, story: str) -> None:
        """Index an entry as a member of `story`."""
        self.newest = max(self.newest, f.published)
        self.order.append((f.published, f.key))
        for word in f.title | f.lede:
            self.postings[word].append(f.key)
            self._reweigh(word)
        self.items[f.key] = _Indexed(f, story, self.totals(f), len(self.items))
        self.by_url.setdefault(f.url, f.key)
        for link in f.links:
            self.linked_from[link].append(f.key)
        if len(self.order) % 1024 == 0:
            self._evict()

    def load(self, members: Iterable[tuple[Features, str]]) -> None:
        """Index many entries at once, oldest first (the stored window): the postings first,
        then each word's weight and each entry's totals once, instead of after every entry."""
        added: list[Features] = []
        for f, story in members:
            self.newest = max(self.newest, f.published)
            self.order.append((f.published, f.key))
            for word in f.title | f.lede:
                self.postings[word].append(f.key)
            self.items[f.key] = _Indexed(f, story, (0.0, 0.0, 0.0), 0)
            self.by_url.setdefault(f.url, f.key)
            for link in f.links:
                self.linked_from[link].append(f.key)
            added.append(f)
        for word in {w for f in added for w in f.title | f.lede}:
            self._reweigh(word)
        size = len(self.items)
        for f in added:
            self.items[f.key].totals, self.items[f.key].totals_at = self.totals(f), size
        self._evict()

    def _evict(self) -> None:
        """Forget entries far older than the newest, so the index stays one window wide."""
        horizon = self.newest - 2 * self.window
        keep: deque[tuple[float, int]] = deque()
        for published, key in self.order:
            if published >= horizon:
                keep.append((published, key))
                continue
            f = self.items.pop(key).features
            for word in f.title | f.lede:
                self._unlist(self.postings, word, key)
                self._reweigh(word)
            for link in f.links:
                self._unlist(self.linked_from, link, key)
            if self.by_url.get(f.url) == key:
                del self.by_url[f.url]
        self.order = keep

    @staticmethod
    def _unlist(index: dict[str, list[int]], word: str, key: int) -> None:
        posting = index.get(word)
        if posting is not None:
            posting.remove(key)
            if not posting:
                del index[word]

    def _identity(self, key: int) -> tuple[float, str, str]:
        """What breaks a tie between indexed entries: not their keys, which follow the order
        in which feeds answered, but when they were published, their URL and outlet."""
        f = self.items[key].features
        return (f.published, f.url, f.source)

    def compare_all(self, f: Features) -> list[Comparison]:
        """Comparisons with every candidate, best first (ties in a fixed order)."""
        totals = self.totals(f)
        found = [self.compare(f, self.items[k].features, totals) for k in self.candidates(f)]
        return sorted(found, key=lambda c: (not c.same, -c.combined, self._identity(c.other)))

    def story_of(self, key: int) -> str:
        return self.items[key].story

    def match(self, f: Features) -> tuple[str | None, Comparison | None]:
        """The story an entry belongs to (None: a new story) and the comparison that decided."""
        holder = self.by_url.get(f.url)
        if holder is not None and self.items[holder].features.source != f.source:
            return self.story_of(holder), None  # another outlet's entry at this URL
        # within one outlet a shared link is no evidence (every item may link the home page):
        # the text decides
        best = next(iter(self.compare_all(f)), None)
        if best is None or not best.same:
            return None, best
        return self.story_of(best.other), best


def describe(comparison: Comparison) -> str:
    """One line: the verdict's reason and the scores behind it."""
    return (
        f"{comparison.reason} (title {comparison.title:.2f}, lede {comparison.lede:.2f}, "
        f"title+lede {comparison.combined:.2f}; compared with entry {comparison.other})"
    )


WORD_SETS = ("title", "lede", "title_numbers", "numbers", "title_places", "places", "title_names")


def dump_words(f: Features) -> str:
    """The word sets of an entry's features as one line of text, kept beside the entry so that
    loading the matching window costs a split, not the folding and stemming again."""
    return "\t".join(" ".join(sorted(getattr(f, name))) for name in WORD_SETS)


class EntryFeatures:
    """Turns stored or new entries into Features, with this configuration's outlet names."""

    def __init__(self, config: Config) -> None:
        names = sorted(s.name for s in config.sources)
        self.boilerplate = Boilerplate(names)
        self.lede_words = config.dedupe.lede_words
        # stored word sets are reused only while what shaped them is the same
        self.signature = hashlib.sha256(repr((names, self.lede_words)).encode()).hexdigest()[:16]

    def stored(self, key: int, entry: Entry, words: str | None) -> Features:
        """Features from the word sets stored with the entry, or computed when there are none
        (or they were made under another signature)."""
        if not words or not words.startswith(self.signature + "\n"):
            return self(key, entry)
        sets = words[len(self.signature) + 1 :].split("\t")
        if len(sets) != len(WORD_SETS):
            return self(key, entry)
        own_site = _site(entry.url)
        frozen = [frozenset(sys.intern(w) for w in part.split()) for part in sets]
        return Features(
            key, entry.url, sys.intern(entry.source), sys.intern(primary(entry.language)),
            entry.published.timestamp(), *frozen,
            links=frozenset(
                link for link in entry.links if link != entry.url and _site(link) != own_site
            ),
        )  # fmt: skip

    def dump(self, f: Features) -> str:
        return f"{self.signature}\n{dump_words(f)}"

    def __call__(self, key: int, entry: Entry) -> Features:
        return features(
            key,
            entry.url,
            primary(entry.language),
            entry.title,
            entry.excerpt,
            entry.published,
            entry.links,
            self.boilerplate,
            self.lede_words,
            entry.source,
        )
