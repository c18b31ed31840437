"""Group entries into stories: one per canonical URL, with a stable id and a representative."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from aggregator.config import Source
from aggregator.models import Entry
from aggregator.store import Store, StoredEntry


def story_id(site_link: str, url: str, first_seen: datetime) -> str:
    """A `tag:` URI minted once, when the story is first seen, and never changed."""
    host = urlsplit(site_link).hostname or "aggregator.invalid"
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return f"tag:{host},{first_seen:%Y-%m-%d}:story/{digest}"


def assign_story(store: Store, entry_id: int, entry: Entry, now: datetime, site_link: str) -> bool:
    """Attach a new entry to the story with its canonical URL, or start one; True if started."""
    existing = store.story_for_url(entry.url)
    if existing:
        store.attach(entry_id, existing)
        return False
    new_id = story_id(site_link, entry.url, now)
    store.add_story(new_id, entry.url, now)
    store.attach(entry_id, new_id)
    return True


def representative(members: Sequence[StoredEntry], sources: dict[str, Source]) -> StoredEntry:
    """The entry shown for a story: own sources first, then higher priority, then earliest."""

    def rank(member: StoredEntry) -> tuple[bool, int, datetime, int]:
        source = sources[member.entry.source]
        return (not source.own, -source.priority, member.entry.published, member.id)

    return min(members, key=rank)
