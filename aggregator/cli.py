"""The `aggregator` command line: run, fetch, publish, check, status, explain."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aggregator import __version__, pipeline, schedule
from aggregator.config import Config, ConfigError, load_config
from aggregator.dedupe import explain
from aggregator.fetch import fetch_all
from aggregator.health import source_health
from aggregator.lock import Busy, exclusive
from aggregator.models import FetchRequest, FetchStatus, Outcome, RunReport, SourceResult
from aggregator.normalize import canonical_url
from aggregator.parse import NotAFeed, parse_feed
from aggregator.pipeline import fetch_options, run
from aggregator.store import Store

EXIT_OK, EXIT_PUBLISH_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("feeds.yaml"), help="feeds.yaml path")
    common.add_argument("--db", type=Path, help="state database (default: aggregator.db beside it)")
    common.add_argument("--output", type=Path, help="output folder (default: output/ beside it)")
    common.add_argument(
        "--wait",
        type=float,
        default=300,
        metavar="SECONDS",
        help="how long to wait for another running aggregator before exiting with 3 (300)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Fetch Afghan news feeds, merge duplicates, publish feeds and a digest.",
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common()
    run_p = commands.add_parser("run", parents=[common], help="fetch, store, dedupe and publish")
    fetch_p = commands.add_parser("fetch", parents=[common], help="fetch and store, no publish")
    for sub in (run_p, fetch_p):
        sub.add_argument("--json", action="store_true", help="print the run report as JSON")
        sub.add_argument(
            "--force",
            action="store_true",
            help="fetch every enabled source now, due or not (a server's Retry-After still holds)",
        )
    commands.add_parser("publish", parents=[common], help="publish from stored stories only")
    check_p = commands.add_parser("check", parents=[common], help="validate feeds.yaml")
    check_p.add_argument("--live", action="store_true", help="also fetch and parse each source")
    schedule_p = commands.add_parser(
        "schedule", parents=[common], help="daemon: fetch when due, publish daily editions"
    )
    schedule_p.add_argument(
        "--every",
        type=float,
        default=300,
        metavar="SECONDS",
        help="seconds between fetch cycles (300); each cycle fetches only the due sources",
    )
    status_p = commands.add_parser("status", parents=[common], help="health of every source")
    status_p.add_argument(
        "--reset", metavar="NAME", help="re-enable a source and forget its backoff"
    )
    explain_p = commands.add_parser(
        "explain", parents=[common], help="why an entry joined (or did not join) a story"
    )
    explain_p.add_argument("url", help="the entry's link (tracking parameters are ignored)")
    return parser


def _line(result: SourceResult) -> str:
    if result.failed:
        return f"FAILED     {result.source}: {result.error}"
    if result.outcome is Outcome.DISABLED:
        return f"disabled   {result.source}: {result.error} (aggregator status --reset NAME)"
    if result.outcome is Outcome.NOT_DUE:
        return f"waiting    {result.source}: {result.error}"
    status = f"HTTP {result.http_status}, " if result.http_status else ""
    timing = f"({status}{result.elapsed:.2f} s)"
    if result.outcome is Outcome.OK:
        text = (
            f"ok         {result.source}: {result.entries_seen} entries, {result.new_entries} new"
        )
        return f"{text} {timing}"
    return f"unchanged  {result.source}: {result.outcome.replace('_', ' ')} {timing}"


def _print_result(result: SourceResult) -> None:
    print(_line(result), flush=True)
    if result.warning:
        print(f"warning    {result.source}: {result.warning}", flush=True)
    if result.skipped_text:
        print(f"warning    {result.source}: {result.skipped_text}", flush=True)


def _summary(report: RunReport, output: Path) -> str:
    skipped = f", {report.sources_skipped} not fetched" if report.sources_skipped else ""
    text = (
        f"summary: {report.sources_ok} sources ok, {report.sources_failed} failed{skipped}; "
        f"{report.new_entries} new entries"
    )
    if report.publish_error:
        return f"{text}; NOT published: {report.publish_error}"
    return f"{text}; {report.stories_published} stories published to {output}"


def _report_json(report: RunReport) -> str:
    data = {
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat() if report.finished else None,
        "sources_ok": report.sources_ok,
        "sources_failed": report.sources_failed,
        "sources_not_fetched": report.sources_skipped,
        "new_entries": report.new_entries,
        "stories_published": report.stories_published,
        "publish_error": report.publish_error,
        "problems": report.problems,
        "sources": [asdict(r) for r in report.results],
    }
    return json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable)


def _jsonable(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    base = args.config.parent
    return args.db or base / "aggregator.db", args.output or base / "output"


def _cycle(args: argparse.Namespace, config: Config, fetch: bool, publish: bool) -> int:
    db, _ = _paths(args)
    try:
        with exclusive(db, args.wait):
            return _locked_cycle(args, config, fetch, publish)
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except OSError as exc:  # no folder for the lock file (and the database) can be made
        print(f"error: cannot use the database folder {db.parent}: {exc}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED


def _locked_cycle(args: argparse.Namespace, config: Config, fetch: bool, publish: bool) -> int:
    db, output = _paths(args)
    quiet = getattr(args, "json", False)
    try:
        store = Store(db)
    except (sqlite3.Error, RuntimeError) as exc:
        print(f"error: cannot open database {db}: {exc}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    with store:
        report = run(
            config,
            store,
            output,
            on_result=None if quiet else _print_result,
            fetch=fetch,
            publish_outputs=publish,
            force=getattr(args, "force", False),
        )
    if quiet:
        print(_report_json(report))
    else:
        for problem in report.problems:
            print(f"warning    {problem}", flush=True)
        print(_summary(report, output))
    if report.publish_error:
        print(f"error: {report.publish_error}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    return EXIT_OK


def _check(args: argparse.Namespace, config: Config) -> int:
    print(f"{args.config}: OK, {len(config.sources)} sources")
    if not args.live:
        return EXIT_OK
    failures = 0
    requests = [FetchRequest(s.name, s.url) for s in config.sources]
    for result in fetch_all(requests, fetch_options(config)):
        name = result.request.source
        if result.status is FetchStatus.ERROR:
            failures += 1
            print(f"FAILED  {name}: {result.error}")
            continue
        try:
            parsed = parse_feed(result.body or b"", result.headers, result.final_url)
        except NotAFeed as exc:
            failures += 1
            print(f"FAILED  {name}: {exc}")
            continue
        print(f"ok      {name}: {len(parsed.entries)} entries")
    return EXIT_OK if not failures else EXIT_PUBLISH_FAILED


def _status(args: argparse.Namespace, config: Config) -> int:
    db, _ = _paths(args)
    with Store(db) as store:
        if args.reset:
            if args.reset not in {s.name for s in config.sources}:
                print(f"error: no source named {args.reset!r} in {args.config}", file=sys.stderr)
                return EXIT_USAGE
            with store.transaction():
                store.reset_source(args.reset)
            print(f"{args.reset}: re-enabled; it is fetched on the next run")
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
            row.last_error or "",
            str(row.failures),
            str(row.entries_7d),
            f"{row.next_check:%Y-%m-%d %H:%M}" if row.next_check else "-",
        )
    Console(width=160 if not sys.stdout.isatty() else None).print(table)
    return EXIT_OK


def _explain(args: argparse.Namespace, config: Config) -> int:
    db, _ = _paths(args)
    if not db.exists():
        print(f"error: no database at {db}: run `aggregator run` first", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    with Store(db) as store:
        found = explain(store, config, canonical_url(args.url))
    if found is None:
        print(f"error: no stored entry has the URL {canonical_url(args.url)}", file=sys.stderr)
        return EXIT_PUBLISH_FAILED
    entry = found.entry
    print(f"entry {entry.id}: {entry.entry.source}: {entry.entry.title}")
    print(f"  {entry.entry.url}  published {entry.entry.published:%Y-%m-%d %H:%M} UTC")
    print(f"story {entry.story_id} ({len(found.members)} entries):")
    for member in found.members:
        mark = "*" if member.id == entry.id else "-"
        print(f"  {mark} {member.entry.source}: {member.entry.title}  (entry {member.id})")
    print(f"decision: {entry.match or 'started the story (no earlier entry matched)'}")
    print("earlier entries in the window, best match first:")
    for other, c in found.comparisons:
        verdict = "same" if c.same else "diff"
        scores = f"title {c.title:.2f}  lede {c.lede:.2f}  both {c.combined:.2f}"
        print(f"  {verdict}  {scores}  {other.entry.source}: {other.entry.title}")
        print(f"        entry {other.id}: {c.reason}")
    if not found.comparisons:
        print("  (none shares a rare word or a link with it)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"{exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "check":
        return _check(args, config)
    if args.command == "explain":
        return _explain(args, config)
    if args.command == "status":
        return _status(args, config)
    if args.command == "schedule":
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
        )
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own line per cycle
        db, output = _paths(args)
        return schedule.serve(config, schedule.Paths(db, output, args.wait), args.every)
    fetch = args.command in ("run", "fetch")
    publish = args.command in ("run", "publish")
    return _cycle(args, config, fetch=fetch, publish=publish)
