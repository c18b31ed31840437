"""Matching ahead of the writer: a helper process holds the matching window and decides each new
entry (`matching.Matcher`) while this process writes the stories of the entries decided before,
so that the clustering of a large run uses a second core.

The helper reads the database as it was committed when clustering began (the writer's
transaction is committed at its end), and follows this run's entries at the URLs that several
of them share. The writer checks each decision's route against what it reads itself; a
decision that does not fit, an entry that fails or a helper that fails raises `AheadFailed`,
and the caller clusters the run again in one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from multiprocessing.connection import Connection

from aggregator import deadlines
from aggregator.config import Config
from aggregator.dedupe import EntryFeatures, Features
from aggregator.errors import exception_line
from aggregator.matching import AheadFailed, Decision, Matcher, OwnItems
from aggregator.models import Entry, Route, StoredEntry
from aggregator.store import AT_URL, Store
from aggregator.stories import forced_story, semantic_matcher, window_clusterer
from aggregator.workers import follow_parent

AHEAD_FROM = 5_000  # entries to cluster: below, starting the helper costs more than it saves
_WORDS_AT_ONCE = 1_000  # refolded word sets sent in one message


def worthwhile(config: Config, pending: int) -> bool:
    """Whether to match ahead: many entries; matching by words alone (the semantic matcher
    links stories across languages as it goes, which only the writer can do); and no thread
    running but the deadlines' watchdog, which a forked child forgets. The helper is forked,
    sharing this process's modules and heap until either writes them: from the fork server it
    would hold its own, 40 MB more, past 300 MB at 5,000 sources; and a forked child could
    inherit a lock that another thread (a progress bar's, a scheduler's) holds for ever."""
    return pending >= AHEAD_FROM and may_match_ahead(config)


def may_match_ahead(config: Config) -> bool:
    """Whether this run could match ahead, given enough entries (`worthwhile`)."""
    return not semantic_matcher(config) and deadlines.fork_safe()


class Ahead:
    """The helper process of one run's clustering, and the decisions it sends."""

    def __init__(
        self, store: Store, config: Config, now: datetime, pending: list[int], batch: int
    ) -> None:
        _give_back_memory()
        context = multiprocessing.get_context("fork")  # see `worthwhile`
        self.store = store
        self._receiver, sender = context.Pipe(duplex=False)  # decisions, to this process
        folded, self._folded = context.Pipe(duplex=False)  # the writer's features, to the helper
        arguments = (sender, folded, os.getpid(), store.path, config, now, pending, batch)
        self._process = context.Process(target=_decide_ahead, args=arguments, daemon=True)
        self._process.start()
        sender.close()  # the helper's ends: EOF on this side once the helper is gone
        folded.close()

    def send_features(self, folded: list[Features]) -> None:
        """The features this process folded for the next batch of pending entries (those
        stored without word sets), one message a batch: the helper decides a batch once it
        has it."""
        try:
            self._folded.send(folded)
        except OSError as exc:
            raise AheadFailed(f"the helper process ended early: {exc!r}") from None

    def decisions(self) -> Iterator[tuple[int, Decision]]:
        """(entry id, decision) in the order of `pending`; the word sets the helper folded
        again for the window are stored on the way, as the writer would have stored them."""
        while True:
            try:
                kind, payload = self._receiver.recv()
            except (EOFError, OSError) as exc:
                raise AheadFailed(f"the helper process ended early: {exc!r}") from None
            if kind == "words":
                self.store.set_words(payload)
            elif kind == "decided":
                yield from payload
            elif kind == "failed":
                raise AheadFailed(f"the helper process failed: {payload}")
            else:
                return

    def close(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._receiver.close()
        self._folded.close()

    def __enter__(self) -> Ahead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _give_back_memory() -> None:
    """Return the C heap's free pages to the system (glibc), before the helper inherits them."""
    with contextlib.suppress(AttributeError, OSError):  # not glibc: not this way
        ctypes.CDLL(None).malloc_trim(0)


def _decide_ahead(
    sender: Connection,
    folded: Connection,
    parent: int,
    path: str,
    config: Config,
    now: datetime,
    pending: list[int],
    batch: int,
) -> None:
    """The helper: decide every pending entry in order, a batch per message.

    It never uses the connection it inherits; it opens its own and only reads, while the
    writer holds its write transaction open, and is gone before that commits: the locks the
    writer holds cover what the helper reads, and its exit (`os._exit`) closes nothing of the
    writer's."""
    follow_parent(parent)
    gc.disable()  # millions of small objects and no cycles, as in the writer's clustering
    try:
        with Store(path, read_only=True) as store:
            store.conn.execute("BEGIN")  # one view throughout: what was committed
            _decide_all(sender, _Inbox(folded), store, config, now, pending, batch)
    except Exception as exc:
        sender.send(("failed", exception_line(exc)))
    else:
        sender.send(("done", None))
    finally:
        sender.close()


class _Inbox:
    """The features the writer folds and sends, taken in by a thread of their own, so that the
    writer never waits to send them while the helper waits to send it decisions."""

    def __init__(self, receiver: Connection) -> None:
        self._receiver = receiver
        self._batches: queue.SimpleQueue[list[Features] | None] = queue.SimpleQueue()
        threading.Thread(target=self._take, name="ahead-features", daemon=True).start()

    def _take(self) -> None:
        try:
            while True:
                self._batches.put(self._receiver.recv())
        except (EOFError, OSError):
            self._batches.put(None)

    def next(self) -> dict[int, Features]:
        """The next batch's folded features, by entry id."""
        folded = self._batches.get()
        if folded is None:
            raise AheadFailed("the writer stopped sending features")
        return {f.key: f for f in folded}


def _decide_all(
    sender: Connection,
    inbox: _Inbox,
    store: Store,
    config: Config,
    now: datetime,
    pending: list[int],
    batch: int,
) -> None:
    make = EntryFeatures(config)
    refolded: list[tuple[int, str]] = []
    clusterer, _ = window_clusterer(store, config, now, make, refolded=refolded)
    for start in range(0, len(refolded), _WORDS_AT_ONCE):
        sender.send(("words", refolded[start : start + _WORDS_AT_ONCE]))
    del refolded
    matcher = Matcher(clusterer, make)
    overridden = store.overridden_urls()
    repeated = store.repeated_unclustered_urls()
    clustered = store.any_clustered()  # a first run's view has no story: no URL to look up
    ours: dict[str, list[tuple[int, str]]] = {}  # this run's decided entries at those URLs
    for start in range(0, len(pending), batch):
        ids = pending[start : start + batch]
        folded = inbox.next()
        batch_features = _features(store, make, ids, folded)
        before = store.stories_at_urls([f.url for f in batch_features]) if clustered else {}
        decided = []
        for f in batch_features:
            forced = forced_story(store, f.url) if f.url in overridden else None
            if forced is not None:
                decision = Decision(Route.FORCED, alone=forced.alone)
            else:
                at_url = [(i, source) for i, source, _ in before.get(f.url, ())]
                at_url += ours.get(f.url, [])
                decision = matcher.decide(f, at_url, _own_items(store, f, ours))
            if not decision.alone:
                matcher.commit(f)
            if f.url in repeated:
                ours.setdefault(f.url, []).append((f.key, f.source))
            decided.append((f.key, decision))
        sender.send(("decided", decided))


def _features(
    store: Store, make: EntryFeatures, ids: list[int], folded: dict[int, Features]
) -> list[Features]:
    """The features of a batch's entries, in its order: as the writer sent them, or from the
    word sets stored (folded here, as the writer does, if they are another configuration's)."""
    rows = {row.id: row for row in store.window_rows([i for i in ids if i not in folded])}
    found = []
    for entry_id in ids:
        f = folded.get(entry_id)
        if f is None and entry_id in rows:
            f = make.from_window(rows[entry_id])
            if f is None:  # not sent, yet not current
                f = make(entry_id, store.entries_for_matching([entry_id])[0][1])
        if f is not None:
            found.append(f)
    return found


def _own_items(store: Store, f: Features, ours: dict[str, list[tuple[int, str]]]) -> OwnItems:
    """What `Store.entries_at_url` gives the writer for this entry: its outlet's clustered
    entries at its URL, committed or decided in this run, newest first."""

    def items() -> list[tuple[int, Entry]]:
        committed: list[StoredEntry] = store.entries_at_url(f.url, f.source)
        found = [(item.id, item.entry) for item in committed]
        mine = [i for i, source in ours.get(f.url, ()) if source == f.source]
        found += store.entries_for_matching(mine) if mine else []
        return sorted(found, key=lambda pair: -pair[0])[:AT_URL]

    return items
