import contextlib
import json
import os
import random
import sqlite3
import tempfile
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.models import Entry, Media
from aggregator.store import MIGRATIONS, Store, ts
from tests.conftest import NOW


def entry(guid="g1", url="https://k.com/a", title="Title", source="K") -> Entry:
    return Entry(
        source=source,
        guid=guid,
        url=url,
        title=title,
        summary_html="<p>s</p>",
        content_html="",
        excerpt="s",
        published=NOW - timedelta(hours=1),
        updated=None,
        language="en",
        categories=("Afghanistan",),
    )


def test_new_database_is_migrated_to_latest_in_wal_mode(tmp_path):
    with Store(tmp_path / "a.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(tmp_path / "a.db") as store:  # reopening migrates nothing
        assert store.schema_version == len(MIGRATIONS)


def test_version_1_database_is_migrated_forward_keeping_its_rows(tmp_path):
    db = sqlite3.connect(tmp_path / "a.db")
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO sources (name, url) VALUES ('K', 'https://k.com/feed')")
    db.commit()
    db.close()
    with Store(tmp_path / "a.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.source_state("K").url == "https://k.com/feed"
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(entries)")}
        assert {"links", "match"} <= columns


def test_entries_html_moves_to_its_own_table_keeping_every_entry(tmp_path):
    db = sqlite3.connect(tmp_path / "a.db")
    bodies = next(at for at, script in enumerate(MIGRATIONS) if "CREATE TABLE bodies" in script)
    for number, script in enumerate(MIGRATIONS[:bodies], start=1):
        db.executescript(f"{script}; PRAGMA user_version = {number};")
    db.execute(
        "INSERT INTO stories (id, url, first_seen) VALUES ('s', 'https://k.com/a', ?)",
        (NOW.isoformat(),),
    )
    for guid, summary, content in (
        ("1", "<p>s</p>", "<p>c</p>"),
        ("2", "", ""),
        ("3", "", "<p>c3</p>"),
    ):
        db.execute(
            "INSERT INTO entries (source, guid, url, title, summary_html, content_html, excerpt, "
            "published, language, first_seen, story_id) VALUES ('K', ?, ?, 't', ?, ?, 'x', ?, "
            "'en', ?, 's')",
            (guid, f"https://k.com/{guid}", summary, content, NOW.isoformat(), NOW.isoformat()),
        )
    db.commit()
    db.close()
    with Store(tmp_path / "a.db") as store:
        assert store.schema_version == len(MIGRATIONS)
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(entries)")}
        assert "content_html" not in columns and "summary_html" not in columns
        html = {
            m.entry.guid: (m.entry.summary_html, m.entry.content_html)
            for m in store.story_members("s")
        }
        assert html == {"1": ("<p>s</p>", "<p>c</p>"), "2": ("", ""), "3": ("", "<p>c3</p>")}
        assert store.conn.execute("SELECT COUNT(*) FROM bodies").fetchone()[0] == 2


def test_an_entrys_html_is_refreshed_and_goes_with_it(tmp_path):
    with Store(tmp_path / "a.db") as store, store.transaction():
        store.add_story("s", "https://k.com/a", NOW)
        entry_id = store.upsert_entry(entry(), NOW)
        store.attach(entry_id, "s", None, 1, None)

        def html() -> tuple[str, str]:
            member = store.story_members("s")[0].entry
            return member.summary_html, member.content_html

        assert html() == ("<p>s</p>", "")
        store.upsert_entry(replace(entry(), content_html="<p>full</p>"), NOW)
        assert html() == ("<p>s</p>", "<p>full</p>")
        store.upsert_entry(replace(entry(), summary_html=""), NOW)
        assert html() == ("", "") and not store.conn.execute("SELECT * FROM bodies").fetchall()
        store.upsert_entry(entry(), NOW)
        assert html() == ("<p>s</p>", "")  # a row again, for the entry stored before
        store.conn.execute("DELETE FROM entries")
        assert not store.conn.execute("SELECT * FROM bodies").fetchall()


def test_an_sqlite_too_old_for_the_migrations_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 31, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.31.1")
    with pytest.raises(RuntimeError, match=r"needs SQLite 3\.35 or newer .* has SQLite 3\.31\.1"):
        Store(tmp_path / "a.db")


def test_newer_schema_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "a.db")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this program"):
        Store(tmp_path / "a.db")


def test_transaction_rolls_back_on_error(tmp_path):
    with Store(tmp_path / "a.db") as store:
        with store.transaction():
            store.sync_source("K", "https://k.com/feed", NOW)
        with pytest.raises(ValueError), store.transaction():
            store.upsert_entry(entry(), NOW)
            raise ValueError("boom")
        assert store.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0


def test_stories_joined_are_checked_once_at_the_end_and_a_missing_one_undoes_all(tmp_path):
    # clustering's transaction checks the stories its entries join and link at its end, not
    # statement by statement: what SQLite's foreign keys would refuse is still refused
    with Store(tmp_path / "a.db") as store:
        with store.transaction():
            ids = [store.upsert_entry(entry(guid=g, url=f"https://k.com/{g}"), NOW) for g in "abc"]
        with store.transaction(keys_at_end=True):
            store.add_story("s", "https://k.com/a", NOW)
            store.attach(ids[0], "s", None, 1, None)
            with pytest.raises(RuntimeError), store.savepoint():  # an entry's joining undone
                store.attach(ids[1], "gone", None, 2, None)
                raise RuntimeError("rolled back alone")
        missing = pytest.raises(sqlite3.IntegrityError, match="1 entries or links name no story")
        with missing, store.transaction(keys_at_end=True):
            store.attach_many([(ids[1], "s", None, 2, None), (ids[2], "gone", None, 3, None)])
        with pytest.raises(sqlite3.IntegrityError), store.transaction(keys_at_end=True):
            store.link_stories("s", "gone", "meaning")
        joined = store.conn.execute("SELECT id, story_id FROM entries ORDER BY id").fetchall()
        assert [tuple(row) for row in joined] == [(ids[0], "s"), (ids[1], None), (ids[2], None)]
        with pytest.raises(sqlite3.IntegrityError), store.transaction():  # enforced again after
            store.attach(ids[2], "gone", None, 3, None)


def test_stories_joined_can_be_checked_as_the_transaction_goes(tmp_path):
    # clustering checks each batch's entries between batches; the end checks those after
    with Store(tmp_path / "a.db") as store:
        with store.transaction():
            ids = [store.upsert_entry(entry(guid=g, url=f"https://k.com/{g}"), NOW) for g in "abc"]
        missing = pytest.raises(sqlite3.IntegrityError, match="1 entries or links name no story")
        with missing, store.transaction(keys_at_end=True):
            store.add_story("s", "https://k.com/a", NOW)
            store.attach(ids[0], "s", None, 1, None)
            store.check_keys_so_far()  # all is well so far
            store.attach(ids[1], "gone", None, 2, None)
            with pytest.raises(sqlite3.IntegrityError, match="1 entries"):
                store.check_keys_so_far()  # found at the pause, not only at the end
        with missing, store.transaction(keys_at_end=True):
            store.add_story("s", "https://k.com/a", NOW)
            store.attach(ids[0], "s", None, 1, None)
            store.check_keys_so_far()
            store.attach(ids[2], "gone", None, 3, None)  # after the pause: the end finds it
        joined = store.conn.execute("SELECT story_id FROM entries").fetchall()
        assert [row[0] for row in joined] == [None, None, None]  # each rolled back whole
        store.check_keys_so_far()  # outside such a transaction: nothing to check


def test_whether_any_entry_is_in_a_story(tmp_path):
    # a helper matching ahead looks up no URL's stories in a database that has none
    with Store(tmp_path / "a.db") as store:
        with store.transaction():
            first = store.upsert_entry(entry(), NOW)
        assert not store.any_clustered()
        with store.transaction():
            store.add_story("s", "https://k.com/a", NOW)
            store.attach(first, "s", None, 1, None)
        assert store.any_clustered()


def test_upsert_keeps_first_seen_and_refreshes_fields(tmp_path):
    with Store(tmp_path / "a.db") as store, store.transaction():
        first = store.upsert_entry(entry(), NOW)
        assert first is not None
        again = store.upsert_entry(entry(title="Corrected title"), NOW + timedelta(hours=3))
        assert again is None
        row = store.conn.execute("SELECT title, first_seen, categories FROM entries").fetchone()
        assert tuple(row) == ("Corrected title", "2026-11-28T06:00:00+00:00", '["Afghanistan"]')


def test_word_sets_are_kept_while_the_text_matching_reads_is_the_same(tmp_path):
    first = replace(entry(), words="sig\nfolded")
    with Store(tmp_path / "a.db") as store, store.transaction():
        entry_id = store.upsert_entry(first, NOW)

        def words() -> str | None:
            row = store.conn.execute("SELECT words FROM entries WHERE id = ?", (entry_id,))
            return row.fetchone()[0]

        store.upsert_entry(replace(first, words=None, summary_html="<p>new</p>"), NOW)
        assert words() == "sig\nfolded"  # the summary is not what matching reads
        store.upsert_entry(replace(first, words="sig\nagain"), NOW)
        assert words() == "sig\nagain"
        for change in ({"title": "Another"}, {"excerpt": "x"}, {"url": "https://k.com/b"},
                       {"language": "fa"}, {"links": ("https://x.af/",)}):  # fmt: skip
            store.upsert_entry(replace(first, words="sig\nagain"), NOW)
            store.upsert_entry(replace(first, words=None, **change), NOW)
            assert words() is None, change  # folded again when next clustered or loaded


def test_changed_source_url_forgets_validators(tmp_path):
    with Store(tmp_path / "a.db") as store, store.transaction():
        store.sync_source("K", "https://k.com/feed", NOW)
        store.record_success("K", NOW, 200, '"e1"', "Sat, 28 Nov 2026 05:12:44 GMT", "abc")
        assert store.sync_source("K", "https://k.com/feed", NOW).etag == '"e1"'
        moved = store.sync_source("K", "https://k.com/rss", NOW)
        assert (moved.url, moved.etag, moved.last_modified, moved.body_hash) == (
            "https://k.com/rss",
            None,
            None,
            None,
        )


def test_failures_count_up_and_success_resets(tmp_path):
    with Store(tmp_path / "a.db") as store, store.transaction():
        store.sync_source("K", "https://k.com/feed", NOW)
        store.record_failure("K", NOW, 503, "HTTP 503 Service Unavailable")
        store.record_failure("K", NOW, 503, "HTTP 503 Service Unavailable")
        assert store.source_state("K").failures == 2
        store.record_success("K", NOW, 200, None, None, None)
        state = store.source_state("K")
        assert (state.failures, state.last_error, state.last_success) == (0, None, NOW)


def test_a_batch_commits_every_size_steps_and_undoes_a_failed_step_alone(tmp_path):
    def seen() -> list[str]:
        with sqlite3.connect(tmp_path / "a.db") as other:
            rows = other.execute("SELECT key FROM meta WHERE key != 'last_vacuum' ORDER BY key")
            return [k for (k,) in rows]

    with Store(tmp_path / "a.db") as store, store.batch(size=3, seconds=3600) as batch:
        for key in ("a", "b"):
            with batch.step():
                store.set_meta(key, "1")
        with pytest.raises(ZeroDivisionError), batch.step():
            store.set_meta("broken", "1")
            raise ZeroDivisionError
        assert seen() == []  # two steps done: not committed yet
        with batch.step():
            store.set_meta("c", "1")
        assert seen() == ["a", "b", "c"]  # the third step committed the batch
        with batch.step():
            store.set_meta("d", "1")
        batch.commit()  # the caller is about to wait: nothing is held meanwhile
        assert seen() == ["a", "b", "c", "d"]
        with batch.step():
            store.set_meta("e", "1")
    assert seen() == ["a", "b", "c", "d", "e"]  # the rest at the end


def _temporary_files() -> list[str]:
    """The files this process holds open that SQLite made for itself (statement journals)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            found.append(os.readlink(fd))
    return [name for name in found if "etilqs_" in name]


def test_a_batch_keeps_its_steps_journals_in_memory_and_still_undoes_a_failed_step(tmp_path):
    """A step that rewrites many pages journals them in memory (a file would cost a write and
    a read a page), is still undone alone when it fails, and temporary storage is back on disk
    once the batch ends (a VACUUM's copy must not be held in memory)."""
    values = [(f"k{n:04}", "x" * 2000) for n in range(400)]
    with Store(tmp_path / "a.db") as store:
        with store.batch(size=10, seconds=3600) as batch:
            with batch.step():
                store.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", values)
            batch.commit()
            held = []
            with pytest.raises(ZeroDivisionError), batch.step():
                store.conn.execute("UPDATE meta SET value = 'y' WHERE key LIKE 'k%'")
                held = _temporary_files()
                raise ZeroDivisionError
            with batch.step():
                store.set_meta("k0001", "z")
        assert held == []
        assert store.conn.execute("PRAGMA temp_store").fetchone()[0] == 0
        kept = dict(store.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'k%'"))
        assert kept == dict(values) | {"k0001": "z"}


def test_a_step_of_one_statement_that_fails_is_undone_alone_without_a_savepoint(tmp_path):
    statements: list[str] = []
    with Store(tmp_path / "a.db") as store:
        with store.batch(size=10, seconds=3600) as batch:
            with batch.step():
                store.set_meta("a", "1")
            store.conn.set_trace_callback(statements.append)
            with pytest.raises(sqlite3.IntegrityError), batch.step(single=True):
                store.conn.execute("INSERT INTO meta (key, value) VALUES ('a', '2')")
            with batch.step(single=True):
                store.set_meta("b", "1")
            store.conn.set_trace_callback(None)
        assert (store.get_meta("a"), store.get_meta("b")) == ("1", "1")
    assert not [s for s in statements if "SAVEPOINT" in s or "ROLLBACK" in s]


def test_latest_stories_are_those_with_the_newest_first_entry_however_old_their_members(tmp_path):
    """Ranked by each story's first-published entry, ties by story id, as grouping every entry
    would rank them: also when the newest entries belong to stories first published long ago,
    and when there are fewer stories than asked for."""
    rng = random.Random(12)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with Store(tmp_path / "a.db") as store, store.transaction():
        for number in range(300):
            story = f"s{number:03d}"
            first = start + timedelta(hours=rng.randrange(2000))
            store.conn.execute(
                "INSERT INTO stories (id, url, first_seen) VALUES (?, ?, ?)",
                (story, f"https://x.example/{story}", ts(first)),
            )
            members = [first] + [
                first + timedelta(hours=rng.choice([0, 1, 500, 3000]))
                for _ in range(rng.randrange(4))
            ]
            for at, published in enumerate(members):
                store.conn.execute(
                    "INSERT INTO entries (source, guid, url, title, excerpt, published, language, "
                    "first_seen, story_id) VALUES ('S', ?, ?, 't', '', ?, 'en', ?, ?)",
                    (
                        f"{story}-{at}",
                        f"https://x.example/{story}/{at}",
                        ts(published),
                        ts(published),
                        story,
                    ),
                )
        store.conn.execute(  # not yet in a story: never counted
            "INSERT INTO entries (source, guid, url, title, excerpt, published, language, "
            "first_seen) VALUES ('S', 'new', 'https://x.example/new', 't', '', ?, 'en', ?)",
            (ts(start + timedelta(days=400)),) * 2,
        )
    with Store(tmp_path / "a.db") as store:
        rows = store.conn.execute(
            "SELECT story_id, MIN(published) FROM entries WHERE story_id IS NOT NULL "
            "GROUP BY story_id"
        ).fetchall()
        by_id = sorted(rows, key=lambda row: row[0])
        ranked = [story for story, _ in sorted(by_id, key=lambda row: row[1], reverse=True)]
        for limit in (1, 7, 40, 299, 300, 500):
            got = store.latest_story_entries(limit)
            places = {member.story_id: place for place, member in got}
            assert sorted(places, key=places.__getitem__) == ranked[:limit]
            counted = store.conn.execute(
                "SELECT story_id, COUNT(*) FROM entries GROUP BY story_id"
            ).fetchall()
            members = sum(count for story, count in counted if story in places)
            assert len(got) == members  # every member of each chosen story


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text()),
    st.lists(st.text()),
    st.lists(st.builds(Media, st.text(), st.none() | st.text(), st.none() | st.integers())),
)
def test_entry_lists_are_stored_as_json_dumps_writes_them(categories, links, media):
    """The rows written before the fast path hold json.dumps' text, which a refetch compares
    (an entry keeps its word sets only while its stored links are the same)."""
    stored = replace(entry(), categories=tuple(categories), links=tuple(links), media=tuple(media))
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "a.db") as store:
        store.upsert_entry(stored, NOW)
        row = store.conn.execute("SELECT categories, links, media FROM entries").fetchone()
    assert tuple(row) == (
        json.dumps(list(categories), ensure_ascii=False),
        json.dumps(list(links)),
        json.dumps([asdict(m) for m in media], ensure_ascii=False),
    )
