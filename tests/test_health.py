"""Each source's state on the status page, from what the store remembers of it."""

from datetime import UTC, datetime, timedelta

from aggregator.cli import main
from aggregator.config import parse_config
from aggregator.health import source_health
from aggregator.store import Store
from tests.conftest import NOW

CONFIG = parse_config(
    "sources:\n"
    "  - {name: Counted, url: 'https://a.example/feed'}\n"
    "  - {name: Uncounted, url: 'https://b.example/feed'}\n"
    "  - {name: Older, url: 'https://c.example/feed'}\n"
    "  - {name: Fine, url: 'https://d.example/feed'}\n"
)


def test_a_source_is_failing_whether_its_failure_counted_or_not(tmp_path):
    """A failure the network's outage made is not counted (`pacing.network_down`), and a
    database from before `failing_since` counts failures without it: both are failing."""
    with Store(tmp_path / "a.db") as store:
        for source in CONFIG.sources:
            store.sync_source(source.name, source.url, NOW)
        later = NOW + timedelta(hours=1)
        store.record_failure("Counted", NOW, None, "DNS: host not found", later)
        store.record_failure("Uncounted", NOW, None, "DNS: host not found", later, counted=False)
        store.record_failure("Older", NOW, 500, "HTTP 500", later)
        store.conn.execute("UPDATE sources SET failing_since = NULL WHERE name = 'Older'")
        store.record_success("Fine", NOW, 200, None, None, "hash", later)
        states = {row.name: row.state for row in source_health(store, CONFIG, later)}
    assert states == {
        "Counted": "failing",
        "Uncounted": "failing",
        "Older": "failing",
        "Fine": "ok",
    }


def test_a_source_silent_behind_304s_is_told_to_try_ignore_http_cache(workspace, capsys):
    """Two weeks of 304 Not Modified and no new entry: the server's cache may keep one ETag
    while the feed changes. `status` says what to try, at the source's line."""
    workspace.write_config(
        [{"name": "Cached", "url": "https://a.example/feed"},
         {"name": "Quiet", "url": "https://b.example/feed"}]
    )  # fmt: skip
    now = datetime.now(UTC)
    weeks_ago = now - timedelta(days=20)
    with Store(workspace.db) as store:
        for name, url in (
            ("Cached", "https://a.example/feed"),
            ("Quiet", "https://b.example/feed"),
        ):
            store.sync_source(name, url, weeks_ago)
        store.record_success("Cached", now, 304, '"one"', None, "hash", now + timedelta(hours=1))
        store.record_success("Quiet", now, 200, None, None, "hash", now + timedelta(hours=1))
    assert main(["status", "--config", str(workspace.config), "--db", str(workspace.db)]) == 0
    table = capsys.readouterr().out
    assert table.count("(silent)") == 2
    line = workspace.config.read_text().splitlines().index("- name: Cached") + 2
    assert table.count("try ignore_http_cache: true") == 1  # not for Quiet, which answers 200
    assert f"try ignore_http_cache: true in feeds.yaml line {line}" in table
