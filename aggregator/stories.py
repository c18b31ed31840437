"""Entries into stories, in the database: the same URL at any age, an editor's override, or a
match from the clusterer within the window; editors' corrections (split, merge, undo) and
`explain`, which replays a decision."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from aggregator import semantic
from aggregator.config import Config
from aggregator.dedupe import Clusterer, Comparison, EntryFeatures, Features, describe
from aggregator.edition import backlog
from aggregator.matching import AheadFailed, Decision, Matcher, routes_for
from aggregator.models import Entry, Override, OverrideKind, Route, StoredEntry
from aggregator.semantic import VectorIndex
from aggregator.store import Store


def semantic_matcher(config: Config) -> bool:
    """Whether meaning vectors join the matching: asked for in feeds.yaml, and installed."""
    return config.dedupe.matcher == "semantic" and semantic.available()


def story_id(site_link: str, url: str, first_seen: datetime) -> str:
    """A `tag:` URI minted once, when the story is first seen, and never changed."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return _tag_prefix(site_link, first_seen.date()) + digest


@functools.lru_cache(maxsize=16)
def _tag_prefix(site_link: str, day: date) -> str:
    """The part of a story id shared by a run's stories (a run starts them all on one day)."""
    host = urlsplit(site_link).hostname or "aggregator.invalid"
    return f"tag:{host},{day:%Y-%m-%d}:story/"


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, held at the ends of the calendar rather than overflowing."""
    try:
        return moment + delta
    except OverflowError:
        edge = datetime.max if delta > timedelta(0) else datetime.min
        return edge.replace(tzinfo=moment.tzinfo)


def window_clusterer(
    store: Store,
    config: Config,
    around: datetime,
    make: EntryFeatures,
    before: int | None = None,
    keep: bool = False,
    refolded: list[tuple[int, str]] | None = None,
) -> tuple[Clusterer, dict[int, StoredEntry]]:
    """A clusterer holding the stored entries published near `around` (clustered before
    `before` in match order, if given), and the entries themselves if `keep`. Word sets stored
    under another configuration are folded again, and put in `refolded` if given, for the
    caller to store (once: the next run reads them)."""
    window = timedelta(hours=config.dedupe.window_hours)
    clusterer = Clusterer(config.dedupe)
    if semantic_matcher(config):
        clusterer.vectors = VectorIndex()
    loaded = {}
    start, end = _shifted(around, -2 * window), _shifted(around, window)
    apart = store.split_urls()

    def kept() -> Iterator[Features]:  # every entry whole, for `explain` to show
        for member in store.entries_published_between(start, end):
            if member.entry.url not in apart and (member.match_order or 0) < limit:
                loaded[member.id] = member
                f = make.stored(member.id, member.entry)
                if refolded is not None and not make.current(member.entry):
                    refolded.append((member.id, make.dump(f)))
                yield f

    def members() -> Iterator[Features]:  # plain rows: a run loads the whole window
        for row in store.window_entries(start, end):
            if row.url in apart or (row.match_order or 0) >= limit:
                continue
            f = make.from_window(row)
            if f is None:  # stored under another configuration: folded again
                entry = store.entries_for_matching([row.id])[0][1]
                f = make(row.id, entry)
                if refolded is not None:
                    refolded.append((row.id, make.dump(f)))
            yield f

    limit = math.inf if before is None else before
    clusterer.load(kept() if keep else members())
    return clusterer, loaded


class StoryAssigner:
    """Puts new entries into stories: the same URL at any age, else a similar entry in the window.

    The window's entries are loaded from the store once per run, so stories from earlier runs
    and days keep gaining members instead of being published again.
    """

    def __init__(
        self,
        store: Store,
        config: Config,
        now: datetime,
        decisions: Iterator[tuple[int, Decision]] | None = None,
    ) -> None:
        """With `decisions` (by entry id, in the order the entries will be assigned), matching
        was done ahead (`ahead.py`): no window is loaded here, and each decision is checked."""
        self.store = store
        self.site_link = config.site.link
        self.semantic = semantic_matcher(config)
        self.problems: list[str] = []
        self.features = EntryFeatures(config)
        self.decisions = decisions
        # entries folded before their turn (`fold`), with their word sets as they are stored
        self.folded: dict[int, tuple[Features, str]] = {}
        self.matcher: Matcher | None = None
        if decisions is None:
            refolded: list[tuple[int, str]] = []
            clusterer, _ = window_clusterer(store, config, now, self.features, refolded=refolded)
            self.matcher = Matcher(clusterer, self.features)
            store.set_words(refolded)  # after the read: not while its cursor is open
        self.order = store.last_match_order()
        self.overridden = store.overridden_urls()  # editors' corrections are rare: look once
        # clustered entries at the URLs of the batch being assigned, kept up to date as the
        # batch's own entries join their stories: one query a batch instead of one an entry
        self.at_urls: dict[str, list[tuple[int, str, str]]] = {}
        # memberships decided but not yet written (`writing_later`), by entry id, and the
        # stories started and linked with them: written in few statements outside any
        # entry's savepoint, where each first write to a page would copy it aside
        self.later: dict[int, tuple[int, str, str | None, int, str | None]] | None = None
        self.started: list[tuple[str, str, datetime, bool]] = []
        self.linked: list[tuple[str, str, str]] = []
        # the story ids and keys (first URLs) that `prepare` looked up for the batch's stories,
        # and those among them that the database holds or this batch started
        self.looked_up: set[str] = set()
        self.taken: set[str] = set()

    def assign(self, entry_id: int, entry: Entry, now: datetime) -> bool:
        """Attach a new entry to its story, or start one; True if it started a story. What it
        wrote is undone (a savepoint) if it raises."""
        if self.later and (entry.url in self.overridden or self.at_urls.get(entry.url, True)):
            # an editor's correction, or clustered entries at its URL, are read from the
            # database: what is kept is written first, outside this entry's savepoint
            self.flush()
        with self.store.savepoint():
            return self._assign(entry_id, entry, now)

    def _assign(self, entry_id: int, entry: Entry, now: datetime) -> bool:
        if entry_id in self.folded:
            f, words = self.folded.pop(entry_id)
        else:
            f = self.features.stored(entry_id, entry)
            words = None if self.features.current(entry) else self.features.dump(f)
        forced = forced_story(self.store, entry.url) if entry.url in self.overridden else None
        decision = self._decide(entry_id, entry, f, forced)
        story, reason = self._story_for(decision, entry, forced)
        new = story is None
        started: tuple[str, str, datetime, bool] | None = None  # a story to write later
        if story is None:
            story, started = self._start(entry, now)
        self.order += 1
        membership = (entry_id, story, reason, self.order, words)
        if self.later is None:
            self.store.attach(*membership)
        linked: list[tuple[str, str, str]] = []
        if self.matcher is not None and not decision.alone:  # split: never a match for others
            for link in self.matcher.clusterer.translations(f):
                linked.append((story, self._story_of(link.other), describe(link)))
                if self.later is None:
                    self.store.link_stories(*linked[-1])
            self.matcher.commit(f)
        self.at_urls.setdefault(entry.url, []).append((entry_id, entry.source, story))
        if self.later is not None:  # last: an entry that failed before leaves nothing to write
            self.later[entry_id] = membership
            if started is not None:
                self.started.append(started)
                self.taken.update(started[:2])
            self.linked += linked
        return new

    def fold(self, entries: list[tuple[int, Entry]]) -> list[Features]:
        """Fold, before their turn, the entries stored without word sets (or with another
        configuration's), kept here until they are assigned: for a helper that matches ahead,
        their features, which it would otherwise read back from the word sets stored."""
        folded = []
        for entry_id, entry in entries:
            if not self.features.current(entry):
                f = self.features(entry_id, entry)
                self.folded[entry_id] = f, self.features.dump(f)
                folded.append(f)
        return folded

    def _decide(self, entry_id: int, entry: Entry, f: Features, forced: Forced | None) -> Decision:
        """What clustering decides for the entry: here, or ahead and checked against what this
        process reads (an override, the clustered entries at its URL)."""
        if self.decisions is not None:
            decided_for, decision = next(self.decisions)
            routes = (
                (Route.FORCED,) if forced else routes_for(entry.source, self._members(entry.url))
            )
            if decided_for != entry_id or decision.route not in routes:
                raise AheadFailed(
                    f"entry {entry_id}: {decision.route} decided ahead for entry {decided_for}, "
                    f"where {', '.join(routes)} can be taken"
                )
            if forced and decision.alone != forced.alone:
                raise AheadFailed(f"entry {entry_id}: decided ahead as split off, or not")
            return decision
        if forced is not None:
            return Decision(Route.FORCED, alone=forced.alone)

        def own() -> list[tuple[int, Entry]]:
            return [(o.id, o.entry) for o in self.store.entries_at_url(entry.url, entry.source)]

        assert self.matcher is not None  # without decisions made ahead, the window is loaded here
        return self.matcher.decide(f, self._members(entry.url), own)

    def _story_for(
        self, decision: Decision, entry: Entry, forced: Forced | None
    ) -> tuple[str | None, str | None]:
        """The story a decision puts the entry in (None: a new one), and why."""
        if forced is not None:  # the decision's route is FORCED
            return forced.story, forced.reason
        if decision.route is Route.URL:  # the first by id stored before, then this run's
            members = self.at_urls[entry.url]
            return next(story for _, source, story in members if source != entry.source), "same URL"
        if decision.other is None:
            return None, None
        story = self._story_of(decision.other)
        why = describe(decision.comparison) if decision.comparison else None
        return story, f"same URL and {why}" if decision.route is Route.OWN else why

    def _start(
        self, entry: Entry, now: datetime
    ) -> tuple[str, tuple[str, str, datetime, bool] | None]:
        """A new story for the entry, keyed by its URL, or by URL, outlet and guid if this outlet
        used the URL before; and its row to write later if `prepare` looked its id and key up
        (None: written now)."""
        old = backlog(entry.published, now)
        for key in (entry.url, f"{entry.url}#{entry.source}/{entry.guid}"):
            story = story_id(self.site_link, key, now)
            if story in self.taken or key in self.taken:
                continue
            if self.later is not None and story in self.looked_up and key in self.looked_up:
                return story, (story, key, now, old)
            if self.store.add_story(story, key, now, old):
                if self.later is not None:  # the batch's stories to write later must not take it
                    self.taken.update((story, key))
                return story, None
        raise RuntimeError(f"a story was started under {key} already")

    @contextmanager
    def writing_later(self) -> Iterator[None]:
        """Within: the stories the entries start, their memberships and links are kept and
        written together at the end, in row order, rather than one statement at a time inside
        each entry's savepoint, which copies aside each page a statement first writes to.
        `assign` writes them first when it will read memberships from the database."""
        self.later = {}
        try:
            yield
            self.flush()
        finally:
            self.later = None
            self.looked_up, self.taken = set(), set()

    def flush(self) -> None:
        """Write the stories, memberships and links kept by `writing_later` so far."""
        if self.started:
            self.store.add_stories(self.started)
            self.started.clear()
        if self.later:
            self.store.attach_many(list(self.later.values()))
            self.later.clear()
        for link in self.linked:
            self.store.link_stories(*link)
        self.linked.clear()

    def _story_of(self, entry_id: int) -> str:
        """The story of a clustered entry, written or not yet."""
        kept = self.later.get(entry_id) if self.later else None
        return kept[1] if kept else self.store.story_of_entry(entry_id)

    def _members(self, url: str) -> list[tuple[int, str]]:
        """The clustered entries at a canonical URL, however old, (id, outlet): those stored
        before this batch by id, then in the order this run assigned them."""
        if url not in self.at_urls:
            self.at_urls[url] = self.store.stories_at_urls([url]).get(url, [])
        return [(entry_id, source) for entry_id, source, _ in self.at_urls[url]]

    def prepare(self, entries: list[tuple[int, Entry]], now: datetime) -> list[tuple[int, Entry]]:
        """The entries about to be assigned, with meaning vectors when the semantic matcher
        runs: the missing ones made in one call to the model and stored with their entries.
        The stories at their URLs, and those under the ids and URLs that would key the stories
        they start (at `now`), are read in a few queries."""
        urls = [e.url for _, e in entries]
        self.at_urls = {url: [] for url in urls}
        self.at_urls.update(self.store.stories_at_urls(urls))
        ids = [story_id(self.site_link, url, now) for url in urls]
        self.looked_up = {*urls, *ids}
        self.taken = self.store.stories_taken(ids, urls)
        if not self.semantic:
            return entries
        missing = [(i, e) for i, e in entries if e.vector is None]
        try:
            vectors = semantic.vectors_for((e.title, e.excerpt) for _, e in missing)
        except Exception as exc:  # the model failed: these entries are matched by their words
            self.problems.append(f"meaning vectors not made, words alone matched: {exc!r}")
            return entries
        made = dict(zip((i for i, _ in missing), vectors, strict=True))
        for entry_id, vector in made.items():
            self.store.set_vector(entry_id, vector)
        return [(i, replace(e, vector=made[i]) if i in made else e) for i, e in entries]


@dataclass(frozen=True)
class Explanation:
    """Why an entry is in its story: the stored decision and a fresh comparison with neighbours."""

    entry: StoredEntry
    members: list[StoredEntry]
    comparisons: list[tuple[StoredEntry, Comparison]]
    overrides: list[Override]
    translations: list[tuple[StoredEntry, str]]  # linked stories in other languages, and why


def explain(store: Store, config: Config, url: str, limit: int = 8) -> Explanation | None:
    """Re-run matching for the entry at `url` against what was stored before it arrived."""
    target = store.entry_by_url(url)
    if target is None:
        return None
    make = EntryFeatures(config)
    clusterer, earlier = window_clusterer(
        store, config, target.entry.published, make, before=target.match_order or 0, keep=True
    )
    found = clusterer.compare_all(make(target.id, target.entry))[:limit]
    return Explanation(
        entry=target,
        members=store.story_members(target.story_id),
        comparisons=[(earlier[c.other], c) for c in found],
        overrides=store.overrides(url),
        translations=store.translations([target.story_id]).get(target.story_id, []),
    )


# editors' corrections

SPLIT_REASON = "kept apart by an editor (aggregator split)"


class OverrideError(Exception):
    """The correction cannot be made; the message says why."""


@dataclass(frozen=True)
class Forced:
    """What an override decides for an entry arriving at a URL."""

    story: str | None  # the story to join (None: start its own)
    reason: str
    alone: bool  # a split entry: in a story of its own, and never a match for others


def merge_reason(other_url: str) -> str:
    return f"merged by an editor with {other_url} (aggregator merge)"


def forced_story(store: Store, url: str) -> Forced | None:
    """The story an editor's override puts an entry at `url` in, if any applies."""
    merge = None
    for override in store.overrides(url):
        if override.kind is OverrideKind.SPLIT:
            return Forced(None, SPLIT_REASON, alone=True)
        partner = override.other_url if override.url == url else override.url
        found = store.entry_by_url(partner)
        if found is not None and merge is None:
            merge = Forced(found.story_id, merge_reason(partner), alone=False)
    return merge


def _entry(store: Store, url: str) -> StoredEntry:
    found = store.entry_by_url(url)
    if found is None:
        raise OverrideError(f"no stored entry has the URL {url}")
    return found


def _own_story(store: Store, site_link: str, entry: StoredEntry) -> str:
    """A story for the entry alone, the same one each time it is split off."""
    key = f"{entry.entry.url}#split"
    existing = store.story_with_key(key)
    if existing:
        return existing
    story = story_id(site_link, key, entry.first_seen)
    store.add_story(story, key, entry.first_seen, backlog(entry.entry.published, entry.first_seen))
    return story


def split(store: Store, site_link: str, url: str, now: datetime) -> str:
    """Take the entry at `url` out of its story and keep it out; a line saying what happened."""
    entry = _entry(store, url)
    alone = len(store.story_members(entry.story_id)) == 1
    store.add_override(Override(OverrideKind.SPLIT, url, "", entry.story_id, now))
    if alone:
        return f"{url} is alone in its story already; it stays apart from now on"
    store.move_entry(entry.id, _own_story(store, site_link, entry), SPLIT_REASON)
    return f"{url} taken out of story {entry.story_id}; it stays apart from now on"


def merge(store: Store, url: str, other_url: str, now: datetime) -> str:
    """Put the entry at `url` into the story of the entry at `other_url`, now and later."""
    if url == other_url:
        raise OverrideError("merge needs two different URLs")
    entry, other = _entry(store, url), _entry(store, other_url)
    if url in store.split_urls():
        raise OverrideError(f"{url} was split off by an editor: `aggregator split {url} --undo`")
    store.add_override(Override(OverrideKind.MERGE, url, other_url, entry.story_id, now))
    if entry.story_id == other.story_id:
        return f"{url} and {other_url} are in one story already; they stay together"
    store.move_entry(entry.id, other.story_id, merge_reason(other_url))
    return f"{url} moved into story {other.story_id}, beside {other_url}"


def undo(store: Store, kind: OverrideKind, url: str, other_url: str = "") -> str:
    """Forget a split or a merge and put the entry back in the story it came from."""
    removed = store.remove_override(kind, url, other_url)
    if removed is None:
        what = f"{kind.value} of {url}" + (f" and {other_url}" if other_url else "")
        raise OverrideError(f"no {what} to undo (see `aggregator overrides`)")
    entry = store.entry_by_url(removed.url)
    back = removed.from_story
    if entry and back and entry.story_id != back and store.story_exists(back):
        store.move_entry(entry.id, back, f"back after an editor undid a {kind}")
        return f"{removed.url} is back in story {back}"
    return f"{kind.value} of {removed.url} forgotten; later runs match it as usual"
