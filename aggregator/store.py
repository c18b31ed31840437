"""SQLite state: sources' fetch state, entries, stories and runs, in one file with migrations."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import fields
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from aggregator.models import (
    DIGEST_SIZE,
    Entry,
    Media,
    Override,
    OverrideKind,
    RunReport,
    SourceState,
    StoredEntry,
    WindowEntry,
)
from aggregator.normalize import link_key

MIGRATIONS: list[str] = [
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_hash TEXT,
        last_fetch TEXT,
        last_success TEXT,
        last_status INTEGER,
        last_error TEXT,
        failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE stories (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        first_seen TEXT NOT NULL
    );
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        content_html TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        author TEXT,
        categories TEXT NOT NULL DEFAULT '[]',
        published TEXT NOT NULL,
        updated TEXT,
        language TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        story_id TEXT REFERENCES stories(id),
        UNIQUE (source, guid)
    );
    CREATE INDEX entries_url ON entries(url);
    CREATE INDEX entries_story ON entries(story_id);
    CREATE INDEX entries_published ON entries(published);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        sources_ok INTEGER,
        sources_failed INTEGER,
        new_entries INTEGER,
        stories_published INTEGER,
        publish_error TEXT
    );
    CREATE TABLE run_sources (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        source TEXT NOT NULL,
        outcome TEXT NOT NULL,
        http_status INTEGER,
        entries_seen INTEGER NOT NULL,
        new_entries INTEGER NOT NULL,
        error TEXT,
        warning TEXT,
        elapsed REAL NOT NULL,
        PRIMARY KEY (run_id, source)
    );
    """,
    """
    ALTER TABLE entries ADD COLUMN links TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE entries ADD COLUMN match TEXT;
    ALTER TABLE entries ADD COLUMN match_order INTEGER;
    CREATE INDEX entries_first_seen ON entries(first_seen)
    """,
    """
    ALTER TABLE sources ADD COLUMN config_url TEXT;
    UPDATE sources SET config_url = url;
    ALTER TABLE sources ADD COLUMN next_check TEXT;
    ALTER TABLE sources ADD COLUMN not_before TEXT;
    ALTER TABLE sources ADD COLUMN disabled TEXT;
    ALTER TABLE sources ADD COLUMN failing_since TEXT;
    ALTER TABLE sources ADD COLUMN ttl INTEGER;
    ALTER TABLE sources ADD COLUMN added TEXT;
    CREATE INDEX stories_first_seen ON stories(first_seen)
    """,
    """
    ALTER TABLE entries ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE entries ADD COLUMN dated INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE entries ADD COLUMN date_text TEXT;
    ALTER TABLE entries ADD COLUMN last_seen TEXT;
    UPDATE entries SET last_seen = first_seen;
    CREATE INDEX entries_last_seen ON entries(last_seen);
    ALTER TABLE sources ADD COLUMN last_parsed TEXT;
    UPDATE sources SET last_parsed = last_success;
    ALTER TABLE sources ADD COLUMN last_skipped TEXT;
    ALTER TABLE run_sources ADD COLUMN skipped TEXT;
    CREATE INDEX runs_started ON runs(started);
    CREATE TABLE editions (day TEXT PRIMARY KEY, stories INTEGER NOT NULL, written TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
    """,
    """
    CREATE TABLE overrides (
        kind TEXT NOT NULL CHECK (kind IN ('split', 'merge')),
        url TEXT NOT NULL,
        other_url TEXT NOT NULL DEFAULT '',
        from_story TEXT,
        created TEXT NOT NULL,
        PRIMARY KEY (kind, url, other_url)
    );
    CREATE INDEX overrides_other ON overrides(other_url)
    """,
    """
    ALTER TABLE entries ADD COLUMN words TEXT
    """,
    """
    DROP INDEX entries_story;
    CREATE INDEX entries_story ON entries(story_id, published)
    """,
    """
    ALTER TABLE entries ADD COLUMN vector BLOB;
    CREATE TABLE story_links (
        story TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        other TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
        reason TEXT,
        PRIMARY KEY (story, other)
    );
    CREATE INDEX story_links_other ON story_links(other)
    """,
    """
    CREATE INDEX entries_source_seen ON entries(source, first_seen)
    """,
    # an entry's HTML apart from the row that clustering reads and writes: with it, a row
    # filled a 4 KB page, and writing an entry's story rewrote the page (a third of the time
    # clustering 200,000 entries took); the next prune rewrites the file (VACUUM), packing the
    # rows that dropping the columns left one to a page
    """
    CREATE TABLE bodies (
        id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,
        summary_html TEXT NOT NULL,
        content_html TEXT NOT NULL
    );
    INSERT INTO bodies (id, summary_html, content_html)
        SELECT id, summary_html, content_html FROM entries
        WHERE summary_html != '' OR content_html != '';
    ALTER TABLE entries DROP COLUMN summary_html;
    ALTER TABLE entries DROP COLUMN content_html;
    DELETE FROM meta WHERE key = 'last_vacuum'
    """,
    # the digests of the items the source's last parsed body had, with their entries' ids
    # (`pack_digests`): an item seen again unchanged is not cleaned and written again
    """
    ALTER TABLE sources ADD COLUMN entry_digests BLOB
    """,
    # a story whose first entry was old news when first seen (`edition.backlog`): in no
    # edition; the stories stored before count as news, so that closed editions stay as written
    """
    ALTER TABLE stories ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0
    """,
    # the stories digest.xml lists for an archived edition (a JSON list of their ids), chosen
    # once: ranking a day of a desk of thousands of sources at every publish took seconds
    """
    ALTER TABLE editions ADD COLUMN listed TEXT
    """,
]


SQLITE_NEEDED = (3, 35)  # ALTER TABLE ... DROP COLUMN (migration 10), RETURNING (prune)
# meta last_vacuum of a file not yet pruned: written densely, it needs no VACUUM on its first
# prune, which would rewrite all that the first run stored (5,000 sources: 1 GB, ten seconds)
NEW_FILE = "new file"
INCREMENTAL = 2  # PRAGMA auto_vacuum: freed pages are returned by `incremental_vacuum`

# SQLite's primary result codes that are the database file's or this machine's failure (a
# full disk, an I/O error, a read-only or damaged file, a lock held too long), whatever was
# being written: https://sqlite.org/rescode.html
_DATABASE_FAILURES = frozenset(
    {
        3,  # SQLITE_PERM
        5,  # SQLITE_BUSY
        6,  # SQLITE_LOCKED
        7,  # SQLITE_NOMEM
        8,  # SQLITE_READONLY
        10,  # SQLITE_IOERR
        11,  # SQLITE_CORRUPT
        13,  # SQLITE_FULL
        14,  # SQLITE_CANTOPEN
        15,  # SQLITE_PROTOCOL
        26,  # SQLITE_NOTADB
    }
)


def database_failure(exc: BaseException) -> bool:
    """Whether an exception is the database's own failure rather than one source's or entry's:
    a run cannot go on past it, and no source is to blame for it."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _DATABASE_FAILURES


@lru_cache(maxsize=64)  # a run writes its moment with every entry and source it stores
def ts(moment: datetime) -> str:
    """A UTC timestamp as sortable ISO text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


_UNICODE_JSON = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(..., ensure_ascii=False)
_MEDIA_FIELDS = tuple(item.name for item in fields(Media))


def _json_list(values: Sequence[object], ascii_only: bool = False) -> str:
    """A list as JSON text, as `json.dumps` writes it (`ascii_only`: with its default escaping
    of non-ASCII): an empty one without a call, a full one without making an encoder again."""
    if not values:
        return "[]"
    return json.dumps(values) if ascii_only else _UNICODE_JSON(values)


def from_ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


_T = TypeVar("_T")

AT_URL = 20  # an outlet's clustered entries at one URL that a new item there is compared with


class Store:
    """One SQLite database file; every write goes through `transaction()`."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        """`read_only`: a helper's view of a database that another connection writes, which
        neither migrates nor changes a setting of the file."""
        self.path = Path(path)
        # the entries that joined a story in a `transaction(keys_at_end=True)`, and whether
        # stories were linked there: checked at its end (None: outside one)
        self._joined: list[int] | None = None
        self._linked = False
        if read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
        else:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA cache_size=-4096")  # 4 MB: 16 MB saved 2% of clustering time
        if read_only:
            return
        self.conn.execute(f"PRAGMA auto_vacuum = {INCREMENTAL}")  # takes effect on a new file
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"{self.path}: database schema {version} is newer than this program "
                f"({len(MIGRATIONS)}); upgrade aggregator"
            )
        if version < len(MIGRATIONS) and sqlite3.sqlite_version_info < SQLITE_NEEDED:
            needed = ".".join(map(str, SQLITE_NEEDED))
            raise RuntimeError(
                f"{self.path}: the database needs SQLite {needed} or newer (DROP COLUMN, "
                f"RETURNING); this Python has SQLite {sqlite3.sqlite_version}"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
                if number == len(MIGRATIONS) and not version:
                    self.set_meta("last_vacuum", NEW_FILE)

    @contextmanager
    def transaction(self, keys_at_end: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

        `keys_at_end`: for a transaction that puts many entries into stories (a large run's
        clustering). The stories they join and link must exist, as their foreign keys say,
        but that is checked before the commit (and as the caller goes: `check_keys_so_far`),
        not by SQLite on every statement: a statement that could break a foreign key first
        copies every page it writes aside (about 24 us an entry, 200,000 entries into a large
        database)."""
        if keys_at_end:
            self.conn.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or no effect
            self._joined, self._linked = [], False
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                if keys_at_end:
                    self._check_keys()
            except BaseException:
                self._rollback()
                raise
            self._commit()
        finally:
            if keys_at_end:
                self._joined, self._linked = None, False
                self.conn.execute("PRAGMA foreign_keys=ON")

    def _note_joined(self, entry_ids: list[int]) -> None:
        """Remember entries put into stories, for `_check_keys`, inside a `keys_at_end`
        transaction (elsewhere SQLite checks their keys itself)."""
        if self._joined is not None:
            self._joined += entry_ids

    def check_keys_so_far(self) -> None:
        """Inside a `keys_at_end` transaction, check now the stories of the entries put into
        stories so far, so that its end checks only those joined after: clustering calls
        this between batches, while it waits for the helper matching ahead. What is checked
        stays true: no story is deleted inside such a transaction, and a step undone later
        undoes only what it wrote. Elsewhere SQLite checks every statement: nothing to do."""
        if self._joined:
            self._check_keys(links=False)

    def _check_keys(self, links: bool = True) -> None:
        """Raise, as SQLite would have, if an entry joined (or, with `links`, a link) names a
        story that does not exist (entries whose joining was undone have none)."""
        missing = 0
        for chunk, marks in _chunks(sorted(set(self._joined or ()))):
            missing += self.conn.execute(
                f"SELECT count(*) FROM entries e WHERE e.id IN ({marks}) AND e.story_id IS NOT "
                "NULL AND NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = e.story_id)",
                chunk,
            ).fetchone()[0]
        if links and self._linked:
            missing += len(self.conn.execute("PRAGMA foreign_key_check(story_links)").fetchall())
        if missing:
            raise sqlite3.IntegrityError(
                f"FOREIGN KEY constraint failed: {missing} entries or links name no story"
            )
        self._joined = []  # checked: the end need not check them again

    @contextmanager
    def batch(self, size: int = 100, seconds: float = 1.0) -> Iterator[Batch]:
        """Many small steps in few transactions (see `Batch`), all committed at the end. Each
        step's savepoint journal (the pages its statements change, as they were: one source's
        worth) is kept in memory meanwhile, not written to and read from a temporary file."""
        batch = Batch(self, size, seconds)
        self.conn.execute("PRAGMA temp_store=MEMORY")
        try:
            yield batch
        finally:
            try:
                batch.commit()
            finally:
                self.conn.execute("PRAGMA temp_store=DEFAULT")  # large sorts, VACUUM: on disk

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested step inside a transaction that is undone alone when it raises."""
        self.conn.execute("SAVEPOINT step")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # else SQLite rolled all of it back (a full disk)
                self.conn.execute("ROLLBACK TO step")
                self.conn.execute("RELEASE step")
            raise
        self.conn.execute("RELEASE step")

    def _commit(self) -> None:
        """COMMIT, or roll back what a failed commit left open, and raise its error."""
        try:
            self.conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """ROLLBACK, unless SQLite ended the transaction itself: after an I/O error or a full
        disk it may have, and a ROLLBACK then raises "no transaction is active" over the
        error that matters."""
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # sources

    def sync_source(self, name: str, url: str, now: datetime) -> SourceState:
        """Register a configured source. An editor's new URL starts it afresh: validators,
        backoff and a 410 are forgotten; a permanent redirect seen earlier is kept otherwise."""
        row = self.conn.execute(f"{_STATE} WHERE name = ?", (name,)).fetchone()
        if row is None:
            self.conn.execute(
                "INSERT INTO sources (name, url, config_url, added) VALUES (?, ?, ?, ?)",
                (name, url, url, ts(now)),
            )
        elif row["config_url"] != url:
            self.conn.execute(
                "UPDATE sources SET url = ?, config_url = ?, etag = NULL, last_modified = NULL, "
                "body_hash = NULL, entry_digests = NULL, next_check = NULL, not_before = NULL, "
                "disabled = NULL, failures = 0, failing_since = NULL WHERE name = ?",
                (url, url, name),
            )
        else:
            return _source_state(row)
        return self.source_state(name)

    def source_state(self, name: str) -> SourceState:
        row = self.conn.execute(f"{_STATE} WHERE name = ?", (name,)).fetchone()
        return _source_state(row)

    def source_states(self) -> list[SourceState]:
        rows = self.conn.execute(f"{_STATE} ORDER BY name").fetchall()
        return [_source_state(row) for row in rows]

    def item_digests(self) -> dict[str, bytes]:
        """The digests of the items each source's last parsed body kept, with their entries'
        ids (`pack_digests`), by source. Apart from the sources' state, so that a run reads
        them once its parser workers are forked: the workers then never hold every source's."""
        rows = self.conn.execute(
            "SELECT name, entry_digests FROM sources WHERE entry_digests IS NOT NULL"
        )
        return dict(rows.fetchall())

    def record_success(
        self,
        name: str,
        now: datetime,
        http_status: int | None,
        etag: str | None,
        last_modified: str | None,
        body_hash: str | None,
        next_check: datetime | None = None,
        moved_to: str | None = None,
        ttl: int | None = None,
        parsed: bool = False,
        skipped: str | None = None,
        digests: bytes | None = None,
    ) -> None:
        """A good fetch: new validators, next check, no failures; a permanent move is followed.
        `parsed`: a new body was read (entries not in it are no longer in the feed), and
        `skipped` says which of its entries were dropped, `digests` which it kept
        (`pack_digests`)."""
        self.conn.execute(
            "UPDATE sources SET etag = ?, last_modified = ?, body_hash = COALESCE(?, body_hash), "
            "last_fetch = ?, last_success = ?, last_status = ?, last_error = NULL, failures = 0, "
            "failing_since = NULL, not_before = NULL, next_check = ?, url = COALESCE(?, url), "
            "ttl = COALESCE(?, ttl), last_parsed = CASE WHEN ? THEN ? ELSE last_parsed END, "
            "last_skipped = CASE WHEN ? THEN ? ELSE last_skipped END, "
            "entry_digests = CASE WHEN ? THEN ? ELSE entry_digests END "
            "WHERE name = ?",
            (
                etag,
                last_modified,
                body_hash,
                ts(now),
                ts(now),
                http_status,
                ts(next_check) if next_check else None,
                moved_to,
                ttl,
                parsed,
                ts(now),
                parsed,
                skipped,
                parsed,
                digests,
                name,
            ),
        )

    def record_failure(
        self,
        name: str,
        now: datetime,
        http_status: int | None,
        error: str,
        next_check: datetime | None = None,
        not_before: datetime | None = None,
        disable: bool = False,
        counted: bool = True,
    ) -> None:
        """A failed fetch: one more failure in a row (unless not `counted`), backoff, and for a
        410, disabled."""
        self.conn.execute(
            "UPDATE sources SET last_fetch = ?, last_status = ?, last_error = ?, "
            "failures = failures + ?, failing_since = COALESCE(failing_since, ?), "
            "next_check = ?, not_before = ?, disabled = CASE WHEN ? THEN ? ELSE disabled END "
            "WHERE name = ?",
            (
                ts(now),
                http_status,
                error,
                int(counted),
                ts(now),
                ts(next_check) if next_check else None,
                ts(not_before) if not_before else None,
                disable,
                error,
                name,
            ),
        )

    def reset_source(self, name: str) -> bool:
        """An editor's reset: re-enable a disabled source and forget its backoff."""
        cursor = self.conn.execute(
            "UPDATE sources SET disabled = NULL, failures = 0, failing_since = NULL, "
            "next_check = NULL, not_before = NULL WHERE name = ?",
            (name,),
        )
        return cursor.rowcount > 0

    def entries_since(self, since: datetime) -> dict[str, int]:
        """Entries first seen since `since`, per source."""
        rows = self.conn.execute(
            "SELECT source, COUNT(*) FROM entries WHERE first_seen >= ? GROUP BY source",
            (ts(since),),
        ).fetchall()
        return {row[0]: row[1] for row in rows}

    def daily_counts(self, since: datetime) -> dict[str, dict[str, int]]:
        """New entries per source per UTC day (YYYY-MM-DD) since `since`."""
        rows = self.conn.execute(
            "SELECT source, substr(first_seen, 1, 10), COUNT(*) FROM entries "
            "WHERE first_seen >= ? GROUP BY source, substr(first_seen, 1, 10)",
            (ts(since),),
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for source, day, count in rows:
            counts.setdefault(source, {})[day] = count
        return counts

    def last_new_entry(self) -> dict[str, datetime]:
        """When each source last gave a new entry."""
        rows = self.conn.execute(
            "SELECT source, MAX(first_seen) FROM entries GROUP BY source"
        ).fetchall()
        return {row[0]: datetime.fromisoformat(row[1]) for row in rows}

    # entries and stories

    def guids_held(self, source: str, guids: list[str]) -> dict[str, int]:
        """The ids of the source's stored entries under these guids, by guid."""
        held: dict[str, int] = {}
        for chunk, marks in _chunks(list(dict.fromkeys(guids))):
            rows = self.conn.execute(
                f"SELECT guid, id FROM entries WHERE source = ? AND guid IN ({marks})",
                [source, *chunk],
            )
            held.update(rows)
        return held

    def held_as(self, source: str, entries: list[Entry]) -> dict[str, tuple[str, int]]:
        """For entries whose guid the source does not hold: the guid and id of its stored entry
        with the same URL, title and date, if any, by the entry's guid (an item whose guid
        changed: a timestamp or session in it, a generator's new scheme). An entry the feed
        gave no date is dated when first seen, so it is found only under its own guid."""
        wanted = {(e.url, e.title, ts(e.published)): e.guid for e in entries}
        found: dict[str, tuple[str, int]] = {}
        for chunk, marks in _chunks(list(dict.fromkeys(url for url, _, _ in wanted))):
            rows = self.conn.execute(
                "SELECT url, title, published, guid, id FROM entries "
                f"WHERE source = ? AND url IN ({marks})",
                [source, *chunk],
            )
            for url, title, published, guid, key in rows:
                new = wanted.get((url, title, published))
                if new is not None and new != guid:
                    found.setdefault(new, (guid, key))
        return found

    def seen_again(self, source: str, ids: list[int], now: datetime) -> int:
        """Mark the source's entries with these ids as in its feed at `now`, the one change an
        unchanged item makes to its entry; the count of those found."""
        found = 0
        for chunk, marks in _chunks(list(dict.fromkeys(ids))):
            found += self.conn.execute(
                f"UPDATE entries SET last_seen = ? WHERE source = ? AND id IN ({marks})",
                [ts(now), source, *chunk],
            ).rowcount
        return found

    def upsert_entry(self, entry: Entry, now: datetime, held: bool = True) -> int | None:
        """Insert a new entry and return its row id; refresh an existing one and return None.
        `held`: False when the caller knows the source holds no entry under its guid (see
        `guids_held`), so that a new entry is inserted without first trying an UPDATE."""
        values = (
            entry.url,
            entry.title,
            entry.excerpt,
            entry.author,
            _json_list(entry.categories),
            ts(entry.updated) if entry.updated else None,
            entry.language,
            _json_list(entry.links, ascii_only=True),
            _json_list([{name: getattr(m, name) for name in _MEDIA_FIELDS} for m in entry.media]),
            entry.dated,
            entry.date_text,
            ts(now),
            entry.words,
        )
        # an entry without word sets (folded while clustering) keeps those stored only while
        # what matching reads of it (URL, title, excerpt, language, links) is the same
        if held:
            cursor = self.conn.execute(
                "UPDATE entries SET url = ?, title = ?, excerpt = ?, author = ?, "
                "categories = ?, updated = ?, language = ?, links = ?, media = ?, dated = ?, "
                "date_text = ?, last_seen = ?, words = COALESCE(?, CASE WHEN url = ? AND "
                "title = ? AND excerpt = ? AND language = ? AND links = ? THEN words END) "
                "WHERE source = ? AND guid = ?",
                (*values, *(values[i] for i in (0, 1, 2, 6, 7)), entry.source, entry.guid),
            )
            if cursor.rowcount:
                self._refresh_body(entry)
                return None
        cursor = self.conn.execute(
            "INSERT INTO entries (url, title, excerpt, author, categories, updated, language, "
            "links, media, dated, date_text, last_seen, words, source, guid, published, "
            "first_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*values, entry.source, entry.guid, ts(entry.published), ts(now)),
        )
        if entry.summary_html or entry.content_html:
            self.conn.execute(
                "INSERT INTO bodies (id, summary_html, content_html) VALUES (?, ?, ?)",
                (cursor.lastrowid, entry.summary_html, entry.content_html),
            )
        return cursor.lastrowid

    def _refresh_body(self, entry: Entry) -> None:
        """Keep a stored entry's HTML as it now is (no row when it has none). Updated in place:
        a row written again as it was is not written at all."""
        this = "(SELECT id FROM entries WHERE source = :source AND guid = :guid)"
        html = {
            "source": entry.source,
            "guid": entry.guid,
            "summary": entry.summary_html,
            "content": entry.content_html,
        }
        if not (entry.summary_html or entry.content_html):
            self.conn.execute(f"DELETE FROM bodies WHERE id = {this}", html)
        elif not self.conn.execute(
            f"UPDATE bodies SET summary_html = :summary, content_html = :content WHERE id = {this}",
            html,
        ).rowcount:
            self.conn.execute(
                "INSERT INTO bodies (id, summary_html, content_html) "
                f"SELECT {this}, :summary, :content",
                html,
            )

    def stories_at_urls(self, urls: list[str]) -> dict[str, list[tuple[int, str, str]]]:
        """The clustered entries at these canonical URLs, however old: (id, source, story) by
        URL, in order of id; one query for many URLs."""
        found: dict[str, list[tuple[int, str, str]]] = {}
        for chunk, marks in _chunks(list(dict.fromkeys(urls))):
            rows = self.conn.execute(
                "SELECT id, url, source, story_id FROM entries WHERE url IN "
                f"({marks}) AND story_id IS NOT NULL ORDER BY id",
                chunk,
            )
            for entry_id, url, source, story in rows:
                found.setdefault(url, []).append((entry_id, source, story))
        return found

    def story_of_entry(self, entry_id: int) -> str:
        """The story a clustered entry is in."""
        row = self.conn.execute("SELECT story_id FROM entries WHERE id = ?", (entry_id,)).fetchone()
        if row is None or row[0] is None:
            raise LookupError(f"entry {entry_id} is in no story")
        return row[0]

    def entries_at_url(self, url: str, source: str, limit: int = AT_URL) -> list[StoredEntry]:
        """One source's clustered entries at this URL, newest first."""
        rows = self.conn.execute(
            f"SELECT e.*, {_BODY}, s.first_seen AS story_first_seen FROM entries e {_WITH_BODY} "
            "JOIN stories s ON s.id = e.story_id WHERE e.url = ? AND e.source = ? "
            "ORDER BY e.id DESC LIMIT ?",
            (url, source, limit),
        ).fetchall()
        return [_stored_entry(row) for row in rows]

    def add_story(
        self, story_id: str, url: str, first_seen: datetime, backlog: bool = False
    ) -> bool:
        """Start a story under a key (its first URL); False if that key was taken already.
        `backlog`: it is old news, in no edition."""
        cursor = self.conn.execute(
            "INSERT OR IGNORE INTO stories (id, url, first_seen, backlog) VALUES (?, ?, ?, ?)",
            (story_id, url, ts(first_seen), backlog),
        )
        return cursor.rowcount == 1

    def add_stories(self, stories: list[tuple[str, str, datetime, bool]]) -> None:
        """Start many stories, (id, key, first seen, backlog) each, none of whose ids or keys
        is taken (`stories_taken`); in id order, so neighbouring rows share pages."""
        self.conn.executemany(
            "INSERT INTO stories (id, url, first_seen, backlog) VALUES (?, ?, ?, ?)",
            [
                (story, key, ts(first_seen), backlog)
                for story, key, first_seen, backlog in sorted(stories)
            ],
        )

    def stories_taken(self, ids: list[str], keys: list[str]) -> set[str]:
        """Which of these story ids and keys (first URLs) stories hold already."""
        taken: set[str] = set()
        for column, values in (("id", ids), ("url", keys)):
            for chunk, marks in _chunks(list(dict.fromkeys(values))):
                rows = self.conn.execute(
                    f"SELECT {column} FROM stories WHERE {column} IN ({marks})", chunk
                )
                taken.update(row[0] for row in rows)
        return taken

    def attach(
        self, entry_id: int, story_id: str, match: str | None, order: int, words: str | None = None
    ) -> None:
        """Make an entry a member of a story, noting why it joined (None: it started it), its
        place in the clustering order and the word sets it was matched on (None: as stored)."""
        self.conn.execute(_ATTACH, (story_id, match, order, words, entry_id))
        self._note_joined([entry_id])

    def attach_many(self, rows: list[tuple[int, str, str | None, int, str | None]]) -> None:
        """`attach` for many entries, (entry id, story, match, order, words) each, written in
        row order: neighbouring rows share pages."""
        self.conn.executemany(
            _ATTACH,
            [(story, match, order, words, entry_id)
             for entry_id, story, match, order, words in sorted(rows)],
        )  # fmt: skip
        self._note_joined([row[0] for row in rows])

    def set_words(self, folded: list[tuple[int, str]]) -> None:
        """Store entries' matching word sets, (id, words) each, folded again under the current
        configuration."""
        self.conn.executemany(
            "UPDATE entries SET words = ? WHERE id = ?", [(words, i) for i, words in folded]
        )

    def set_vector(self, entry_id: int, vector: bytes) -> None:
        """Keep an entry's meaning vector, made once, for every later run's window."""
        self.conn.execute("UPDATE entries SET vector = ? WHERE id = ?", (vector, entry_id))

    def link_stories(self, story: str, other: str, reason: str) -> None:
        """Note that two stories in different languages report one event (both ways)."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO story_links (story, other, reason) VALUES (?, ?, ?)",
            [(story, other, reason), (other, story, reason)],
        )
        self._linked = self._joined is not None

    def translations(self, story_ids: list[str]) -> dict[str, list[tuple[StoredEntry, str]]]:
        """For each story, its linked stories in other languages: the earliest entry of each,
        and why the link was made."""
        found: dict[str, list[tuple[StoredEntry, str]]] = {}
        for chunk, marks in _chunks(story_ids):
            rows = self.conn.execute(
                f"SELECT l.story AS linked_from, l.reason AS link_reason, e.*, {_BODY}, "
                "s.first_seen AS story_first_seen "
                f"FROM story_links l JOIN entries e ON e.story_id = l.other {_WITH_BODY} "
                "JOIN stories s ON s.id = l.other "
                f"WHERE l.story IN ({marks}) "
                "ORDER BY l.story, l.other, e.published, e.id",
                chunk,
            ).fetchall()
            for row in rows:
                linked = found.setdefault(row["linked_from"], [])
                if not any(other.story_id == row["story_id"] for other, _ in linked):
                    linked.append((_stored_entry(row), row["link_reason"] or ""))
        return found

    def move_entry(self, entry_id: int, story_id: str, match: str) -> None:
        """Put a stored entry into another story (an editor's correction), keeping its order."""
        self.conn.execute(
            "UPDATE entries SET story_id = ?, match = ? WHERE id = ?", (story_id, match, entry_id)
        )
        self._note_joined([entry_id])

    def story_with_key(self, key: str) -> str | None:
        """The story started under this key (its first URL), if any."""
        row = self.conn.execute("SELECT id FROM stories WHERE url = ?", (key,)).fetchone()
        return row["id"] if row else None

    def story_exists(self, story_id: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM stories WHERE id = ?", (story_id,)).fetchone()
        return row is not None

    # editors' overrides of story matching

    def add_override(self, override: Override) -> None:
        """Record a correction; made twice, the first one (and the story it undoes to) stays."""
        self.conn.execute(
            "INSERT OR IGNORE INTO overrides (kind, url, other_url, from_story, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                override.kind.value,
                override.url,
                override.other_url,
                override.from_story,
                ts(override.created),
            ),
        )

    def remove_override(self, kind: OverrideKind, url: str, other_url: str = "") -> Override | None:
        """Forget a correction (either order of the two URLs of a merge); the one forgotten."""
        for a, b in ((url, other_url), (other_url, url)) if other_url else ((url, ""),):
            row = self.conn.execute(
                "SELECT * FROM overrides WHERE kind = ? AND url = ? AND other_url = ?",
                (kind.value, a, b),
            ).fetchone()
            if row:
                self.conn.execute(
                    "DELETE FROM overrides WHERE kind = ? AND url = ? AND other_url = ?",
                    (kind.value, a, b),
                )
                return _override(row)
        return None

    def overrides(self, url: str | None = None) -> list[Override]:
        """Every correction, oldest first; with `url`, those that name it."""
        if url is None:
            rows = self.conn.execute("SELECT * FROM overrides ORDER BY created, url").fetchall()
        else:
            rows = self.conn.execute(
                "SELECT * FROM overrides WHERE url = ? OR other_url = ? ORDER BY created, url",
                (url, url),
            ).fetchall()
        return [_override(row) for row in rows]

    def any_clustered(self) -> bool:
        """Whether any entry is in a story (none before the first run's clustering)."""
        query = "SELECT EXISTS (SELECT 1 FROM entries WHERE story_id IS NOT NULL)"
        return bool(self.conn.execute(query).fetchone()[0])

    def overridden_urls(self) -> set[str]:
        """Every URL an editor's correction names."""
        rows = self.conn.execute("SELECT url, other_url FROM overrides").fetchall()
        return {url for row in rows for url in row if url}

    def split_urls(self) -> set[str]:
        rows = self.conn.execute("SELECT url FROM overrides WHERE kind = 'split'").fetchall()
        return {row[0] for row in rows}

    def last_match_order(self) -> int:
        return self.conn.execute("SELECT COALESCE(MAX(match_order), 0) FROM entries").fetchone()[0]

    def entries_published_between(self, start: datetime, end: datetime) -> Iterator[StoredEntry]:
        """Entries with a story, published in [start, end], oldest first: the matching window.

        Streamed, and lean: only what matching reads (no HTML, media or categories)."""
        cursor = self.conn.execute(
            f"SELECT {_MATCHING}, s.first_seen AS story_first_seen {_WINDOW}", (ts(start), ts(end))
        )
        for row in cursor:
            yield _stored_entry(row)

    def window_entries(self, start: datetime, end: datetime) -> Iterator[WindowEntry]:
        """What `entries_published_between` gives, as the plain rows that matching reads."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        cursor.execute(f"SELECT {_WINDOW_ROW} {_WINDOW_CLUSTERED}", (ts(start), ts(end)))
        return map(WindowEntry._make, cursor)

    def window_rows(self, ids: list[int]) -> list[WindowEntry]:
        """These entries as the plain rows that matching reads, in the order of `ids`."""
        cursor = self.conn.cursor()
        cursor.row_factory = None
        found: dict[int, WindowEntry] = {}
        for chunk, marks in _chunks(ids):
            cursor.execute(f"SELECT {_WINDOW_ROW} FROM entries e WHERE e.id IN ({marks})", chunk)
            found.update((row[0], WindowEntry._make(row)) for row in cursor)
        return [found[i] for i in ids if i in found]

    def unclustered_ids(self) -> list[int]:
        """Stored entries not yet in a story, oldest publication first."""
        cursor = self.conn.cursor()
        cursor.row_factory = None  # a cold run's 200,000 rows, one at a time: no peak of Rows
        cursor.execute(
            "SELECT id FROM entries WHERE story_id IS NULL ORDER BY published, url, source, guid"
        )
        return [row[0] for row in cursor]

    def repeated_unclustered_urls(self) -> set[str]:
        """The URLs that more than one entry not yet in a story has."""
        rows = self.conn.execute(
            "SELECT url FROM entries WHERE story_id IS NULL GROUP BY url HAVING COUNT(*) > 1"
        ).fetchall()
        return {row[0] for row in rows}

    def entries_for_matching(self, ids: list[int]) -> list[tuple[int, Entry]]:
        """These entries, lean (what matching reads), in the order of `ids`."""
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT {_MATCHING}, e.first_seen AS story_first_seen FROM entries e "
            f"WHERE e.id IN ({marks})",
            ids,
        ).fetchall()
        by_id = {row["id"]: _stored_entry(row).entry for row in rows}
        return [(i, by_id[i]) for i in ids if i in by_id]

    def entry_by_url(self, url: str) -> StoredEntry | None:
        """The first stored entry with this canonical URL."""
        row = self.conn.execute(
            f"SELECT e.*, {_BODY}, s.first_seen AS story_first_seen FROM entries e {_WITH_BODY} "
            "JOIN stories s ON s.id = e.story_id WHERE e.url = ? ORDER BY e.match_order LIMIT 1",
            (url,),
        ).fetchone()
        return _stored_entry(row) if row else None

    def stored_url(self, url: str) -> str | None:
        """The URL an entry is stored under that is `url` or another copy of its page (http or
        https, www., a trailing slash, AMP: `link_key`), as an editor pastes it from a browser;
        None when no entry has it. Looked for among the URLs on its host, for a command."""
        if self.conn.execute("SELECT 1 FROM entries WHERE url = ?", (url,)).fetchone():
            return url
        key = link_key(url)
        host = key.removeprefix("https://").split("/", 1)[0].split("?", 1)[0]
        rows = self.conn.execute(
            "SELECT DISTINCT url FROM entries WHERE instr(url, ?) > 0 ORDER BY url", (host,)
        )
        return next((found for (found,) in rows if link_key(found) == key), None)

    def story_members(self, story_id: str) -> list[StoredEntry]:
        rows = self.conn.execute(
            f"SELECT e.*, {_BODY}, s.first_seen AS story_first_seen FROM entries e {_WITH_BODY} "
            "JOIN stories s ON s.id = e.story_id WHERE e.story_id = ? ORDER BY e.id",
            (story_id,),
        ).fetchall()
        return [_stored_entry(row) for row in rows]

    def latest_story_entries(self, limit: int) -> list[tuple[int, StoredEntry]]:
        """Members of the `limit` stories with the newest first-published entry, each with its
        story's place in that order (0: the newest).

        Looked for among the stories of the newest entries, not by grouping every entry kept
        (two years of them): a story first published at or after the `since`-th newest entry
        has all its members at or after it, so those stories, ranked by their first entry,
        are exactly the first ones. If fewer than `limit` are, four times as many entries are
        looked at, and at the end all of them."""
        newest = "SELECT published FROM entries WHERE story_id IS NOT NULL"
        since = 4 * limit
        while True:
            row = self.conn.execute(
                f"{newest} ORDER BY published DESC LIMIT 1 OFFSET ?", (since,)
            ).fetchone()
            start = row[0] if row else ""  # fewer entries than that: every one
            rows = self.conn.execute(
                f"""
                WITH recent AS (
                    SELECT DISTINCT story_id FROM entries
                    WHERE published >= :start AND story_id IS NOT NULL
                ), firsts AS (
                    SELECT story_id, (SELECT MIN(published) FROM entries m
                                      WHERE m.story_id = recent.story_id) AS first
                    FROM recent
                ), chosen AS (
                    SELECT story_id,
                           ROW_NUMBER() OVER (ORDER BY first DESC, story_id) - 1 AS place
                    FROM firsts WHERE first >= :start
                    ORDER BY first DESC, story_id LIMIT :limit
                )
                SELECT e.*, {_BODY}, s.first_seen AS story_first_seen, c.place AS place
                FROM chosen c JOIN entries e ON e.story_id = c.story_id {_WITH_BODY}
                JOIN stories s ON s.id = c.story_id
                """,
                {"start": start, "limit": limit},
            ).fetchall()
            if row is None or len({r["place"] for r in rows}) >= limit:
                return [(r["place"], _stored_entry(r)) for r in rows]
            since *= 4

    def story_count(self) -> int:
        """How many stories the store holds."""
        return self.conn.execute("SELECT COUNT(*) FROM stories").fetchone()[0]

    def stories_first_seen_between(
        self, start: datetime, end: datetime, only: Sequence[str] | None = None
    ) -> list[StoredEntry]:
        """Members of the stories first seen in [start, end) that were news then (not
        `backlog`); with `only`, of those of them only. Without their HTML, which no edition's
        page or digest.xml shows (a day of a large desk: ~100,000 entries)."""
        rows = self.conn.execute(
            f"SELECT e.*, {_NO_BODY}, s.first_seen AS story_first_seen FROM stories s "
            "JOIN entries e ON e.story_id = s.id "
            "WHERE s.first_seen >= ? AND s.first_seen < ? AND NOT s.backlog"
            + ("" if only is None else " AND s.id IN (SELECT value FROM json_each(?))"),
            (ts(start), ts(end), *(() if only is None else (json.dumps(list(only)),))),
        ).fetchall()
        return [_stored_entry(row) for row in rows]

    def most_carried(self, start: datetime, end: datetime, limit: int) -> list[str]:
        """The `limit` stories first seen in [start, end) as news that the most sources
        carried, then the newest by their latest entry."""
        rows = self.conn.execute(
            "SELECT e.story_id FROM stories s JOIN entries e ON e.story_id = s.id "
            "WHERE s.first_seen >= ? AND s.first_seen < ? AND NOT s.backlog "
            "GROUP BY e.story_id "
            "ORDER BY COUNT(DISTINCT e.source) DESC, MAX(e.published) DESC, e.story_id LIMIT ?",
            (ts(start), ts(end), limit),
        ).fetchall()
        return [row[0] for row in rows]

    def story_count_between(self, start: datetime, end: datetime) -> int:
        """How many stories first seen in [start, end) were news then (not `backlog`)."""
        return self.conn.execute(
            "SELECT COUNT(*) FROM stories WHERE first_seen >= ? AND first_seen < ? AND NOT backlog",
            (ts(start), ts(end)),
        ).fetchone()[0]

    def story_first_seens(self, since: datetime) -> list[tuple[datetime, int]]:
        """When stories first seen since `since` as news (not `backlog`) were first seen, and how
        many at that moment (a run starts all its stories at one moment: a row a run, not a row
        a story)."""
        rows = self.conn.execute(
            "SELECT first_seen, COUNT(*) FROM stories WHERE first_seen >= ? AND NOT backlog "
            "GROUP BY first_seen",
            (ts(since),),
        ).fetchall()
        return [(datetime.fromisoformat(row[0]), row[1]) for row in rows]

    # editions

    def record_edition(self, day: date, stories: int, written: datetime) -> None:
        """Remember that the archive page of edition `day` was written, with its story count."""
        self.conn.execute(
            "INSERT INTO editions (day, stories, written) VALUES (?, ?, ?) ON CONFLICT (day) "
            "DO UPDATE SET stories = excluded.stories, written = excluded.written",
            (day.isoformat(), stories, ts(written)),
        )

    def listed(self, day: date) -> list[str] | None:
        """The stories digest.xml lists for archived edition `day`, once chosen."""
        row = self.conn.execute(
            "SELECT listed FROM editions WHERE day = ?", (day.isoformat(),)
        ).fetchone()
        return None if row is None or row[0] is None else json.loads(row[0])

    def set_listed(self, day: date, stories: list[str]) -> None:
        """Keep the stories digest.xml lists for edition `day`, if it is archived."""
        self.conn.execute(
            "UPDATE editions SET listed = ? WHERE day = ?", (json.dumps(stories), day.isoformat())
        )

    def editions(self) -> dict[date, int]:
        """Every archived edition's story count, kept after retention removes its stories."""
        rows = self.conn.execute("SELECT day, stories FROM editions").fetchall()
        return {date.fromisoformat(row[0]): row[1] for row in rows}

    # retention

    _CONTENT = (
        "FROM entries WHERE first_seen < :content AND last_seen < :content "
        "AND (links != '[]' OR EXISTS (SELECT 1 FROM bodies b WHERE b.id = entries.id))"
    )
    _IDENTITY = (
        "FROM entries WHERE first_seen < :identity AND last_seen < :identity AND last_seen < "
        "COALESCE((SELECT last_parsed FROM sources WHERE sources.name = entries.source), '9')"
    )
    _STORIES = (
        "FROM stories WHERE first_seen < :identity "
        "AND NOT EXISTS (SELECT 1 FROM entries WHERE entries.story_id = stories.id)"
    )
    _RUNS = "FROM runs WHERE started < :runs"

    def _cuts(self, content: datetime, identity: datetime, runs: datetime) -> dict[str, str]:
        return {"content": ts(content), "identity": ts(identity), "runs": ts(runs)}

    def prune(
        self, content: datetime, identity: datetime, runs: datetime
    ) -> tuple[int, int, int, int]:
        """Clear old content, delete old identities, orphaned stories and old runs; counts."""
        cuts = self._cuts(content, identity, runs)
        run = self.conn.execute
        cleared = run(
            f"UPDATE entries SET links = '[]', words = NULL WHERE rowid IN (SELECT rowid "
            f"{self._CONTENT}) RETURNING id, source",
            cuts,
        ).fetchall()
        for chunk, marks in _chunks([row[0] for row in cleared]):
            run(f"DELETE FROM bodies WHERE id IN ({marks})", chunk)
        deleted = run(f"DELETE {self._IDENTITY} RETURNING source", cuts).fetchall()
        # an entry cleared or deleted is whole again only if its item is cleaned again
        touched = list({row[-1] for row in [*cleared, *deleted]})
        for chunk, marks in _chunks(touched):
            run(f"UPDATE sources SET entry_digests = NULL WHERE name IN ({marks})", chunk)
        entries = len(deleted)
        stories = run(f"DELETE {self._STORIES}", cuts).rowcount
        run(f"DELETE FROM run_sources WHERE run_id IN (SELECT id {self._RUNS})", cuts)
        runs_deleted = run(f"DELETE {self._RUNS}", cuts).rowcount
        return len(cleared), entries, stories, runs_deleted

    def reclaim(self, full: bool = False) -> None:
        """Give freed pages back to the file system and empty the write-ahead log. `full`
        rewrites the file (VACUUM), which also compacts the half-empty pages that clearing
        entries' content leaves behind; a database made before auto_vacuum was set gets it."""
        if full or self.conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL:
            self.conn.execute(f"PRAGMA auto_vacuum = {INCREMENTAL}")
            self.conn.execute("VACUUM")
        else:
            self.conn.execute("PRAGMA incremental_vacuum")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))

    # runs

    def save_run(self, report: RunReport) -> int:
        """Record a finished run and its per-source results."""
        with self.transaction():
            cursor = self.conn.execute(
                "INSERT INTO runs (started, finished, sources_ok, sources_failed, new_entries, "
                "stories_published, publish_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    ts(report.started),
                    ts(report.finished) if report.finished else None,
                    report.sources_ok,
                    report.sources_failed,
                    report.new_entries,
                    report.stories_published,
                    report.publish_error,
                ),
            )
            run_id = cursor.lastrowid
            self.conn.executemany(
                "INSERT INTO run_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        r.source,
                        r.outcome,
                        r.http_status,
                        r.entries_seen,
                        r.new_entries,
                        r.error,
                        r.warning,
                        r.elapsed,
                        r.skipped_text,
                    )
                    for r in report.results
                ],
            )
        return int(run_id or 0)


class Batch:
    """Small steps sharing a transaction: each `step()` is a savepoint, undone alone when it
    raises; the transaction is committed every `size` steps or `seconds`, and whenever the
    caller is about to wait (`commit()`), so the write lock is never held while idle. Storing
    5,000 sources costs tens of commits, not 5,000; a killed run loses at most the steps since
    the last commit, each whole or not at all."""

    def __init__(self, store: Store, size: int, seconds: float) -> None:
        self.conn = store.conn
        self.store = store
        self.size, self.seconds = size, seconds
        self.done, self.opened = 0, 0.0

    @contextmanager
    def step(self, single: bool = False) -> Iterator[None]:
        """One step; `single`: it writes one statement, which SQLite undoes alone when it
        fails, so no savepoint is taken (a source's 304 is a step of one UPDATE, and each
        statement here waits its turn for the interpreter behind the fetch threads)."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.done, self.opened = 0, time.monotonic()
        with nullcontext() if single else self.store.savepoint():
            yield
        self.done += 1
        if self.done >= self.size or time.monotonic() - self.opened >= self.seconds:
            self.commit()

    def commit(self) -> None:
        if self.conn.in_transaction:
            self.store._commit()


def _chunks(values: list[_T], size: int = 500) -> Iterator[tuple[list[_T], str]]:
    """Values in slices small enough for one `IN (...)` each, with their `?` placeholders."""
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        yield chunk, ",".join("?" * len(chunk))


_STATE = (
    "SELECT name, url, config_url, etag, last_modified, body_hash, last_fetch, last_success, "
    "last_status, last_error, failures, failing_since, next_check, not_before, disabled, ttl, "
    "added, last_skipped FROM sources"
)  # what `_source_state` reads


def _source_state(row: sqlite3.Row) -> SourceState:
    return SourceState(
        name=row["name"],
        url=row["url"],
        config_url=row["config_url"] or row["url"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        last_fetch=from_ts(row["last_fetch"]),
        last_success=from_ts(row["last_success"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        failures=row["failures"],
        failing_since=from_ts(row["failing_since"]),
        next_check=from_ts(row["next_check"]),
        not_before=from_ts(row["not_before"]),
        disabled=row["disabled"],
        ttl=row["ttl"],
        added=from_ts(row["added"]),
        last_skipped=row["last_skipped"],
    )


def pack_digests(pairs: Iterable[tuple[bytes, int]]) -> bytes:
    """(item digest, entry id) pairs as the bytes a source's row keeps: each digest
    (`normalize.raw_digest`), then its entry's id in 8 bytes."""
    return b"".join(digest + key.to_bytes(8, "little") for digest, key in pairs)


def unpack_digests(blob: bytes) -> dict[bytes, int]:
    """The entry id of each item digest that `pack_digests` wrote."""
    step = DIGEST_SIZE + 8
    return {
        blob[at : at + DIGEST_SIZE]: int.from_bytes(blob[at + DIGEST_SIZE : at + step], "little")
        for at in range(0, len(blob) - step + 1, step)
    }


def _override(row: sqlite3.Row) -> Override:
    created = from_ts(row["created"])
    assert created is not None
    return Override(
        OverrideKind(row["kind"]), row["url"], row["other_url"], row["from_story"], created
    )


# the matching window: clustered entries published in [start, end], oldest first; with their
# stories, or without reading them (a story id always names a story: a foreign key)
_IN_ORDER = "ORDER BY e.published, e.url, e.source, e.guid"
_WINDOW = (
    "FROM entries e JOIN stories s ON s.id = e.story_id WHERE e.published BETWEEN ? AND ? "
    + _IN_ORDER
)
_WINDOW_ROW = (
    "e.id, e.url, e.source, e.language, e.published, e.words, e.links, e.vector, e.match_order"
)
_WINDOW_CLUSTERED = (
    "FROM entries e WHERE e.story_id IS NOT NULL AND e.published BETWEEN ? AND ? " + _IN_ORDER
)
_BODY = (  # an entry's HTML, from its own table
    "COALESCE(b.summary_html, '') AS summary_html, COALESCE(b.content_html, '') AS content_html"
)
_WITH_BODY = "LEFT JOIN bodies b ON b.id = e.id"
_NO_BODY = "'' AS summary_html, '' AS content_html"  # for what shows no entry's HTML
_ATTACH = (
    "UPDATE entries SET story_id = ?, match = ?, match_order = ?, words = COALESCE(?, words) "
    "WHERE id = ?"
)
# what matching reads of an entry: the HTML, media and categories stay on disk
_MATCHING = (
    "e.id, e.story_id, e.source, e.guid, e.url, e.title, '' AS summary_html, "
    "'' AS content_html, e.excerpt, e.published, NULL AS updated, e.language, NULL AS author, "
    "'[]' AS categories, e.links, '[]' AS media, e.dated, e.date_text, e.first_seen, e.match, "
    "e.match_order, e.words, e.vector"
)


def _stored_entry(row: sqlite3.Row) -> StoredEntry:
    entry = Entry(
        source=row["source"],
        guid=row["guid"],
        url=row["url"],
        title=row["title"],
        summary_html=row["summary_html"],
        content_html=row["content_html"],
        excerpt=row["excerpt"],
        published=datetime.fromisoformat(row["published"]),
        updated=from_ts(row["updated"]),
        language=row["language"],
        author=row["author"],
        categories=tuple(json.loads(row["categories"])),
        links=tuple(json.loads(row["links"])),
        media=tuple(Media(**m) for m in json.loads(row["media"])),
        dated=bool(row["dated"]),
        date_text=row["date_text"],
        words=row["words"],
        vector=row["vector"],
    )
    return StoredEntry(
        id=row["id"],
        story_id=row["story_id"],
        story_first_seen=datetime.fromisoformat(row["story_first_seen"]),
        first_seen=datetime.fromisoformat(row["first_seen"]),
        entry=entry,
        match=row["match"],
        match_order=row["match_order"],
    )
