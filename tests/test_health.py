"""Each source's state on the status page, from what the store remembers of it."""

from datetime import timedelta

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
