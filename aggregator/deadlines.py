"""Total deadlines for requests: one watchdog thread shuts down the socket of a request that
outlives its deadline, since a read timeout restarts with every byte a trickling server sends."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time

_local = threading.local()


class Deadline:
    """Cut a request off at its total deadline, even while the server trickles its headers.

    Used around a request (`with Deadline(seconds):`); the connections that `fetch` makes hand
    it, through `watched`, the socket of each request made on this thread.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = max(seconds, 0.0)
        self.expired = False
        self.done = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        _local.deadline = self
        _WATCHDOG.watch(time.monotonic() + self.seconds, self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:  # the watchdog holds a finished deadline until its time: not its socket
            self.done = True
            self._sock = None
        _local.deadline = None

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock
            if self.expired:
                self._shut()

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread that expires every request's Deadline in time order: a timer thread per
    request cost a thread start and its locks, a fifth of a 304's CPU time. The thread ends
    when no deadline is pending, and the next request starts it again."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Start empty, without a thread (also in a forked child, which has none)."""
        self._wake = threading.Condition(threading.Lock())
        self._pending: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._running = False
        self.thread: threading.Thread | None = None

    def watch(self, at: float, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._pending, (at, next(self._order), deadline))
            if not self._running:
                self._running = True
                self.thread = threading.Thread(
                    target=self._run, name="fetch-deadlines", daemon=True
                )
                self.thread.start()
            elif self._pending[0][2] is deadline:
                self._wake.notify()

    def _run(self) -> None:
        with self._wake:
            while True:
                pending = self._pending
                while pending and pending[0][2].done:
                    heapq.heappop(pending)
                if not pending:
                    self._running = False
                    return
                at, _, deadline = pending[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(pending)
                deadline.expire()


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.forget)


def fork_safe() -> bool:
    """Whether this thread is the only one but the watchdog (which a forked child forgets, see
    `forget`): a forked child inherits no lock held by another thread."""
    others = set(threading.enumerate()) - {threading.current_thread(), _WATCHDOG.thread}
    return not others


def watched(sock: socket.socket | None) -> None:
    """Hand the socket of a request made on this thread to its deadline, if it has one."""
    deadline = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)
