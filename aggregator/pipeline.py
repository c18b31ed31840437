"""Orchestrate one cycle: fetch -> parse -> normalize -> store -> dedupe, then publish."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aggregator import __version__
from aggregator.config import Config, Source
from aggregator.dedupe import assign_story
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
    source: Source, config: Config, result: FetchResult, now: datetime
) -> tuple[list[Entry], str | None]:
    """Parse a fetched body and clean its entries; returns (entries, warning)."""
    parsed = parse_feed(result.body or b"", result.headers, result.final_url)
    include, exclude = compile_rules(source.include), compile_rules(source.exclude)
    entries: list[Entry] = []
    for raw in parsed.entries:
        entry = normalize_entry(raw, source.name, source.language, now, parsed.language)
        if entry is not None and keep_entry(entry, include, exclude):
            entries.append(entry)
    entries.sort(key=lambda e: e.published, reverse=True)
    return entries[: source.max_items or config.defaults.max_items], parsed.warning


def process_result(
    config: Config, store: Store, result: FetchResult, now: datetime
) -> SourceResult:
    """Store one source's fetch outcome and new entries in a single transaction."""
    name = result.request.source
    report = SourceResult(name, "failed", result.http_status, elapsed=result.elapsed)
    if result.status is FetchStatus.ERROR:
        report.error = result.error
        with store.transaction():
            store.record_failure(name, now, result.http_status, report.error or "failed")
        return report
    body_hash = hashlib.sha256(result.body).hexdigest() if result.body is not None else None
    if result.status is FetchStatus.NOT_MODIFIED or body_hash == store.source_state(name).body_hash:
        report.outcome = (
            "not_modified" if result.status is FetchStatus.NOT_MODIFIED else "unchanged"
        )
        with store.transaction():
            store.record_success(
                name, now, result.http_status, result.etag, result.last_modified, body_hash
            )
        return report
    source = config.source(name)
    try:
        entries, report.warning = entries_from_body(source, config, result, now)
    except NotAFeed as exc:
        report.error = str(exc)
        with store.transaction():
            store.record_failure(name, now, result.http_status, report.error)
        return report
    report.outcome = "ok"
    report.entries_seen = len(entries)
    with store.transaction():
        for entry in entries:
            entry_id = store.upsert_entry(entry, now)
            if entry_id is not None:
                assign_story(store, entry_id, entry, now, config.site.link)
                report.new_entries += 1
        store.record_success(
            name, now, result.http_status, result.etag, result.last_modified, body_hash
        )
    return report


def fetch_sources(
    config: Config, store: Store, now: datetime, on_result: ResultCallback | None = None
) -> list[SourceResult]:
    """Fetch every configured source concurrently and store what each returned."""
    with store.transaction():
        states = [store.sync_source(s.name, s.url) for s in config.sources]
    requests = [FetchRequest(s.name, s.url, s.etag, s.last_modified) for s in states]
    results: dict[str, SourceResult] = {}
    for fetched in fetch_all(requests, fetch_options(config)):
        result = process_result(config, store, fetched, now)
        results[result.source] = result
        if on_result:
            on_result(result)
    return [results[s.name] for s in config.sources]


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
    report.finished = utcnow()
    store.save_run(report)
    return report
