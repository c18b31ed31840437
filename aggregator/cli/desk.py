"""`add` and `remove`: the editors' desk changes feeds.yaml, keeping every other byte of it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator import pipeline
from aggregator.cli.common import EXIT_OK, EXIT_USAGE, CommandFailed
from aggregator.config import Config
from aggregator.discover import Found, NoFeed, discover
from aggregator.feedsfile import EditError, add_source, remove_source, write_config
from aggregator.languages import language_tag
from aggregator.normalize import canonical_url


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    add_p = commands.add_parser(
        "add", parents=[common], help="find a site's feed and add it to feeds.yaml"
    )
    add_p.add_argument("url", help="a feed, or a web page whose feed is to be found")
    add_p.add_argument("--name", help="(default: the feed's own title)")
    add_p.add_argument("--category", help="(default: News)")
    add_p.add_argument("--language", help="BCP 47 tag (default: the feed's own)")
    add_p.add_argument("--own", action="store_true", help="the desk's own site")
    add_p.set_defaults(handler=add)
    remove_p = commands.add_parser("remove", parents=[common], help="remove a source")
    remove_p.add_argument("name")
    remove_p.set_defaults(handler=remove)


def same_feed(config: Config, url: str) -> str | None:
    """The name of the source that already follows `url` (compared as canonical URLs)."""
    wanted = canonical_url(url).rstrip("/")
    return next(
        (s.name for s in config.sources if canonical_url(s.url).rstrip("/") == wanted), None
    )


def source_fields(found: Found, name: str | None = None, **given: object) -> dict[str, object]:
    """The feeds.yaml keys of a newly found feed: what the editor gave, else what the feed says."""
    fields: dict[str, object] = {
        "name": name or found.title or urlsplit(found.url).hostname or found.url,
        "url": found.url,
    }
    if found.page:
        fields["homepage"] = found.page
    language = given.get("language") or found.language
    if language:
        fields["language"] = language
    fields.update({k: v for k, v in given.items() if v and k != "language"})
    return fields


def add(args: argparse.Namespace, config: Config) -> int:
    if args.language and language_tag(args.language) is None:
        raise CommandFailed(f"--language {args.language!r} is not a BCP 47 tag", EXIT_USAGE)
    known = same_feed(config, args.url)
    if known:
        raise CommandFailed(f"{args.url} is already followed as {known!r}", EXIT_USAGE)
    try:
        found = discover(args.url, pipeline.fetch_options(config))
    except NoFeed as exc:
        raise CommandFailed(str(exc)) from None
    known = same_feed(config, found.url)
    if known:
        raise CommandFailed(f"{found.url} is already followed as {known!r}", EXIT_USAGE)
    fields = source_fields(
        found, args.name, category=args.category, language=args.language, own=args.own
    )
    if fields["name"] in {s.name for s in config.sources}:
        raise CommandFailed(
            f"a source named {fields['name']!r} exists already: choose another with --name",
            EXIT_USAGE,
        )
    path: Path = args.config
    try:
        text, _ = add_source(path.read_text(encoding="utf-8"), fields, path)
    except EditError as exc:
        raise CommandFailed(f"{path}: {exc}") from None
    write_config(path, text)
    print(f"added {fields['name']!r}: {found.url} ({found.how}; {found.entries} entries)")
    if "language" not in fields:
        print("note: the feed declares no language, so it is read as en: pass --language fa or ps")
    return EXIT_OK


def remove(args: argparse.Namespace, config: Config) -> int:
    path: Path = args.config
    try:
        text, _ = remove_source(path.read_text(encoding="utf-8"), args.name, path)
    except EditError as exc:
        raise CommandFailed(f"{path}: {exc}", EXIT_USAGE) from None
    write_config(path, text)
    print(f"removed {args.name!r} from {path}")
    return EXIT_OK
