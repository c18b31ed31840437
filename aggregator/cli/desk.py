"""`add`, `remove` and `opml`: the editors' desk changes feeds.yaml, keeping every other byte."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator import pipeline
from aggregator.cli.common import EXIT_OK, EXIT_USAGE, CommandFailed
from aggregator.config import Config, ConfigError, load_yaml
from aggregator.discover import Found, NoFeed, discover
from aggregator.feedsfile import EditError, add_source, add_sources, remove_source, write_config
from aggregator.languages import language_tag
from aggregator.normalize import canonical_url
from aggregator.opml import OpmlError, opml_bytes, read_opml


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
    opml_p = commands.add_parser("opml", help="the sources as OPML, or sources from OPML")
    opml_commands = opml_p.add_subparsers(dest="opml_command", required=True, metavar="ACTION")
    export_p = opml_commands.add_parser("export", parents=[common], help="write OPML 2.0")
    export_p.add_argument("-o", "--out", type=Path, help="file to write (default: stdout)")
    export_p.set_defaults(handler=opml_export)
    import_p = opml_commands.add_parser(
        "import", parents=[common], help="add the feeds of an OPML file that are not followed"
    )
    import_p.add_argument("file", type=Path)
    import_p.add_argument("--category", help="for every imported feed (default: its folder)")
    import_p.set_defaults(handler=opml_import, needs_config=False)


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


def opml_export(args: argparse.Namespace, config: Config) -> int:
    data = opml_bytes(config)
    if args.out:
        write_config(args.out, data.decode("utf-8"))
        print(f"wrote {len(config.sources)} sources to {args.out}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return EXIT_OK


def _followed(path: Path, text: str) -> tuple[set[str], set[str]]:
    """Names and canonical feed URLs already in feeds.yaml, read even from a file that does
    not validate yet (an empty one, before the first import)."""
    blank = all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())
    data, _ = ({}, None) if blank else load_yaml(text, path)
    sources = data.get("sources") if isinstance(data, dict) else None
    names, urls = set(), set()
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict):
            names.add(str(source.get("name")))
            urls.add(canonical_url(str(source.get("url", ""))).rstrip("/"))
    return names, urls


def opml_import(args: argparse.Namespace, _config: Config | None) -> int:
    path: Path = args.config
    try:
        outlines = read_opml(args.file.read_bytes())
    except (OSError, OpmlError) as exc:
        raise CommandFailed(f"{args.file}: {exc}", EXIT_USAGE) from None
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        names, urls = _followed(path, text)
    except ConfigError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None
    new: list[dict[str, object]] = []
    for outline in outlines:
        url = canonical_url(outline.xml_url).rstrip("/")
        name = outline.title or urlsplit(outline.xml_url).hostname or outline.xml_url
        if url in urls:
            print(f"skipped {name!r}: already followed")
            continue
        if name in names:
            name = f"{name} ({urlsplit(outline.xml_url).hostname})"
        if name in names:
            print(f"skipped {outline.xml_url}: the name {name!r} is taken")
            continue
        fields: dict[str, object] = {"name": name, "url": outline.xml_url}
        if outline.html_url:
            fields["homepage"] = outline.html_url
        if outline.language:
            fields["language"] = outline.language
        if args.category or outline.category:
            fields["category"] = args.category or outline.category
        new.append(fields)
        names.add(name)
        urls.add(url)
    if not new:
        print(f"nothing to import: every feed of {args.file} is followed already")
        return EXIT_OK
    try:
        text, _ = add_sources(text, new, path)
    except EditError as exc:
        raise CommandFailed(f"{path}: {exc}") from None
    write_config(path, text)
    print(f"imported {len(new)} of {len(outlines)} feeds from {args.file} into {path}")
    return EXIT_OK
