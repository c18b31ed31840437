"""`explain`, `split`, `merge` and `overrides`: why an entry is in its story, and an editor's
corrections when the matching got it wrong."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from aggregator import pipeline
from aggregator.cli.common import EXIT_FAILED, EXIT_OK, CommandFailed, error, locked, open_store
from aggregator.config import Config
from aggregator.errors import counted
from aggregator.languages import name_of
from aggregator.models import OverrideKind
from aggregator.normalize import canonical_url
from aggregator.store import Store
from aggregator.stories import OverrideError, explain, merge, split, undo


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    explain_p = commands.add_parser(
        "explain", parents=[common], help="why an entry joined (or did not join) a story"
    )
    explain_p.add_argument("url", help="the entry's link (tracking parameters are ignored)")
    explain_p.set_defaults(handler=explain_command)
    split_p = commands.add_parser(
        "split", parents=[common], help="take an entry out of its story, and keep it out"
    )
    split_p.add_argument("url", help="the entry's link")
    split_p.add_argument("--undo", action="store_true", help="forget the split")
    split_p.set_defaults(handler=split_command)
    merge_p = commands.add_parser(
        "merge", parents=[common], help="put an entry into another entry's story, for good"
    )
    merge_p.add_argument("url", help="the entry to move")
    merge_p.add_argument("other_url", help="an entry of the story it belongs to")
    merge_p.add_argument("--undo", action="store_true", help="forget the merge")
    merge_p.set_defaults(handler=merge_command)
    overrides_p = commands.add_parser(
        "overrides", parents=[common], help="list the editors' splits and merges"
    )
    overrides_p.set_defaults(handler=overrides_command)


AFTER = "the published files change at the next run (or `aggregator publish`)"


def _correct(args: argparse.Namespace, change: Callable[[Store], str]) -> int:
    """Make one correction in a transaction, holding the lock as a run does."""
    with locked(args), open_store(args, create=False) as store:
        try:
            with store.transaction():
                print(change(store))
        except OverrideError as exc:
            raise CommandFailed(str(exc)) from None
    print(AFTER)
    return EXIT_OK


def _stored(store: Store, pasted: str) -> str:
    """The URL an entry is stored under for the one an editor gave (canonical, or another copy
    of the page: http, www., a trailing slash, AMP), or that URL canonical if none has it."""
    url = canonical_url(pasted)
    return store.stored_url(url) or url


def split_command(args: argparse.Namespace, config: Config) -> int:
    now = pipeline.utcnow()
    if args.undo:
        return _correct(
            args, lambda store: undo(store, OverrideKind.SPLIT, _stored(store, args.url))
        )
    return _correct(
        args, lambda store: split(store, config.site.link, _stored(store, args.url), now)
    )


def merge_command(args: argparse.Namespace, _config: Config) -> int:
    now = pipeline.utcnow()

    def urls(store: Store) -> tuple[str, str]:
        return _stored(store, args.url), _stored(store, args.other_url)

    if args.undo:
        return _correct(args, lambda store: undo(store, OverrideKind.MERGE, *urls(store)))
    return _correct(args, lambda store: merge(store, *urls(store), now))


def overrides_command(args: argparse.Namespace, _config: Config) -> int:
    with open_store(args, create=False) as store:
        listed = store.overrides()
    for override in listed:
        when = f"{override.created:%Y-%m-%d %H:%M} UTC"
        other = f" {override.other_url}" if override.other_url else ""
        print(f"{override.kind.value:<6} {override.url}{other}  ({when})")
    if not listed:
        print("no overrides: every story is as the matching made it")
    return EXIT_OK


def explain_command(args: argparse.Namespace, config: Config) -> int:
    with open_store(args, create=False) as store:
        url = _stored(store, args.url)
        found = explain(store, config, url)
    if found is None:
        error(f"no stored entry has the URL {url}")
        return EXIT_FAILED
    entry = found.entry
    print(f"entry {entry.id}: {entry.entry.source}: {entry.entry.title}")
    when = f"{entry.entry.published:%Y-%m-%d %H:%M} UTC"
    if entry.entry.dated:
        print(f"  {entry.entry.url}  published {when}")
    else:
        written = entry.entry.date_text or "none"
        print(f"  {entry.entry.url}  first seen {when} (the feed's date was not usable: {written})")
    print(f"story {entry.story_id} ({counted(len(found.members), 'entry', 'entries')}):")
    for member in found.members:
        mark = "*" if member.id == entry.id else "-"
        print(f"  {mark} {member.entry.source}: {member.entry.title}  (entry {member.id})")
    print(f"decision: {entry.match or 'started the story (no earlier entry matched)'}")
    for other, reason in found.translations:
        language = other.entry.language
        print(
            f"also in {name_of(language)} ({language}): {other.entry.source}: {other.entry.title}"
        )
        print(f"        story {other.story_id}: {reason}")
    for override in found.overrides:
        other = f" with {override.other_url}" if override.other_url else ""
        print(
            f"editor's override: {override.kind.value} {override.url}{other} "
            f"({override.created:%Y-%m-%d %H:%M} UTC; undo with --undo)"
        )
    print("earlier entries in the window, best match first:")
    for other, c in found.comparisons:
        verdict = "same" if c.same else "diff"
        scores = f"title {c.title:.2f}  lede {c.lede:.2f}  both {c.combined:.2f}"
        print(f"  {verdict}  {scores}  {other.entry.source}: {other.entry.title}")
        print(f"        entry {other.id}: {c.reason}")
    if not found.comparisons:
        print("  (none shares a rare word or a link with it)")
    return EXIT_OK
