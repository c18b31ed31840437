"""`aggregator schedule`: the APScheduler daemon that fetches on time and publishes the editions.

Three jobs share the lock with `aggregator run`, so cron and the daemon never write at once:
a fetch cycle every few minutes (only the sources that are due), republishing when it stored
something new or the local day changed; the republish right after local midnight; and the daily
publish at `site.publish_at` in `site.timezone`. The daemon lives for months: it rereads an
edited `feeds.yaml` (checked each cycle, and at once on SIGHUP) and keeps the previous
configuration when an edit is broken.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator import pipeline
from aggregator.config import Config, ConfigError, load_config
from aggregator.edition import local_day
from aggregator.errors import counted
from aggregator.lock import Busy, exclusive
from aggregator.pacing import NETWORK_DOWN
from aggregator.publish import publish
from aggregator.retention import prune_said
from aggregator.store import Store, database_failure

log = logging.getLogger("aggregator.schedule")
MISFIRE_GRACE = 3600  # seconds: a job that could not start on time still runs within the hour
AFTER_MIDNIGHT = 30  # seconds past local midnight when the rolling pages are republished


@dataclass(frozen=True)
class Paths:
    db: Path
    output: Path
    wait: float  # seconds to wait for the lock before skipping a job
    config: Path | None = None  # feeds.yaml, reread when it changes


def fetch_cycle(config: Config, paths: Paths, republish: bool = False) -> bool:
    """Fetch the due sources; republish the rolling outputs if new entries arrived (or
    `republish`). True when the outputs were published."""
    published = ""
    try:
        with exclusive(paths.db, paths.wait), Store(paths.db) as store:
            report = pipeline.run(config, store, paths.output, publish_outputs=False)
            if report.new_entries or republish:
                result = publish(config, store, paths.output, pipeline.utcnow())
                published = f"; republished {counted(result.stories, 'story', 'stories')}"
                report.problems += result.problems
    except Busy as exc:
        log.warning("fetch cycle skipped: %s", exc)
        return False
    except OSError as exc:
        log.error("fetch cycle could not publish to %s: %s", paths.output, exc)
        return False
    except sqlite3.Error as exc:
        if not database_failure(exc):
            raise
        log.error("fetch cycle stopped: cannot use the database %s: %s", paths.db, exc)
        return False
    failed = [r.source for r in report.results if r.failed]
    log.info(
        "cycle: %d ok, %d failed, %d not due; %s%s%s",
        report.sources_ok,
        report.sources_failed,
        report.sources_skipped,
        counted(report.new_entries, "new entry", "new entries"),
        published,
        f" (failed: {', '.join(failed)})" if failed else "",
    )
    if report.offline:
        log.warning("%s", NETWORK_DOWN)
    for problem in report.problems:
        log.warning("%s", problem)
    if report.pruned and report.pruned.removed:
        log.info("%s", prune_said(report.pruned))
    return bool(published)


def publish_edition(config: Config, paths: Paths) -> bool:
    """Publish everything: at `publish_at` this adds yesterday's edition to digest.xml, after
    midnight it starts the new day's page. True when the outputs were published."""
    try:
        with exclusive(paths.db, paths.wait), Store(paths.db) as store:
            result = publish(config, store, paths.output, pipeline.utcnow())
    except Busy as exc:
        log.warning("publish skipped: %s", exc)
        return False
    except OSError as exc:
        log.error("publish failed: cannot write to %s: %s", paths.output, exc)
        return False
    except sqlite3.Error as exc:
        if not database_failure(exc):
            raise
        log.error("publish failed: cannot use the database %s: %s", paths.db, exc)
        return False
    for problem in result.problems:
        log.warning("%s", problem)
    log.info("published: %d stories, editions and archive in %s", result.stories, paths.output)
    return True


def _stamp(path: Path | None) -> tuple[int, int] | None:
    try:
        stat = path.stat() if path else None
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size) if stat else None


class Daemon:
    """The configuration in force, reloaded when feeds.yaml changes, and the jobs that use it."""

    def __init__(self, config: Config, paths: Paths) -> None:
        self.config = config
        self.paths = paths
        self.scheduler: BlockingScheduler | None = None
        self._stamp = _stamp(paths.config)
        self._reload_lock = threading.Lock()
        self._published_day: date | None = None

    def reload(self, force: bool = False) -> bool:
        """Reread feeds.yaml if it changed (or `force`); a broken file is logged and the
        configuration in force is kept. True when a new configuration was taken."""
        if self.paths.config is None:
            return False
        with self._reload_lock:
            stamp = _stamp(self.paths.config)
            if stamp == self._stamp and not force:
                return False
            self._stamp = stamp
            try:
                config = load_config(self.paths.config)
            except ConfigError as exc:
                log.error("%s (not reloaded: the previous configuration stays in force)", exc)
                return False
            old, self.config = self.config, config
        log.info("reloaded %s: %d sources", self.paths.config, len(config.sources))
        if self.scheduler and (old.site.publish_at, old.site.timezone) != (
            config.site.publish_at,
            config.site.timezone,
        ):
            self.scheduler.reschedule_job("edition", trigger=_edition_trigger(config))
            self.scheduler.reschedule_job("midnight", trigger=_midnight_trigger(config))
        return True

    def _today(self) -> date:
        return local_day(pipeline.utcnow(), self.config.site.zone)

    def fetch(self) -> None:
        """A fetch cycle with the latest configuration; it republishes when the day changed."""
        self.reload()
        day = self._today()
        if fetch_cycle(self.config, self.paths, republish=day != self._published_day):
            self._published_day = day

    def publish(self) -> None:
        """The daily edition at publish_at, and the new day's pages after midnight."""
        self.reload()
        day = self._today()
        if publish_edition(self.config, self.paths):
            self._published_day = day


def _edition_trigger(config: Config) -> CronTrigger:
    hours, minutes = map(int, config.site.publish_at.split(":"))
    return CronTrigger(hour=hours, minute=minutes, timezone=config.site.zone)


def _midnight_trigger(config: Config) -> CronTrigger:
    return CronTrigger(hour=0, minute=0, second=AFTER_MIDNIGHT, timezone=config.site.zone)


def build(
    config: Config, paths: Paths, every_seconds: float, daemon: Daemon | None = None
) -> BlockingScheduler:
    """The scheduler with its three jobs; the first fetch cycle runs at once."""
    daemon = daemon or Daemon(config, paths)
    scheduler = BlockingScheduler(timezone=config.site.zone)
    daemon.scheduler = scheduler
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE}
    scheduler.add_job(
        daemon.fetch,
        IntervalTrigger(seconds=every_seconds, timezone=config.site.zone),
        id="fetch",
        name="fetch cycle",
        next_run_time=pipeline.utcnow(),
        **options,
    )
    scheduler.add_job(
        daemon.publish, _edition_trigger(config), id="edition", name="daily edition", **options
    )
    scheduler.add_job(
        daemon.publish, _midnight_trigger(config), id="midnight", name="new day", **options
    )
    return scheduler


def serve(config: Config, paths: Paths, every_seconds: float) -> int:
    """Run until SIGTERM or SIGINT, finishing the job in progress; SIGHUP rereads feeds.yaml."""
    daemon = Daemon(config, paths)
    daemon.publish()  # an edition missed while the daemon was down goes out now
    scheduler = build(config, paths, every_seconds, daemon)

    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stopping.is_set():  # systemd, docker stop or a second Ctrl-C while the job finishes
            log.info("%s received again: still finishing the job in progress", name)
            return
        stopping.set()
        log.info("%s received: finishing the job in progress", name)
        if scheduler.running:
            scheduler.shutdown(wait=True)

    def hangup(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=daemon.reload, kwargs={"force": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, hangup)
    log.info(
        "schedule: fetch cycle every %g s, daily edition at %s %s (pid %d)",
        every_seconds,
        config.site.publish_at,
        config.site.timezone,
        os.getpid(),
    )
    if not stopping.is_set():  # a signal before this point: nothing to start
        scheduler.start()  # returns once `stop` has shut it down, running jobs finished
    log.info("stopped")
    return 0
