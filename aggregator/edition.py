"""Choose what a publish contains: the rolling feed's stories and the digest's window."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

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


def digest_stories(store: Store, config: Config, now: datetime) -> list[Story]:
    """Stories published in the last `site.digest_hours`, newest first."""
    since = now - timedelta(hours=config.site.digest_hours)
    return _stories(store.latest_story_entries(10_000, since=since), config)
