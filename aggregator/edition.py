"""Choose what a publish contains: the rolling feed's stories and the daily editions.

Edition D holds the stories first seen during local day D in `site.timezone`, cut at local
midnight, but for old news (`backlog`). Once D is over nothing can join it (first-seen times only
move forward), so a closed edition never changes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.config import Config, Source
from aggregator.languages import primary
from aggregator.models import Mention, StoredEntry, Story
from aggregator.normalize import canonical_url, strip_bidi
from aggregator.store import Store

BACKLOG_AGE = timedelta(hours=72)


def backlog(published: datetime, first_seen: datetime) -> bool:
    """Whether a story started by an entry published then and first seen then is old news,
    in no edition: a new source's back catalogue (the first run's too) or a feed catching up
    after days down would fill one day's digest with weeks of stories (Planet takes only the
    newest items of a new feed, `new_feed_items`). The rolling feeds show it by its date."""
    return published < first_seen - BACKLOG_AGE


def representative(members: Sequence[StoredEntry], sources: dict[str, Source]) -> StoredEntry:
    """The entry shown for a story: own sources first, then higher priority, then earliest."""

    def rank(member: StoredEntry) -> tuple[bool, int, datetime, int]:
        source = sources[member.entry.source]
        return (not source.own, -source.priority, member.entry.published, member.id)

    return min(members, key=rank)


def _uri(url: str) -> str:
    """An entry URL stored before URLs were kept as URIs, encoded now for publishing."""
    return url if url.isascii() else canonical_url(url)


def _stories(members: list[StoredEntry], config: Config, store: Store) -> list[Story]:
    sources = {s.name: s for s in config.sources}
    by_story: dict[str, list[StoredEntry]] = defaultdict(list)
    for member in members:
        if member.entry.source in sources:
            by_story[member.story_id].append(member)
    linked = store.translations(list(by_story))
    homes: dict[str, tuple[str | None, str]] = {}  # each shown source's links, made once
    stories = []
    for story_id, group in by_story.items():
        chosen = representative(group, sources)
        source = sources[chosen.entry.source]
        if source.name not in homes:
            home = canonical_url(source.homepage) if source.homepage else None
            homes[source.name] = (home, canonical_url(source.url))
        also: dict[str, Mention] = {}
        for member in sorted(group, key=lambda m: (m.entry.published, m.id)):
            name = member.entry.source
            if name != source.name and name not in also:
                also[name] = Mention(
                    strip_bidi(name),
                    _uri(member.entry.url),
                    member.entry.title,
                    member.entry.language,
                )
        entry = chosen.entry
        if not entry.url.isascii():
            entry = replace(entry, url=_uri(entry.url))
        stories.append(
            Story(
                id=story_id,
                first_seen=chosen.story_first_seen,
                entry=entry,
                source_name=strip_bidi(source.name),
                source_home=homes[source.name][0],
                source_feed=homes[source.name][1],
                category=source.category,
                also=tuple(also.values()),
                translations=tuple(
                    Mention(
                        strip_bidi(other.entry.source),
                        _uri(other.entry.url),
                        other.entry.title,
                        other.entry.language,
                    )
                    for other, _ in linked.get(story_id, ())
                ),
            )
        )
    stories.sort(key=lambda s: (s.entry.published, s.id), reverse=True)
    return stories


FRONT_CAP = 300  # stories on index.html: under ~300 KB; the rest are in the archive
TOP_STORIES = 8
TOP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class FrontPage:
    """index.html: the stories most outlets carried in the last 24 h, then the latest."""

    top: list[Story]
    latest: list[Story]  # newest first by publication (undated ones by when first seen)
    more: int  # stored stories the cap left off the page (they are in the archive)


@dataclass(frozen=True)
class Latest:
    """The newest stories, read and built once for every output that shows some of them."""

    stories: list[Story]  # newest first by publication (as `_stories` orders them)
    place: dict[str, int]  # story id -> its place by first-published entry (0: the newest)

    def first(self, count: int) -> list[Story]:
        """The `count` stories with the newest first-published entry, newest first."""
        return [s for s in self.stories if self.place[s.id] < count]


def latest(store: Store, config: Config, count: int | None = None) -> Latest:
    """The newest `count` stories (default: as many as any output shows)."""
    count = count or max(FRONT_CAP, 5 * config.site.feed_items)
    ranked = store.latest_story_entries(count)
    place = {member.story_id: at for at, member in ranked}
    return Latest(_stories([member for _, member in ranked], config, store), place)


def front_page(
    store: Store, config: Config, now: datetime, cap: int = FRONT_CAP, pool: Latest | None = None
) -> FrontPage:
    """Top stories ranked by how many outlets carried them, then by recency; an undated story
    never leads. Then the newest stories up to `cap` in all."""
    stories = (pool or latest(store, config, cap)).first(cap)
    more = max(store.story_count() - len(stories), 0)
    since = now - TOP_WINDOW
    shared = [s for s in stories if s.also and s.entry.dated and s.entry.published >= since]
    shared.sort(key=lambda s: (len(s.also), s.entry.published), reverse=True)
    top = shared[:TOP_STORIES]
    chosen = {s.id for s in top}
    return FrontPage(top, [s for s in stories if s.id not in chosen], more)


def section_feeds(
    store: Store, config: Config, pool: Latest | None = None
) -> tuple[dict[str, list[Story]], dict[str, list[Story]]]:
    """The newest `site.feed_items` stories of each language (primary subtag) and of each
    category that feeds.yaml names, for the per-language and per-category feeds."""
    limit = config.site.feed_items
    stories = (pool or latest(store, config, limit * 5)).first(limit * 5)
    languages = dict.fromkeys(primary(s.language) for s in config.sources)
    categories = dict.fromkeys(s.category for s in config.sources)
    by_language = {
        code: [s for s in stories if primary(s.entry.language) == code][:limit]
        for code in languages
    }
    by_category = {name: [s for s in stories if s.category == name][:limit] for name in categories}
    return by_language, by_category


def feed_stories(store: Store, config: Config, pool: Latest | None = None) -> list[Story]:
    """The newest `site.feed_items` stories, newest first."""
    limit = config.site.feed_items
    return (pool or latest(store, config, limit)).first(limit)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The local calendar day of a moment."""
    return moment.astimezone(zone).date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, as aware datetimes."""
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


@dataclass(frozen=True)
class Edition:
    """The stories first seen on one local day."""

    day: date
    stories: list[Story]
    more: int = 0  # stories of the day that a cap left out


def edition(store: Store, config: Config, day: date, only: Sequence[str] | None = None) -> Edition:
    """Edition `day`, newest story first; with `only`, those of its stories alone (digest.xml's
    list, `digest_list`), and how many it leaves out."""
    start, end = day_bounds(day, config.site.zone)
    members = store.stories_first_seen_between(start, end, only)
    more = 0 if only is None else max(store.story_count_between(start, end) - len(only), 0)
    return Edition(day, _stories(members, config, store), more)


def most_carried(store: Store, config: Config, day: date, cap: int) -> list[str]:
    """The `cap` stories of edition `day` that the most outlets carried, then the newest."""
    return store.most_carried(*day_bounds(day, config.site.zone), cap)


def digest_list(store: Store, config: Config, day: date, cap: int) -> tuple[list[str], bool]:
    """The stories of edition `day` that digest.xml lists, the `cap` that the most outlets
    carried, and whether they were chosen now. They are chosen once, at the edition's first
    publish in digest.xml, and kept (`Store.set_listed`): a desk of thousands of sources has
    ~100,000 stories a day, too many to rank again at every publish."""
    listed = store.listed(day)
    if listed is not None:
        return listed[:cap], False
    return most_carried(store, config, day, cap), True


def closed_days(store: Store, config: Config, now: datetime, limit: int = 60) -> dict[date, int]:
    """Closed days with stories and their story counts, oldest first, at most `limit` days back."""
    zone = config.site.zone
    today = local_day(now, zone)
    since, _ = day_bounds(today - timedelta(days=limit), zone)
    counts: dict[date, int] = defaultdict(int)
    for first_seen, count in store.story_first_seens(since):
        day = local_day(first_seen, zone)
        if day < today:
            counts[day] += count
    return dict(sorted(counts.items()))


def digest_due(day: date, config: Config) -> datetime:
    """When edition `day` goes out in digest.xml: `site.publish_at` on the next local day."""
    hours, minutes = map(int, config.site.publish_at.split(":"))
    return datetime.combine(day + timedelta(days=1), time(hours, minutes), config.site.zone)
