"""`explain`: why an entry joined its story, for editors asking "why did these merge?"."""

from __future__ import annotations

import argparse
from typing import Any

from aggregator.cli.common import EXIT_FAILED, EXIT_OK, error, open_store
from aggregator.config import Config
from aggregator.dedupe import explain
from aggregator.normalize import canonical_url


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    explain_p = commands.add_parser(
        "explain", parents=[common], help="why an entry joined (or did not join) a story"
    )
    explain_p.add_argument("url", help="the entry's link (tracking parameters are ignored)")
    explain_p.set_defaults(handler=explain_command)


def explain_command(args: argparse.Namespace, config: Config) -> int:
    with open_store(args, create=False) as store:
        found = explain(store, config, canonical_url(args.url))
    if found is None:
        error(f"no stored entry has the URL {canonical_url(args.url)}")
        return EXIT_FAILED
    entry = found.entry
    print(f"entry {entry.id}: {entry.entry.source}: {entry.entry.title}")
    when = f"{entry.entry.published:%Y-%m-%d %H:%M} UTC"
    if entry.entry.dated:
        print(f"  {entry.entry.url}  published {when}")
    else:
        written = entry.entry.date_text or "none"
        print(f"  {entry.entry.url}  first seen {when} (the feed's date was not usable: {written})")
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
