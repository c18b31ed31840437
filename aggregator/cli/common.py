"""What every command shares: exit codes, the paths beside feeds.yaml, the lock, the database."""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from aggregator.config import Config
from aggregator.lock import Busy, exclusive
from aggregator.normalize import without_credentials
from aggregator.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY = 0, 1, 2, 3
Handler = Callable[[argparse.Namespace, Config], int]
Number = TypeVar("Number", int, float)


def bounded(
    convert: Callable[[str], Number], what: str, least: float, most: float = math.inf
) -> Callable[[str], Number]:
    """An argparse type: `what` (read by `convert`) from `least` to `most`. A negative or zero
    interval made the scheduler loop without end and fill the memory, nan made the lock raise,
    a port past 65535 made bind() raise."""

    def read(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not least <= value <= most:  # nan too
            span = f"from {least:g} to {most:g}" if most < math.inf else f"of at least {least:g}"
            raise argparse.ArgumentTypeError(f"{text} is not {what} {span}")
        return value

    return read


def seconds(least: float, most: float = math.inf) -> Callable[[str], float]:
    """An argparse type: a number of seconds from `least` to `most`."""
    return bounded(float, "a number of seconds", least, most)


def common_options() -> argparse.ArgumentParser:
    """--config, --db, --output and --wait, accepted by every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("feeds.yaml"), help="feeds.yaml path")
    common.add_argument("--db", type=Path, help="state database (default: aggregator.db beside it)")
    common.add_argument("--output", type=Path, help="output folder (default: output/ beside it)")
    common.add_argument(
        "--wait",
        type=seconds(0),
        default=300,
        metavar="SECONDS",
        help="how long to wait for another running aggregator before exiting with 3 (300)",
    )
    return common


def paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The database and output folder: given, or beside feeds.yaml."""
    base = args.config.parent
    return args.db or base / "aggregator.db", args.output or base / "output"


NO_SOURCES = "{config} has no sources yet: add one with `aggregator add URL` (a site or its feed)"


def error(message: str) -> None:
    """Print a command's error (a feed's password never in it)."""
    print(f"error: {without_credentials(message)}", file=sys.stderr)


class CommandFailed(Exception):
    """A command cannot go on; the message is printed and the exit code returned."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def locked(args: argparse.Namespace) -> Iterator[None]:
    """Hold the lock beside the database, waiting `--wait` seconds for another aggregator."""
    db, _ = paths(args)
    with ExitStack() as held:
        try:
            held.enter_context(exclusive(db, args.wait))
        except Busy as exc:
            raise CommandFailed(str(exc), EXIT_BUSY) from None
        except OSError as exc:  # no folder for the lock file (and the database) can be made
            raise CommandFailed(f"cannot use the database folder {db.parent}: {exc}") from None
        yield


def say(text: str) -> None:
    """Print a line of a report (a feed's password never in it), and go on without one when
    nobody reads it any more: the run's work matters more than its log (`aggregator run |
    head`, a full disk under a log)."""
    try:
        print(without_credentials(text), flush=True)
    except OSError:  # a closed pipe, no space left: later lines go nowhere, quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextmanager
def open_store(args: argparse.Namespace, create: bool = True) -> Iterator[Store]:
    """The state database; unless `create`, a missing one is an error rather than a new file."""
    db, _ = paths(args)
    if not create and not db.exists():
        raise CommandFailed(f"no database at {db}: run `aggregator run` first")
    try:
        store = Store(db)
    except (sqlite3.Error, RuntimeError) as exc:
        raise CommandFailed(f"cannot open database {db}: {exc}") from None
    with store:
        yield store
