"""`aggregator schedule`: the APScheduler daemon that fetches on time and publishes the editions.

Two jobs share the lock with `aggregator run`, so cron and the daemon never write at once:
a fetch cycle every few minutes (only the sources that are due), republishing when it stored
something new, and the daily publish at `site.publish_at` in `site.timezone`.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from aggregator import pipeline
from aggregator.config import Config
from aggregator.lock import Busy, exclusive
from aggregator.publish import publish
from aggregator.store import Store

log = logging.getLogger("aggregator.schedule")
MISFIRE_GRACE = 3600  # seconds: a job that could not start on time still runs within the hour


@dataclass(frozen=True)
class Paths:
    db: Path
    output: Path
    wait: float  # seconds to wait for the lock before skipping a job


def fetch_cycle(config: Config, paths: Paths) -> None:
    """Fetch the due sources; republish the rolling outputs if new entries arrived."""
    try:
        with exclusive(paths.db, paths.wait), Store(paths.db) as store:
            report = pipeline.run(config, store, paths.output, publish_outputs=False)
            published = ""
            if report.new_entries:
                count = publish(config, store, paths.output, pipeline.utcnow()).stories
                published = f"; republished {count} stories"
    except Busy as exc:
        log.warning("fetch cycle skipped: %s", exc)
        return
    failed = [r.source for r in report.results if r.failed]
    log.info(
        "cycle: %d ok, %d failed, %d not due; %d new entries%s%s",
        report.sources_ok,
        report.sources_failed,
        report.sources_skipped,
        report.new_entries,
        published,
        f" (failed: {', '.join(failed)})" if failed else "",
    )


def publish_edition(config: Config, paths: Paths) -> None:
    """Publish everything: at `publish_at` this adds yesterday's edition to digest.xml."""
    try:
        with exclusive(paths.db, paths.wait), Store(paths.db) as store:
            count = publish(config, store, paths.output, pipeline.utcnow()).stories
    except Busy as exc:
        log.warning("publish skipped: %s", exc)
        return
    except OSError as exc:
        log.error("publish failed: cannot write to %s: %s", paths.output, exc)
        return
    log.info("published: %d stories, editions and archive in %s", count, paths.output)


def build(config: Config, paths: Paths, every_seconds: float) -> BlockingScheduler:
    """The scheduler with its two jobs; the first fetch cycle runs at once."""
    scheduler = BlockingScheduler(timezone=config.site.zone)
    options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE}
    hours, minutes = map(int, config.site.publish_at.split(":"))
    scheduler.add_job(
        fetch_cycle,
        IntervalTrigger(seconds=every_seconds, timezone=config.site.zone),
        args=(config, paths),
        id="fetch",
        name="fetch cycle",
        next_run_time=pipeline.utcnow(),
        **options,
    )
    scheduler.add_job(
        publish_edition,
        CronTrigger(hour=hours, minute=minutes, timezone=config.site.zone),
        args=(config, paths),
        id="edition",
        name="daily edition",
        **options,
    )
    return scheduler


def serve(config: Config, paths: Paths, every_seconds: float) -> int:
    """Run until SIGTERM or SIGINT, finishing the job in progress; returns the exit code."""
    publish_edition(config, paths)  # an edition missed while the daemon was down goes out now
    scheduler = build(config, paths, every_seconds)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: finishing the job in progress", signal.Signals(signum).name)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "schedule: fetch cycle every %g s, daily edition at %s %s",
        every_seconds,
        config.site.publish_at,
        config.site.timezone,
    )
    scheduler.start()  # returns once `stop` has shut it down, running jobs finished
    log.info("stopped")
    return 0
