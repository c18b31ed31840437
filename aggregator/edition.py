"""Choose what a publish contains: the rolling feed's stories and the daily editions.

Edition D holds the stories first seen during local day D in `site.timezone`, cut at local
midnight. Once D is over nothing can join it (first-seen times only move forward), so a closed
edition never changes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.config import Config
from aggregator.dedupe import representative
from aggregator.models import Mention, Story
from aggregator.store import Store, StoredEntry


def _stories(members: list[StoredEntry], config: Config) -> list[Story]:
    sources = {s.name: s for s in config.sources}
    by_story: dict[str, list[StoredEntry]] = defaultdict(list)
    for member in members:
        if member.entry.source in sources:
            by_story[member.story_id].append(member)
    stories = []
    for story_id, group in by_story.items():
        chosen = representative(group, sources)
        source = sources[chosen.entry.source]
        also: dict[str, Mention] = {}
        for member in sorted(group, key=lambda m: (m.entry.published, m.id)):
            name = member.entry.source
            if name != source.name and name not in also:
                also[name] = Mention(name, member.entry.url)
        stories.append(
            Story(
                id=story_id,
                first_seen=chosen.story_first_seen,
                entry=chosen.entry,
                source_name=source.name,
                source_home=source.homepage,
                category=source.category,
                also=tuple(also.values()),
            )
        )
    stories.sort(key=lambda s: (s.entry.published, s.id), reverse=True)
    return stories


def feed_stories(store: Store, config: Config) -> list[Story]:
    """The newest `site.feed_items` stories, newest first."""
    limit = config.site.feed_items
    return _stories(store.latest_story_entries(limit), config)[:limit]


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
    closed: bool


def edition(store: Store, config: Config, day: date, now: datetime) -> Edition:
    """Edition `day`, newest story first; closed once its local day is over at `now`."""
    start, end = day_bounds(day, config.site.zone)
    stories = _stories(store.stories_first_seen_between(start, end), config)
    return Edition(day, stories, closed=now >= end)


def closed_days(store: Store, config: Config, now: datetime, limit: int = 60) -> list[date]:
    """Closed days with stories, oldest first, at most `limit` days back."""
    today = local_day(now, config.site.zone)
    first = store.first_story_seen()
    if first is None:
        return []
    day = max(local_day(first, config.site.zone), today - timedelta(days=limit))
    days = []
    while day < today:
        start, end = day_bounds(day, config.site.zone)
        if store.count_stories_first_seen_between(start, end):
            days.append(day)
        day += timedelta(days=1)
    return days


def digest_due(day: date, config: Config) -> datetime:
    """When edition `day` goes out in digest.xml: `site.publish_at` on the next local day."""
    hours, minutes = map(int, config.site.publish_at.split(":"))
    return datetime.combine(day + timedelta(days=1), time(hours, minutes), config.site.zone)
