"""`check` and `status`: is feeds.yaml right, and how is each source doing."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aggregator import pipeline, semantic
from aggregator.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    NO_SOURCES,
    error,
    locked,
    open_store,
)
from aggregator.config import Config
from aggregator.errors import counted
from aggregator.fetch import fetch_all
from aggregator.health import source_health
from aggregator.models import FetchResult, FetchStatus, Outcome, SourceResult
from aggregator.parse import NotAFeed
from aggregator.pipeline import (
    Cleaned,
    entries_from_body,
    failure_text,
    fetch_options,
    rules_for,
)


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    check_p = commands.add_parser("check", parents=[common], help="validate feeds.yaml")
    check_p.add_argument("--live", action="store_true", help="also fetch and parse each source")
    check_p.add_argument(
        "--rules", metavar="NAME", help="fetch one source: what its include/exclude rules keep"
    )
    check_p.set_defaults(handler=check)
    status_p = commands.add_parser("status", parents=[common], help="health of every source")
    status_p.add_argument(
        "--reset", metavar="NAME", help="re-enable a source and forget its backoff"
    )
    status_p.set_defaults(handler=status)


def _cleaned(config: Config, result: FetchResult, now: datetime) -> Cleaned | str:
    """The same parse, normalize and rules as `run` (nothing stored), or why it failed."""
    if result.status is FetchStatus.ERROR:
        return result.error or "fetch failed"
    source = config.source(result.request.source)
    try:
        rules = rules_for(config, source)
        zone = config.listing_zone(source)
        return entries_from_body(None, source, MAX_SHOWN, result, now, rules, zone=zone)
    except NotAFeed as exc:
        return str(exc)
    except Exception as exc:
        return failure_text("parsing", exc)


MAX_SHOWN = 1000


def matcher_line(config: Config) -> str:
    """Which story matcher runs with this configuration, and why."""
    if config.dedupe.matcher == "lexical":
        return "matcher: lexical (words; dedupe.matcher: semantic adds meaning vectors)"
    if semantic.available():
        return f"matcher: semantic ({semantic.describe()}), with lexical"
    return (
        "matcher: lexical (dedupe.matcher is semantic, but its extra is not installed: "
        "pip install 'aggregator[semantic]')"
    )


def check(args: argparse.Namespace, config: Config) -> int:
    print(f"{args.config}: OK, {counted(len(config.sources), 'source', 'sources')}")
    if not config.sources:
        print(f"note: {NO_SOURCES.format(config=args.config)}")
    print(matcher_line(config))
    if args.rules:
        return _check_rules(args, config)
    if not args.live:
        return EXIT_OK
    failures = 0
    now = pipeline.utcnow()
    requests = [pipeline.fetch_request(s) for s in config.sources]
    for result in fetch_all(requests, fetch_options(config)):
        name = result.request.source
        cleaned = _cleaned(config, result, now)
        if isinstance(cleaned, str):
            failures += 1
            print(f"FAILED  {name}: {cleaned}")
            continue
        skipped = SourceResult(name, Outcome.OK, skipped=cleaned.skipped).skipped_text
        kept = min(len(cleaned.entries), config.source(name).max_items or config.defaults.max_items)
        entries = counted(kept, "entry", "entries")
        print(f"ok      {name}: {entries}{f'; {skipped}' if skipped else ''}")
        if cleaned.dropped:
            print(f"        {name}: {len(cleaned.dropped)} dropped by include/exclude rules")
        if cleaned.warning:
            print(f"warning {name}: {cleaned.warning}")
    return EXIT_OK if not failures else EXIT_FAILED


def _check_rules(args: argparse.Namespace, config: Config) -> int:
    """Fetch one source and print which of its entries the rules keep and drop, and why."""
    if args.rules not in {s.name for s in config.sources}:
        error(f"no source named {args.rules!r} in {args.config}")
        return EXIT_USAGE
    source = config.source(args.rules)
    [result] = fetch_all([pipeline.fetch_request(source)], fetch_options(config))
    cleaned = _cleaned(config, result, pipeline.utcnow())
    if isinstance(cleaned, str):
        print(f"FAILED  {source.name}: {cleaned}")
        return EXIT_FAILED
    for entry in cleaned.entries:
        print(f"keep  {entry.title}")
    for title, reason in cleaned.dropped:
        print(f"drop  {title}  ({reason})")
    print(
        f"{source.name}: {len(cleaned.entries)} kept, {len(cleaned.dropped)} dropped by the rules"
    )
    return EXIT_OK


def status(args: argparse.Namespace, config: Config) -> int:
    if args.reset:
        if args.reset not in {s.name for s in config.sources}:
            error(f"no source named {args.reset!r} in {args.config}")
            return EXIT_USAGE
        with locked(args), open_store(args, create=False) as store, store.transaction():
            store.reset_source(args.reset)
        print(f"{args.reset}: re-enabled; it is fetched on the next run")
    with open_store(args, create=False) as store:
        rows = source_health(store, config, pipeline.utcnow())
    table = Table(title="Sources", show_lines=False)
    for column in ("Source", "State", "Last success", "Last error", "Fails", "7 days", "Next"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failing": "red", "disabled": "red", "retry after": "yellow"}
    for row in rows:  # names, errors and URLs are text, never markup: a server writes some
        name = escape(row.name) + (" [yellow](silent)[/]" if row.silent else "")
        line = f" line {row.config_line}" if row.config_line else ""
        if row.stale_cache:
            name += f"\n[dim]answers 304: try ignore_http_cache: true in feeds.yaml{line}[/]"
        if row.moved_to:
            name += f"\n[dim]moved to {escape(row.moved_to)}: edit feeds.yaml{line}[/]"
        table.add_row(
            name,
            f"[{colours.get(row.state, 'yellow')}]{escape(row.state_text)}[/]",
            f"{row.last_success:%Y-%m-%d %H:%M}" if row.last_success else "never",
            escape("\n".join(filter(None, [row.last_error, row.skipped]))),
            str(row.failures),
            str(row.entries_7d),
            f"{row.next_check:%Y-%m-%d %H:%M}" if row.next_check else "-",
        )
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    return EXIT_OK
