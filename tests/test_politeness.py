"""Polite, fault-tolerant fetching against a fault-injecting local server, on an injected clock."""

import json
import random
import sqlite3
from datetime import timedelta

import pytest

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.pipeline import run
from aggregator.store import Store
from tests.conftest import NOW, data_file

HOUR = timedelta(hours=1)


class Runner:
    """Runs the pipeline on the workspace at chosen moments, with a seeded jitter."""

    def __init__(self, workspace, sources):
        self.workspace = workspace
        workspace.write_config(sources, defaults={"timeout": 1, "concurrency": 4, "refresh": 60})
        self.config = load_config(workspace.config)

    def __call__(self, at, force=False):
        with Store(self.workspace.db) as store:
            report = run(
                self.config, store, self.workspace.output, now=at, force=force, rng=random.Random(3)
            )
        return {r.source: r for r in report.results}

    def state(self, name):
        with Store(self.workspace.db) as store:
            return store.source_state(name)


def feed(server, path, **route):
    return {"name": "Feed", "url": server.feed(path, "aop_wordpress.xml", **route)}


def test_validators_echoed_exactly_over_three_runs(workspace, feed_server):
    runner = Runner(workspace, [feed(feed_server, "/f", etag='"v1"')])
    runner(NOW)
    route = feed_server.routes["/f"]
    route.etag, route.also_valid = '"v2"', ('"v1"',)  # answers v1 with a 304 carrying v2
    results = runner(NOW + 2 * HOUR)
    assert results["Feed"].outcome == "not_modified"
    assert runner.state("Feed").etag == '"v2"'
    runner(NOW + 4 * HOUR)
    sent = [seen.headers.get("if-none-match") for seen in feed_server.requests_to("/f")]
    assert sent == [None, '"v1"', '"v2"']
    assert all("if-modified-since" not in seen.headers for seen in feed_server.requests_to("/f"))


def test_only_due_sources_are_fetched_and_force_fetches_all(workspace, feed_server):
    runner = Runner(workspace, [feed(feed_server, "/f")])
    assert runner(NOW)["Feed"].next_check == NOW + HOUR
    assert runner(NOW + timedelta(minutes=30))["Feed"].outcome == "not_due"
    assert len(feed_server.requests_to("/f")) == 1
    assert runner(NOW + timedelta(minutes=30), force=True)["Feed"].outcome == "unchanged"
    assert runner(NOW + 3 * HOUR)["Feed"].outcome == "unchanged"
    assert len(feed_server.requests_to("/f")) == 3


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [(503, "7200", 2 * HOUR), (429, "Sat, 28 Nov 2026 09:00:00 GMT", 3 * HOUR)],
)
def test_retry_after_in_both_forms_holds_even_against_force(
    workspace, feed_server, status, retry_after, wait
):
    url = feed_server.add("/busy", b"busy", status=status, headers={"Retry-After": retry_after})
    runner = Runner(workspace, [{"name": "Busy", "url": url}])
    first = runner(NOW)["Busy"]
    assert first.failed and first.next_check == NOW + wait
    assert runner.state("Busy").not_before == NOW + wait
    held = runner(NOW + wait - timedelta(minutes=1), force=True)["Busy"]
    assert held.outcome == "not_due" and "Retry-After" in held.error
    assert len(feed_server.requests_to("/busy")) == 1
    runner(NOW + wait)
    assert len(feed_server.requests_to("/busy")) == 2


def test_max_age_and_ttl_raise_the_next_check(workspace, feed_server):
    with_ttl = data_file("aop_wordpress.xml").replace(
        b"<language>en-US</language>", b"<language>en-US</language><ttl>240</ttl>"
    )
    runner = Runner(
        workspace,
        [
            feed(feed_server, "/cached", headers={"Cache-Control": "public, max-age=10800"}),
            {"name": "Ttl", "url": feed_server.add("/ttl", with_ttl)},
        ],
    )
    results = runner(NOW)
    assert results["Feed"].next_check == NOW + 3 * HOUR
    assert results["Ttl"].next_check == NOW + 4 * HOUR
    later = runner(NOW + 3 * HOUR)
    assert later["Feed"].outcome == "unchanged" and later["Ttl"].outcome == "not_due"
    assert runner(NOW + 3 * HOUR)["Ttl"].next_check == NOW + 4 * HOUR  # ttl remembered


def test_failures_back_off_exponentially_then_reset(workspace, feed_server):
    url = feed_server.add("/flaky", b"oops", status=500)
    runner = Runner(workspace, [{"name": "Flaky", "url": url}])
    at, delays = NOW, []
    for _ in range(4):
        result = runner(at)["Flaky"]
        assert result.failed and result.error == "HTTP 500 Internal Server Error"
        delays.append(result.next_check - at)
        at = result.next_check
    for delay, hours in zip(delays, (1, 2, 4, 8), strict=True):
        assert hours * HOUR <= delay <= hours * HOUR * 1.1
    state = runner.state("Flaky")
    assert state.failures == 4 and state.failing_since == NOW
    feed_server.routes["/flaky"] = feed_server.routes.pop("/flaky").__class__(
        body=data_file("aop_wordpress.xml"), headers={"Content-Type": "application/rss+xml"}
    )
    result = runner(at)["Flaky"]
    assert result.outcome == "ok" and result.next_check == at + HOUR
    state = runner.state("Flaky")
    assert (state.failures, state.failing_since, state.last_error) == (0, None, None)


@pytest.mark.parametrize(
    ("status", "moves"), [(301, True), (308, True), (302, False), (307, False)]
)
def test_permanent_redirects_move_the_source_temporary_ones_do_not(
    workspace, feed_server, status, moves
):
    new = feed_server.feed("/new", "aop_wordpress.xml")
    old = feed_server.redirect("/old", "/new", status=status)
    runner = Runner(workspace, [{"name": "Moving", "url": old}])
    result = runner(NOW)["Moving"]
    assert result.outcome == "ok"
    if moves:
        assert result.warning.startswith(f"the feed moved permanently to {new}")
        assert "change `url:` in feeds.yaml (line " in result.warning
        assert runner.state("Moving").url == new
    else:
        assert result.warning is None and runner.state("Moving").url == old
    runner(NOW + 2 * HOUR)
    assert len(feed_server.requests_to("/old")) == (1 if moves else 2)
    assert len(feed_server.requests_to("/new")) == 2
    assert "http" in workspace.config.read_text()  # feeds.yaml itself is never rewritten
    assert old in workspace.config.read_text()


def test_gone_disables_until_an_editor_resets(workspace, feed_server, capsys):
    url = feed_server.add("/gone", b"gone", status=410)
    runner = Runner(workspace, [{"name": "Gone", "url": url}])
    first = runner(NOW)["Gone"]
    assert first.failed and "source disabled until an editor resets it" in first.error
    later = runner(NOW + 48 * HOUR, force=True)["Gone"]
    assert later.outcome == "disabled"
    assert len(feed_server.requests_to("/gone")) == 1
    assert main(["status", "--config", str(workspace.config), "--db", str(workspace.db),
                 "--reset", "Gone"]) == 0  # fmt: skip
    assert "Gone: re-enabled" in capsys.readouterr().out
    feed_server.routes["/gone"].status = 200
    feed_server.routes["/gone"].body = data_file("aop_wordpress.xml")
    assert runner(NOW + 49 * HOUR)["Gone"].outcome == "ok"


def test_no_more_than_two_requests_per_host(workspace, feed_server):
    sources = [
        {"name": f"S{i}", "url": feed_server.feed(f"/s{i}", "aop_wordpress.xml", hang=0.2)}
        for i in range(6)
    ]
    workspace.write_config(sources, defaults={"timeout": 2, "concurrency": 6})
    with Store(workspace.db) as store:
        report = run(load_config(workspace.config), store, workspace.output, now=NOW)
    assert report.sources_ok == 6
    assert feed_server.max_in_flight == 2


def test_firewall_page_is_recognised(workspace, feed_server):
    page = b"<html><title>Attention Required! | Cloudflare</title></html>"
    url = feed_server.add("/fw", page, status=403, headers={"Server": "cloudflare"})
    result = Runner(workspace, [{"name": "Ariana", "url": url}])(NOW)["Ariana"]
    assert result.error == ("HTTP 403 Forbidden (looks like a firewall or bot block: Cloudflare)")


def test_status_outputs(workspace, feed_server, capsys):
    runner = Runner(
        workspace,
        [
            feed(feed_server, "/ok", etag='"one"'),
            {"name": "Broken", "url": feed_server.add("/broken", b"x", status=500)},
            {"name": "Gone", "url": feed_server.add("/gone", b"x", status=410)},
        ],
    )
    runner(NOW)
    runner(NOW + 15 * 24 * HOUR, force=True)  # the feed is unchanged for 15 days: silent
    status = json.loads((workspace.output / "status.json").read_text())
    rows = {row["name"]: row for row in status["sources"]}
    assert rows["Feed"]["state"] == "ok" and rows["Feed"]["silent"] is True
    assert rows["Feed"]["stale_cache"] is True  # 304 after 304: the editor is told what to try
    assert rows["Broken"]["stale_cache"] is False
    assert rows["Feed"]["entries_7d"] == 0 and rows["Feed"]["failures"] == 0
    assert rows["Broken"]["state"] == "failing" and rows["Broken"]["failures"] == 2
    assert rows["Broken"]["state_text"] == "failing since 28 Nov 2026, 10:30 Kabul time"
    assert rows["Gone"]["state"] == "disabled" and rows["Gone"]["next_check"] is None
    page = (workspace.output / "status.html").read_text()
    assert page.index("Gone") < page.index("Broken") < page.index(">Feed<")
    assert "silent" in page and "HTTP 500 Internal Server Error" in page
    assert "set <code>ignore_http_cache: true</code> in feeds.yaml (line " in page
    assert main(["status", "--config", str(workspace.config), "--db", str(workspace.db)]) == 0
    table = capsys.readouterr().out  # on the real clock: only what does not depend on it
    assert "failing since 28 Nov 2026, 10:30 Kabul time" in table and "HTTP 500 Internal" in table
    assert "disabled: HTTP 410 Gone" in table
    db = sqlite3.connect(workspace.db)
    assert db.execute("SELECT disabled IS NOT NULL FROM sources WHERE name = 'Gone'").fetchone()[0]


def test_status_shows_what_a_server_wrote_as_text_not_as_terminal_markup(
    workspace, feed_server, capsys
):
    """A reason phrase or a source name in rich's markup ('[/]', '[bold red]') is shown as it
    is: it made `status` stop on a MarkupError, or took on a style."""
    raw = b"HTTP/1.1 500 [/x] [bold red]boom\r\nContent-Length: 0\r\n\r\n"
    runner = Runner(workspace, [{"name": "Odd [/] name", "url": feed_server.add("/o", raw=raw)}])
    runner(NOW)
    assert main(["status", "--config", str(workspace.config), "--db", str(workspace.db)]) == 0
    table = capsys.readouterr().out
    assert "Odd [/] name" in table and "HTTP 500 [/x] [bold red]boom" in table


def test_status_page_draws_each_sources_last_two_weeks(workspace, feed_server):
    from aggregator.publish.status import strip_svg

    runner = Runner(workspace, [feed(feed_server, "/f")])
    runner(NOW)
    page = (workspace.output / "status.html").read_text(encoding="utf-8")
    assert (
        "<title>new entries a day, oldest first: 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3" in page
    )
    assert "<main>" in page and 'class="scroll"' in page
    svg = str(strip_svg((0, 2, 4)))
    assert svg.count("<rect ") == 3 and 'height="12"' in svg and 'height="24"' in svg
