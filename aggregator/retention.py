"""Keep the state bounded: clear old entries' content, forget old identities and run history.

What is kept, and for how long, is `feeds.yaml`'s `retention:` block. An entry still present in
its source's latest body is never forgotten, so it cannot come back as new; a story is deleted
only once no entry points at it. Freed pages are handed back to the file system.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from aggregator.config import Retention
from aggregator.errors import counted
from aggregator.models import PruneReport
from aggregator.store import NEW_FILE, Store

PRUNE_EVERY = timedelta(days=1)
VACUUM_EVERY = timedelta(days=30)  # a full rewrite compacts pages that cleared content left sparse


class _RolledBack(Exception):
    """Raised inside a dry run's transaction to undo it."""


def prune(store: Store, retention: Retention, now: datetime, dry_run: bool = False) -> PruneReport:
    """Apply the retention rules now, in one transaction, then reclaim the freed space."""
    before = store.size()
    content_cut = now - timedelta(days=retention.content_days)
    identity_cut = now - timedelta(days=retention.identity_days)
    runs_cut = now - timedelta(days=retention.runs_days)
    if dry_run:  # the same deletions, counted and rolled back
        counts = (0, 0, 0, 0)
        with contextlib.suppress(_RolledBack), store.transaction():
            counts = store.prune(content_cut, identity_cut, runs_cut)
            raise _RolledBack
        return PruneReport(*counts, before, before, dry_run=True)
    last_vacuum = store.get_meta("last_vacuum")
    new_file = last_vacuum == NEW_FILE  # compacted as it was written: counted from now
    full = not new_file and (
        last_vacuum is None or datetime.fromisoformat(last_vacuum) <= now - VACUUM_EVERY
    )
    with store.transaction():
        counts = store.prune(content_cut, identity_cut, runs_cut)
        store.set_meta("last_prune", now.isoformat())
        if full or new_file:
            store.set_meta("last_vacuum", now.isoformat())
    store.reclaim(full)
    return PruneReport(*counts, before, store.size())


def prune_if_due(store: Store, retention: Retention, now: datetime) -> PruneReport | None:
    """Prune at most once a day (runs from cron every few minutes need not prune each time)."""
    last = store.get_meta("last_prune")
    if last and datetime.fromisoformat(last) > now - PRUNE_EVERY:
        return None
    return prune(store, retention, now)


def prune_said(report: PruneReport) -> str:
    """What a prune did, or would do, in one line for the report and the daemon's log."""
    verb = "would remove" if report.dry_run else "removed"
    before, after = _mb(report.bytes_before), _mb(report.bytes_after)
    size = "" if report.dry_run else f"; database {before} -> {after}"
    return (
        f"prune {verb}: content of {counted(report.contents_cleared, 'entry', 'entries')}, "
        f"{counted(report.entries_deleted, 'entry', 'entries')}, "
        f"{counted(report.stories_deleted, 'story', 'stories')}, "
        f"{counted(report.runs_deleted, 'run', 'runs')}{size}"
    )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
