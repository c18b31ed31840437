"""`check` and `status`: is feeds.yaml right, and how is each source doing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from aggregator import pipeline
from aggregator.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error, locked, open_store
from aggregator.config import Config
from aggregator.fetch import fetch_all
from aggregator.health import source_health
from aggregator.models import FetchRequest, FetchStatus, Outcome, SourceResult
from aggregator.parse import NotAFeed
from aggregator.pipeline import entries_from_body, failure_text, fetch_options


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    check_p = commands.add_parser("check", parents=[common], help="validate feeds.yaml")
    check_p.add_argument("--live", action="store_true", help="also fetch and parse each source")
    check_p.set_defaults(handler=check)
    status_p = commands.add_parser("status", parents=[common], help="health of every source")
    status_p.add_argument(
        "--reset", metavar="NAME", help="re-enable a source and forget its backoff"
    )
    status_p.set_defaults(handler=status)


def check(args: argparse.Namespace, config: Config) -> int:
    print(f"{args.config}: OK, {len(config.sources)} sources")
    if not args.live:
        return EXIT_OK
    failures = 0
    now = pipeline.utcnow()
    requests = [FetchRequest(s.name, s.url) for s in config.sources]
    for result in fetch_all(requests, fetch_options(config)):
        name = result.request.source
        if result.status is FetchStatus.ERROR:
            failures += 1
            print(f"FAILED  {name}: {result.error}")
            continue
        source = config.source(name)
        try:  # the same parse and normalize as `run`, without storing anything
            cleaned = entries_from_body(source, source.max_items or 1000, result, now)
        except NotAFeed as exc:
            failures += 1
            print(f"FAILED  {name}: {exc}")
            continue
        except Exception as exc:
            failures += 1
            print(f"FAILED  {name}: {failure_text('parsing', exc)}")
            continue
        skipped = SourceResult(name, Outcome.OK, skipped=cleaned.skipped).skipped_text
        print(f"ok      {name}: {len(cleaned.entries)} entries{f'; {skipped}' if skipped else ''}")
        if cleaned.warning:
            print(f"warning {name}: {cleaned.warning}")
    return EXIT_OK if not failures else EXIT_FAILED


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
    for row in rows:
        name = row.name + (" [yellow](silent)[/]" if row.silent else "")
        if row.moved_to:
            line = f" line {row.config_line}" if row.config_line else ""
            name += f"\n[dim]moved to {row.moved_to}: edit feeds.yaml{line}[/]"
        table.add_row(
            name,
            f"[{colours.get(row.state, 'yellow')}]{row.state_text}[/]",
            f"{row.last_success:%Y-%m-%d %H:%M}" if row.last_success else "never",
            "\n".join(filter(None, [row.last_error, row.skipped])),
            str(row.failures),
            str(row.entries_7d),
            f"{row.next_check:%Y-%m-%d %H:%M}" if row.next_check else "-",
        )
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    return EXIT_OK
