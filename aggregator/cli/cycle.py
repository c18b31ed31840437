"""`run`, `fetch` and `publish`: the pipeline, whole or in halves, with the run report."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aggregator.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    NO_SOURCES,
    CommandFailed,
    Handler,
    error,
    locked,
    open_store,
    paths,
    say,
)
from aggregator.config import Config
from aggregator.errors import counted
from aggregator.models import Outcome, RunReport, SourceResult
from aggregator.pacing import NETWORK_DOWN
from aggregator.pipeline import run
from aggregator.retention import prune_said


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    run_p = commands.add_parser("run", parents=[common], help="fetch, store, dedupe and publish")
    fetch_p = commands.add_parser("fetch", parents=[common], help="fetch and store, no publish")
    for sub, fetch, publish in ((run_p, True, True), (fetch_p, True, False)):
        sub.add_argument("--json", action="store_true", help="print the run report as JSON")
        sub.add_argument(
            "--force",
            action="store_true",
            help="fetch every enabled source now, due or not (a server's Retry-After still holds)",
        )
        sub.set_defaults(handler=cycle_handler(fetch, publish))
    publish_p = commands.add_parser("publish", parents=[common], help="publish from stored stories")
    publish_p.set_defaults(handler=cycle_handler(False, True))


def line(result: SourceResult) -> str:
    """The report line of one source."""
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
            f"ok         {result.source}: {counted(result.entries_seen, 'entry', 'entries')}, "
            f"{result.new_entries} new"
        )
        return f"{text} {timing}"
    return f"unchanged  {result.source}: {result.outcome.replace('_', ' ')} {timing}"


def print_result(result: SourceResult) -> None:
    say(line(result))
    if result.warning:
        say(f"warning    {result.source}: {result.warning}")
    if result.skipped_text:
        say(f"warning    {result.source}: {result.skipped_text}")


class ProgressReport:
    """For a person at a terminal: a progress bar over the sources, with only the lines that
    need attention (failures, warnings) printed above it. Cron and logs get `print_result`."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("fetching", total=total)

    def __enter__(self) -> ProgressReport:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, result: SourceResult) -> None:
        text = line(result)
        if result.failed or result.outcome is Outcome.DISABLED:
            self.progress.console.print(text, markup=False, highlight=False)
        for warning in filter(None, (result.warning, result.skipped_text)):
            self.progress.console.print(
                f"warning    {result.source}: {warning}", markup=False, highlight=False
            )
        self.progress.advance(self.task)
        task = self.progress.tasks[0]
        if task.completed >= (task.total or 0):
            self.progress.update(self.task, description="merging and publishing")


def summary(report: RunReport, output: Path) -> str:
    skipped = f", {report.sources_skipped} not fetched" if report.sources_skipped else ""
    text = (
        f"summary: {counted(report.sources_ok, 'source', 'sources')} ok, "
        f"{report.sources_failed} failed{skipped}; "
        f"{counted(report.new_entries, 'new entry', 'new entries')}"
    )
    if report.offline:
        text = f"{text}; {NETWORK_DOWN}"
    if report.publish_error:
        return f"{text}; NOT published: {report.publish_error}"
    stories = counted(report.stories_published, "story", "stories")
    return f"{text}; {stories} published to {output}"


def report_json(report: RunReport) -> str:
    data = {
        "started": report.started.isoformat(),
        "finished": report.finished.isoformat() if report.finished else None,
        "sources_ok": report.sources_ok,
        "sources_failed": report.sources_failed,
        "sources_not_fetched": report.sources_skipped,
        "new_entries": report.new_entries,
        "stories_published": report.stories_published,
        "publish_error": report.publish_error,
        "offline": report.offline,
        "problems": report.problems,
        "pruned": asdict(report.pruned) if report.pruned else None,
        "sources": [asdict(r) for r in report.results],
    }
    return json.dumps(data, ensure_ascii=False, indent=2, default=_jsonable)


def _jsonable(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def cycle_handler(fetch: bool, publish: bool) -> Handler:
    """The handler of `run` (both halves), `fetch` or `publish`."""

    def handle(args: argparse.Namespace, config: Config) -> int:
        if fetch and not config.sources:
            raise CommandFailed(NO_SOURCES.format(config=args.config), EXIT_USAGE)
        _, output = paths(args)
        quiet = getattr(args, "json", False)
        interactive = not quiet and fetch and sys.stdout.isatty()
        with contextlib.ExitStack() as stack:
            stack.enter_context(locked(args))
            store = stack.enter_context(open_store(args))
            on_result: Callable[[SourceResult], None] | None = None if quiet else print_result
            if interactive:
                on_result = stack.enter_context(ProgressReport(len(config.sources)))
            report = run(
                config,
                store,
                output,
                on_result=on_result,
                fetch=fetch,
                publish_outputs=publish,
                force=getattr(args, "force", False),
            )
        if quiet:
            say(report_json(report))
        else:
            for problem in report.problems:
                say(f"warning    {problem}")
            if report.pruned and report.pruned.removed:
                say(prune_said(report.pruned))
            say(summary(report, output))
        if report.publish_error:
            error(report.publish_error)
            return EXIT_FAILED
        return EXIT_OK

    return handle
