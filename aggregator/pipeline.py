"""Orchestrate one cycle: fetch -> parse -> normalize -> store -> dedupe, then publish."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aggregator import __version__
from aggregator.config import Config, Source
from aggregator.dedupe import StoryAssigner
from aggregator.fetch import FetchOptions, fetch_all
from aggregator.models import Entry, FetchRequest, FetchResult, FetchStatus, RunReport, SourceResult
from aggregator.normalize import compile_rules, keep_entry, normalize_entry
from aggregator.parse import NotAFeed, parse_feed
from aggregator.publish import publish
from aggregator.store import Store

ResultCallback = Callable[[SourceResult], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def fetch_options(config: Config) -> FetchOptions:
    """Identity and limits for this configuration's requests."""
    return FetchOptions(
        user_agent=f"aggregator/{__version__} (+{config.site.link})",
        timeout=config.defaults.timeout,
        max_bytes=config.defaults.max_bytes,
        concurrency=config.defaults.concurrency,
    )


def entries_from_body(
    source: Source, max_items: int, result: FetchResult, now: datetime
) -> tuple[list[Entry], str | None]:
    """Parse a fetched body and clean its entries; returns (entries, warning). Runs in a worker."""
    parsed = parse_feed(result.body or b"", result.headers, result.final_url)
    include, exclude = compile_rules(source.include), compile_rules(source.exclude)
    entries: list[Entry] = []
    for raw in parsed.entries:
        entry = normalize_entry(raw, source.name, source.language, now, parsed.language)
        if entry is not None and keep_entry(entry, include, exclude):
            entries.append(entry)
    entries.sort(key=lambda e: e.published, reverse=True)
    return entries[:max_items], parsed.warning


@dataclass
class _Fetched:
    """A fetch result with, when its body was new, the entries parsed from it or why not."""

    result: FetchResult
    body_hash: str | None = None
    unchanged: bool = False
    entries: list[Entry] = field(default_factory=list)
    warning: str | None = None
    parse_error: str | None = None


def _store_result(store: Store, fetched: _Fetched, now: datetime) -> SourceResult:
    """Store one source's fetch outcome and new entries in a single transaction."""
    result = fetched.result
    name = result.request.source
    report = SourceResult(name, "failed", result.http_status, elapsed=result.elapsed)
    error = result.error if result.status is FetchStatus.ERROR else fetched.parse_error
    with store.transaction():
        if error:
            report.error = error
            store.record_failure(name, now, result.http_status, error)
            return report
        if result.status is FetchStatus.NOT_MODIFIED:
            report.outcome = "not_modified"
        elif fetched.unchanged:
            report.outcome = "unchanged"
        else:
            report.outcome = "ok"
            report.warning = fetched.warning
            report.entries_seen = len(fetched.entries)
            for entry in fetched.entries:
                if store.upsert_entry(entry, now) is not None:
                    report.new_entries += 1
        store.record_success(
            name, now, result.http_status, result.etag, result.last_modified, fetched.body_hash
        )
    return report


def fetch_sources(
    config: Config, store: Store, now: datetime, on_result: ResultCallback | None = None
) -> list[SourceResult]:
    """Fetch every configured source concurrently, parse new bodies on all cores, store each."""
    with store.transaction():
        states = {s.name: store.sync_source(s.name, s.url) for s in config.sources}
    requests = [FetchRequest(s.name, s.url, s.etag, s.last_modified) for s in states.values()]
    context = multiprocessing.get_context("forkserver")
    results: dict[str, SourceResult] = {}
    with ProcessPoolExecutor(os.cpu_count() or 1, mp_context=context) as parsers:

        def parse(result: FetchResult) -> _Fetched:
            fetched = _Fetched(result)
            if result.status is not FetchStatus.OK:
                return fetched
            fetched.body_hash = hashlib.sha256(result.body or b"").hexdigest()
            if fetched.body_hash == states[result.request.source].body_hash:
                fetched.unchanged = True
                return fetched
            source = config.source(result.request.source)
            max_items = source.max_items or config.defaults.max_items
            try:
                job = parsers.submit(entries_from_body, source, max_items, result, now)
                fetched.entries, fetched.warning = job.result()
            except NotAFeed as exc:
                fetched.parse_error = str(exc)
            except Exception as exc:  # one unreadable source must not stop the run
                fetched.parse_error = f"could not parse the feed: {type(exc).__name__}: {exc}"
            return fetched

        for fetched in fetch_all(requests, fetch_options(config), then=parse):
            report = _store_result(store, fetched, now)
            results[report.source] = report
            if on_result:
                on_result(report)
    assign_stories(config, store, now)
    return [results[s.name] for s in config.sources]


def assign_stories(config: Config, store: Store, now: datetime) -> int:
    """Put every entry without a story into one, in order of publication; one transaction.

    Entries are stored first and clustered here, so the result does not depend on which feed
    answered first, and entries a killed run stored are clustered by the next one.
    """
    with store.transaction():
        pending = store.entries_without_story()
        if pending:
            assigner = StoryAssigner(store, config, now)
            for entry_id, entry in pending:
                assigner.assign(entry_id, entry, now)
    return len(pending)


def run(
    config: Config,
    store: Store,
    output: Path,
    now: datetime | None = None,
    on_result: ResultCallback | None = None,
    fetch: bool = True,
    publish_outputs: bool = True,
) -> RunReport:
    """One cycle (or one half of it); a publish failure is recorded in the report, never raised."""
    now = now or utcnow()
    report = RunReport(started=now)
    if fetch:
        report.results = fetch_sources(config, store, now, on_result)
    if publish_outputs:
        try:
            report.stories_published = publish(config, store, output, now)
        except OSError as exc:
            report.publish_error = f"cannot write to {output}: {exc.strerror or exc}"
        except Exception as exc:  # reported and exit code 1; stored state stays intact
            report.publish_error = f"publishing failed: {type(exc).__name__}: {exc}"
    report.finished = utcnow()
    store.save_run(report)
    return report
