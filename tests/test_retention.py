"""Retention: a simulated year stays bounded; prune and its dry run; the archive index."""

import re
from datetime import timedelta

from aggregator.cli import main
from aggregator.store import Store, ts
from tests.simulate import START, simulate_year

DB_BOUND = 16 * 2**20  # bytes after a year of 18 entries a day with 2 KB bodies (measured 12.1 MB)


def test_a_simulated_year_stays_bounded_and_keeps_every_id_and_edition(tmp_path):
    year = simulate_year(tmp_path, days=365)
    assert year.failed_runs == 0
    assert year.id_changes == []  # no story id ever changed, in the store or in feed.json
    assert year.db_bytes < DB_BOUND
    assert year.runs <= 31  # run history: 30 days
    assert year.archive_pages == 364 and year.archive_listed == 364  # every closed day
    assert year.month_headings == 12
    with Store(tmp_path / "aggregator.db") as store:
        emptied = store.conn.execute(
            "SELECT COUNT(*) FROM entries e WHERE first_seen < ? "
            "AND NOT EXISTS (SELECT 1 FROM bodies b WHERE b.id = e.id)",
            ("2026-09-01",),
        ).fetchone()[0]
        reappeared = store.conn.execute(
            "SELECT COUNT(DISTINCT story_id), COUNT(*) FROM entries WHERE guid IN "
            "('s0-20-0', 'relinked-guid')"
        ).fetchone()
        back = store.conn.execute(
            "SELECT first_seen, last_seen FROM entries WHERE guid = 's0-10-0'"
        ).fetchone()
    assert emptied >= 240 * 18 - 10  # content older than 90 days was cleared
    assert tuple(reappeared) == (1, 2)  # an old URL under a new guid joined its old story
    # the day-10 item that came back on day 150 was recognised: same entry, seen again
    assert tuple(back) == (ts(START + timedelta(days=10)), ts(START + timedelta(days=150)))


def test_prune_dry_run_tells_exactly_what_prune_then_removes(tmp_path, capsys):
    retention = {"content_days": 5, "identity_days": 10, "runs_days": 3}
    simulate_year(tmp_path, days=20, retention=retention)
    config, db = tmp_path / "feeds.yaml", tmp_path / "aggregator.db"
    args = ["prune", "--config", str(config), "--db", str(db)]
    with Store(db) as store:
        before = store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        runs_before = store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    assert main([*args, "--dry-run"]) == 0
    said = capsys.readouterr().out
    with Store(db) as store:
        assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == before
    assert main(args) == 0
    done = capsys.readouterr().out
    numbers = re.compile(
        r"content of (\d+) entr(?:y|ies), (\d+) entr(?:y|ies), (\d+) stor(?:y|ies), (\d+) runs?"
    )
    assert "prune would remove:" in said and "prune removed:" in done
    assert numbers.search(said).groups() == numbers.search(done).groups()
    cleared, deleted, stories, runs = map(int, numbers.search(done).groups())
    with Store(db) as store:
        left = store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        orphans = store.conn.execute(
            "SELECT COUNT(*) FROM stories WHERE id NOT IN (SELECT story_id FROM entries)"
        ).fetchone()[0]
        assert store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    # the real clock is months past the simulated days: only what the feeds still carry stays
    assert left == 3 * 3 * 6 and deleted == before - left
    assert orphans == 0 and stories > 0 and runs == runs_before > 0 and cleared > 0


def test_status_and_prune_on_a_missing_database_say_so(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text("sources:\n  - name: A\n    url: https://example.af/feed\n")
    for command in ("status", "prune"):
        assert main([command, "--config", str(config)]) == 1
        assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "aggregator.db").exists()


def test_a_new_database_is_compacted_a_month_after_its_first_prune_not_at_it(tmp_path):
    from aggregator.config import Retention
    from aggregator.retention import VACUUM_EVERY, prune

    statements: list[str] = []
    with Store(tmp_path / "a.db") as store:
        store.conn.set_trace_callback(statements.append)
        prune(store, Retention(), START)  # the first run's: what it stored is dense already
        assert "VACUUM" not in statements
        prune(store, Retention(), START + VACUUM_EVERY - timedelta(days=1))
        assert "VACUUM" not in statements
        prune(store, Retention(), START + VACUUM_EVERY)
        assert "VACUUM" in statements


def test_prune_makes_the_items_of_a_source_whose_entries_it_cleared_be_cleaned_again(tmp_path):
    """A source's stored item digests say its entries are whole; prune clears or deletes some,
    so it drops those digests: the items are cleaned and stored whole when seen again."""
    from aggregator.store import pack_digests, unpack_digests
    from tests.conftest import NOW
    from tests.test_store import entry

    old = NOW - timedelta(days=400)
    with Store(tmp_path / "a.db") as store, store.transaction():
        for name in ("K", "L"):
            store.sync_source(name, f"https://{name}.af/feed", old)
        kept = store.upsert_entry(entry(source="L", guid="l", url="https://l.af/1"), NOW)
        cleared = store.upsert_entry(entry(source="K", guid="k", url="https://k.af/1"), old)
        for name, key in (("K", cleared), ("L", kept)):
            digests = pack_digests([(name.encode() * 8, key)])
            store.record_success(name, NOW, 200, None, None, "h", parsed=True, digests=digests)
            assert unpack_digests(store.item_digests()[name]) == {name.encode() * 8: key}
        for identity, counts in ((500, (1, 0)), (365, (0, 1))):  # its content, then itself
            store.record_success("K", NOW, 200, None, None, "h", parsed=True, digests=b"K" * 16)
            assert (
                store.prune(NOW - timedelta(days=30), NOW - timedelta(days=identity), old)[:2]
                == counts
            )
            assert store.item_digests() == {"L": pack_digests([(b"L" * 8, kept)])}


def test_a_prune_says_one_of_each_in_the_singular():
    from aggregator.models import PruneReport
    from aggregator.retention import prune_said

    one = PruneReport(1, 1, 1, 1, 3 * 2**20, 2 * 2**20)
    assert prune_said(one) == (
        "prune removed: content of 1 entry, 1 entry, 1 story, 1 run; database 3.0 MB -> 2.0 MB"
    )
    dry = PruneReport(2, 0, 3, 4, 0, 0, dry_run=True)
    said = prune_said(dry)
    assert said == "prune would remove: content of 2 entries, 0 entries, 3 stories, 4 runs"
