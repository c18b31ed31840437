"""The `aggregator` command line: one module per group of commands, one handler per command.

cycle.py: run, fetch, publish · sources.py: check, status · desk.py: add, remove, links, opml ·
stories.py: explain, split, merge, overrides · maintenance.py: prune, schedule ·
preview.py: demo, serve · common.py: paths, lock, database, exit codes.
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import sys

from aggregator import __version__
from aggregator.cli import cycle, desk, maintenance, preview, sources, stories
from aggregator.cli.common import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    common_options,
    error,
    paths,
)
from aggregator.config import ConfigError, load_config
from aggregator.store import database_failure

__all__ = ["EXIT_BUSY", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Fetch Afghan news feeds, merge duplicates, publish feeds and a digest.",
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for group in (cycle, sources, desk, stories, maintenance, preview):
        group.add_parsers(commands, common)
    return parser


def _never_fail_to_print() -> None:
    """Keep the terminal's or log's encoding, but write what it cannot hold as escapes: under a
    Latin-1 locale (an old server's cron) a Dari source name stopped the run at its first line."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    _never_fail_to_print()
    args = build_parser().parse_args(argv)
    config = None
    if getattr(args, "needs_config", True):
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            print(f"{exc}", file=sys.stderr)
            return EXIT_USAGE
    try:
        return args.handler(args, config)
    except CommandFailed as exc:
        error(str(exc))
        return exc.code
    except sqlite3.Error as exc:
        if not database_failure(exc):
            raise
        db = f" {paths(args)[0]}" if hasattr(args, "db") else ""  # demo, serve: their own
        error(f"cannot use the database{db}: {exc} (stopped; nothing is left half-written)")
        return EXIT_FAILED
