"""Match entries to each other, purely: features, guards and the windowed clusterer (link-outs,
then title and lede similarity). `stories.py` reads and writes the stories it decides.

Candidates are found through an inverted index on each entry's rarest words and compared only
within a time window, so clustering N entries costs close to O(N) rather than all pairs.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from itertools import chain, compress, repeat
from math import fsum
from operator import attrgetter, itemgetter, sub
from typing import Any
from urllib.parse import urlsplit

from aggregator.config import Config, Dedupe
from aggregator.languages import primary
from aggregator.matchtext import (
    Boilerplate,
    counts_people,
    figure_words,
    incidental,
    is_number,
    match_form,
    money_signs,
    tokens,
)
from aggregator.models import Entry, WindowEntry
from aggregator.normalize import link_key
from aggregator.places import places_in
from aggregator.semantic import VectorIndex


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


Words = tuple[str, ...]  # sorted and distinct: a third of a frozenset's memory, in a fixed order


def _words(found: Iterable[str]) -> Words:
    """Distinct words, interned (the window holds each word once, however many entries use it)
    and sorted."""
    return tuple(sorted({sys.intern(w) for w in found}))


@dataclass(frozen=True, slots=True)
class Features:
    """What matching looks at in one entry, computed once; kept for every entry in the window,
    so as compact tuples (a `Probe` holds the same words as sets for the entry being matched)."""

    key: int
    url: str  # its link key (normalize.link_key): every copy of the page has it
    source: str
    language: str
    published: float  # POSIX seconds
    title: Words
    lede: Words
    title_numbers: Words  # the headline's figures: no ages or sums of money unless it has no other
    numbers: Words  # every number in title and lede
    figures: Words  # the event's figures in title and lede: the headline's, and no ages or sums
    tolls: Words  # headline figures that count people (killed, wounded): a later report may raise
    title_places: Words
    places: Words
    title_names: Words  # capitalized words inside the title: people, bodies, places
    links: Words
    vector: bytes | None = None  # meaning vector (semantic.embed), when the semantic matcher runs

    def __reduce__(self) -> tuple[Callable[..., Features], tuple[Any, ...]]:
        """Pickled as its values, in C (not field by field in Python), and unpickled with its
        words interned as the window keeps them: the writer sends a helper what it folded."""
        return _unpickled, _values(self)


_values = attrgetter(*(item.name for item in fields(Features)))


def _unpickled(
    key: int, url: str, source: str, language: str, published: float, *values: Any
) -> Features:
    *sets, links, vector = values  # title and lede as they came: the index keeps them as ids
    title, lede, *rest = sets
    kept = (tuple(map(sys.intern, part)) for part in (*rest, links))
    return Features(
        key, url, sys.intern(source), sys.intern(language), published, title, lede, *kept, vector
    )


class Probe:
    """The word sets of the entry being matched, built once and compared with many."""

    __slots__ = (
        "features", "title", "lede", "words", "numbers", "figures", "places",
        "title_ids", "lede_ids", "word_ids",
    )  # fmt: skip

    def __init__(self, f: Features, ids: dict[str, int] | None = None) -> None:
        self.features = f
        self.title = frozenset(f.title)
        self.lede = frozenset(f.lede)
        self.words = self.title | self.lede
        self.numbers = frozenset(f.numbers)
        self.figures = frozenset(f.figures)
        self.places = frozenset(f.places)
        # the ids of its words that an index (`ids`: its word ids) holds: compared with the
        # indexed entries' ids as they are stored, never spelled back
        known = ids or {}
        self.title_ids = frozenset(map(known.get, f.title)) - _NONE
        self.lede_ids = frozenset(map(known.get, f.lede)) - _NONE
        self.word_ids = self.title_ids | self.lede_ids


_NONE = frozenset([None])


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
    title_words = figure_words(tokens(money_signs(clean_title)))
    lede_tokens = figure_words(tokens(money_signs(boilerplate.lede(lede))))[:lede_words]
    all_words = title_words + lede_tokens
    in_title = [i for i, w in enumerate(title_words) if is_number(w)]
    telling = [i for i in in_title if not incidental(title_words, i)] or in_title
    in_lede = [i for i, w in enumerate(lede_tokens) if is_number(w)]
    headline = [title_words[i] for i in telling]
    url = link_key(url)  # an AMP copy, or the link without www., is the same page
    return Features(
        key=key,
        url=url,
        source=sys.intern(source),
        language=sys.intern(language),
        published=published.timestamp(),
        title=_words(map(match_form, title_words)),
        lede=_words(map(match_form, lede_tokens)),
        title_numbers=_words(headline),
        numbers=_words([title_words[i] for i in in_title] + [lede_tokens[i] for i in in_lede]),
        figures=_words(
            headline + [lede_tokens[i] for i in in_lede if not incidental(lede_tokens, i)]
        ),
        tolls=_words(title_words[i] for i in telling if counts_people(title_words, i)),
        title_places=_words(places_in(title_words)),
        places=_words(places_in(all_words)),
        title_names=_words(map(match_form, tokens(" ".join(_capitalized(clean_title))))),
        links=_outside_links(links, url),
    )


def _outside_links(links: Iterable[str], url: str) -> Words:
    """The links of an entry to other sites (its own site's links tell nothing), as link keys
    (`url`: the entry's own key)."""
    if not links:
        return ()
    own_site = _site(url)
    keys = map(link_key, links)
    return _words(key for key in keys if key != url and _site(key) != own_site)


# A recurring title ("Editorial", "Daily news bulletin", "Photo of the day") over two texts
# that share next to nothing is two stories; so are one outlet's items under unrelated titles
# that share its boilerplate lede ("Read the full story on our website"). Texts this long
# (distinct words), alike below this, share next to nothing.
LEDE_FLOOR = 0.1  # under one title, the labelled set's true pairs share 0.17 or more
LEDE_WORDS = 8
TITLE_FLOOR = 0.1
TITLE_WORDS = 3


def _ledes_differ(a: Probe, lede: Words, similarity: float) -> bool:
    """Whether two entries' ledes say different things: both long enough to tell, and alike
    below `LEDE_FLOOR` (a report of one event under one title shares its names and figures)."""
    return similarity < LEDE_FLOOR and min(len(a.lede), len(lede)) >= LEDE_WORDS


def _titles_unrelated(a: Probe, title: Words, similarity: float) -> bool:
    """Whether two titles share next to nothing, both long enough to tell."""
    return similarity < TITLE_FLOOR and min(len(a.title), len(title)) >= TITLE_WORDS


RISING_HOURS = 24.0  # a count of people that rises within this long is one event's toll


def _figures_apart(a: Features, b: Features) -> tuple[list[str], list[str]]:
    """The headline figures of each report that the other never gives."""
    return (
        [w for w in a.title_numbers if w not in b.numbers],
        [w for w in b.title_numbers if w not in a.numbers],
    )


def _rising_count(a: Features, mine: list[str], b: Features, theirs: list[str]) -> bool:
    """Whether the headline figures that differ are a count of people that the later report
    raised ("9 dead", hours later "death toll rises to 12"): one event, not two."""
    if abs(a.published - b.published) > RISING_HOURS * 3600:
        return False
    if not (set(mine) <= set(a.tolls) and set(theirs) <= set(b.tolls)):
        return False
    earlier, later = (mine, theirs) if a.published <= b.published else (theirs, mine)
    return max(map(float, later)) >= max(map(float, earlier))


SWAP_TITLE = 0.3  # title overlap from which a word in place of another is the difference


def _swapped(c: Comparison, a: Probe, title: Words, lede: Words) -> bool:
    """Two headlines alike but for a word each ("ban women from gyms" / "from parks"): the
    word that differs is the news, however close their meaning (`title`, `lede`: the other's)."""
    if c.title < SWAP_TITLE:
        return False
    theirs = {*title, *lede}
    return any(w not in theirs for w in a.title) and any(w not in a.words for w in title)


def _ratio(both: float, total_a: float, total_b: float) -> float:
    """The weighted Jaccard of two texts from the weight of the words they share and their own."""
    return min(1.0, both / max(total_a + total_b - both, both))


_MARGIN = 1.0 - 1e-9  # below a bound by more than rounding could ever account for


def _fewer(pair: tuple[int, int]) -> int:
    """Sorts (key, count) pairs as `Counter.most_common` gives them: the highest count first."""
    return -pair[1]


def _in_several(lists: list[list[int]]) -> set[int]:
    """The keys found in more than one of these lists."""
    seen: set[int] = set()
    several: set[int] = set()
    for keys in lists:
        several.update(seen.intersection(keys))
        seen.update(keys)
    return several


def _identity(f: Features) -> tuple[float, str, str]:
    """What breaks a tie between indexed entries: not their keys, which follow the order in
    which feeds answered, but when they were published, their URL and outlet."""
    return (f.published, f.url, f.source)


def _distinct(title: Words, lede: Words) -> set[str]:
    """The words of an entry's title and lede, each once: what the index holds for it."""
    return set(title).union(lede)


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
    meaning: float | None = None  # cosine of the meaning vectors, when the semantic matcher ran


_WIDE = 1 << 31  # in Clusterer.title_sizes: the entry's word ids take four bytes each


@dataclass
class Clusterer:
    """Incremental story clustering over a sliding time window."""

    settings: Dedupe
    items: dict[int, Features] = field(default_factory=dict)  # by key: the caller's entry id
    postings: dict[str, list[int]] = field(default_factory=dict)
    common: dict[str, int] = field(default_factory=dict)  # words too common to block on: counts
    by_url: dict[str, int] = field(default_factory=dict)
    linked_from: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    # Numbers of each indexed entry, in compact arrays at [key - base] (keys, entry ids, of one
    # window were stored within a week or so: the arrays span that range), not in an object
    # per entry. When it was published: read for hundreds of candidates an entry.
    when: array[float] = field(default_factory=lambda: array("d"))
    # summed word weights of its title, lede and both (at 3 x [key - base]), and the size of
    # the index when they were summed: they are summed again once it has grown by a quarter
    sums: array[float] = field(default_factory=lambda: array("d"))
    summed_at: array[int] = field(default_factory=lambda: array("q"))
    # The words of its title and lede: ids packed in one bytes object, the title's first, two
    # bytes an id while there are fewer than 65,536 words (else four: the top bit of its title
    # size says so), where a tuple holds an 8-byte pointer a word; its Features keep empty
    # tuples. Ids are handed out as words are first indexed, and spelled back (`_words`) only
    # for the entries compared.
    texts: list[bytes | None] = field(default_factory=list)
    title_sizes: array[int] = field(default_factory=lambda: array("I"))
    word_ids: dict[str, int] = field(default_factory=dict)
    spelling: list[str] = field(default_factory=list)
    base: int = 0
    newest: float = 0.0
    oldest: float = math.inf
    vectors: VectorIndex | None = None  # the semantic matcher's index; None: lexical only
    weights: dict[str, float] = field(default_factory=dict)
    id_weights: array[float] = field(default_factory=lambda: array("d"))  # the same, by word id
    loaded_weights: array[float] = field(default_factory=lambda: array("d"))  # as `load` left them

    @property
    def window(self) -> float:
        return self.settings.window_hours * 3600.0

    def _post(self, words: Iterable[str], key: int, latest: bool = True) -> None:
        """Index an entry under its words, each posting in order of publication (`latest`: no
        indexed entry was published after it, so it goes last). A word in more than twice
        `block_max_postings` entries is never looked up, so only its count is kept (most of a
        window's postings)."""
        common, postings = self.common, self.postings
        most = 2 * self.settings.block_max_postings
        for word in words:
            if word in common:
                common[word] += 1
                continue
            posting = postings.setdefault(word, [])
            if latest:
                posting.append(key)
            else:
                insort(posting, key, key=self._published)
            if len(posting) > most:
                common[word] = len(posting)
                del postings[word]

    def _unpost(self, word: str, key: int) -> None:
        if word in self.common:
            self.common[word] -= 1
            if not self.common[word]:
                del self.common[word]
        else:
            self._unlist(self.postings, word, key)

    # similarity

    def _reweigh(self, words: Iterable[str]) -> None:
        """IDF of words, kept up to date when their document frequency changes."""
        postings, common, weights = self.postings, self.common, self.weights
        word_ids, id_weights = self.word_ids, self.id_weights
        size = len(self.items) + 1
        for word in words:
            posting = postings.get(word)
            df = len(posting) if posting is not None else common.get(word, 0)
            if df:
                weight = weights[word] = math.log(1.0 + size / (df + 1))
            else:
                weight = math.nan
                weights.pop(word, None)
            at = word_ids.get(word)
            if at is not None:
                id_weights[at] = weight

    def _weight_of(self, words: frozenset[str] | set[str] | Words) -> float:
        unseen = math.log(2.0 + len(self.items))
        # fsum: the same total whatever order a set iterates in (it follows the hash seed)
        return math.fsum(map(self.weights.get, words, repeat(unseen, len(words))))

    def totals(self, f: Features, probe: Probe | None = None) -> tuple[float, float, float]:
        """Summed word weights of an entry's title, lede and both, for fast Jaccard."""
        title, lede = self._words(f)
        both = probe.words if probe is not None else frozenset(title).union(lede)
        return (self._weight_of(title), self._weight_of(lede), self._weight_of(both))

    def _words(self, f: Features) -> tuple[Words, Words]:
        """An entry's title and lede words, spelled back from their ids if it is indexed."""
        if self.items.get(f.key) is not f:
            return f.title, f.lede
        ids, size = self._packed(f.key - self.base)
        if len(ids) < 2:  # itemgetter gives a tuple only for two items or more
            spelled = tuple(map(self.spelling.__getitem__, ids))
        else:
            spelled = itemgetter(*ids)(self.spelling)
        return spelled[:size], spelled[size:]

    def _compact(self, f: Features) -> Features:
        """Keep an entry's title and lede words as ids, at [key - base]; the Features to index
        (without them)."""
        ids, spelling = self.word_ids, self.spelling
        words = f.title + f.lede
        for word in words:
            if word not in ids:
                ids[word] = len(spelling)
                spelling.append(word)
                self.id_weights.append(self.weights.get(word, math.nan))
        at = f.key - self.base
        wide = len(spelling) > 0xFFFF
        self.texts[at] = array("I" if wide else "H", map(ids.__getitem__, words)).tobytes()
        self.title_sizes[at] = len(f.title) | (_WIDE if wide else 0)
        values = _values(f)  # as `replace(f, title=(), lede=())`, without its introspection
        return Features(*values[:5], (), (), *values[7:])

    def _indexed_totals(self, f: Features) -> tuple[float, float, float]:
        """An indexed entry's totals, resummed once the index has grown by a quarter since."""
        if f.key not in self.items:
            return self.totals(f)
        at = f.key - self.base
        self._resum_if_grown(f, at)
        return (self.sums[3 * at], self.sums[3 * at + 1], self.sums[3 * at + 2])

    def _resum_if_grown(self, f: Features, at: int) -> None:
        """Sum an indexed entry's totals (at [key - base]) again once the index has grown by a
        quarter since they were summed; a loaded entry's, at their first use, as they were
        when it was loaded (`_sum_when_used`)."""
        summed = self.summed_at[at]
        if len(self.items) > 1.25 * summed + 8:
            if summed < 0 and len(self.items) <= 1.25 * ~summed + 8:
                self._set_totals(at, self._sum_ids(at, self.loaded_weights), ~summed)
            else:
                self._keep_totals(f)

    def _keep_totals(self, f: Features) -> None:
        at = f.key - self.base
        if self.items.get(f.key) is f:  # indexed: its words are ids
            summed = self._sum_ids(at, self.id_weights)
        else:
            summed = self.totals(f)
        self._set_totals(at, summed, len(self.items))

    def _sum_ids(self, at: int, weights: array[float]) -> tuple[float, float, float]:
        """The totals of the indexed entry at [key - base] under these word weights (by id)."""
        ids, title = self._packed(at)
        weight = weights.__getitem__
        return (
            fsum(map(weight, ids[:title])),
            fsum(map(weight, ids[title:])),
            fsum(map(weight, set(ids))),
        )

    def _set_totals(self, at: int, summed: tuple[float, float, float], size: int) -> None:
        """Keep the totals of the entry at [key - base], summed when the index held `size`."""
        self.sums[3 * at : 3 * at + 3] = array("d", summed)
        self.summed_at[at] = size

    def _sum_when_used(self, added: list[Features]) -> None:
        """Leave the totals of these loaded entries to be summed at their first use, under the
        weights of now (kept): a run's new entries meet a few thousand of a window's entries,
        not all. Their sizes are noted as ~size (negative) until then."""
        if self.loaded_weights:  # loaded before: those entries may still wait for these weights
            for f in added:
                self._keep_totals(f)
            return
        self.loaded_weights = array("d", self.id_weights)
        pending = ~len(self.items)
        for f in added:
            self.summed_at[f.key - self.base] = pending

    def _packed(self, at: int) -> tuple[memoryview, int]:
        """The word ids of the indexed entry at [key - base], its title's first, and how many
        are its title's."""
        size = self.title_sizes[at]
        ids = memoryview(self.texts[at] or b"").cast("I" if size & _WIDE else "H")
        return ids, size & ~_WIDE

    def _may_be_same(self, p: Probe, b: Features, totals: tuple[float, float, float]) -> bool:
        """Whether an indexed entry's scores reach a threshold, or the two link, so that the
        full comparison is worth making: what `_scores` would give, from word ids. The words
        that title and lede share together are summed first; title or lede alone only when
        that sum leaves them a chance (their shared words are among those, so sum no more).
        Run for every candidate of every entry: it reads the totals `_indexed_totals` gives
        from their array."""
        f, s = p.features, self.settings
        at = b.key - self.base
        self._resum_if_grown(b, at)  # first, as in `_indexed_totals`
        if b.url in f.links or f.url in b.links:
            return True
        ids, size = self._packed(at)
        shared = p.word_ids.intersection(ids)
        if not shared:
            return False
        weight = self.id_weights.__getitem__
        both = fsum(map(weight, shared))
        sums = self.sums
        if _ratio(both, totals[2], sums[3 * at + 2]) >= min(
            s.combined_threshold, s.number_threshold
        ):
            return True
        # a score x / (total - x) reaches the threshold t only from x = t / (1 + t) x total
        threshold, total_a, total_b = s.title_threshold, totals[0], sums[3 * at]
        if both >= threshold / (1.0 + threshold) * (total_a + total_b) * _MARGIN:
            part = p.title_ids.intersection(ids[:size])
            if part and _ratio(fsum(map(weight, part)), total_a, total_b) >= threshold:
                return True
        threshold, total_a, total_b = s.lede_threshold, totals[1], sums[3 * at + 1]
        if both >= threshold / (1.0 + threshold) * (total_a + total_b) * _MARGIN:
            part = p.lede_ids.intersection(ids[size:])
            if part and _ratio(fsum(map(weight, part)), total_a, total_b) >= threshold:
                return True
        return False

    def _similarity(self, shared: frozenset[str], total_a: float, total_b: float) -> float:
        """IDF-weighted Jaccard: shared rare words count, shared common words barely do.

        Totals are summed when an entry is indexed, so only the shared words are summed here."""
        if not shared:
            return 0.0
        return _ratio(self._weight_of(shared), total_a, total_b)

    @staticmethod
    def _guard(
        a: Probe,
        b: Features,
        words: tuple[Words, Words],
        apart: tuple[list[str], list[str]],
        rose: bool,
    ) -> str | None:
        """Why two similar texts are still different stories, if they are (`words`: those of
        b's title and lede; `apart`: the headline figures that differ; `rose`: they are a count
        of people a later report raised)."""
        f = a.features
        mine, theirs = apart
        if mine and theirs and not rose:
            return f"numbers differ: {', '.join(mine)} vs {', '.join(theirs)}"
        mine = [w for w in f.title_places if w not in b.places]
        theirs = [w for w in b.title_places if w not in a.places]
        if mine and theirs:
            return f"places differ: {', '.join(mine)} vs {', '.join(theirs)}"
        if f.places and b.places and a.places.isdisjoint(b.places):
            return f"places differ: {', '.join(f.places)} vs {', '.join(b.places)}"
        mine = [w for w in f.title_names if w not in words[0] and w not in words[1]]
        theirs = [w for w in b.title_names if w not in a.words]
        if mine and theirs:
            return f"names differ: {', '.join(mine)} vs {', '.join(theirs)}"
        return None

    def _scores(
        self, p: Probe, b: Features, words: tuple[Words, Words], totals: tuple[float, float, float]
    ) -> tuple[float, float, float]:
        """Similarity of the titles, the ledes and both (`words`: b's title and lede)."""
        tb = self._indexed_totals(b)
        title, lede = words
        return (
            self._similarity(p.title.intersection(title), totals[0], tb[0]),
            self._similarity(p.lede.intersection(lede), totals[1], tb[1]),
            self._similarity(p.words.intersection(title + lede), totals[2], tb[2]),
        )

    def compare(
        self,
        a: Features,
        b: Features,
        totals: tuple[float, float, float] | None = None,
        any_age: bool = False,
        probe: Probe | None = None,
    ) -> Comparison:
        """Score a pair and decide whether it is one story (`any_age`: however far apart they
        were published, as for one outlet's items at the same URL)."""
        s = self.settings
        p = probe or Probe(a)
        words = self._words(b)
        title, lede, combined = self._scores(p, b, words, totals or self.totals(a, p))
        linked = b.url in a.links or a.url in b.links
        apart = _figures_apart(a, b)
        rose = bool(apart[0] and apart[1]) and _rising_count(a, apart[0], b, apart[1])
        guard = self._guard(p, b, words, apart, rose)

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
            if _ledes_differ(p, words[1], lede) and combined < s.combined_threshold:
                return verdict(False, f"titles alike, ledes differ ({lede:.2f} < {LEDE_FLOOR})")
            return verdict(True, f"title {title:.2f} >= {s.title_threshold}")
        if a.source == b.source and a.url != b.url and _titles_unrelated(p, words[0], title):
            return verdict(False, "one outlet's lede under unrelated titles: its boilerplate")
        if lede >= s.lede_threshold:
            return verdict(True, f"lede {lede:.2f} >= {s.lede_threshold}")
        if rose:  # the figures differ: only a title or lede alike on its own will do
            return verdict(False, "a count of people rose, but neither title nor lede is alike")
        if combined >= s.combined_threshold:
            return verdict(True, f"title+lede {combined:.2f} >= {s.combined_threshold}")
        # a figure both report, that is the event's figure in at least one of them
        figures = p.figures.intersection(b.numbers) | p.numbers.intersection(b.figures)
        if combined >= s.number_threshold and (
            any(map(_telling, figures)) or (figures and not p.places.isdisjoint(b.places))
        ):
            figure = f"same figure and title+lede {combined:.2f} >= {s.number_threshold}"
            return verdict(True, figure)
        return verdict(False, "not similar enough")

    # index

    def candidates(self, f: Features, probe: Probe | None = None) -> list[int]:
        """Indexed entries sharing the most of this entry's rarest words, or linked with it.

        Blocking: only the `block_words` rarest words with short postings are looked up, and
        only the `block_candidates` entries sharing most of them within the window are compared
        (ties by publication, URL and outlet, so neither the hash seed nor the order in which
        entries were indexed decides).
        """
        s = self.settings
        postings, most = self.postings, s.block_max_postings
        looked_up = [(len(keys), w) for w in (probe or Probe(f)).words if (keys := postings.get(w))]
        looked_up.sort()  # ties by the word: no hash-seed order
        lists = [postings[w] for size, w in looked_up[: s.block_words] if size <= most]
        low, high = f.published - self.window, f.published + self.window
        when, base = self.when, self.base
        if low <= self.oldest and self.newest <= high:  # the whole index is near enough
            keys = set().union(*lists)
            if len(keys) == sum(map(len, lists)):  # each shares one word: all tie
                return self._with_links(f, self._earliest_of(lists, set(), s.block_candidates))
            # those sharing two words or more; if fewer than the places, the earliest of those
            # sharing one (most of them) take the rest, found from the first of each posting
            several = _in_several(lists)
            if len(several) < s.block_candidates:
                rest = s.block_candidates - len(several)
                return self._with_links(f, [*several, *self._earliest_of(lists, several, rest)])
            counts = Counter(chain.from_iterable(lists))
            near = sorted([(k, counts[k]) for k in several], key=itemgetter(1), reverse=True)
        else:
            counts = Counter(chain.from_iterable(lists))
            near = [(k, n) for k, n in counts.items() if low <= when[k - base] <= high]
            near.sort(key=itemgetter(1), reverse=True)
        chosen = list(map(itemgetter(0), near[: s.block_candidates]))
        if len(near) > s.block_candidates:  # the last places go to the earliest of those tied
            last = -near[s.block_candidates - 1][1]  # near is by count, highest first: a run
            start = bisect_left(near, last, key=_fewer)  # of those tied, found by bisection
            end = bisect_right(near, last, key=_fewer)
            chosen = chosen[:start] + self._earliest(
                list(map(itemgetter(0), near[start:end])), s.block_candidates - start
            )
        return self._with_links(f, chosen)

    def _earliest_of(self, lists: list[list[int]], taken: set[int], count: int) -> list[int]:
        """What `_earliest` gives of the keys in these postings but not in `taken`, where each
        such key is in one posting only: found among the first `count` of each (postings are
        in order of publication), and any published at the same moment as the last of those."""
        pool: list[int] = []
        for posting in lists:
            head = posting[: count + len(taken)]  # holds `count` untaken keys, if it has them
            if len(head) < len(posting):
                edge = self._published(head[-1])
                if self._published(posting[len(head)]) == edge:
                    head = posting[: bisect_right(posting, edge, len(head), key=self._published)]
            pool += [k for k in head if k not in taken] if taken else head
        return self._earliest(pool, count)

    def _published(self, key: int) -> float:
        """When an indexed (or being indexed) entry was published, from the compact array."""
        return self.when[key - self.base]

    def _with_links(self, f: Features, chosen: list[int]) -> list[int]:
        """The candidates chosen by their words, then the indexed entries linked with `f`."""
        found = dict.fromkeys(chosen)
        for link in f.links:
            if link in self.by_url:
                found[self.by_url[link]] = None
        found.update(dict.fromkeys(self.linked_from.get(f.url, ())))
        return [k for k in found if k in self.items and k != f.key]

    def add(self, f: Features) -> None:
        """Index an entry: from now on, later entries are matched with it."""
        latest = f.published >= self.newest
        self.newest = max(self.newest, f.published)
        self.oldest = min(self.oldest, f.published)
        distinct = _distinct(f.title, f.lede)
        self._remember(f)
        self._post(distinct, f.key, latest)
        self._reweigh(distinct)
        f = self._index_vector(f)
        self._keep_totals(f)  # summed before the entry counts in the index, as in `totals`
        self._hold(self._compact(f))
        if len(self.items) % 1024 == 0:
            self._evict()

    def _hold(self, f: Features) -> None:
        """Keep an indexed entry (compacted), found by its key, its URL and the links to it."""
        self.items[f.key] = f
        self.by_url.setdefault(f.url, f.key)
        for link in f.links:
            self.linked_from[link].append(f.key)

    def _index_vector(self, f: Features) -> Features:
        """Put an entry's meaning vector in the index, which holds it from then on."""
        if f.vector is None:
            return f
        if self.vectors is not None:
            self.vectors.add(f.key, f.language, f.vector)
        return replace(f, vector=None)

    def load(self, entries: Iterable[Features]) -> None:
        """Index many entries at once, oldest first (the stored window): each entry's words as
        ids first, then every word's postings (or count) and weight once, instead of word by
        word after every entry; each entry's totals at their first use."""
        added: list[Features] = []
        in_order = True
        for f in entries:
            in_order = in_order and f.published >= self.newest
            self.newest = max(self.newest, f.published)
            self.oldest = min(self.oldest, f.published)
            self._remember(f)
            f = self._compact(self._index_vector(f))
            self._hold(f)
            added.append(f)
        words = self._post_all(added, in_order)
        self._reweigh(words)
        self._sum_when_used(added)
        self._evict()

    def _post_all(self, added: list[Features], in_order: bool) -> list[str]:
        """Index these indexed entries under their words, as `_post` would one by one (each
        posting in order of publication, a word in more than twice `block_max_postings` entries
        only counted), from their word ids: a word's entries are counted in C, and only the
        rare words' postings (a window's few) are written in Python. The words, spelled."""
        ids_of = self._packed
        base = self.base
        counts = Counter(chain.from_iterable(set(ids_of(f.key - base)[0]) for f in added))
        spelling, postings, common = self.spelling, self.postings, self.common
        most = 2 * self.settings.block_max_postings
        rare: set[int] = set()
        for word_id, count in counts.items():
            word = spelling[word_id]
            if word in common:
                common[word] += count
                continue
            total = count + len(postings.get(word, ()))
            if total > most:
                common[word] = total
                postings.pop(word, None)
            else:
                rare.add(word_id)
        for f in added:
            key = f.key
            for word_id in rare.intersection(ids_of(key - base)[0]):
                postings.setdefault(spelling[word_id], []).append(key)
        if not in_order:  # as `insort` would have placed them: by publication, ties as added
            for word_id in rare:
                postings[spelling[word_id]].sort(key=self._published)
        return [spelling[word_id] for word_id in counts]

    def _evict(self) -> None:
        """Forget entries far older than the newest, so the index stays one window wide."""
        horizon = self.newest - 2 * self.window
        if self.oldest >= horizon:
            return
        keys = list(self.items)
        published = list(map(self.when.__getitem__, map(sub, keys, repeat(self.base, len(keys)))))
        old = compress(keys, map(horizon.__gt__, published))  # one pass in C, no heap to keep
        for key in sorted(old, key=lambda k: (self.when[k - self.base], k)):  # oldest first
            f = self.items[key]
            distinct = _distinct(*self._words(f))
            del self.items[key]
            self.texts[key - self.base] = None
            if self.vectors is not None:
                self.vectors.remove(key)
            for word in distinct:
                self._unpost(word, key)
            self._reweigh(distinct)
            for link in f.links:
                self._unlist(self.linked_from, link, key)
            if self.by_url.get(f.url) == key:
                del self.by_url[f.url]
        self.oldest = min(filter(horizon.__le__, published), default=math.inf)

    @staticmethod
    def _unlist(index: dict[str, list[int]], word: str, key: int) -> None:
        posting = index.get(word)
        if posting is not None:
            posting.remove(key)
            if not posting:
                del index[word]

    def _identity(self, key: int) -> tuple[float, str, str]:
        return _identity(self.items[key])

    def _earliest(self, keys: list[int], count: int) -> list[int]:
        """The `count` keys first in (published, URL, outlet) order: sorted by publication from
        the compact array, and only a tie at the cut settled by URL and outlet."""
        if len(keys) <= count:
            return keys
        at = list(map(self.when.__getitem__, map(sub, keys, repeat(self.base, len(keys)))))
        edge = sorted(at)[count - 1]
        earlier = list(compress(keys, map(edge.__gt__, at)))  # in C: no Python call a key
        earlier.sort(key=self._published)  # fewer than `count` of them
        at_edge = list(compress(keys, map(edge.__eq__, at)))
        if len(earlier) + len(at_edge) > count:
            at_edge.sort(key=self._identity)
        return earlier + at_edge[: count - len(earlier)]

    def _remember(self, f: Features) -> None:
        """Note when an indexed entry was published, in the array at [key - base]; the arrays
        grow by a quarter (doubling would leave up to half of their 52 bytes a key unused) at
        whichever end the key falls beyond."""
        if not self.when:
            self.base = f.key
        if f.key < self.base:
            extra = max(self.base - f.key, len(self.when) // 4, 1024)
            self.when = array("d", bytes(8 * extra)) + self.when
            self.sums = array("d", bytes(24 * extra)) + self.sums
            self.summed_at = array("q", bytes(8 * extra)) + self.summed_at
            self.texts = [None] * extra + self.texts
            self.title_sizes = array("I", bytes(4 * extra)) + self.title_sizes
            self.base -= extra
        missing = f.key - self.base + 1 - len(self.when)
        if missing > 0:
            grow = max(missing, len(self.when) // 4, 1024)
            self.when.frombytes(bytes(8 * grow))
            self.sums.frombytes(bytes(24 * grow))
            self.summed_at.frombytes(bytes(8 * grow))
            self.texts += [None] * grow
            self.title_sizes.frombytes(bytes(4 * grow))
        self.when[f.key - self.base] = f.published

    def compare_all(self, f: Features, probe: Probe | None = None) -> list[Comparison]:
        """Comparisons with every candidate, best first (ties in a fixed order)."""
        probe = probe or Probe(f)
        totals = self.totals(f, probe)
        found = [
            self.compare(f, self.items[k], totals, probe=probe) for k in self.candidates(f, probe)
        ]
        return sorted(found, key=lambda c: (not c.same, -c.combined, self._identity(c.other)))

    def _first_same(self, f: Features, probe: Probe) -> Comparison | None:
        """What `compare_all` puts first if it is the same story, else None; the full verdict
        (guards, figures, reason) only for candidates whose scores can reach a threshold."""
        totals = self.totals(f, probe)
        same = []
        for key in self.candidates(f, probe):
            b = self.items[key]
            if self._may_be_same(probe, b, totals):
                c = self.compare(f, b, totals, probe=probe)
                if c.same:
                    same.append(c)
        return min(same, key=lambda c: (-c.combined, self._identity(c.other)), default=None)

    def match(self, f: Features) -> tuple[int | None, Comparison | None]:
        """The indexed entry whose story this entry joins (None: a new story), and the
        comparison that decided (None for a new story, or the same URL from another outlet).
        Stories are the caller's: the index holds entries only."""
        holder = self.by_url.get(f.url)
        if holder is not None and self.items[holder].source != f.source:
            return holder, None  # another outlet's entry at this URL
        # within one outlet a shared link is no evidence (every item may link the home page):
        # the text decides
        probe = Probe(f, self.word_ids)
        best = self._first_same(f, probe)
        if best is not None:
            return best.other, best
        meant = self._by_meaning(f, probe)
        if meant is not None:
            return meant.other, meant
        return None, None

    def _near_in_meaning(self, f: Features, same: bool, at_least: float) -> list[tuple[int, float]]:
        """Indexed entries whose meaning vectors are within `at_least` of the entry's, in its
        language (`same`) or the others, inside the window, best first (ties in a fixed order)."""
        if self.vectors is None or f.vector is None:
            return []
        found = [
            (key, score)
            for key, score in self.vectors.nearest(
                f.vector, f.language, same, self.settings.block_candidates, at_least
            )
            if key != f.key and abs(self.when[key - self.base] - f.published) <= self.window
        ]
        return sorted(found, key=lambda pair: (-pair[1], self._identity(pair[0])))

    def _by_meaning(self, f: Features, probe: Probe) -> Comparison | None:
        """A reworded report of the same event in the same language: close in meaning, some
        words in common, and no guard against it."""
        s = self.settings
        near = self._near_in_meaning(f, True, s.meaning_threshold)
        if not near:
            return None
        totals = self.totals(f, probe)
        for key, score in near:
            b = self.items[key]
            c = self.compare(f, b, totals, probe=probe)
            if (
                c.guard is None
                and c.combined >= s.meaning_lexical
                and not _swapped(c, probe, *self._words(b))
            ):
                reason = (
                    f"meaning {score:.2f} >= {s.meaning_threshold} and "
                    f"title+lede {c.combined:.2f} >= {s.meaning_lexical}"
                )
                return replace(c, same=True, reason=reason, meaning=score)
        return None

    def translations(self, f: Features) -> list[Comparison]:
        """Indexed entries in other languages that report the same event (their stories are
        linked, never merged): the closest in meaning of each language, above the
        cross-language threshold, unguarded."""
        s = self.settings
        found: dict[str, Comparison] = {}
        near = self._near_in_meaning(f, False, s.cross_language_threshold)
        if not near:
            return []
        probe = Probe(f)
        totals = self.totals(f, probe)
        for key, score in near:
            other = self.items[key]
            if other.language in found:
                continue
            c = self.compare(f, other, totals, probe=probe)
            if c.guard is None:
                reason = f"meaning {score:.2f} >= {s.cross_language_threshold}, no guard"
                found[other.language] = replace(c, reason=reason, meaning=score)
        return list(found.values())


def describe(comparison: Comparison) -> str:
    """One line: the verdict's reason and the scores behind it."""
    meaning = "" if comparison.meaning is None else f", meaning {comparison.meaning:.2f}"
    return (
        f"{comparison.reason} (title {comparison.title:.2f}, lede {comparison.lede:.2f}, "
        f"title+lede {comparison.combined:.2f}{meaning}; compared with entry {comparison.other})"
    )


WORD_SETS = (
    "title", "lede", "title_numbers", "numbers", "figures", "tolls", "title_places", "places",
    "title_names",
)  # fmt: skip
FORMAT = 2  # of the stored word sets: a new one makes older stored sets be folded again


def dump_words(f: Features) -> str:
    """The word sets of an entry's features as one line of text, kept beside the entry so that
    loading the matching window costs a split, not the folding and stemming again."""
    return "\t".join(" ".join(getattr(f, name)) for name in WORD_SETS)


class EntryFeatures:
    """Turns stored or new entries into Features, with this configuration's outlet names."""

    def __init__(self, config: Config) -> None:
        names = sorted(s.name for s in config.sources)
        self.boilerplate = Boilerplate(names)
        self.lede_words = config.dedupe.lede_words
        self.with_vectors = config.dedupe.matcher == "semantic"  # read stored vectors only then
        # stored word sets are reused only while what shaped them is the same
        made_by = repr((FORMAT, names, self.lede_words))
        self.signature = hashlib.sha256(made_by.encode()).hexdigest()[:16]
        self._prefix = self.signature + "\n"  # what stored word sets made so start with

    def current(self, entry: Entry) -> bool:
        """Whether the entry's stored word sets were made under this configuration."""
        return entry.words is not None and entry.words.startswith(self._prefix)

    def stored(self, key: int, entry: Entry) -> Features:
        """Features from the word sets stored with the entry, or computed when there are none
        (or they were made under another signature)."""
        made = self._from_words(
            key, entry.url, entry.source, entry.language, entry.published.timestamp(),
            entry.words, entry.links, entry.vector,
        )  # fmt: skip
        return made if made is not None else self(key, entry)

    def from_window(self, row: WindowEntry) -> Features | None:
        """Features of a window entry from its stored word sets; None if they were made under
        another signature (the entry must be folded again)."""
        links = () if row.links == "[]" else tuple(json.loads(row.links))
        published = datetime.fromisoformat(row.published).timestamp()
        return self._from_words(
            row.id, row.url, row.source, row.language, published, row.words, links, row.vector
        )

    def _from_words(
        self,
        key: int,
        url: str,
        source: str,
        language: str,
        published: float,
        words: str | None,
        links: tuple[str, ...],
        vector: bytes | None,
    ) -> Features | None:
        if words is None or not words.startswith(self._prefix):
            return None
        sets = words.split("\t")  # the title's part starts with the prefix
        if len(sets) != len(WORD_SETS):
            return None
        title, lede, *rest = sets
        url = link_key(url)
        # stored sorted; title and lede not interned: the index keeps them as word ids
        return Features(
            key, url, sys.intern(source), sys.intern(primary(language)), published,
            tuple(title[len(self._prefix) :].split()), tuple(lede.split()),
            *[tuple(map(sys.intern, part.split())) if part else () for part in rest],
            _outside_links(links, url), vector if self.with_vectors else None,
        )  # fmt: skip

    def dump(self, f: Features) -> str:
        return f"{self.signature}\n{dump_words(f)}"

    def __call__(self, key: int, entry: Entry) -> Features:
        made = features(
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
        return replace(made, vector=entry.vector) if self.with_vectors and entry.vector else made
