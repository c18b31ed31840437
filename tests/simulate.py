"""A year of daily runs on an injected clock: a few small sources, new stories every day.

Used by tests/test_retention.py (with retention) and bench/retention_bench.py (with and
without), so the bound the test checks and the figures the benchmark prints come from one model.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from aggregator.config import load_config
from aggregator.pipeline import run
from aggregator.store import Store
from tests.conftest import FeedServer, Workspace, make_rss

START = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)  # 06:30 in Kabul
WORDS = [
    "Kabul", "Herat", "Balkh", "Kandahar", "Nangarhar", "Bamyan", "Kunduz", "Ghazni", "Paktia",
    "Helmand", "farmers", "teachers", "traders", "doctors", "students", "women", "refugees",
    "returnees", "council", "ministry", "governor", "police", "court", "water", "wheat",
    "saffron", "power", "road", "school", "clinic", "bridge", "market", "border", "flood",
    "quake", "drought", "protest", "deal", "visit", "ban", "loan", "aid", "census", "vote",
    "price", "fuel",
]  # fmt: skip
REAPPEAR_DAY, REAPPEARS_FROM = 150, 10  # an item from day 10 comes back, same guid
RELINK_DAY, RELINKED_FROM = 200, 20  # a day-20 URL comes back, retitled, under another guid


@dataclass
class YearResult:
    """What a simulated year left behind."""

    days: int
    seconds: float
    db_bytes: int
    entries: int
    stories: int
    runs: int
    archive_pages: int
    archive_listed: int
    month_headings: int
    id_changes: list[str] = field(default_factory=list)
    failed_runs: int = 0


def _item(rng: random.Random, source: int, day: int, n: int, body_bytes: int) -> dict[str, str]:
    title = " ".join(rng.sample(WORDS, 7)).capitalize()
    moment = START + timedelta(days=day, hours=-1 - n)
    paragraph = " ".join(rng.choice(WORDS) for _ in range(body_bytes // 7))
    return {
        "title": title,
        "link": f"https://s{source}.example.af/{day}/{n}",
        "guid": f"s{source}-{day}-{n}",
        "date": format_datetime(moment),
        "summary": title,
        "body": f"<p>{paragraph}</p>",
    }


def simulate_year(
    root: Path,
    days: int = 365,
    retention: dict[str, int] | None = None,
    sources: int = 3,
    per_day: int = 6,
    body_bytes: int = 2000,
) -> YearResult:
    """Run the pipeline once a day for `days` days; check story ids as it goes."""
    server = FeedServer()
    server.start()
    workspace = Workspace(root)
    rng = random.Random(7)
    history: list[list[list[dict[str, str]]]] = [[] for _ in range(sources)]
    try:
        names = [f"Source {i}" for i in range(sources)]
        workspace.write_config(
            [{"name": n, "url": server.url(f"/s{i}")} for i, n in enumerate(names)],
            site={"feed_items": 50},
            **({"retention": retention} if retention else {}),
        )
        config = load_config(workspace.config)
        story_of: dict[str, str] = {}  # entry link -> the story id it got
        changes: list[str] = []
        failed = 0
        started = time.monotonic()
        for day in range(days):
            for i in range(sources):
                history[i].append([_item(rng, i, day, n, body_bytes) for n in range(per_day)])
                recent = [item for items in history[i][-3:] for item in items]
                if i == 0 and day == REAPPEAR_DAY:
                    recent.append(history[0][REAPPEARS_FROM][0])
                if i == 0 and day == RELINK_DAY:
                    old = history[0][RELINKED_FROM][0]
                    relinked = dict(old, guid="relinked-guid", title=f"{old['title']} (updated)")
                    recent.append(relinked)
                server.add(f"/s{i}", make_rss(names[i], recent))
            with Store(workspace.db) as store:
                report = run(config, store, workspace.output, now=START + timedelta(days=day))
                failed += bool(report.publish_error or report.sources_failed)
                rows = store.conn.execute("SELECT url, story_id FROM entries").fetchall()
            for url, story in rows:
                if story_of.setdefault(url, story) != story:
                    changes.append(f"day {day}: {url} moved from {story_of[url]} to {story}")
            feed = json.loads((workspace.output / "feed.json").read_text(encoding="utf-8"))
            for item in feed["items"]:
                if story_of.get(item["url"], item["id"]) != item["id"]:
                    changes.append(f"day {day}: feed.json gives {item['url']} id {item['id']}")
        seconds = time.monotonic() - started
        with Store(workspace.db) as store:
            count = lambda table: store.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: E731
            entries, stories, runs = count("entries"), count("stories"), count("runs")
            size = store.size()
        archive = workspace.output / "archive"
        index = (archive / "index.html").read_text(encoding="utf-8")
        pages = [p for p in archive.glob("*.html") if p.name != "index.html"]
        return YearResult(
            days=days,
            seconds=seconds,
            db_bytes=size,
            entries=entries,
            stories=stories,
            runs=runs,
            archive_pages=len(pages),
            archive_listed=sum(f'href="{p.name}"' in index for p in pages),
            month_headings=index.count("<h2 "),
            id_changes=changes,
            failed_runs=failed,
        )
    finally:
        server.stop()
