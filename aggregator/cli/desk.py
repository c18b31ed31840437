"""`add`, `remove`, `links` and `opml`: the editors' desk changes feeds.yaml, keeping every
other byte of it."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator import pipeline
from aggregator.cli.common import EXIT_OK, EXIT_USAGE, CommandFailed, say
from aggregator.config import (
    Config,
    ConfigError,
    feed_scheme_url,
    load_config,
    load_yaml,
    read_config_text,
)
from aggregator.discover import Found, NoFeed, discover, feed_problem
from aggregator.errors import counted
from aggregator.feedsfile import EditError, add_sources, remove_source, write_config
from aggregator.fetch import fetch_one
from aggregator.languages import language_tag
from aggregator.links import Reconciliation, linked_sites, reconcile
from aggregator.models import FetchRequest, FetchStatus
from aggregator.normalize import feed_key, without_credentials
from aggregator.opml import OpmlError, Outline, OutlineKind, opml_bytes, read_opml


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    add_p = commands.add_parser(
        "add", parents=[common], help="find a site's feed and add it to feeds.yaml"
    )
    add_p.add_argument("url", help="a feed, or a web page whose feed is to be found")
    add_p.add_argument("--name", help="(default: the feed's own title)")
    add_p.add_argument("--category", help="(default: News)")
    add_p.add_argument("--language", help="BCP 47 tag (default: the feed's own)")
    add_p.add_argument("--own", action="store_true", help="the desk's own site")
    add_p.add_argument(
        "--accept-invalid-certificate",
        action="store_true",
        help="read a site whose certificate fails its checks (expired...), unverified",
    )
    add_p.set_defaults(handler=add, needs_config=False)  # a desk starts with its first add
    remove_p = commands.add_parser("remove", parents=[common], help="remove a source")
    remove_p.add_argument("name")
    remove_p.set_defaults(handler=remove)
    links_p = commands.add_parser(
        "links", parents=[common], help="compare the desk's links page with feeds.yaml"
    )
    links_p.add_argument("page", help='the "Links to More News" page')
    links_p.add_argument("--apply", action="store_true", help="add the linked sites with a feed")
    links_p.set_defaults(handler=links_command)
    opml_p = commands.add_parser("opml", help="the sources as OPML, or sources from OPML")
    opml_commands = opml_p.add_subparsers(dest="opml_command", required=True, metavar="ACTION")
    export_p = opml_commands.add_parser("export", parents=[common], help="write OPML 2.0")
    export_p.add_argument("-o", "--out", type=Path, help="file to write (default: stdout)")
    export_p.set_defaults(handler=opml_export)
    import_p = opml_commands.add_parser(
        "import", parents=[common], help="add the feeds of an OPML file that are not followed"
    )
    import_p.add_argument("file", help="an OPML file, or the http(s) URL of one")
    import_p.add_argument("--category", help="for every imported feed (default: its folder)")
    import_p.set_defaults(handler=opml_import, needs_config=False)


def same_feed(config: Config, url: str) -> str | None:
    """The name of the source that already follows `url` (compared as canonical URLs)."""
    wanted = feed_key(url)
    return next((s.name for s in config.sources if feed_key(s.url) == wanted), None)


def source_fields(found: Found, name: str | None = None, **given: object) -> dict[str, object]:
    """The feeds.yaml keys of a newly found feed: what the editor gave, else what the feed says."""
    fields: dict[str, object] = {
        "name": name or found.title or urlsplit(found.url).hostname or found.url,
        "url": found.url,
    }
    if found.page:
        fields["homepage"] = without_credentials(found.page)  # a public link: no login
    language = given.get("language") or found.language
    if language:
        fields["language"] = language
    fields.update({k: v for k, v in given.items() if v and k != "language"})
    return fields


def _config_text(path: Path) -> str:
    """feeds.yaml's text, as `load_config` reads it: a file it cannot read fails the command."""
    try:
        return read_config_text(path)
    except ConfigError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None


def _append(path: Path, sources: list[dict[str, object]], text: str | None = None) -> None:
    """Append sources to feeds.yaml (its current `text`, if read already) and replace it."""
    if text is None:
        text = _config_text(path)
    try:
        edited, _ = add_sources(text, sources, path)
    except EditError as exc:
        raise CommandFailed(f"{path}: {exc}") from None
    write_config(path, edited)


_BARE_SITE = re.compile(r"[^\s/:?#@]+\.[^\s/:?#@.]{2,}(?::\d+)?(?:[/?#]\S*)?")


def as_url(text: str) -> str:
    """What an editor typed as a URL for add or links: a bare site ("tolonews.com/fa", as an
    address bar shows it) is taken as https, a subscribe button's `feed://` as the http URL it
    stands for; anything else as it is (fetching refuses what is no URL)."""
    text = text.strip()
    return f"https://{text}" if _BARE_SITE.fullmatch(text) else feed_scheme_url(text) or text


NEW_FILE = (
    "# The sources this desk follows, and how they are merged and published: every key in\n"
    '# README, section "feeds.yaml". `aggregator add URL` adds a source; `aggregator check`\n'
    "# validates this file.\n"
)


def _desk_text(path: Path) -> str:
    """feeds.yaml's text for a command that adds sources: a file not there yet, or empty, is a
    desk's start, written with a comment that says what it is."""
    text = _config_text(path) if path.exists() else ""
    return text if text.strip() else NEW_FILE


def _starting(path: Path) -> tuple[Config, str]:
    """feeds.yaml and its text for `add`, as `_desk_text` reads it."""
    text = _desk_text(path)
    if text is NEW_FILE:
        return Config(), text
    try:
        return load_config(path), text
    except ConfigError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None


def add(args: argparse.Namespace, _config: Config | None) -> int:
    config, text = _starting(args.config)
    if args.language and language_tag(args.language) is None:
        raise CommandFailed(f"--language {args.language!r} is not a BCP 47 tag", EXIT_USAGE)
    url = as_url(args.url)
    known = same_feed(config, url)
    if known:
        raise CommandFailed(f"{url} is already followed as {known!r}", EXIT_USAGE)
    insecure = args.accept_invalid_certificate
    try:
        found = discover(url, pipeline.fetch_options(config), verify=not insecure)
    except NoFeed as exc:
        hint = "; to read it all the same, unverified: --accept-invalid-certificate"
        refused = "TLS: the site's certificate" in str(exc)
        raise CommandFailed(f"{exc}{hint if refused else ''}") from None
    known = same_feed(config, found.url)
    if known:
        raise CommandFailed(f"{found.url} is already followed as {known!r}", EXIT_USAGE)
    language = language_tag(args.language) if args.language else None  # "Dari" -> fa
    fields = source_fields(
        found,
        args.name,
        category=args.category,
        language=language,
        own=args.own,
        accept_invalid_certificate=insecure,
    )
    if fields["name"] in {s.name for s in config.sources}:
        raise CommandFailed(
            f"a source named {fields['name']!r} exists already: choose another with --name",
            EXIT_USAGE,
        )
    _append(args.config, [fields], text)
    entries = counted(found.entries, "entry", "entries")
    say(f"added {fields['name']!r}: {found.url} ({found.how}; {entries})")
    if found.misdeclared and "language" not in fields:
        print(
            f"note: the feed declares {found.misdeclared} but its titles are in Arabic script: "
            f"give the source language: fa (Dari) or ps (Pashto) in {args.config}"
        )
    elif "language" not in fields:
        print("note: the feed declares no language, so it is read as en: pass --language fa or ps")
    return EXIT_OK


def remove(args: argparse.Namespace, config: Config) -> int:
    path: Path = args.config
    try:
        text, _ = remove_source(_config_text(path), args.name, path)
    except EditError as exc:
        raise CommandFailed(f"{path}: {exc}", EXIT_USAGE) from None
    write_config(path, text)
    print(f"removed {args.name!r} from {path}")
    return EXIT_OK


def opml_export(args: argparse.Namespace, config: Config) -> int:
    data = opml_bytes(config)
    if args.out:
        write_config(args.out, data.decode("utf-8"))
        print(f"wrote {counted(len(config.sources), 'source', 'sources')} to {args.out}")
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
            urls.add(feed_key(str(source.get("url", ""))))
    return names, urls


def _not_a_feed(outline: Outline) -> str:
    """Why an outline of an OPML file is not imported, and what the editor can do instead."""
    url = outline.xml_url
    if outline.kind is OutlineKind.PAGE:
        return f"it names a page, not its feed: aggregator add {url} finds the feed"
    if outline.kind is OutlineKind.LIST:
        return f"it is another OPML list: aggregator opml import {url} adds its feeds"
    return f"its feed, {url!r}, is no http(s) URL"


def _opml_data(where: str) -> bytes:
    """An OPML file's bytes, from disk or from its http(s) URL (a reader's shared list, the
    link `add` found); OSError when it cannot be had."""
    if not where.lower().startswith(("http://", "https://")):
        return Path(where).read_bytes()
    answer = fetch_one(FetchRequest("OPML list", where), pipeline.fetch_options(Config()))
    if answer.status is not FetchStatus.OK:
        raise OSError(answer.error or answer.status.value)
    return answer.body or b""


def opml_import(args: argparse.Namespace, _config: Config | None) -> int:
    path: Path = args.config
    shown = without_credentials(args.file)  # a shared list's URL may carry a login
    try:
        outlines = read_opml(_opml_data(args.file))
    except (OSError, OpmlError) as exc:
        raise CommandFailed(f"{shown}: {exc}", EXIT_USAGE) from None
    text = _desk_text(path)
    try:
        names, urls = _followed(path, text)
    except ConfigError as exc:
        raise CommandFailed(str(exc), EXIT_USAGE) from None
    new: list[dict[str, object]] = []
    feeds = [o for o in outlines if o.kind in {OutlineKind.FEED, OutlineKind.UNFOLLOWABLE}]
    for outline in outlines:
        if outline.kind is not OutlineKind.FEED:
            say(f"skipped {outline.title or outline.xml_url!r}: {_not_a_feed(outline)}")
            continue
        url = feed_key(outline.xml_url)
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
        followed = any(o.kind is OutlineKind.FEED for o in outlines)
        why = "every feed of it is followed already" if followed else "it has no feed to follow"
        print(f"nothing to import from {shown}: {why}")
        return EXIT_OK
    _append(path, new, text)
    of = counted(len(feeds), "feed", "feeds")
    print(f"imported {len(new)} of {of} from {shown} into {path}")
    return EXIT_OK


def links_command(args: argparse.Namespace, config: Config) -> int:
    options = pipeline.fetch_options(config)
    url = as_url(args.page)
    page = fetch_one(FetchRequest("links page", url), options)
    if page.status is not FetchStatus.OK:
        raise CommandFailed(f"{url}: {page.error or page.status}")
    own = [config.site.link, *(s.homepage or s.url for s in config.sources if s.own)]
    content_type = page.headers.get("content-type", "")
    sites = linked_sites(page.body or b"", page.final_url, own, content_type)
    report = reconcile(
        config,
        sites,
        lambda url: discover(url, options),
        lambda source: feed_problem(
            source.url, options, source.type == "html", not source.accept_invalid_certificate
        ),
        options.concurrency,
    )
    _print_links(args, config, report)
    if not args.apply:
        return EXIT_OK
    names = {s.name for s in config.sources}
    new = []
    for site, found, _ in report.new:
        if found is None:
            continue
        fields = source_fields(found, site.text or None)
        fields["homepage"] = site.url
        if fields["name"] in names:
            fields["name"] = f"{fields['name']} ({site.key})"
        names.add(str(fields["name"]))
        new.append(fields)
    if not new:
        print("nothing to add: no new linked site has a feed")
        return EXIT_OK
    _append(args.config, new)
    names = ", ".join(str(f["name"]) for f in new)
    print(f"added {counted(len(new), 'source', 'sources')} to {args.config}: {names}")
    return EXIT_OK


def _print_links(args: argparse.Namespace, config: Config, report: Reconciliation) -> None:
    """The diff: + linked, not followed; - followed, no longer linked; ~ moved; ! failing."""
    print(f"{args.page}: {report.linked} outside sites linked; {report.same} followed as they are")
    for site, found, why in report.new:
        name = site.text or site.key
        if found:
            entries = counted(found.entries, "entry", "entries")
            say(f"+ {name} ({site.url}): feed {found.url} ({found.how}, {entries})")
        else:
            reason = why.split(":", 1)[0] if why.startswith("no feed found") else why
            say(f"+ {name} ({site.url}): no feed: candidate for an html source ({reason})")
    for source in report.unlinked:
        line = config.line_of(source.name, "name")
        print(f"- {source.name}: followed (feeds.yaml line {line}) but no longer linked")
    for source, new_url in report.moved:
        line = config.line_of(source.name, "url")
        say(f"~ {source.name}: feed moved: {source.url} -> {new_url} (feeds.yaml line {line})")
    for source, problem in report.failing:
        say(f"! {source.name}: feed fails: {problem}")
    if not args.apply:
        print("nothing was changed; --apply adds the new sites that have a feed")
