"""End to end: `aggregator run` against the local feed server, checked through its outputs."""

import json
import os
import re
import sqlite3
import subprocess
import sys

import feedparser
import pytest

from aggregator.cli import build_parser, main
from aggregator.store import MIGRATIONS
from tests.conftest import GOOD_SOURCES, STORIES, URLS

OUTPUTS = ("feed.xml", "atom.xml", "feed.json", "index.html", "status.json", "status.html")


def run_cli(workspace, capsys, *extra):
    code = main(workspace.args("run", *extra))
    return code, capsys.readouterr()


def parsed_feed(workspace, name):
    parsed = feedparser.parse(str(workspace.output / name))
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_help_lists_commands():
    help_text = build_parser().format_help()
    for command in ("run", "fetch", "publish", "check"):
        assert re.search(rf"^\s+{command}\s", help_text, re.MULTILINE)


@pytest.mark.parametrize(
    "argv",
    [
        ["schedule", "--every", "-1"],  # the scheduler looped without end, past 16 GB
        ["schedule", "--every", "0"],
        ["schedule", "--every", "inf"],
        ["run", "--wait", "nan"],  # a traceback from the lock
        ["run", "--wait", "-5"],
        ["serve", "--port", "99999"],  # a traceback from bind()
        ["serve", "--port", "http"],
    ],
)
def test_an_impossible_number_on_the_command_line_is_a_usage_error(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*argv, "--config", str(tmp_path / "feeds.yaml")])
    assert caught.value.code == 2
    assert f"argument {argv[1]}: " in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "run" in done.stdout and "check" in done.stdout


def test_a_terminal_or_log_that_cannot_hold_dari_gets_escapes_not_a_crash(workspace, feed_server):
    """An old server's cron under a Latin-1 locale: the run stopped at the first Dari name."""
    url = feed_server.feed("/tolo/fa", "tolonews_dari_cp1256.xml")
    workspace.write_config([{"name": "طلوع نیوز", "url": url, "language": "fa"}])
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    for command in ("run", "status"):
        done = subprocess.run(
            [sys.executable, "-m", "aggregator", *workspace.args(command)],
            capture_output=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert b"\\u0637\\u0644\\u0648\\u0639 \\u0646\\u06cc\\u0648\\u0632" in done.stdout
    assert (workspace.output / "feed.xml").is_file()


def test_a_reader_that_stops_reading_the_report_does_not_stop_the_run(workspace, sources):
    """`aggregator run | head -1`: the pipe closes after the first line. The run went on to fail
    with 'cannot use the database folder: Broken pipe' and published nothing."""
    runner = subprocess.Popen(
        [sys.executable, "-m", "aggregator", *workspace.args("run")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    first = runner.stdout.readline()
    runner.stdout.close()
    errors = runner.stderr.read().decode()
    runner.stderr.close()
    assert runner.wait(timeout=120) == 0, errors
    assert first and not errors
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert len(rss.entries) == STORIES


def test_run_publishes_valid_feeds_and_reports_failures(workspace, sources, capsys):
    code, out = run_cli(workspace, capsys)
    assert code == 0
    lines = out.out.splitlines()
    assert len([line for line in lines if line.startswith("FAILED")]) == 4
    text = out.out
    assert (
        "FAILED     Ariana News: returned an HTML page, not a feed (the page advertises a feed at"
        in text
    )
    assert "FAILED     Gone: HTTP 404 Not Found" in text
    assert "FAILED     Slow: timed out after 1 s" in text
    assert "FAILED     Bomb: feed is larger than 10 MB (after decompression)" in text
    assert "warning    Pajhwok: feed is malformed but readable (2 entries)" in text
    assert lines[-1] == (
        f"summary: {GOOD_SOURCES} sources ok, 4 failed; 14 new entries; "
        f"{STORIES} stories published to {workspace.output}"
    )

    rss = parsed_feed(workspace, "feed.xml")
    atom = parsed_feed(workspace, "atom.xml")
    for feed in (rss, atom):
        links = [e.link for e in feed.entries]
        assert len(links) == STORIES
        assert len(set(links)) == STORIES, "duplicate URLs published"
        assert len({e.id for e in feed.entries}) == STORIES
        assert all(e.id.startswith("tag:www.aopnews.com,") for e in feed.entries)
        assert not any("utm_" in link for link in links)
        dates = [e.published_parsed for e in feed.entries]
        assert dates == sorted(dates, reverse=True), "not newest first"
    json_feed = json.loads((workspace.output / "feed.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in json_feed["items"]] == [e.id for e in rss.entries]
    by_link = {e.link: e for e in rss.entries}
    highway = by_link["https://www.aopnews.com/2026/11/kabul-kandahar-highway-reopens/"]
    assert highway.source.title == "AOP News"  # own source wins over TOLOnews' and Khaama's
    assert (
        '<p>Also reported by: <a href="https://www.khaama.com/kabul-kandahar-highway-reopens-'
        'after-floods/">Khaama Press</a>, <a href="https://www.aopnews.com/2026/11/kabul-'
        'kandahar-highway-reopens/">TOLOnews</a></p>'
    ) in highway.content[0].value
    atom_highway = next(e for e in atom.entries if e.id == highway.id)
    assert "Also reported by: " in atom_highway.content[0].value
    assert ">Khaama Press</a>, <a " in atom_highway.content[0].value
    page = (workspace.output / "index.html").read_text(encoding="utf-8")
    assert (
        '<p class="also">Also reported by: <a href="https://www.khaama.com/kabul-kandahar-highway'
        in page
    )
    json_item = next(i for i in json_feed["items"] if i["id"] == highway.id)
    assert "Also reported by: " in json_item["content_html"]
    zan = by_link["https://zantimes.com/2026/11/27/women-journalists-balkh/"]
    assert zan.source.title == "Zan Times"
    dari = by_link["https://tolonews.com/fa/business-190124"]
    assert dari.title == "بازگشايي گذرگاه تورخم براي تجارت"

    for name in OUTPUTS:
        raw = (workspace.output / name).read_text(encoding="utf-8").lower()
        for bad in ("<script", "&lt;script", "javascript:", "onclick", "<iframe", "&lt;iframe"):
            assert bad not in raw, f"{bad} in {name}"
    for entry in rss.entries + atom.entries:
        body = " ".join(c.value for c in entry.get("content", [])) + entry.get("summary", "")
        assert "<script" not in body.lower() and "<iframe" not in body.lower()

    db = sqlite3.connect(workspace.db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 14
    assert db.execute("SELECT COUNT(*) FROM stories").fetchone()[0] == STORIES
    assert db.execute("SELECT COUNT(DISTINCT url) FROM entries").fetchone()[0] == URLS
    state = dict(db.execute("SELECT name, etag FROM sources WHERE name = 'AOP News'").fetchall())
    assert state == {"AOP News": 'W/"aop-1"'}
    failures = dict(db.execute("SELECT name, failures FROM sources").fetchall())
    assert failures["Gone"] == 1 and failures["AOP News"] == 0
    outcomes = dict(db.execute("SELECT source, outcome FROM run_sources").fetchall())
    assert outcomes["Slow"] == "failed" and outcomes["Khaama Press"] == "ok"
    assert db.execute("SELECT stories_published FROM runs").fetchall() == [(STORIES,)]


def test_second_run_is_conditional_parses_nothing_and_keeps_ids(
    workspace, sources, feed_server, capsys
):
    assert run_cli(workspace, capsys)[0] == 0
    first_ids = [e.id for e in parsed_feed(workspace, "feed.xml").entries]
    first_log = len(feed_server.log)

    code, out = run_cli(workspace, capsys, "--force")
    assert code == 0
    second = feed_server.log[first_log:]
    aop = [s for s in second if s.path == "/aop/feed/"]
    assert aop[0].headers["if-none-match"] == 'W/"aop-1"'
    assert aop[0].headers["if-modified-since"] == "Sat, 28 Nov 2026 05:12:44 GMT"
    tolo = [s for s in second if s.path == "/tolo/rss.xml"][0]
    assert tolo.headers["if-modified-since"] == "Sat, 28 Nov 2026 05:12:44 GMT"
    assert "if-none-match" not in tolo.headers
    khaama = [s for s in second if s.path == "/khaama/feed/"][0]
    assert khaama.headers["if-none-match"] == '"kh-7"'
    pajhwok = [s for s in second if s.path == "/pajhwok/feed/"][0]
    assert "if-none-match" not in pajhwok.headers and "if-modified-since" not in pajhwok.headers

    db = sqlite3.connect(workspace.db)
    rows = db.execute(
        "SELECT source, outcome, entries_seen, new_entries FROM run_sources WHERE run_id = 2"
    ).fetchall()
    outcomes = {name: outcome for name, outcome, _, _ in rows}
    assert outcomes["AOP News"] == outcomes["Zan Times"] == "not_modified"
    assert outcomes["Pajhwok"] == "unchanged"  # no validators: same body hash, not parsed
    assert not [r for r in rows if r[1] == "ok"], "something was parsed again"
    assert sum(r[2] + r[3] for r in rows) == 0
    assert "0 new entries" in out.out.splitlines()[-1]
    assert [e.id for e in parsed_feed(workspace, "feed.xml").entries] == first_ids


def test_changed_feed_is_parsed_and_ids_stay(workspace, sources, feed_server, capsys):
    assert run_cli(workspace, capsys)[0] == 0
    before = {e.link: e.id for e in parsed_feed(workspace, "feed.xml").entries}
    route = feed_server.routes["/aop/feed/"]
    route.etag = 'W/"aop-2"'
    route.body = route.body.replace(b"UN envoy meets", b"UN envoy holds talks with")
    code, out = run_cli(workspace, capsys, "--force")
    assert code == 0
    after = {e.link: (e.id, e.title) for e in parsed_feed(workspace, "feed.xml").entries}
    link = "https://www.aopnews.com/2026/11/un-envoy-meets-taliban-officials/"
    assert after[link] == (before[link], "UN envoy holds talks with Taliban officials in Kabul")
    assert {k: v[0] for k, v in after.items()} == before
    assert "ok         AOP News: 3 entries, 0 new" in out.out


def test_every_source_failing_still_publishes(workspace, feed_server, capsys):
    workspace.write_config(
        [{"name": "Gone", "url": feed_server.url("/nothing")}], defaults={"timeout": 1}
    )
    code, out = run_cli(workspace, capsys)
    assert code == 0
    assert "summary: 0 sources ok, 1 failed; 0 new entries; 0 stories published" in out.out
    assert parsed_feed(workspace, "feed.xml").entries == []


def test_unwritable_output_exits_1_and_keeps_db(workspace, sources, capsys):
    workspace.output.write_text("a file where the folder should be")
    code, out = run_cli(workspace, capsys)
    assert code == 1
    assert "error: cannot write to" in out.err
    db = sqlite3.connect(workspace.db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 14
    assert db.execute("SELECT publish_error IS NOT NULL FROM runs").fetchone()[0] == 1


def test_json_report(workspace, sources, capsys):
    code, out = run_cli(workspace, capsys, "--json")
    assert code == 0
    report = json.loads(out.out)
    assert report["sources_failed"] == 4
    assert report["stories_published"] == STORIES
    gone = next(s for s in report["sources"] if s["source"] == "Gone")
    assert gone["error"] == "HTTP 404 Not Found" and gone["http_status"] == 404


def test_fetch_then_publish(workspace, sources, capsys):
    assert main(workspace.args("fetch")) == 0
    assert not workspace.output.exists()
    assert main(workspace.args("publish")) == 0
    assert len(parsed_feed(workspace, "feed.xml").entries) == STORIES


def test_check_live_probes_each_source(workspace, feed_server, capsys):
    workspace.write_config(
        [
            {"name": "AOP News", "url": feed_server.feed("/aop/feed/", "aop_wordpress.xml")},
            {"name": "Ariana News", "url": feed_server.feed("/a/", "page.html", "text/html")},
            {"name": "Gone", "url": feed_server.url("/gone")},
            {"name": "Removed", "url": feed_server.add("/removed", b"", status=410)},
        ]
    )
    assert main(workspace.args("check", "--live")) == 1
    out = capsys.readouterr().out
    assert "ok      AOP News: 3 entries" in out
    assert "FAILED  Ariana News: returned an HTML page, not a feed" in out
    assert "FAILED  Gone: HTTP 404 Not Found" in out
    assert "FAILED  Removed: HTTP 410 Gone (the feed was removed)\n" in out  # and nothing disabled
    assert not workspace.db.exists()


def test_explain_says_why_an_entry_joined_a_story(workspace, sources, capsys):
    assert main(workspace.args("run")) == 0
    capsys.readouterr()
    url = "https://www.aopnews.com/2026/11/kabul-kandahar-highway-reopens/?utm_source=rss#x"
    assert main(workspace.args("explain", url)) == 0
    out = capsys.readouterr().out
    assert "entry " in out and ": AOP News: Khaama Press: Kabul-Kandahar highway reopens" in out
    assert "(3 entries):" in out
    assert "decision: title " in out
    assert (
        "same  title " in out and "Khaama Press: Kabul-Kandahar highway reopens after three" in out
    )
    assert main(workspace.args("explain", "https://nowhere.example/x")) == 1
    assert "no stored entry has the URL https://nowhere.example/x" in capsys.readouterr().err
    # another copy of the page, as a browser shows it: http, no www., no slash, AMP
    for copy in (
        "http://aopnews.com/2026/11/kabul-kandahar-highway-reopens",
        "https://m.aopnews.com/2026/11/kabul-kandahar-highway-reopens/amp/",
    ):
        assert main(workspace.args("explain", copy)) == 0
        assert "(3 entries):" in capsys.readouterr().out


def test_unusable_database_folder_is_a_clear_error(workspace, sources, capsys):
    args = workspace.args("run")
    args[args.index("--db") + 1] = str(workspace.config / "aggregator.db")  # under a file
    assert main(args) == 1
    assert "error: cannot use the database folder" in capsys.readouterr().err


def test_a_terminal_gets_a_progress_bar_and_only_the_lines_that_need_attention():
    import io

    from rich.console import Console

    from aggregator.cli.cycle import ProgressReport
    from aggregator.models import Outcome, SourceResult

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with ProgressReport(3, console) as progress:
        progress(SourceResult("AOP News", Outcome.OK, 200, entries_seen=3, new_entries=3))
        progress(SourceResult("Gone", Outcome.FAILED, 410, error="HTTP 410 Gone"))
        progress(SourceResult("Zan", Outcome.OK, 200, warning="feed is malformed but readable"))
        assert progress.progress.tasks[0].completed == 3
        assert progress.progress.tasks[0].description == "merging and publishing"
    shown = screen.getvalue()
    assert "FAILED     Gone: HTTP 410 Gone" in shown
    assert "warning    Zan: feed is malformed but readable" in shown
    assert "ok         AOP News" not in shown  # the bar counts it; no line for it


def test_report_lines_say_one_entry_source_and_story_in_the_singular():
    """`1 entries`, `1 sources ok`, `1 new entries`, `1 stories published`: a desk of one
    source, a feed of one item, read them every day."""
    from datetime import UTC, datetime
    from pathlib import Path

    from aggregator.cli.cycle import line, summary
    from aggregator.models import Outcome, RunReport, SourceResult

    one = SourceResult("AOP News", Outcome.OK, 200, entries_seen=1, new_entries=1)
    assert line(one).startswith("ok         AOP News: 1 entry, 1 new (HTTP 200")
    report = RunReport(datetime(2026, 12, 1, tzinfo=UTC), [one], stories_published=1)
    assert summary(report, Path("out")) == (
        "summary: 1 source ok, 0 failed; 1 new entry; 1 story published to out"
    )
    two = SourceResult("Zan", Outcome.OK, 200, entries_seen=2, new_entries=2)
    report = RunReport(datetime(2026, 12, 1, tzinfo=UTC), [one, two], stories_published=3)
    assert line(two).startswith("ok         Zan: 2 entries, 2 new")
    assert summary(report, Path("out")).startswith("summary: 2 sources ok, 0 failed; 3 new entries")
