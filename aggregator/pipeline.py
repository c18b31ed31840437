"""Orchestrate one cycle: fetch -> parse -> normalize -> store -> dedupe, then publish."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from aggregator import __version__, ahead, pacing
from aggregator.config import Config, Source
from aggregator.dedupe import EntryFeatures
from aggregator.errors import exception_line, one_line
from aggregator.fetch import FetchOptions, fetch_all
from aggregator.models import (
    Entry,
    FetchRequest,
    FetchResult,
    FetchStatus,
    Outcome,
    RawEntry,
    RunReport,
    SourceResult,
    SourceState,
)
from aggregator.normalize import (
    SkipEntry,
    dates,
    digest_context,
    normalize_entry,
    own_guid,
    raw_digest,
    timely,
)
from aggregator.parse import NotAFeed, parse_feed
from aggregator.publish import publish
from aggregator.retention import prune_if_due
from aggregator.rules import Rules, RuleSet
from aggregator.store import Batch, Store, database_failure, pack_digests, ts, unpack_digests
from aggregator.stories import StoryAssigner
from aggregator.workers import INLINE_BELOW, ParserPool

log = logging.getLogger("aggregator.pipeline")

ResultCallback = Callable[[SourceResult], None]


NETWORK_DOWN_SINCE = "network_down_since"  # meta: a run reached no source, and none has since


def utcnow() -> datetime:
    return datetime.now(UTC)


def fetch_options(config: Config) -> FetchOptions:
    """Identity and limits for this configuration's requests."""
    return FetchOptions(
        user_agent=f"aggregator/{__version__} (+{config.site.link})",
        timeout=config.defaults.timeout,
        max_bytes=config.defaults.max_bytes,
        concurrency=config.concurrency,
    )


def fetch_request(source: Source, state: SourceState | None = None) -> FetchRequest:
    """What to fetch for a source: its stored URL and validators, if it has a state (none
    sent back where the editor says its server's cache lies), whether its certificate must
    pass its checks, and the User-Agent its site wants."""
    url, etag, modified = (
        (state.url, state.etag, state.last_modified) if state else (source.url, None, None)
    )
    if source.ignore_http_cache:
        etag = modified = None
    verify = not source.accept_invalid_certificate
    return FetchRequest(source.name, url, etag, modified, verify, source.user_agent)


def failure_text(stage: str, exc: BaseException) -> str:
    """One line for the status page: the stage, the exception type and what it said."""
    prefix = f"{stage} failed: "
    return prefix + exception_line(exc, 300 - len(prefix))


@dataclass(frozen=True)
class Cleaned:
    """What a worker made of one body: the kept entries, and what it dropped and why."""

    entries: list[Entry]
    warning: str | None = None
    ttl: int | None = None
    skipped: dict[str, int] = field(default_factory=dict)  # unreadable entries, by reason
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (title, rule) by the rules
    seconds: tuple[float, float] = (0.0, 0.0)  # spent parsing, then normalizing (in the worker)
    digests: list[bytes | None] = field(default_factory=list)  # of `entries`' raw items
    unchanged: list[tuple[int, bytes]] = field(default_factory=list)  # kept as stored: id, digest

    @property
    def seen(self) -> int:
        """How many entries the body kept: cleaned, or as they are stored."""
        return len(self.entries) + len(self.unchanged)


def rules_for(config: Config, source: Source) -> Rules:
    """The include/exclude rules a source's entries answer to: the top level's, then its own."""
    return Rules(
        (
            RuleSet.of("feeds.yaml", config.include, config.exclude),
            RuleSet.of("source", source.include, source.exclude),
        )
    )


@dataclass
class _Item:
    """One raw entry of a body on its way through `entries_from_body`."""

    raw: RawEntry
    digest: bytes | None = None  # None: cleaned every time (`_digest`)
    stored: int | None = None  # the id of the stored entry it cleans to, when it is unchanged
    entry: Entry | None = None

    def published(self, now: datetime) -> datetime:
        """When it was published, as cleaning says (without cleaning it, if it is unchanged)."""
        return dates(self.raw, now)[0] if self.entry is None else self.entry.published


def entries_from_body(
    make: EntryFeatures | None,
    source: Source,
    max_items: int,
    result: FetchResult,
    now: datetime,
    rules: Rules,
    fold: bool = True,
    known: bytes = b"",
    zone: tzinfo = UTC,
) -> Cleaned:
    """Parse a fetched body and clean its entries; one bad entry drops only itself, counted by
    reason. Runs in a worker process, which also folds the kept entries' words for matching
    (with `make`, if `fold`; else they are folded while clustering), so that clustering does
    not. An item whose digest is among `known` (the source's stored items, `pack_digests`) is
    not cleaned again: it is kept as stored, unless another item shares its guid. An html
    source's dates that name no zone are read in `zone` (`Config.listing_zone`)."""
    started = time.perf_counter()
    body = result.body or b""
    if source.type == "html" and source.selectors is not None:
        from aggregator.listing import parse_listing  # lxml.html and cssselect: few need them

        content_type = result.headers.get("content-type", "")
        parsed = parse_listing(body, result.final_url, source.selectors, content_type, zone, now)
    else:
        parsed = parse_feed(body, result.headers, result.final_url)
    parsed_at = time.perf_counter()
    stored = unpack_digests(known)
    context = digest_context(source.name, source.given_language, parsed.language, repr(rules))
    items = [_Item(raw) for raw in parsed.entries]
    shared = _shared_guids(parsed.entries)
    items.sort(key=lambda item: item.published(now), reverse=True)  # as kept: ties in feed order
    guids: Counter[str | None] = Counter()
    dropped: list[tuple[str, str]] = []
    skipped: Counter[str] = Counter()
    if parsed.unreadable:
        skipped["entry could not be read"] = parsed.unreadable
    read: list[_Item] = []  # newest first, until `max_items` are kept: older ones are not cleaned
    keeping = 0
    for item in items:
        if keeping == max_items:
            break
        if own_guid(item.raw) not in shared:  # else it is stored by its link: cleaned
            item.digest = _digest(item.raw, context, now)
            item.stored = stored.get(item.digest) if item.digest else None
        if item.stored is not None:
            guids[own_guid(item.raw)] += 1
        else:
            item.entry = _cleaned(item.raw, source, now, parsed.language, rules, skipped, dropped)
            if item.entry is not None:
                guids[item.entry.guid] += 1
        keeping += item.entry is not None or item.stored is not None
        read.append(item)
    for item in read:  # a guid two items share is stored as the last one cleans: clean both
        if item.stored is not None and guids[own_guid(item.raw)] > 1:
            item.stored = None
            item.entry = _cleaned(item.raw, source, now, parsed.language, rules, skipped, dropped)
    kept = [item for item in read if item.entry is not None or item.stored is not None]
    cleaned = [item for item in kept if item.entry is not None]
    entries = [item.entry for item in cleaned if item.entry is not None]
    if shared:  # such items are keyed by their links
        entries = [replace(e, guid=e.url) if e.guid in shared else e for e in entries]
    if make is not None and fold:
        entries = [replace(e, words=make.dump(make(0, e))) for e in entries]
    # of items that share a guid, the entry stored is the last one's: only its digest may say
    # "stored as it is" next time (another's, seen again alone, must be cleaned to replace it)
    last = {entry.guid: item for item, entry in zip(cleaned, entries, strict=True)}
    digests = [
        item.digest if last[entry.guid] is item else None
        for item, entry in zip(cleaned, entries, strict=True)
    ]
    unchanged = [(item.stored, item.digest) for item in kept if item.stored is not None]
    seconds = (parsed_at - started, time.perf_counter() - parsed_at)
    return Cleaned(
        entries, parsed.warning, parsed.ttl, dict(skipped), dropped, seconds, digests, unchanged
    )


def _shared_guids(raws: list[RawEntry]) -> set[str]:
    """The guids that items at different links share in one body: such a guid ("N/A", the
    site's address on every item) names no item, and as a key it kept one entry of them all,
    each new item overwriting the last. One item listed twice (one link) is no such case."""
    links: dict[str, set[str]] = {}
    for raw in raws:
        guid = own_guid(raw)
        if guid is not None:
            links.setdefault(guid, set()).add((raw.link or "").strip())
    return {guid for guid, found in links.items() if len(found) > 1}


def _digest(raw: RawEntry, context: str, now: datetime) -> bytes | None:
    """The item's digest, if seen again unchanged it may be kept as stored: its guid is its
    own (not made from its link, which only cleaning tells) and no date of it will change as
    time passes. None: it is cleaned every time."""
    with contextlib.suppress(Exception):  # an odd item: cleaning it says what is wrong
        if own_guid(raw) and timely(raw, now):
            return raw_digest(raw, context)
    return None


def _cleaned(
    raw: RawEntry,
    source: Source,
    now: datetime,
    feed_language: str | None,
    rules: Rules,
    skipped: Counter[str],
    dropped: list[tuple[str, str]],
) -> Entry | None:
    """One raw entry cleaned, or None when it is unreadable (counted in `skipped` by reason)
    or the rules drop it (listed in `dropped`)."""
    try:
        entry = normalize_entry(raw, source.name, source.given_language, now, feed_language)
    except SkipEntry as exc:
        skipped[str(exc)] += 1
        return None
    except Exception as exc:  # an entry no rule foresaw: drop it, keep the others
        skipped[exception_line(exc, 120)] += 1
        return None
    verdict = rules.verdict(entry)
    if verdict is not None:
        dropped.append((entry.title, verdict))
        return None
    return entry


@dataclass
class _Fetched:
    """A fetch result with, when its body was new, what the parser made of it or why not."""

    result: FetchResult
    body_hash: str | None = None
    unchanged: bool = False
    cleaned: Cleaned | None = None
    error: str | None = None  # parsing failed: the source's error for this run


def _store_result(
    config: Config,
    store: Store,
    batch: Batch,
    fetched: _Fetched,
    state: SourceState,
    now: datetime,
    rng: random.Random | None,
    offline: bool = False,
) -> SourceResult:
    """Store one source's fetch outcome, next check and new entries in one step: all or none.
    `state` is the source's as this run read it: only this step writes it until the run ends.
    `offline`: no source could be reached (`pacing.network_down`), so a failure is recorded
    but not counted against the source: its backoff does not grow."""
    result = fetched.result
    name = result.request.source
    source = config.source(name)
    refresh = timedelta(minutes=source.refresh or config.defaults.refresh)
    report = SourceResult(name, Outcome.FAILED, result.http_status, elapsed=result.elapsed)
    error = result.error if result.status is FetchStatus.ERROR else fetched.error
    error = error and one_line(error)  # its words may be a server's, for an editor's terminal
    digests: bytes | None = None
    with batch.step(single=bool(error) or not (fetched.cleaned and fetched.cleaned.seen)):
        if error:
            gone = result.http_status == 410
            report.error = f"{error}: source disabled until an editor resets it" if gone else error
            if offline:
                report.error = f"{error} (no source could be reached: not counted against it)"
                report.uncounted = True
            failures = state.failures + (not offline)
            next_check, not_before = pacing.after_failure(
                now, max(failures, 1), refresh, result.headers, rng
            )
            store.record_failure(
                name,
                now,
                result.http_status,
                report.error,
                next_check,
                not_before,
                disable=gone,
                counted=not offline,
            )
            report.next_check = next_check
            return report
        cleaned = fetched.cleaned
        if result.status is FetchStatus.NOT_MODIFIED:
            report.outcome = Outcome.NOT_MODIFIED
        elif fetched.unchanged or cleaned is None:
            report.outcome = Outcome.UNCHANGED
        else:
            report.outcome = Outcome.OK
            report.warning = cleaned.warning and one_line(cleaned.warning)
            report.entries_seen = cleaned.seen
            report.skipped = dict(cleaned.skipped)
            digests = _store_entries(store, name, cleaned, now, report)
        ttl = cleaned.ttl if cleaned and cleaned.ttl is not None else state.ttl
        next_check = pacing.after_success(now, refresh, result.headers, ttl)
        if result.moved_to and result.moved_to != state.url:
            line = config.line_of(name, "url")
            report.warning = one_line(
                f"the feed moved permanently to {result.moved_to}: now fetched from there; "
                f"change `url:` in feeds.yaml{f' (line {line})' if line else ''}"
            )
        store.record_success(
            name,
            now,
            result.http_status,
            result.etag,
            result.last_modified,
            fetched.body_hash,
            next_check,
            result.moved_to,
            cleaned.ttl if cleaned else None,
            parsed=report.outcome is Outcome.OK,
            skipped=report.skipped_text,
            digests=digests,
        )
        report.next_check = next_check
    return report


def _store_entries(
    store: Store, name: str, cleaned: Cleaned, now: datetime, report: SourceResult
) -> bytes | None:
    """Store a parsed body's new and changed entries, mark its unchanged ones seen, and return
    the digests to keep for its next body (None: clean all its items next time, as when an
    unchanged item's entry is no longer stored)."""
    held = store.guids_held(name, [entry.guid for entry in cleaned.entries])
    ids: dict[bytes, int] = {}
    entries = _under_held_guids(store, name, cleaned.entries, held)
    for entry, digest in zip(entries, cleaned.digests, strict=True):
        try:
            new = store.upsert_entry(entry, now, held=entry.guid in held)
        except Exception as exc:  # SQLite undoes just this statement; the rest stay
            if database_failure(exc):  # not this entry's: the run stops, the body is read again
                raise
            reason = f"not stored: {exception_line(exc, 120)}"
            report.skipped[reason] = report.skipped.get(reason, 0) + 1
            continue
        if new is not None:
            held[entry.guid] = new
            report.new_entries += 1
        if digest is not None:
            ids[digest] = held[entry.guid]
    unchanged = [key for key, _ in cleaned.unchanged]
    if unchanged and store.seen_again(name, unchanged, now) != len(set(unchanged)):
        return None
    ids.update((digest, key) for key, digest in cleaned.unchanged)
    return pack_digests(ids.items())


def _under_held_guids(
    store: Store, name: str, entries: list[Entry], held: dict[str, int]
) -> list[Entry]:
    """The entries, each item whose guid changed (the same URL, title and date as a stored
    entry) under its stored guid: it is that entry again, not a new one each fetch. `held`
    gains those guids."""
    unknown = [entry for entry in entries if entry.guid not in held]
    again = store.held_as(name, unknown) if unknown else {}
    if not again:
        return entries
    held.update(again.values())
    return [replace(e, guid=again[e.guid][0]) if e.guid in again else e for e in entries]


def _stored(
    config: Config,
    store: Store,
    batch: Batch,
    fetched: _Fetched,
    state: SourceState,
    now: datetime,
    rng: random.Random | None,
    offline: bool = False,
) -> SourceResult:
    """The storing half of a source's boundary: any exception becomes the source's failure."""
    try:
        return _store_result(config, store, batch, fetched, state, now, rng, offline)
    except Exception as exc:
        if database_failure(exc):  # no source's fault: the run stops
            raise
        name = fetched.result.request.source
        error = failure_text("storing", exc)
        next_check = now + pacing.MAX_BACKOFF
        # a database that cannot take even this: the failure is reported, not recorded
        with contextlib.suppress(Exception), batch.step(single=True):
            store.record_failure(name, now, fetched.result.http_status, error, next_check)
        return SourceResult(
            name, Outcome.FAILED, fetched.result.http_status, error=error, next_check=next_check
        )


def _skipped(state: SourceState, now: datetime, force: bool) -> SourceResult | None:
    """A report for a source this run leaves alone, or None if it is to be fetched."""
    if state.disabled:
        return SourceResult(state.name, Outcome.DISABLED, state.last_status, error=state.disabled)
    if state.not_before and state.not_before > now:
        until = f"Retry-After: the server asked to wait until {state.not_before:%Y-%m-%d %H:%M} UTC"
        return SourceResult(
            state.name, Outcome.NOT_DUE, state.last_status, error=until, next_check=state.next_check
        )
    if not force and state.next_check and state.next_check > now:
        until = f"next check at {state.next_check:%Y-%m-%d %H:%M} UTC"
        return SourceResult(
            state.name, Outcome.NOT_DUE, state.last_status, error=until, next_check=state.next_check
        )
    return None


def fetch_sources(
    config: Config,
    store: Store,
    now: datetime,
    on_result: ResultCallback | None = None,
    force: bool = False,
    rng: random.Random | None = None,
    stages: dict[str, float] | None = None,
) -> list[SourceResult]:
    """Fetch the due sources concurrently, parse new bodies on all cores, store each; the
    seconds spent per stage are added to `stages`."""
    with store.transaction():
        states = {s.name: store.sync_source(s.name, s.url, now) for s in config.sources}
    results: dict[str, SourceResult] = {}
    requests = []
    for state in states.values():
        skipped = _skipped(state, now, force)
        if skipped:
            results[state.name] = skipped
            if on_result:
                on_result(skipped)
        else:
            requests.append(fetch_request(config.source(state.name), state))
    if requests:
        for report in _fetch_and_store(config, store, states, requests, now, rng, stages):
            results[report.source] = report
            if on_result:
                on_result(report)
    return [results[s.name] for s in config.sources]


def _fetch_and_store(
    config: Config,
    store: Store,
    states: dict[str, SourceState],
    requests: list[FetchRequest],
    now: datetime,
    rng: random.Random | None,
    stages: dict[str, float] | None = None,
) -> Iterator[SourceResult]:
    """Fetch on threads, parse new bodies in worker processes, store each source as it comes;
    one no server answered for waits until another answers, and if none does, the failures
    may say that the network is down (`pacing.network_down`) rather than the sources."""
    spent = Counter[str]()
    started = time.perf_counter()
    context = EntryFeatures(config)
    # a source fetched for the first time brings only new entries: in a run that may match
    # ahead (`ahead.py`) they are folded while clustering, by the writer, which has time to
    # spare there, and not here, where every core is busy
    later = ahead.may_match_ahead(config)
    with ParserPool(inline=len(requests) < INLINE_BELOW, context=context) as parsers:
        parsers.start()  # before the fetch threads: forked, where no other thread runs
        known = store.item_digests()  # after the fork: a worker gets one source's, with its body

        def parse(result: FetchResult) -> _Fetched:
            """The parsing half of a source's boundary, on the fetch thread."""
            fetched = _Fetched(dataclasses.replace(result, body=None))  # the parser's alone
            try:
                if result.status is not FetchStatus.OK:
                    return fetched
                fetched.body_hash = hashlib.sha256(result.body or b"").hexdigest()
                if fetched.body_hash == states[result.request.source].body_hash:
                    fetched.unchanged = True
                    return fetched
                source = config.source(result.request.source)
                max_items = source.max_items or config.defaults.max_items
                first = later and states[result.request.source].last_success is None
                fetched.cleaned = parsers.run(
                    entries_from_body,
                    source,
                    max_items,
                    result,
                    now,
                    rules_for(config, source),
                    not first,
                    known.get(result.request.source, b""),
                    config.listing_zone(source),
                )
            except NotAFeed as exc:
                fetched.error = str(exc)
            except Exception as exc:  # one unreadable source must not stop the run
                fetched.error = failure_text("parsing", exc)
            return fetched

        def store_one(fetched: _Fetched, offline: bool = False) -> SourceResult:
            if fetched.cleaned:
                spent["parse"] += fetched.cleaned.seconds[0]
                spent["normalize"] += fetched.cleaned.seconds[1]
            storing = time.perf_counter()
            state = states[fetched.result.request.source]
            stored = _stored(config, store, batch, fetched, state, now, rng, offline)
            spent["store"] += time.perf_counter() - storing
            return stored

        with store.batch() as batch:
            held: list[_Fetched] | None = []  # no server reached, and none answered yet
            for fetched in fetch_all(
                requests, fetch_options(config), then=parse, idle=batch.commit
            ):
                if held is not None and fetched.result.unreachable:
                    held.append(fetched)
                    continue
                for waiting in held or ():
                    yield store_one(waiting)
                held = None
                yield store_one(fetched)
            offline = _network_down(store, batch, held, now)
            for waiting in held or ():
                yield store_one(waiting, offline)
    if stages is not None:
        stages["fetch (wall)"] = time.perf_counter() - started
        for stage, seconds in spent.items():
            stages[stage] = stages.get(stage, 0.0) + seconds


def _network_down(
    store: Store, batch: Batch, unanswered: list[_Fetched] | None, now: datetime
) -> bool:
    """Whether the failures of a run that no server answered are this machine's network's
    (`pacing.network_down`; `unanswered` None: a server answered), noting in the store when
    the network went down, until a server answers again."""
    down_since = store.get_meta(NETWORK_DOWN_SINCE)
    down = unanswered is not None and pacing.network_down(
        [f.result for f in unanswered], down_since is not None
    )
    if down and down_since is None:
        with batch.step(single=True):
            store.set_meta(NETWORK_DOWN_SINCE, ts(now))
    elif unanswered is None and down_since is not None:
        with batch.step(single=True):
            store.delete_meta(NETWORK_DOWN_SINCE)
    return down


CLUSTER_BATCH = 500  # entries read from the database at a time while clustering


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Clustering builds millions of small objects that hold no cycles; Python's cycle
    collector would walk all of them again and again (time growing faster than the work)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def assign_stories(config: Config, store: Store, now: datetime) -> list[str]:
    """Put every entry without a story into one, in order of publication, in one transaction
    (a second if matching ahead fails).

    Entries are stored first and clustered here, so the result does not depend on which feed
    answered first, and entries a killed run stored are clustered by the next one. An entry
    that cannot be assigned is rolled back alone, reported, and tried again next run. Many
    entries are matched ahead in a helper process (`ahead.py`), with the same result; if that
    fails, it is rolled back and they are clustered again here.
    """
    problems: list[str] = []
    assigner: StoryAssigner | None = None
    try:
        with _no_cycle_collection():
            done = _assign_ahead(config, store, now)
            if done is not None:
                return done
            with store.transaction(keys_at_end=True):
                pending = store.unclustered_ids()
                assigner = StoryAssigner(store, config, now) if pending else None
                if assigner is not None:
                    _assign_all(assigner, store, pending, now, problems)
    except Exception as exc:
        if database_failure(exc):
            raise
        problems.append(f"clustering skipped this run: {failure_text('clustering', exc)}")
    return problems + (assigner.problems if assigner else [])


def _assign_ahead(config: Config, store: Store, now: datetime) -> list[str] | None:
    """Cluster with a helper matching ahead, in a transaction of its own, and return the
    problems; None if there are too few entries for it, or if it failed (all it wrote is
    rolled back: a savepoint would copy aside every page clustering writes)."""
    if not ahead.may_match_ahead(config):
        return None
    try:
        with store.transaction(keys_at_end=True):
            pending = store.unclustered_ids()
            if not ahead.worthwhile(config, len(pending)):
                return None
            with ahead.Ahead(store, config, now, pending, CLUSTER_BATCH) as helper:
                assigner = StoryAssigner(store, config, now, helper.decisions())
                _assign_all(assigner, store, pending, now, None, helper)
            return assigner.problems
    except Exception as exc:  # undone: clustered again in one process, failures reported
        if database_failure(exc):
            raise
        log.warning("matching ahead failed, clustering again: %s", exception_line(exc))
        return None


def _assign_all(
    assigner: StoryAssigner,
    store: Store,
    pending: list[int],
    now: datetime,
    problems: list[str] | None,
    helper: ahead.Ahead | None = None,
) -> None:
    """Assign the pending entries a batch at a time; an entry that fails is reported in
    `problems` and the others go on (None: its failure is raised). With a `helper` matching
    ahead, each batch is read, and its entries without word sets folded and their features
    sent, one batch early: the helper decides a batch once it has them."""

    def read(ids: list[int]) -> list[tuple[int, Entry]]:
        entries = store.entries_for_matching(ids)
        if helper is not None:
            helper.send_features(assigner.fold(entries))
        return entries

    batches = [pending[at : at + CLUSTER_BATCH] for at in range(0, len(pending), CLUSTER_BATCH)]
    upcoming = read(batches[0]) if batches else []
    for following in [*batches[1:], None]:
        batch, upcoming = upcoming, read(following) if following else []
        with assigner.writing_later():
            for entry_id, entry in assigner.prepare(batch, now):
                try:
                    assigner.assign(entry_id, entry, now)
                except Exception as exc:
                    if problems is None or database_failure(exc):
                        raise
                    problems.append(
                        f"entry {entry_id} ({entry.url}) not clustered, retried next run: "
                        + failure_text("clustering", exc)
                    )
        store.check_keys_so_far()  # here, where a helper's next decisions are awaited anyway


def run(
    config: Config,
    store: Store,
    output: Path,
    now: datetime | None = None,
    on_result: ResultCallback | None = None,
    fetch: bool = True,
    publish_outputs: bool = True,
    force: bool = False,
    rng: random.Random | None = None,
) -> RunReport:
    """One cycle (or one half of it); a publish failure is recorded in the report, never raised.
    The database's own failure (`store.database_failure`: a full disk, an I/O error) stops the
    run and is raised: what earlier steps committed stands, no source is blamed for it."""
    now = now or utcnow()
    report = RunReport(started=now)
    if fetch:
        report.results = fetch_sources(config, store, now, on_result, force, rng, report.stages)
        clustering = time.perf_counter()
        report.problems += assign_stories(config, store, now)
        report.stages["cluster"] = time.perf_counter() - clustering
    if publish_outputs:
        publishing = time.perf_counter()
        try:
            published = publish(config, store, output, now)
            report.stories_published = published.stories
            report.problems += published.problems
        except OSError as exc:
            report.publish_error = f"cannot write to {output}: {exc.strerror or exc}"
        except Exception as exc:  # reported and exit code 1; stored state stays intact
            report.publish_error = f"publishing failed: {type(exc).__name__}: {exc}"
        report.stages["publish"] = time.perf_counter() - publishing
    if fetch:  # at the end, once the outputs are out
        try:
            report.pruned = prune_if_due(store, config.retention, now)
        except Exception as exc:  # the data is whole; pruning is tried again next run
            report.problems.append(failure_text("pruning", exc))
    report.finished = utcnow()
    try:
        store.save_run(report)
    except Exception as exc:  # the history misses a line; what was stored and published stands
        report.problems.append(failure_text("recording the run", exc))
    return report
