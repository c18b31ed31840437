"""Publish the outputs: feeds, editions, archive and status, each written atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from aggregator.config import Config
from aggregator.edition import closed_days, digest_due, edition, feed_stories, local_day
from aggregator.health import source_health
from aggregator.publish.atomic import remove_stale_temp_files, write_atomic
from aggregator.publish.digest import archive_index_html, edition_html, index_html
from aggregator.publish.feeds import atom_bytes, editions_atom, json_feed_bytes, rss_bytes
from aggregator.publish.status import status_html, status_json
from aggregator.store import Store

DIGEST_EDITIONS = 30


def publish(config: Config, store: Store, output: Path, now: datetime) -> int:
    """Write every output file; return the number of items in the rolling feeds.

    Closed editions are archived once: an existing archive/YYYY-MM-DD.html is never rewritten.
    """
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output)
    stories = feed_stories(store, config)
    today = local_day(now, config.site.zone)
    counts = closed_days(store, config, now)
    editions = {}  # built only for the pages that need them
    for day in counts:
        page = output / "archive" / f"{day.isoformat()}.html"
        if not page.exists():
            editions[day] = edition(store, config, day)
            write_atomic(page, edition_html(config, editions[day], now))
    due = {day: digest_due(day, config) for day in counts}
    days = list(counts)
    sent_days = [day for day in days if due[day] <= now][-DIGEST_EDITIONS:]
    for day in {*sent_days, *days[-1:]} - editions.keys():
        editions[day] = edition(store, config, day)
    sent = [editions[day] for day in sent_days]
    latest = editions[days[-1]] if days else None
    health = source_health(store, config, now)
    rendered = {
        "feed.xml": rss_bytes(config.site, stories, now),
        "atom.xml": atom_bytes(config.site, stories, now),
        "feed.json": json_feed_bytes(config.site, stories, now),
        "index.html": index_html(config, edition(store, config, today), latest, now),
        "archive/index.html": archive_index_html(config, list(counts.items())),
        "digest.xml": editions_atom(config.site, sent, {e.day: due[e.day] for e in sent}),
        "status.json": status_json(health, now),
        "status.html": status_html(config, health, now),
    }
    for name, data in rendered.items():
        write_atomic(output / name, data)
    return len(stories)
