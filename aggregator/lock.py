"""One writer at a time: `run`, `fetch`, `publish` and the daemon's jobs share a lock file."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class Busy(Exception):
    """Another aggregator process holds the lock and did not let go in time."""


def lock_path(db: Path) -> Path:
    """The lock file beside the database (ignored by git, like the database)."""
    return db.with_name(db.name + ".lock")


@contextmanager
def exclusive(db: Path, wait: float) -> Iterator[None]:
    """Hold the database's lock for the block; wait up to `wait` seconds for it, then give up."""
    lock = FileLock(lock_path(db))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise Busy(
            f"another aggregator is running (it holds {lock_path(db)}); "
            f"waited {wait:g} s, giving up so that two runs never write at once"
        ) from None
    try:
        yield
    finally:
        lock.release()
