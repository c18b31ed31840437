"""The APScheduler daemon: its jobs, a real short-interval run, SIGTERM, and the shared lock."""

import logging
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from aggregator.config import load_config
from aggregator.lock import exclusive
from aggregator.schedule import MISFIRE_GRACE, Paths, build, fetch_cycle, publish_edition
from tests.conftest import make_rss

REPO = Path(__file__).parent.parent


def test_jobs_are_configured_for_kabul(workspace, feed_server):
    workspace.write_config([{"name": "A", "url": feed_server.url("/a")}])
    config = load_config(workspace.config)
    scheduler = build(config, Paths(workspace.db, workspace.output, 1), every_seconds=300)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"fetch", "edition", "midnight"}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE
    edition = jobs["edition"].trigger
    after = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 06:30 in Kabul: today's 06:00 is past
    fire = edition.get_next_fire_time(None, after)
    assert fire.astimezone(UTC) == datetime(2026, 11, 29, 1, 30, tzinfo=UTC)  # 06:00 Kabul
    assert str(fire.tzinfo) == "Asia/Kabul"
    midnight = jobs["midnight"].trigger.get_next_fire_time(None, after)
    assert midnight.astimezone(UTC) == datetime(2026, 11, 28, 19, 30, 30, tzinfo=UTC)  # 00:00:30


def test_a_cycle_that_reaches_no_source_says_the_network_looks_down(workspace, caplog):
    refused = [{"name": f"R{n}", "url": f"http://127.0.0.{n}:9/feed"} for n in (1, 2)]
    workspace.write_config(refused)
    config = load_config(workspace.config)
    with caplog.at_level(logging.INFO, logger="aggregator.schedule"):
        fetch_cycle(config, Paths(workspace.db, workspace.output, wait=0.1))
    assert "cycle: 0 ok, 2 failed, 0 not due; 0 new entries (failed: R1, R2)" in caplog.text
    assert "network looks down (the failures are not counted against the sources)" in caplog.text


def test_a_busy_lock_skips_the_cycle_with_a_log_line(workspace, feed_server, caplog):
    workspace.write_config([{"name": "A", "url": feed_server.url("/a")}])
    config = load_config(workspace.config)
    with exclusive(workspace.db, 0), caplog.at_level(logging.INFO):
        fetch_cycle(config, Paths(workspace.db, workspace.output, wait=0.1))
    assert "fetch cycle skipped: another aggregator is running" in caplog.text
    assert feed_server.log == []


def test_a_database_that_cannot_be_used_fails_the_job_with_a_log_line(
    workspace, feed_server, caplog
):
    """The daemon lives on past a damaged or full database: each job says so in one line."""
    workspace.write_config([{"name": "A", "url": feed_server.url("/a")}])
    config = load_config(workspace.config)
    workspace.db.write_bytes(b"not a database" * 100)
    paths = Paths(workspace.db, workspace.output, wait=0.1)
    with caplog.at_level(logging.INFO):
        assert (fetch_cycle(config, paths), publish_edition(config, paths)) == (False, False)
    database = f"cannot use the database {workspace.db}: file is not a database"
    assert caplog.messages == [f"fetch cycle stopped: {database}", f"publish failed: {database}"]
    assert feed_server.log == []


def test_daemon_fetches_publishes_and_stops_cleanly_on_sigterm(workspace, sources):
    daemon = subprocess.Popen(
        [sys.executable, "-m", "aggregator", *workspace.args("schedule", "--every", "1")],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        cycles, before = [], []
        for line in daemon.stderr:
            if " cycle: " in line:
                cycles.append(line)
            elif not cycles:
                before.append(line)
            if len(cycles) == 2:
                break
        # at start it publishes first, so an edition missed while it was down goes out
        assert any(" published: " in line for line in before)
        assert "6 ok, 4 failed, 0 not due; 14 new entries; republished 12 stories" in cycles[0]
        assert "0 ok, 0 failed, 10 not due; 0 new entries" in cycles[1]
        daemon.send_signal(signal.SIGTERM)
        rest = daemon.stderr.read()
        assert daemon.wait(timeout=60) == 0
    finally:
        daemon.kill()
        daemon.stderr.close()
    assert "SIGTERM received: finishing the job in progress" in rest
    assert rest.rstrip().endswith("stopped")
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert not rss.bozo and len(rss.entries) == 12


class LogReader:
    """Lines of a process's stderr, read on a thread, waited for with a timeout."""

    def __init__(self, stream):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line)

    def wait_for(self, needle: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{needle!r} never logged; log so far:\n{''.join(self.seen)}"
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if needle in line:
                return line


def start_daemon(workspace) -> tuple[subprocess.Popen, LogReader]:
    """`aggregator schedule` with a cycle every second, and a reader of its log."""
    daemon = subprocess.Popen(
        [sys.executable, "-m", "aggregator", *workspace.args("schedule", "--every", "1")],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    return daemon, LogReader(daemon.stderr)


def test_a_second_signal_while_the_job_finishes_is_not_a_crash(workspace, feed_server):
    """systemd, docker stop or a second Ctrl-C signal again while the daemon waits for its job:
    it goes on finishing it and exits 0 (it ended with a SchedulerNotRunningError traceback)."""
    slow = feed_server.add("/slow", make_rss("Slow", []), hang=60)  # until the server stops
    workspace.write_config([{"name": "Slow", "url": slow}])
    daemon, log = start_daemon(workspace)
    try:
        log.wait_for("schedule: fetch cycle every")
        feed_server.wait_for_request("/slow")  # the cycle's fetch is in progress
        daemon.send_signal(signal.SIGTERM)
        log.wait_for("SIGTERM received: finishing the job in progress")
        daemon.send_signal(signal.SIGINT)
        log.wait_for("SIGINT received again: still finishing the job in progress")
        feed_server.stop()  # the fetch ends, and with it the job
        assert daemon.wait(timeout=60) == 0
        log.wait_for("stopped")
    finally:
        daemon.kill()
        daemon.stderr.close()
    assert not any("Traceback" in line for line in log.seen)


def test_daemon_rereads_an_edited_feeds_yaml_and_survives_a_broken_edit(workspace, feed_server):
    aop = {"name": "AOP News", "url": feed_server.feed("/aop", "aop_wordpress.xml")}
    khaama = {"name": "Khaama", "url": feed_server.feed("/khaama", "khaama_wordpress.xml")}
    workspace.write_config([aop])
    daemon, log = start_daemon(workspace)
    try:
        assert "1 ok, 0 failed, 0 not due; 3 new entries" in log.wait_for(" cycle: ")
        workspace.write_config([aop, khaama])
        assert "reloaded" in log.wait_for("reloaded ") and "2 sources" in log.seen[-1]
        added = log.wait_for(" cycle: ")
        assert "1 ok, 0 failed, 1 not due; 2 new entries; republished" in added
        broken = workspace.config.read_text(encoding="utf-8").replace("sources:", "sourcez:")
        workspace.config.write_text(broken, encoding="utf-8")
        error = log.wait_for("not reloaded")
        assert re.search(rf"{re.escape(str(workspace.config))}:\d+:\d+: ", error)
        assert "previous configuration stays" in error
        assert "0 ok, 0 failed, 2 not due" in log.wait_for(" cycle: ")  # still both sources
        daemon.send_signal(signal.SIGHUP)  # rereads at once, file changed or not
        assert f"{workspace.config}:" in log.wait_for("not reloaded")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0
        log.wait_for("stopped")
    finally:
        daemon.kill()
        daemon.stderr.close()
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert not rss.bozo and len(rss.entries) >= 4


def test_a_cycle_after_local_midnight_republishes_even_without_new_entries(
    workspace, feed_server, caplog
):
    from aggregator.schedule import Daemon

    workspace.write_config([{"name": "A", "url": feed_server.feed("/a", "aop_wordpress.xml")}])
    config = load_config(workspace.config)
    daemon = Daemon(config, Paths(workspace.db, workspace.output, 5, workspace.config))
    with caplog.at_level(logging.INFO, logger="aggregator.schedule"):
        daemon.fetch()  # new entries: republished
        daemon.fetch()  # nothing new, same day: not republished
        daemon._published_day = daemon._published_day.replace(year=2000)  # the day has changed
        daemon.fetch()
    cycles = [r.getMessage() for r in caplog.records if r.getMessage().startswith("cycle:")]
    assert ["republished" in c for c in cycles] == [True, False, True]
