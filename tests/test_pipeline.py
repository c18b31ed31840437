"""The source boundary: one run against good sources and every kind of hostile one."""

import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import zlib
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.pacing import MAX_FRESH, MAX_WAIT
from aggregator.pipeline import run
from aggregator.store import Store
from aggregator.workers import INLINE_BELOW
from tests.conftest import GOOD_SOURCES, data_file, make_rss

DATE = "Sat, 28 Nov 2026 04:00:00 +0000"
ENTRY_COLUMNS = (  # every column of an entry that cleaning writes, its HTML included
    "source, guid, url, title, excerpt, author, categories, published, updated, language, "
    "first_seen, last_seen, links, media, dated, date_text, words, "
    "(SELECT summary_html || content_html FROM bodies WHERE bodies.id = entries.id)"
)
# what a run knows of the bodies it read: with it forgotten, every item is cleaned again
FORGET_BODIES = (
    "UPDATE sources SET body_hash = NULL, entry_digests = NULL, etag = NULL, last_modified = NULL"
)


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def _story_feed(slug: str, titles: list[str], **kw) -> bytes:
    items = [
        {"title": t, "link": f"https://{slug}.example.af/news/{i}", "date": DATE}
        for i, t in enumerate(titles)
    ]
    return make_rss(slug, items, **kw)


def _entry_links(body: bytes) -> set[str]:
    return {e.get("feedburner_origlink") or e.link for e in feedparser.parse(body).entries}


def hostile_sources(server) -> tuple[list[dict], dict[str, int], dict[str, str]]:
    """(sources, entries expected per published source, diagnosis expected per failed one)."""
    bad_port = make_rss(
        "Bad port",
        [
            {"title": "Parliament debates water treaty", "link": "https://port.example.af/1",
             "date": DATE},
            {"title": "Impossible port story", "link": "https://port.example.af:99999/2",
             "date": DATE},
            {"title": "Wheat harvest doubles in Kunduz", "link": "https://port.example.af/3",
             "date": DATE},
        ],
    )  # fmt: skip
    feeds = {
        "AOP News": ("/aop", data_file("aop_wordpress.xml"), {}),
        "Khaama Press": ("/khaama", data_file("khaama_wordpress.xml"), {}),
        "Raw deflate": (
            "/raw-deflate",
            _raw_deflate(data_file("tolonews_atom.xml")),
            {"Content-Encoding": "deflate", "Content-Type": "application/atom+xml"},
        ),
        "Gzip label, plain body": (
            "/not-gzip",
            data_file("feedburner.xml"),
            {"Content-Encoding": "gzip"},
        ),
        "Huge max-age": (
            "/max-age",
            _story_feed("maxage", ["Kabul bakers protest flour prices"]),
            {"Cache-Control": "public, max-age=" + "9" * 40},
        ),
        "Huge Expires": (
            "/expires",
            _story_feed("expires", ["Herat airport resumes night flights"]),
            {"Expires": "Fri, 31 Dec 9999 23:59:59 GMT"},
        ),
        "Huge ttl": (
            "/ttl",
            _story_feed("ttl", ["Balkh schools reopen after winter"], ttl="9" * 30),
            {},
        ),
        "Bad port entry": ("/bad-port", bad_port, {}),
    }
    sources = [
        {"name": name, "url": server.add(path, body, headers=headers), "category": "News"}
        for name, (path, body, headers) in feeds.items()
    ]
    expected = {name: len(_entry_links(body)) for name, (_, body, _) in feeds.items()}
    expected["Raw deflate"] = len(_entry_links(data_file("tolonews_atom.xml")))
    expected["Bad port entry"] = 2
    failing = {
        "Corrupt gzip": (
            server.add("/corrupt", b"\x1f\x8b\x08\x00" + b"not gzip at all" * 20,
                       headers={"Content-Encoding": "gzip"}),
            "corrupt gzip body",
        ),
        "Retry-After superscript": (
            server.add("/busy", b"busy", status=503, headers={"Retry-After": "²"}),
            "HTTP 503",
        ),
        "Retry-After huge": (
            server.add("/limited", b"slow down", status=429,
                       headers={"Retry-After": "9" * 5000}),
            "HTTP 429",
        ),
        "Bad Location": (
            server.add("/moved", status=302, headers={"Location": "http://[::1"}),
            "Location is not a URL",
        ),
        "Trickled headers": (
            server.add("/trickle", make_rss("slow", []), trickle_headers=1.0),
            "total deadline exceeded",
        ),
        "Refused": ("http://127.0.0.1:9/feed", "connection refused"),
    }  # fmt: skip
    sources += [
        {"name": name, "url": url, "category": "News"} for name, (url, _) in failing.items()
    ]
    return sources, expected, {name: why for name, (_, why) in failing.items()}


def test_one_run_survives_every_hostile_source(workspace, feed_server, capsys):
    sources, expected, failing = hostile_sources(feed_server)
    workspace.write_config(sources, defaults={"timeout": 2, "concurrency": 8})
    started = datetime.now(UTC)
    assert main(workspace.args("run")) == 0
    out = capsys.readouterr().out
    assert "warning    Bad port entry: 1 entry skipped: link has an invalid port" in out
    with Store(workspace.db) as store:
        rows = store.conn.execute(
            "SELECT source, COUNT(*), COUNT(story_id) FROM entries GROUP BY source"
        ).fetchall()
        published_ids = {r[0] for r in store.conn.execute("SELECT DISTINCT story_id FROM entries")}
        states = {s.name: s for s in store.source_states()}
    assert {r[0]: r[1] for r in rows} == expected  # every entry of every decodable source
    assert all(r[1] == r[2] for r in rows)  # each one is in a story
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert not rss.bozo and {e.id for e in rss.entries} == published_ids
    for name, why in failing.items():
        state = states[name]
        assert state.failures == 1 and why in state.last_error, (name, state.last_error)
        assert f"FAILED     {name}: " in out
    for name in expected:
        assert states[name].failures == 0 and states[name].last_success
    status = json.loads((workspace.output / "status.json").read_text(encoding="utf-8"))
    skipped = {row["name"]: row["skipped"] for row in status["sources"]}
    assert skipped["Bad port entry"] == "1 entry skipped: link has an invalid port"
    latest = started + MAX_WAIT + timedelta(minutes=5)
    assert all(s.next_check <= latest for s in states.values())
    assert states["Retry-After huge"].not_before <= latest
    fresh = started + MAX_FRESH
    assert (
        fresh - timedelta(hours=1) < states["Huge ttl"].next_check <= fresh + timedelta(minutes=5)
    )


def test_forty_forced_runs_against_a_refusing_source_all_exit_0(workspace, feed_server, capsys):
    good = feed_server.add("/aop", data_file("aop_wordpress.xml"))
    workspace.write_config(
        [{"name": "AOP News", "url": good}, {"name": "Refused", "url": "http://127.0.0.1:9/"}]
    )
    codes = [main(workspace.args("run", "--force")) for _ in range(40)]
    out = capsys.readouterr().out
    assert codes == [0] * 40
    assert out.count("FAILED     Refused: connection refused") == 40
    with Store(workspace.db) as store:
        state = store.source_state("Refused")
    assert state.failures == 40 and state.failing_since is not None
    assert state.next_check - state.last_fetch <= MAX_WAIT


def test_a_run_that_reaches_no_source_does_not_back_them_off(workspace, feed_server, capsys):
    """Nothing answers when this machine's network is down: each failure is reported and the
    sources show as failing, but their backoff does not grow, so that once the network is back
    they are fetched within the hour, not up to 24 h later; nor in a later run of one source (a
    daemon's cycle), until a source answers. Then one source alone counts as before."""
    refused = [{"name": f"Refused {n}", "url": f"http://127.0.0.{n}:9/feed"} for n in (1, 2, 3)]
    workspace.write_config(refused)
    assert [main(workspace.args("run", "--force")) for _ in range(3)] == [0, 0, 0]
    out = capsys.readouterr().out
    assert out.count("summary: 0 sources ok, 3 failed; 0 new entries; no source could be") == 3
    with Store(workspace.db) as store:
        states = store.source_states()
    assert [s.failures for s in states] == [0, 0, 0]
    assert all("(no source could be reached: not counted" in s.last_error for s in states)
    assert all(s.next_check - s.last_fetch <= timedelta(hours=1.1, seconds=1) for s in states)
    status = json.loads((workspace.output / "status.json").read_text(encoding="utf-8"))
    assert [row["state"] for row in status["sources"]] == ["failing"] * 3

    workspace.write_config(refused[:1])
    assert main(workspace.args("run", "--force")) == 0
    assert "summary: 0 sources ok, 1 failed; 0 new entries; no source" in capsys.readouterr().out

    good = feed_server.add("/aop", data_file("aop_wordpress.xml"))
    workspace.write_config([*refused, {"name": "AOP News", "url": good}])
    assert main(workspace.args("run", "--force")) == 0
    workspace.write_config(refused[:1])
    assert main(workspace.args("run", "--force")) == 0
    assert "no source could be reached" not in capsys.readouterr().out
    with Store(workspace.db) as store:
        failures = {s.name: s.failures for s in store.source_states()}
    assert [failures[source["name"]] for source in refused] == [2, 1, 1]


def test_a_servers_words_reach_the_report_as_words(workspace, feed_server, capsys):
    """A status line or a charset label is the server's to write: an escape sequence in it
    would clear an editor's terminal or colour it, and 60 KB of it fill the report."""
    escape = b"\x1b[2J\x1b[31m"
    shouting = feed_server.add(
        "/shout", raw=b"HTTP/1.1 500 " + escape + b"Oops" + b"!" * 60_000 + b"\r\n\r\n"
    )
    body = data_file("aop_wordpress.xml").replace(b'encoding="UTF-8"', b'encoding="latin-1"')
    label = "application/rss+xml; charset=\x1b[2Jiso-8859-1\x9b"
    odd = feed_server.add("/odd", body, headers={"Content-Type": label})
    workspace.write_config([{"name": "Shouting", "url": shouting}, {"name": "Odd", "url": odd}])
    assert main(workspace.args("run")) == 0
    assert main(workspace.args("status")) == 0
    out = capsys.readouterr().out
    assert "FAILED     Shouting: HTTP 500 [2J[31mOops!!!" in out
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F for c in out)
    assert max(map(len, out.splitlines())) < 700
    status = (workspace.output / "status.json").read_text(encoding="utf-8")
    assert "\\u001b" not in status and "\\u009b" not in status


def _long_items(count: int, slug: str) -> list[dict[str, str]]:
    """Items of about 4 KB each, unlike one another."""
    return [
        {
            "title": f"Report {n} from {slug} on the Salang road",
            "link": f"https://{slug}.example.af/news/{n}",
            "date": DATE,
            "body": "<p>" + " ".join(f"{slug}{n}w{k}" for k in range(400)) + "</p>",
        }
        for n in range(count)
    ]


def test_a_full_database_stops_the_run_and_blames_no_source(workspace, feed_server):
    """A full disk is the database's failure, not a source's or an entry's: the run stops at
    it, with SQLite's own error (not a failed ROLLBACK's over it), and nothing is recorded
    against the source or skipped as unstorable, so the next run stores every item."""
    url = feed_server.add("/big", make_rss("Big", _long_items(3, "first")))
    config = load_config(workspace.write_config([{"name": "Big", "url": url}]))
    with Store(workspace.db) as store:
        run(config, store, workspace.output)
    feed_server.add("/big", make_rss("Big", _long_items(40, "second")))
    with Store(workspace.db) as store:
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 12}")  # room for a few items
        with pytest.raises(sqlite3.OperationalError) as failed:
            run(config, store, workspace.output, force=True)
        assert failed.value.sqlite_errorname == "SQLITE_FULL"
        state = store.source_state("Big")
        assert (state.failures, state.last_error) == (0, None)
        store.conn.execute(f"PRAGMA max_page_count = {2**30}")
        report = run(config, store, workspace.output, force=True)
        stored = store.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert [r.skipped for r in report.results] == [{}]
    assert stored == 43 and not report.problems


def test_a_run_whose_disk_fills_says_so_in_one_line_and_loses_nothing(workspace, feed_server):
    """The cron job's view of a full disk (here a file-size limit, as a quota sets): SQLite
    fails to write its log at the commit and ends the transaction itself. The run exits 1
    with one line naming the database, not a traceback, and the next run stores it all."""
    url = feed_server.add("/big", make_rss("Big", _long_items(3, "first")))
    workspace.write_config([{"name": "Big", "url": url}])
    assert main(workspace.args("run")) == 0
    feed_server.add("/big", make_rss("Big", _long_items(40, "second")))
    limit = workspace.db.stat().st_size + 32_768  # the new items take some 300 KB

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "aggregator", *workspace.args("run", "--force")]
    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=small_files)
    assert full.returncode == 1
    [line] = full.stderr.splitlines()
    database = re.escape(f"error: cannot use the database {workspace.db}: ")
    failure = r"(disk I/O error|database or disk is full)"
    assert re.fullmatch(database + failure + r" \(stopped; nothing is left half-written\)", line)
    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0 and "Big: 40 entries, 40 new" in again.stdout
    with Store(workspace.db) as store:
        assert store.conn.execute("SELECT count(*) FROM entries").fetchone()[0] == 43
        assert store.source_state("Big").failures == 0


def test_a_guid_every_item_shares_is_no_key(workspace, feed_server, capsys):
    """A CMS that writes one guid on every item ("N/A", the site's address) made one entry of
    them all, each new item overwriting the last: readers that key by guid show only one. At
    other links, such items are keyed by their links; one item listed twice stays one."""
    stories = [
        ("Dam on the Helmand opens after ten years", "Farmers in Nimroz expect water by spring."),
        ("Wheat prices fall in Herat markets", "Traders blame a glut of imported flour."),
        ("Girls return to Kabul classrooms", "Teachers report full rooms on the first day."),
        ("New road links Bamyan and Maidan Wardak", "The highway cuts the trip to four hours."),
    ]
    items = [
        {"title": title, "summary": lede, "link": f"https://c.example.af/news/{n}",
         "guid": "N/A", "date": f"Sat, 28 Nov 2026 0{n}:00:00 +0000"}
        for n, (title, lede) in enumerate(stories)
    ]  # fmt: skip
    url = feed_server.add("/c", make_rss("C", [*items[:3], items[2]]))
    workspace.write_config([{"name": "C", "url": url}])
    assert main(workspace.args("run")) == 0
    feed_server.add("/c", make_rss("C", items[::-1]))
    assert main(workspace.args("run", "--force")) == 0
    feed_server.add("/c", make_rss("C, renamed", items[::-1]))  # the same items again
    assert main(workspace.args("run", "--force")) == 0
    out = capsys.readouterr().out
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("ok")] == [
        "ok         C: 4 entries, 3 new",
        "ok         C: 4 entries, 1 new",
        "ok         C: 4 entries, 0 new",
    ]
    published = json.loads((workspace.output / "feed.json").read_text(encoding="utf-8"))
    assert sorted(item["url"] for item in published["items"]) == [i["link"] for i in items]


def test_one_outlets_items_sharing_a_link_are_told_apart_by_their_text(workspace, feed_server):
    def serve(*items: tuple[str, str, str]) -> None:
        rows = [{"title": t, "link": link, "guid": g, "date": DATE} for g, link, t in items]
        feed_server.add("/f", make_rss("F", rows))

    workspace.write_config([{"name": "F", "url": feed_server.url("/f")}])
    home = "https://f.example.af/"
    steps = [
        [("g1", "https://f.example.af/salang", "Salang tunnel closed by avalanche")],
        # the outlet renamed the page, then reused the old address for another story
        [("g1", "https://f.example.af/salang-tunnel", "Salang tunnel closed by avalanche")],
        [("g2", "https://f.example.af/salang", "Traffic resumes on northern highway")],
        # the same item under a fresh guid is its entry again; items that all link the home
        # page are not one
        [("g3", "https://f.example.af/salang", "Traffic resumes on northern highway")],
        [("h1", home, "Wheat prices fall in Herat"), ("h2", home, "New clinic opens in Bamyan"),
         ("h3", home, "Kunduz teachers receive salaries")],
    ]  # fmt: skip
    outcomes = []
    for items in steps:
        serve(*items)
        outcomes.append(main(workspace.args("run", "--force")))
    assert outcomes == [0] * len(steps)
    with Store(workspace.db) as store:
        story = dict(store.conn.execute("SELECT guid, story_id FROM entries").fetchall())
        unclustered = store.conn.execute(
            "SELECT COUNT(*) FROM entries WHERE story_id IS NULL"
        ).fetchone()[0]
    assert unclustered == 0
    assert story["g1"] != story["g2"] and "g3" not in story
    assert len({story["h1"], story["h2"], story["h3"]}) == 3
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert len(rss.entries) == 5


def test_an_item_whose_guid_changes_each_fetch_is_one_entry(workspace, feed_server, capsys):
    """A CMS that puts a timestamp or a session in its guids: each fetch made every item a new
    entry ("40 new" each hour, the store and the matching window growing by the whole feed).
    An item at the same URL, with the same title and date, is its stored entry again; a
    bulletin that keeps its page and title but has a new date is a new item."""

    def serve(fetch: int, bulletin_day: int) -> None:
        rows = [
            {
                "title": f"Story {n} from Kandahar",
                "link": f"https://k.example.af/news/{n}",
                "guid": f"{n}-{fetch}",
                "date": f"Sat, 28 Nov 2026 0{n}:00:00 +0000",
                "summary": f"Kandahar story {n}, told at fetch {fetch}.",
            }
            for n in range(1, 4)
        ] + [
            {
                "title": "Evening bulletin",
                "link": "https://k.example.af/bulletin",
                "guid": f"bulletin-{fetch}",
                "date": f"{bulletin_day} Nov 2026 18:00:00 +0000",
            }
        ]
        feed_server.add("/k", make_rss("K", rows))  # fmt: skip

    workspace.write_config([{"name": "K", "url": feed_server.url("/k")}])
    for fetch, bulletin_day in enumerate([27, 27, 28]):
        serve(fetch, bulletin_day)
        assert main(workspace.args("run", "--force")) == 0
    out = capsys.readouterr().out
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("ok")] == [
        "ok         K: 4 entries, 4 new",
        "ok         K: 4 entries, 0 new",
        "ok         K: 4 entries, 1 new",
    ]
    with Store(workspace.db) as store:
        rows = store.conn.execute("SELECT guid, excerpt FROM entries ORDER BY guid").fetchall()
    assert [guid for guid, _ in rows] == ["1-0", "2-0", "3-0", "bulletin-0", "bulletin-2"]
    assert rows[0][1] == "Kandahar story 1, told at fetch 2."  # refreshed like any entry
    published = json.loads((workspace.output / "feed.json").read_text(encoding="utf-8"))
    urls = sorted(item["url"] for item in published["items"])
    assert urls == ["https://k.example.af/bulletin"] + [
        f"https://k.example.af/news/{n}" for n in range(1, 4)
    ]  # each story once


@pytest.mark.parametrize(
    "lede",
    [
        "Click here to read the full story on our website and follow us for daily updates.",
        "برای خواندن متن کامل این خبر به وب‌سایت ما مراجعه کنید و ما را دنبال کنید",
    ],
)
def test_one_outlets_boilerplate_lede_does_not_make_its_items_one_story(
    workspace, feed_server, lede
):
    """A feed whose every item carries the same description made one story of all its items."""
    titles = [
        "Floods kill 12 in Baghlan",
        "Cricket board names new captain",
        "Wheat prices fall in Herat markets",
        "Salang tunnel reopens after repairs",
    ]
    rows = [
        {"title": t, "link": f"https://f.example.af/{n}", "date": DATE, "summary": lede}
        for n, t in enumerate(titles)
    ]
    workspace.write_config([{"name": "F", "url": feed_server.add("/f", make_rss("F", rows))}])
    assert main(workspace.args("run")) == 0
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert sorted(e.title for e in rss.entries) == sorted(titles)


def test_matching_words_are_made_on_the_parser_workers_as_clustering_would(workspace, sources):
    from dataclasses import replace

    from aggregator.config import load_config
    from aggregator.dedupe import EntryFeatures

    assert len(sources) >= INLINE_BELOW  # parsed in worker processes, not inline
    assert main(workspace.args("run", "--force")) == 0
    make = EntryFeatures(load_config(workspace.config))
    with Store(workspace.db) as store:
        ids = [row[0] for row in store.conn.execute("SELECT id FROM entries")]
        entries = [e for _, e in store.entries_for_matching(ids)]
    assert len(entries) >= GOOD_SOURCES
    for entry in entries:
        assert make.current(entry), entry.url
        assert entry.words == make.dump(make(0, replace(entry, words=None)))


def test_a_first_fetch_leaves_folding_to_clustering_where_the_run_may_match_ahead(
    workspace, sources, monkeypatch
):
    """Matching ahead, the writer folds while the helper matches: a source fetched for the
    first time brings only new entries, so they are folded there; a source fetched again may
    rewrite entries of the window, and its entries are folded on the workers, as without."""
    from dataclasses import replace

    from aggregator import deadlines
    from aggregator.config import load_config
    from aggregator.dedupe import EntryFeatures
    from aggregator.pipeline import assign_stories, fetch_sources

    config = load_config(workspace.config)
    make = EntryFeatures(config)
    now = datetime.now(UTC)

    def words(store: Store) -> list[str | None]:
        return [w for (w,) in store.conn.execute("SELECT words FROM entries ORDER BY id")]

    def folded(store: Store) -> list[str]:
        ids = [row[0] for row in store.conn.execute("SELECT id FROM entries ORDER BY id")]
        return [
            make.dump(make(0, replace(e, words=None))) for _, e in store.entries_for_matching(ids)
        ]

    monkeypatch.setattr(deadlines, "fork_safe", lambda: True)  # a cron run: no other thread
    with Store(workspace.db) as store:
        fetch_sources(config, store, now, force=True)
        assert len(words(store)) >= GOOD_SOURCES
        assert set(words(store)) == {None}
        store.conn.execute(FORGET_BODIES)  # parsed again, not new
        fetch_sources(config, store, now, force=True)
        assert words(store) == folded(store)  # by the workers
        store.conn.execute("UPDATE entries SET words = NULL")
        store.conn.execute(FORGET_BODIES.replace("SET", "SET last_success = NULL,"))
        monkeypatch.setattr(deadlines, "fork_safe", lambda: False)  # a terminal's, a daemon's
        fetch_sources(config, store, now, force=True)
        assert words(store) == folded(store)
        store.conn.execute("UPDATE entries SET words = NULL")
        assert assign_stories(config, store, now) == []
        assert words(store) == folded(store)  # by clustering


def test_a_source_that_brings_nothing_new_is_stored_in_one_statement(workspace, sources):
    """A 304, a body seen before, or a failure is one UPDATE of the source's row: no savepoint,
    and no second read of a state the run read at its start."""
    from aggregator.config import load_config
    from aggregator.models import Outcome
    from aggregator.pipeline import fetch_sources

    config = load_config(workspace.config)
    now = datetime.now(UTC)
    with Store(workspace.db) as store:
        first = {r.source: r.outcome for r in fetch_sources(config, store, now, force=True)}
        statements: list[str] = []
        store.conn.set_trace_callback(statements.append)
        again = fetch_sources(config, store, now + timedelta(hours=1), force=True)
    assert Outcome.OK in first.values()
    for report in again:
        expected = (
            {Outcome.NOT_MODIFIED, Outcome.UNCHANGED}
            if first[report.source] is Outcome.OK
            else {Outcome.FAILED}
        )
        assert report.outcome in expected, report
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))]
    reads = [s for s in statements if s.startswith("SELECT") and "FROM sources WHERE name" in s]
    assert len(reads) == len(again)  # each source's state read once, as the run starts
    updates = [s for s in statements if s.startswith("UPDATE sources SET")]
    assert len(updates) == len(again)


def test_new_entries_are_inserted_without_trying_an_update_first(workspace, feed_server):
    """A source's new items are INSERTed straight away; only the guids it holds already are
    UPDATEd (one query asks which), and an item repeated in one feed is stored once."""
    from aggregator.config import load_config
    from aggregator.pipeline import fetch_sources

    def serve(*items: tuple[str, str]) -> None:
        rows = [
            {"title": t, "link": f"https://f.example.af/{g}", "guid": g, "date": DATE}
            for g, t in items
        ]
        feed_server.add("/f", make_rss("F", rows))

    workspace.write_config([{"name": "F", "url": feed_server.url("/f")}])
    config = load_config(workspace.config)
    now = datetime.now(UTC)
    runs = []
    with Store(workspace.db) as store:
        for at, items in enumerate(
            [
                [("g1", "Salang tunnel closed"), ("g2", "Kabul wheat prices fall")],
                [
                    ("g2", "Kabul wheat prices fall again"),
                    ("g3", "Herat clinic opens"),
                    ("g3", "Herat clinic opens"),
                ],
            ]  # fmt: skip
        ):
            serve(*items)
            store.conn.execute(FORGET_BODIES)
            statements: list[str] = []
            store.conn.set_trace_callback(statements.append)
            (report,) = fetch_sources(config, store, now + timedelta(hours=at), force=True)
            store.conn.set_trace_callback(None)
            runs.append((report.new_entries, statements))
        titles = dict(store.conn.execute("SELECT guid, title FROM entries").fetchall())
    (new_first, first), (new_then, then) = runs
    assert new_first == 2 and new_then == 1
    assert not [s for s in first if s.startswith("UPDATE entries")]
    assert len([s for s in first if s.startswith("INSERT INTO entries")]) == 2
    assert len([s for s in then if s.startswith("UPDATE entries")]) >= 1
    assert len([s for s in then if s.startswith("INSERT INTO entries")]) == 1
    assert titles == {
        "g1": "Salang tunnel closed",
        "g2": "Kabul wheat prices fall again",
        "g3": "Herat clinic opens",
    }


def _feed(items: list[dict[str, str]]) -> bytes:
    """RSS 2.0 whose items may lack a guid or a date."""
    from xml.sax.saxutils import escape

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>',
        "<title>F</title><link>https://f.example.af/</link><language>en</language>",
    ]
    for item in items:
        guid = f"<guid isPermaLink='false'>{item['guid']}</guid>" if "guid" in item else ""
        date = f"<pubDate>{item['date']}</pubDate>" if "date" in item else ""
        date += f"<dc:date>{item['dc']}</dc:date>" if "dc" in item else ""
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{item['link']}</link>{guid}"
            f"{date}<description>{escape(item.get('text', item['title']))}</description></item>"
        )
    return "".join(parts + ["</channel></rss>"]).encode()


def _versions(now: datetime) -> list[list[dict[str, str]]]:
    """A source's feed as it changes: items edited, added, reordered and dropped, one with no
    guid, one undated, one dated a day ahead, one the rules drop, one listed twice (one guid
    and link, two texts; then the one of them whose entry was not the one stored, alone)."""
    from email.utils import format_datetime

    def item(key: str, title: str, hours: float | None = -1.0, guid: bool = True) -> dict:
        same = "dup" if key.startswith("dup") else key  # "dup1", "dup2": one item, twice
        made = {"title": title, "link": f"https://f.example.af/{same}"}
        if guid:
            made["guid"] = same
        if hours is not None and hours > 24:  # as dc:date, the only date: an updated one
            made["dc"] = (now + timedelta(hours=hours)).isoformat()
        elif hours is not None:
            made["date"] = format_datetime(now + timedelta(hours=hours))
        return made

    first = [
        item("a", "Salang tunnel closed by snow", -1),
        item("b", "Kabul wheat prices fall", -2),
        item("c", "Herat clinic opens", -3),
        item("n", "Balkh schools reopen", -4, guid=False),
        item("u", "Kandahar pomegranates exported", None),
        item("f", "Ghazni bridge to open next week", 24.5),  # a day ahead: for an hour
        item("x", "Daily horoscope", -5),
        item("dup1", "Kunduz flood warning", -6),
        item("dup2", "Kunduz flood warning issued", -7),
        item("old", "Bamyan festival", -30),
    ]
    second = [
        first[2],
        first[0],
        item("b", "Kabul wheat prices fall again", -2),
        *first[3:7],
        item("dup1", "Kunduz flood warning lifted", -6),  # the later "dup2" is as it was
        first[8],
        item("e", "Jalalabad power restored", 0.5),
        first[9],
    ]
    third = [item("g", "Herat airport resumes flights", 1.5), *second]  # "old" falls past the cut
    # "dup2" goes: "dup1", which lost the guid to it, is seen again alone, and must replace it
    fourth = [made for made in third if made["title"] != "Kunduz flood warning issued"]
    return [first, second, third, third, fourth]


def test_items_seen_again_unchanged_are_not_cleaned_again_and_the_store_is_as_if_they_were(
    workspace, feed_server
):
    """A changed body's items that are as they were stored are marked seen, not cleaned and
    written again: every entry (and what is reported) ends as when every item is cleaned."""
    from aggregator.config import load_config
    from aggregator.pipeline import run

    now = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    source = {"name": "F", "url": feed_server.url("/f"), "max_items": 9, "exclude": ["horoscope"]}
    configs = [load_config(workspace.write_config([source]))]
    configs.append(load_config(workspace.write_config([source], exclude=["tunnel"])))
    tables: dict[bool, list] = {}
    cleaned, seen_by = {}, {}
    for forget in (False, True):
        path = workspace.root / f"{forget}.db"
        seen, statements = [], []
        with Store(path) as store:
            store.conn.set_trace_callback(statements.append)
            for at, items in enumerate(_versions(now)):
                feed_server.add("/f", _feed(items))
                store.conn.execute("UPDATE sources SET body_hash = NULL")
                if forget:
                    store.conn.execute("UPDATE sources SET entry_digests = NULL")
                # at last the rules change: an item they now drop is cleaned to see it
                config = configs[at >= 3]
                later = now + timedelta(hours=at)
                report = run(config, store, workspace.output, later, publish_outputs=False)
                (result,) = report.results
                seen.append((result.entries_seen, result.new_entries, result.skipped))
                rows = store.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY guid, url")
                tables.setdefault(forget, []).append([tuple(row) for row in rows])
        cleaned[forget] = len([s for s in statements if s.startswith("UPDATE entries SET url")])
        seen_by[forget] = seen
    assert seen_by[False] == seen_by[True]
    assert tables[False] == tables[True]
    assert [len(rows) for rows in tables[False]] == [8, 9, 10, 10, 10]  # "x" never; one "dup"
    assert cleaned[False] < cleaned[True]
    assert cleaned[False] >= 2  # at least "b" and "dup" (shared guid), cleaned each time


def _generated_versions(seed: int) -> tuple[list[bytes], dict[str, str]]:
    """Four bodies of one source from generated documents (tests/rss_documents.py), each a mix
    of the items of the ones before and new ones, and the headers they are served with."""
    import random
    import re

    from tests import rss_documents

    documents = [rss_documents.document(random.Random(seed * 10 + k)) for k in range(4)]
    items = [re.findall(rb"<item[ >].*?</item>", body, re.S) for body, _, _ in documents]
    first = documents[0][0]
    head = first[: first.index(b"<channel")] + re.search(rb"<channel[^>]*>", first)[0]
    mixes = [items[0], items[0] + items[1], items[1] + items[2], items[0] + items[2] + items[3]]
    bodies = [head + b"<title>T</title>" + b"".join(mix) + b"</channel></rss>" for mix in mixes]
    return bodies, {k: v for k, v in documents[0][1].items() if v}


@pytest.mark.parametrize("seed", range(16))
def test_generated_feeds_end_stored_as_if_every_item_were_cleaned(workspace, feed_server, seed):
    """The rule above, on feeds nobody wrote by hand: permalink guids that two items share once
    resolved, undated items, extreme dates, items that step the parser aside."""
    from aggregator.config import load_config
    from aggregator.pipeline import run

    now = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    source = {"name": "F", "url": feed_server.url("/f"), "max_items": 6}
    config = load_config(workspace.write_config([source]))
    bodies, headers = _generated_versions(seed)
    tables: dict[bool, list] = {}
    for forget in (False, True):
        with Store(workspace.root / f"{forget}.db") as store:
            for at, body in enumerate(bodies):
                feed_server.add("/f", body, headers=headers)
                store.conn.execute("UPDATE sources SET body_hash = NULL")
                if forget:
                    store.conn.execute("UPDATE sources SET entry_digests = NULL")
                report = run(config, store, workspace.output, now + timedelta(hours=at),
                             publish_outputs=False)  # fmt: skip
                (result,) = report.results
                rows = store.conn.execute(f"SELECT {ENTRY_COLUMNS} FROM entries ORDER BY guid, url")
                seen = (result.entries_seen, result.new_entries, result.error)
                tables.setdefault(forget, []).append(([tuple(row) for row in rows], seen))
    assert tables[False] == tables[True]


def test_an_unchanged_item_whose_entry_is_gone_makes_the_next_body_be_cleaned_whole(
    workspace, feed_server
):
    """Should an unchanged item's stored entry be missing, its digests are dropped, so that
    the source's next body is cleaned item by item and the entry is stored again."""
    from aggregator.config import load_config
    from aggregator.pipeline import fetch_sources

    now = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    items = _versions(now)[0][:3]
    workspace.write_config([{"name": "F", "url": feed_server.url("/f")}])
    config = load_config(workspace.config)
    with Store(workspace.db) as store:
        for at, served in enumerate((items, [*items, _versions(now)[1][-2]], items)):
            feed_server.add("/f", _feed(served))
            if at == 1:
                store.conn.execute("DELETE FROM entries WHERE guid = 'a'")
            fetch_sources(config, store, now + timedelta(hours=at), force=True)
            guids = {g for (g,) in store.conn.execute("SELECT guid FROM entries")}
            digests = store.item_digests().get("F", b"")
            assert len(digests) == {0: 3, 1: 0, 2: 3}[at] * 16
            assert guids == {0: {"a", "b", "c"}, 1: {"b", "c", "e"}, 2: {"a", "b", "c", "e"}}[at]


def test_dari_reaches_the_dari_edition_whatever_language_its_feed_declares(workspace, feed_server):
    """A WordPress site declares the language of its admin screens: a Dari site's feed saying
    en-US put its items in the English edition, whatever language the editor gave the source.
    Another writes ISO 639-2's `per`, which no edition is called."""

    def feed(path: str, title: str, language: str) -> str:
        item = {"title": title, "link": f"https://{path}.example.af/1", "date": DATE}
        return feed_server.add(f"/{path}", make_rss(path, [item], language=language))

    sources = [
        {"name": "D", "url": feed("d", "نرخ گندم در بازارهای هرات کاهش یافت", "en-US"),
         "language": "fa"},
        {"name": "P", "url": feed("p", "دختران به صنف‌های درسی در کابل بازگشتند", "per")},
        {"name": "E", "url": feed("e", "New road links Bamyan and Maidan Wardak", "en-US")},
    ]  # fmt: skip
    workspace.write_config(sources)
    assert main(workspace.args("run")) == 0

    def languages(name: str) -> dict[str, str]:
        published = json.loads((workspace.output / name).read_text(encoding="utf-8"))
        return {item["url"][8]: item["language"] for item in published["items"]}

    assert languages("feed.json") == {"d": "fa", "p": "fa", "e": "en-US"}
    assert languages("lang/fa.json") == {"d": "fa", "p": "fa"}
    assert languages("lang/en.json") == {"e": "en-US"}


def test_a_source_whose_certificate_the_editor_accepts_is_read_and_no_other(workspace, tls_feed):
    """A site's certificate expires and it goes on publishing: with `accept_invalid_certificate`
    the editor keeps reading it (unverified, without a warning on stderr at every request);
    another source with the same certificate fails, saying why."""
    from datetime import timedelta

    expired = datetime.now(UTC) - timedelta(days=3)
    url = tls_feed(lambda ca, _: ca.issue_cert("127.0.0.1", not_after=expired))
    workspace.write_config(
        [
            {"name": "Accepted", "url": url, "accept_invalid_certificate": True},
            {"name": "Checked", "url": url + "?again"},
        ]
    )
    command = [sys.executable, "-m", "aggregator", *workspace.args("run")]
    done = subprocess.run(
        command, capture_output=True, text=True, env=os.environ | {"PYTHONWARNINGS": "default"}
    )
    assert done.returncode == 0, done.stderr
    lines = [line.split(" (")[0] for line in done.stdout.splitlines()]
    assert "ok         Accepted: 0 entries, 0 new" in lines
    assert "FAILED     Checked: TLS: the site's certificate has expired" in lines
    assert done.stderr == ""


def test_a_server_whose_cache_lies_is_read_anew_when_the_editor_says_so(workspace, feed_server):
    """A cache plugin keeps one ETag while the feed changes: every request that sends it back
    gets 304 Not Modified, and the source shows as fine while bringing nothing new."""

    def serve(count: int) -> None:
        items = [
            {"title": f"Report {n} from Herat", "link": f"https://h.example.af/{n}", "date": DATE}
            for n in range(count)
        ]
        feed_server.add("/lies", make_rss("H", items), etag='"one-etag"')

    def new_entries(ignore: bool) -> int:
        workspace.write_config(
            [{"name": "H", "url": feed_server.url("/lies"), "ignore_http_cache": ignore}]
        )
        with Store(workspace.db) as store:
            report = run(load_config(workspace.config), store, workspace.output, force=True)
        return report.new_entries

    serve(1)
    assert new_entries(False) == 1
    serve(2)
    assert new_entries(False) == 0  # 304: the second report is never seen
    assert feed_server.requests_to("/lies")[-1].headers.get("if-none-match") == '"one-etag"'
    assert new_entries(True) == 1
    assert "if-none-match" not in feed_server.requests_to("/lies")[-1].headers
