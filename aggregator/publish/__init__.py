"""Publish the outputs: feeds and the digest page, each written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from aggregator.config import Config
from aggregator.edition import digest_stories, feed_stories
from aggregator.health import source_health
from aggregator.publish.atomic import remove_stale_temp_files, write_atomic
from aggregator.publish.digest import digest_html
from aggregator.publish.feeds import atom_bytes, json_feed_bytes, rss_bytes
from aggregator.publish.status import status_html, status_json
from aggregator.store import Store


def publish(config: Config, store: Store, output: Path, now: datetime) -> int:
    """Write the feeds, the digest and the status page; return the number of feed items."""
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output)
    stories = feed_stories(store, config)
    rendered = {
        "feed.xml": rss_bytes(config.site, stories, now),
        "atom.xml": atom_bytes(config.site, stories, now),
        "feed.json": json_feed_bytes(config.site, stories, now),
        "index.html": digest_html(config, digest_stories(store, config, now), now),
    }
    health = source_health(store, config, now)
    rendered["status.json"] = status_json(health, now)
    rendered["status.html"] = status_html(config, health, now)
    for name, data in rendered.items():
        write_atomic(output / name, data)
    return len(stories)
