"""Parser worker processes: replaced when one dies, deaf to stop signals, gone when the run
that started them is gone.

Parsing is CPU-bound, so new bodies are parsed on every core. Where no other thread runs yet
(`start`, a cron run), the workers are forked from this process before the fetch threads
start: in about 15 ms, sharing its modules. Otherwise (a progress bar's thread, a scheduler's),
they come from multiprocessing's fork server on first use, in about 0.3 s, and a run in which
nothing needs parsing (all 304s, refused connections) starts no process at all. A run with only
a few sources to fetch parses on its own threads.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import select
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aggregator import deadlines

T = TypeVar("T")
INLINE_BELOW = 8  # fewer sources to fetch than this: parse in this process
# Workers yield the CPU to the run's process: its storing of each parsed source is the one
# serial step of the fetch phase, and it waited for a core behind them (5,000 sources: its
# inserts took 38 s of wall time for 18 s of CPU); the workers catch up while it waits.
NICENESS = 10
_context: Any = None  # in a worker: what the pool's functions get first (sent once, not per call)


def _follow(parent: int) -> None:
    """Exit when the process that started the pool is gone: a run killed with SIGKILL (OOM,
    a power cut of the cron job) must not leave its workers waiting for work for ever."""
    try:
        handle = os.pidfd_open(parent)
    except (AttributeError, OSError):  # no pidfd here: look once a second
        while True:
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass
            threading.Event().wait(1.0)
    select.select([handle], [], [])
    os._exit(0)


def follow_parent(parent: int) -> None:
    """In a helper process: leave SIGINT and SIGTERM to the parent, which lets the work finish,
    and go when the parent goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_follow, args=(parent,), daemon=True).start()


def _start_worker(parent: int, context: Any) -> None:
    global _context
    _context = context
    follow_parent(parent)
    with contextlib.suppress(AttributeError, OSError):  # no niceness here: as they are
        os.nice(NICENESS)


def _with_context(function: Callable[..., T], *args: Any) -> T:
    return function(_context, *args)


def _freeze_heap() -> None:
    """Before a fork: collect, then move every object left to the permanent generation, as
    Python advises for fork without exec. A forked worker's collections then leave the pages
    it shares with this process unwritten, and neither this process's later collections nor
    its exit walk those objects again (a tenth of a second at exit). Only live objects are
    frozen, and one that dies later is freed by its reference count as before."""
    gc.collect()
    gc.freeze()


def _nothing() -> None:
    """A first task, to start the workers."""


class ParserPool:
    """A process pool shared by the fetch threads of one run. Every function it runs gets
    `context` as its first argument: sent to each worker once, however large."""

    def __init__(
        self, workers: int | None = None, inline: bool = False, context: Any = None
    ) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.inline = inline
        self.context = context
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _new(self, method: str) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_start_worker,
            initargs=(os.getpid(), self.context),
        )

    def start(self) -> None:
        """Fork the workers now if no other thread runs (see `deadlines.fork_safe`): they share
        this process's modules, and no fork server (nor the resource tracker it brings, 18 MB
        between them for the rest of the run) is started. A pool replacing a broken one comes
        from the fork server: the fetch threads run by then. A forked worker never uses the
        database connection it inherits, and leaves by `os._exit`, which closes nothing of it."""
        if self.inline or not deadlines.fork_safe():
            return
        _freeze_heap()
        with self._lock:
            if self._pool is None:
                self._pool = self._new("fork")
            pool = self._pool
        try:
            pool.submit(_nothing).result()  # a forking pool forks all its workers on first use
        except Exception:  # no fork now (out of memory, a process limit): the fork server's later
            self._discard(pool)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._new("forkserver")
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(context, *args)` in a worker; if the pool broke (a worker was killed), once
        more in a new pool before giving up. Inline, it is simply called."""
        if self.inline:
            return function(self.context, *args)
        for attempt in range(2):
            pool = self._current()
            try:
                return pool.submit(_with_context, function, *args).result()
            except BrokenProcessPool:
                self._discard(pool)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> ParserPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
