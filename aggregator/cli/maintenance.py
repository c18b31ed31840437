"""`prune` and `schedule`: keeping the state bounded, and the long-running daemon."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from aggregator import pipeline, schedule
from aggregator.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    NO_SOURCES,
    CommandFailed,
    locked,
    open_store,
    paths,
    seconds,
)
from aggregator.config import Config
from aggregator.retention import prune, prune_said


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    prune_p = commands.add_parser(
        "prune", parents=[common], help="apply retention now (runs also prune, once a day)"
    )
    prune_p.add_argument(
        "--dry-run", action="store_true", help="say what would be removed, remove nothing"
    )
    prune_p.set_defaults(handler=prune_command)
    schedule_p = commands.add_parser(
        "schedule", parents=[common], help="daemon: fetch when due, publish daily editions"
    )
    schedule_p.add_argument(
        "--every",
        type=seconds(1, 7 * 24 * 3600),
        default=300,
        metavar="SECONDS",
        help="seconds between fetch cycles (300); each cycle fetches only the due sources",
    )
    schedule_p.set_defaults(handler=schedule_command)


def prune_command(args: argparse.Namespace, config: Config) -> int:
    with locked(args), open_store(args, create=False) as store:
        report = prune(store, config.retention, pipeline.utcnow(), dry_run=args.dry_run)
    print(prune_said(report))
    return EXIT_OK


def schedule_command(args: argparse.Namespace, config: Config) -> int:
    if not config.sources:
        raise CommandFailed(NO_SOURCES.format(config=args.config), EXIT_USAGE)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own line per cycle
    db, output = paths(args)
    return schedule.serve(config, schedule.Paths(db, output, args.wait, args.config), args.every)
