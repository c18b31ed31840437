"""Turn fetched bytes into a ParsedFeed with feedparser, telling feeds from HTML and error pages."""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import html
import html.entities
import io
import json
import re
import time
from datetime import datetime
from typing import Any

import feedparser

from aggregator.blocks import described, walls
from aggregator.charsets import (
    BOM_STARTS,
    character_refs_mended,
    codec_name,
    default_label,
    label_mended,
    mostly_utf8,
    reads_as_windows_1256,
    without_lone_surrogates,
)
from aggregator.dates import feed_date, from_struct_time, parse_date
from aggregator.errors import counted, exception_line
from aggregator.models import Media, ParsedFeed, RawEntry
from aggregator.normalize import ALLOWED_TAGS, joined_url, without_credentials
from aggregator.pacing import feed_ttl
from aggregator.rss import (
    declared_encoding,
    declaring_utf8,
    media_length,
    parse_rss,
    utf8_by_its_own_account,
)
from aggregator.sniff import what_it_is, xml_problem

_CHARSET = re.compile(r";\s*charset\s*=\s*(\"?)([^;\"\s]*)\1", re.IGNORECASE)


class NotAFeed(Exception):
    """The body parsed to no entries and is not a feed (an HTML page, an error page, garbage)."""


# what a text construct that holds HTML all the same has: a closing tag or an entity
_CLOSED_OR_ENTITY = re.compile(r"</\w+>|&#?\w+;")
_TAG_NAME = re.compile(r"</?(\w+)")
_ENTITY_NAME = re.compile(r"&(\w+);")
# elements of HTML such text is written with: its body elements, and those of old templates
_HTML_TAGS = ALLOWED_TAGS | {
    "article", "aside", "big", "center", "dfn", "div", "font", "footer", "header", "kbd",
    "nav", "picture", "samp", "section", "source", "strike", "tfoot", "tt", "var", "wbr",
}  # fmt: skip


def _as_html(detail: Any) -> str:
    """A text construct as HTML: plain text (Atom's `type="text"`, its default) escaped, so
    that `a <b> tag` or `<https://...>` in it stays text, not markup that cleaning drops. Text
    that reads as HTML (a closing tag or an entity, and only HTML's tags and entities: a
    generator that left out `type="html"`) is HTML, as feedparser reads RSS's plain text."""
    value = str(detail.get("value") or "")
    if detail.get("type") != "text/plain" or _reads_as_html(value):
        return value
    return html.escape(value, quote=False)


def _reads_as_html(text: str) -> bool:
    return (
        _CLOSED_OR_ENTITY.search(text) is not None
        and all(tag.lower() in _HTML_TAGS for tag in _TAG_NAME.findall(text))
        and all(name in html.entities.entitydefs for name in _ENTITY_NAME.findall(text))
    )


# an http(s) address in plain text, and what may end a sentence after it rather than the address
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"']+")
_AFTER_URL = ".,;:!?"


def _linked_text(text: str) -> str:
    """Plain text as HTML that reads as it was written: escaped, its line breaks kept, and its
    http(s) addresses links. YouTube's video descriptions (Media RSS's `media:description`,
    plain text, which feedparser labels HTML) are written so: a line of their own per link."""
    parts, at = [], 0
    for found in _URL_IN_TEXT.finditer(text):
        url = found[0].rstrip(_AFTER_URL)
        while url.endswith(")") and url.count("(") < url.count(")"):  # "(see https://x/a)"
            url = url[:-1].rstrip(_AFTER_URL)
        end = found.start() + len(url)
        address = html.escape(url)
        parts += [
            html.escape(text[at : found.start()], quote=False),
            f'<a href="{address}">{address}</a>',
        ]
        at = end
    parts.append(html.escape(text[at:], quote=False))
    return "<br>".join("".join(parts).strip().splitlines())


def _summary(entry: Any) -> str:
    """The entry's summary as HTML (none: its first content, which feedparser copied as its
    summary). A YouTube video's is its description, plain text that feedparser labels HTML,
    unless it plainly holds HTML (a feed that copies YouTube's, with a summary of its own)."""
    detail = entry.get("summary_detail")
    if not detail:
        return _as_html((entry.get("content") or [{}])[0])
    value = str(detail.get("value") or "")
    if entry.get("yt_videoid") and not _reads_as_html(value):
        return _linked_text(value)
    return _as_html(detail)


def _content(entry: Any) -> str:
    """The fullest HTML body of an entry: `content:encoded` or Atom content, HTML preferred."""
    parts = entry.get("content") or []
    chosen = ([p for p in parts if "html" in (p.get("type") or "")] or parts or [{}])[0]
    return _as_html(chosen)


def _media(entry: Any) -> tuple[Media, ...]:
    """Enclosures, media:content and media:thumbnail, in that order, without repeats."""
    found: dict[str, Media] = {}
    for item in entry.get("enclosures") or []:
        url = item.get("href") or item.get("url")
        if url and url not in found:
            found[url] = Media(url, item.get("type") or None, media_length(item.get("length")))
    for item in entry.get("media_content") or []:
        url = item.get("url")
        if url and url not in found:
            medium = item.get("medium") or None
            size = media_length(item.get("filesize") or item.get("fileSize"))
            found[url] = Media(url, item.get("type") or None, size, medium, "content")
    for item in entry.get("media_thumbnail") or []:
        url = item.get("url")
        if url and url not in found:
            found[url] = Media(url, None, None, "image", "thumbnail")
    return tuple(found.values())


def _base(entry: Any, default: str) -> str:
    """What the entry's HTML is relative to: its own xml:base, else the feed's URL."""
    for part in [*(entry.get("content") or []), entry.get("summary_detail") or {}]:
        if part.get("base"):
            return str(part["base"])
    return default


def _date(text: str | None, parsed: time.struct_time | None) -> datetime | None:
    """A date as `rss.py` reads it, from its text (`feed_date`: feedparser's reading, with the
    zones it misreads mended), or else from what feedparser parsed."""
    return feed_date(text) if text else from_struct_time(parsed)


def _raw_entry(entry: Any, feed_url: str = "") -> RawEntry:
    link = entry.get("feedburner_origlink") or entry.get("link")
    written = dict.get(entry, "published") or dict.get(entry, "updated")
    published = _date(dict.get(entry, "published"), entry.get("published_parsed"))
    updated = _date(dict.get(entry, "updated"), dict.get(entry, "updated_parsed"))
    title_detail = entry.get("title_detail") or {}
    return RawEntry(
        guid=entry.get("id") or None,
        link=link or None,
        title=entry.get("title") or "",
        summary=_summary(entry),
        content=_content(entry),
        author=entry.get("author") or None,
        categories=tuple(t.get("term") for t in entry.get("tags") or [] if t.get("term")),
        published=published,
        updated=updated,
        date_text=None if published or updated else (written or None),
        language=title_detail.get("language") or None,
        media=_media(entry),
        base=_base(entry, feed_url),
    )


def _looks_like_html(body: bytes, content_type: str) -> bool:
    head = body[:2048].lstrip().lower()
    return "html" in content_type or head.startswith((b"<!doctype html", b"<html"))


def advertised_feed(body: bytes, base_url: str, content_type: str = "") -> str | None:
    """The feed an HTML page advertises with `<link rel="alternate">`, if any: what `add`
    would find on it."""
    from aggregator.htmlpage import feed_links  # lxml.html: only for a page that is no feed

    found = feed_links(body, base_url, content_type)
    return found[0] if found else None


def _page_hint(body: bytes, headers: dict[str, str], url: str) -> str:
    """What an HTML page in place of a feed is (`headers` in lower case): a firewall's
    challenge, or a page that advertises the feed to follow instead."""
    names = walls(headers, body, error=False)
    if names:
        return f" ({described(names)})"
    feed = advertised_feed(body, url, headers.get("content-type", ""))
    return f" (the page advertises a feed at {feed})" if feed else ""


NO_ITEMS = "not a feed: JSON without a JSON Feed `items` list"


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a JSON escape of a UTF-16 surrogate


def _json_document(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The body as a JSON object, when it is labelled JSON or plainly is a JSON Feed; NotAFeed
    for JSON that is none (an API's error object), whatever its label; None for the rest."""
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or ("json" not in content_type and not head.startswith((b"{", b"["))):
        return None  # markup labelled JSON is read by its bytes, as XML
    try:
        document = json.loads(body.decode("utf-8-sig"))
        if _SURROGATE_ESCAPE.search(body):
            document = without_lone_surrogates(document)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if "json" in content_type:
            raise NotAFeed(f"not a feed: invalid JSON ({type(exc).__name__})") from None
        return None
    if not isinstance(document, dict):  # a list, a number, null: no JSON Feed
        raise NotAFeed(NO_ITEMS)
    version, items = str(document.get("version", "")), document.get("items")
    if "jsonfeed.org" not in version and "json" not in content_type and not isinstance(items, list):
        raise NotAFeed(NO_ITEMS)  # an API's error object ({"error": ...}) under another type
    return document


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _url(base: str, value: object) -> str | None:
    """A JSON Feed URL field resolved against the feed's URL, when it is an http(s) URL."""
    text = _text(value)
    return joined_url(base, text) if text else None


def _json_item(item: dict[str, Any], base: str) -> RawEntry:
    """One JSON Feed 1.0 or 1.1 item as a RawEntry; a field of the wrong type (authors that are
    no list, a URL too broken to resolve) is read as absent, not as a reason to drop the item."""
    link = _url(base, item.get("url")) or _url(base, item.get("external_url"))
    content = _text(item.get("content_html"))
    if not content and _text(item.get("content_text")):
        content = "<p>" + html.escape(_text(item.get("content_text"))) + "</p>"
    authors = _list(item.get("authors")) or [item.get("author")]
    names = [_text(a.get("name")) for a in authors if isinstance(a, dict)]
    attachments = [a for a in _list(item.get("attachments")) if isinstance(a, dict)]
    media = [
        Media(url, _text(a.get("mime_type")) or None, media_length(a.get("size_in_bytes")))
        for a in attachments
        if (url := _url(base, a.get("url")))
    ]
    if image := _url(base, item.get("image")):
        media.append(Media(image, None, None, "image", "content"))
    written = _text(item.get("date_published")) or _text(item.get("date_modified"))
    published = parse_date(_text(item.get("date_published")))
    updated = parse_date(_text(item.get("date_modified")))
    guid = item.get("id")
    own = str(guid).strip() if isinstance(guid, str | int) and not isinstance(guid, bool) else ""
    return RawEntry(
        guid=own or None,
        link=link,
        title=_text(item.get("title")),
        summary=html.escape(_text(item.get("summary"))),
        content=content,
        author=", ".join(filter(None, names)) or None,
        categories=tuple(
            t.strip() for t in _list(item.get("tags")) if isinstance(t, str) and t.strip()
        ),
        published=published,
        updated=updated,
        language=_text(item.get("language")) or None,
        media=tuple(media),
        date_text=None if published or updated else (written or None),
    )


def _json_feed(document: dict[str, Any], final_url: str) -> ParsedFeed:
    """A JSON Feed (1.0 or 1.1) read like RSS and Atom."""
    items = document.get("items")
    if not isinstance(items, list):
        raise NotAFeed(NO_ITEMS)
    entries, unreadable = [], 0
    for item in items:
        try:
            if not isinstance(item, dict):
                raise TypeError("an item that is not an object")
            entries.append(_json_item(item, final_url))
        except Exception:
            unreadable += 1
    return ParsedFeed(
        title=_text(document.get("title")),
        link=_text(document.get("home_page_url")) or None,
        language=_text(document.get("language")) or None,
        entries=entries,
        unreadable=unreadable,
    )


_SINGLE_BYTE = ("cp125", "iso8859", "latin", "ascii", "koi8", "mac-", "cp437", "cp850", "tis")


def _mended(body: bytes) -> tuple[bytes, int]:
    """A body as its server meant it, and how many stray bytes were read as a browser reads
    them: without the blank lines a CMS plugin printed before its XML declaration (read
    anyway, but flagged as malformed); its character references to surrogates whole characters
    and those beyond Unicode U+FFFD, an encoding label with a stray byte dropped, UTF-8 with a
    few stray bytes made whole (all `charsets`); and declared UTF-8 when it names a single-byte
    charset its bytes cannot be in (UTF-8 beyond ASCII: a site moved to UTF-8 whose template
    still says windows-1256, read so, Dari turns to mojibake)."""
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        body = body.lstrip()
    body = label_mended(character_refs_mended(body))
    if body.isascii() or body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body, 0
    declared = declared_encoding(body)
    utf8 = declared in (None, "utf-8", "utf8")
    if not utf8 and not (codec_name(declared or "") or "").startswith(_SINGLE_BYTE):
        return body, 0
    mended, strays = mostly_utf8(body)
    if mended is None:
        return body, 0
    return (mended if utf8 else declaring_utf8(mended)), strays


def _read_as(body: bytes, content_type: str) -> str:
    """The Content-Type to read a body by: its charset dropped when it contradicts a body that
    is UTF-8 by its own account (valid UTF-8 beyond ASCII, declared so or not at all). That is
    a server's default label on a CMS's UTF-8 feed; read as labelled (windows-1256, say), Dari
    turns to mojibake, while a body really in a single-byte charset is almost never valid
    UTF-8. A default label (Apache's ISO-8859-1) gives way to the charset the body declares
    too: the feed's generator wrote that, and no browser shows the owner a feed's mojibake."""
    label = _CHARSET.search(content_type)
    if not label or label[2].lower() in ("utf-8", "utf8") or body.isascii():
        return content_type
    if not utf8_by_its_own_account(body) and not _declares_past_a_default(body, label[2]):
        return content_type
    return content_type[: label.start()] + content_type[label.end() :]


def _declares_past_a_default(body: bytes, label: str) -> bool:
    """Whether the HTTP charset is one servers name by default and the body's XML declaration
    names another byte-oriented charset (windows-1251, EUC-KR...), which it is read as."""
    declared = codec_name(declared_encoding(body) or "")
    return (
        default_label(label)
        and declared is not None
        and not declared.startswith("utf")
        and not default_label(declared)
    )


def parse_feed(body: bytes, headers: dict[str, str], final_url: str) -> ParsedFeed:
    """Parse a feed body (RSS, Atom or JSON Feed); raise NotAFeed when it holds no entries and
    no feed at all. Well-formed UTF-8 RSS 2.0 takes the fast path (rss.py). Links are
    resolved against `final_url` without its login: a feed behind HTTP auth published it in
    every relative link."""
    final_url = without_credentials(final_url)
    if not body.strip():
        raise NotAFeed("not a feed: the server sent an empty body")
    body, strays = _mended(body)
    response_headers = {k.lower(): v for k, v in headers.items()}
    content_type = _read_as(body, response_headers.get("content-type", ""))
    arabic = _windows_1256(body, content_type)
    if arabic is not None:
        body, content_type, read_so = arabic
    response_headers["content-type"] = content_type
    document = _json_document(body, content_type.lower())
    if document is not None:
        feed = _json_feed(document, final_url)
    else:
        language = response_headers.get("content-language")
        fast = parse_rss(body, content_type, final_url, language)
        feed = fast if fast is not None else feedparser_feed(body, response_headers, final_url)
    if strays and feed.warning is None:
        said = f"{strays} stray bytes are" if strays > 1 else "a stray byte is"
        warning = f"feed is UTF-8 but {said} not: read as a browser reads them"
        feed = dataclasses.replace(feed, warning=warning)
    if arabic is not None and feed.warning is None:
        warning = f"feed {read_so} and is not UTF-8: read as windows-1256 (Arabic script)"
        feed = dataclasses.replace(feed, warning=warning)
    return feed


def _windows_1256(body: bytes, content_type: str) -> tuple[bytes, str, str] | None:
    """A body that is Arabic-script text in windows-1256 though it names no charset, or only
    one a server or template names by default (`charsets.default_label`: Apache's ISO-8859-1)
    or UTF-8, which its bytes are not, as UTF-8, with its Content-Type unlabelled and what it
    had said. feedparser read an old Dari site's unlabelled feed as iso-8859-2, and a labelled
    one as labelled (or, labelled UTF-8, as iso-8859-2): every title mojibake. None for any
    other body (UTF-8, a BOM, a label of another charset)."""
    if body.isascii() or body.startswith(BOM_STARTS):
        return None
    label = _CHARSET.search(content_type)
    named = [name for name in (label[2] if label else "", declared_encoding(body)) if name]
    overruled = [name for name in named if default_label(name) or codec_name(name) == "utf-8"]
    if any(codec_name(name) != "cp1256" for name in named if name not in overruled):
        return None  # another charset, which it is read as
    if named and not overruled:
        return None  # windows-1256, as feedparser reads it
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        if not reads_as_windows_1256(body):
            return None
        said = f"is labelled {overruled[0]}" if overruled else "names no charset"
        if label:
            content_type = content_type[: label.start()] + content_type[label.end() :]
        return declaring_utf8(body.decode("cp1256").encode("utf-8")), content_type, said
    return None


def _only_the_label(problem: object, content_type: str) -> bool:
    """Whether feedparser's complaint is about the HTTP label alone, which a reader ignores: a
    Content-Type that is not an XML type, or RFC 3023's US-ASCII for a text/ type without a
    charset (RFC 7303 dropped it; the body's own declaration holds)."""
    if isinstance(problem, feedparser.NonXMLContentType):
        return True
    unlabelled = not _CHARSET.search(content_type)
    return unlabelled and isinstance(problem, feedparser.CharacterEncodingOverride)


def _feedparser(body: bytes, response_headers: dict[str, str]) -> Any:
    return feedparser.parse(  # normalize sanitizes and resolves links, with nh3
        io.BytesIO(body),
        response_headers=response_headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )


# the namespaces whose elements carry what `_raw_entry` reads: the feed formats' own, and the
# modules for content, authors, dates, categories, media and original links
_READ_NAMESPACES = frozenset({
    None, "http://www.w3.org/2005/Atom", "http://purl.org/atom/ns#", "http://purl.org/rss/1.0/",
    "http://my.netscape.com/rdf/simple/0.9/", "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://backend.userland.com/rss2", "http://purl.org/rss/1.0/modules/content/",
    "http://purl.org/dc/elements/1.1/", "http://purl.org/dc/terms/", "http://www.w3.org/1999/xhtml",
    "http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss",
    "http://rssnamespace.org/feedburner/ext/1.0", "http://www.itunes.com/dtds/podcast-1.0.dtd",
})  # fmt: skip


def _namespace(tag: str) -> str | None:
    """The namespace of an lxml tag ('{uri}name'), None for none."""
    return tag[1 : tag.index("}")] if tag.startswith("{") else None


def _keep_tail(element: Any) -> None:
    """Move the text after an element to before it, so that removing it keeps that text."""
    if not element.tail:
        return
    before = element.getprevious()
    if before is not None:
        before.tail = (before.tail or "") + element.tail
    else:
        parent = element.getparent()
        parent.text = (parent.text or "") + element.tail
    element.tail = None


def _repaired(body: bytes, content_type: str) -> bytes | None:
    """A malformed body made into well-formed XML as libxml2 recovers it, without its DOCTYPE
    and without the elements of namespaces we do not read (GeoRSS, say): for feedparser to
    read again when it raised on the body, instead of failing the source. None when nothing
    can be recovered."""
    from lxml import etree

    label = _CHARSET.search(content_type)
    encoding = codec_name(label[2]) if label else None
    parser = etree.XMLParser(  # as rss.py's, but recovering what it can, the DTD's own entities too
        resolve_entities="internal", no_network=True, load_dtd=False, huge_tree=False, recover=True,
        encoding=encoding if encoding and not body.startswith(codecs.BOM_UTF8) else None,
    )  # fmt: skip
    try:
        root = etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError):
        return None
    if root is None:
        return None
    unread = [e for e in root.iter(etree.Element) if _namespace(e.tag) not in _READ_NAMESPACES]
    for element in unread:
        parent = element.getparent()
        if parent is not None:
            _keep_tail(element)
            parent.remove(element)
    return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def _feedparser_repaired(body: bytes, response_headers: dict[str, str], failure: str) -> Any:
    """feedparser's reading of the body as `_repaired` makes it; NotAFeed when even that fails."""
    mended = _repaired(body, response_headers.get("content-type", ""))
    if mended is not None:
        headers = {**response_headers, "content-type": "application/xml; charset=utf-8"}
        with contextlib.suppress(Exception):
            return _feedparser(mended, headers)
    raise NotAFeed(f"not a feed: {failure}")


def feedparser_feed(body: bytes, headers: dict[str, str], final_url: str) -> ParsedFeed:
    """Any feed feedparser can read (RSS 0.9x to 2.0, RSS 1.0, Atom, CDF, malformed XML)."""
    response_headers = {k.lower(): v for k, v in headers.items()}
    response_headers["content-location"] = final_url
    try:
        result, repaired = _feedparser(body, response_headers), None
    except Exception as exc:  # feedparser raises on some malformed feeds (its issue 599)
        repaired = f"feedparser failed on it ({exception_line(exc, 120)})"
        result = _feedparser_repaired(body, response_headers, repaired)
    entries, unreadable = [], 0
    for item in result.entries:
        try:
            entries.append(_raw_entry(item, final_url))
        except Exception:  # one odd entry (a tag list that is not a list...) drops only itself
            unreadable += 1
    bozo = result.get("bozo") and result.get("bozo_exception")
    if _only_the_label(bozo, response_headers.get("content-type", "")):
        bozo = None
    if not entries and not result.get("version"):
        content_type = response_headers.get("content-type", "")
        if _looks_like_html(body, content_type):
            hint = _page_hint(body, response_headers, final_url)
            raise NotAFeed(f"returned an HTML page, not a feed{hint}")
        raise NotAFeed(f"not a feed: {what_it_is(body, bozo)}")
    warning = None
    if bozo or repaired:
        said = f"read after repair: {repaired}" if repaired else xml_problem(bozo, body)
        read = counted(len(entries), "entry", "entries")
        state = f"readable ({read})" if entries else "no entry could be read"
        warning = f"feed is malformed but {state}: {said}"
    feed = result.get("feed", {})
    return ParsedFeed(
        title=feed.get("title") or "",
        link=feed.get("link") or None,
        language=feed.get("language") or None,
        entries=entries,
        warning=warning,
        ttl=feed_ttl(feed.get("ttl")),
        unreadable=unreadable,
    )
