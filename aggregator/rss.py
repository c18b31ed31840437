"""A fast path for the common case: a well-formed RSS 2.0 document in UTF-8 (what WordPress and
most CMSs send), read with lxml in about a twentieth of feedparser's time.

It gives exactly the fields feedparser gives, quirks included (a permalink guid resolved against
the feed's URL and standing in for a missing link, text read as feedparser mends it), so that an
item keeps its guid whichever reader a source's next body takes; tests/test_rss.py holds the two
to that on generated documents. Anything it does not read exactly as feedparser would (Atom,
RSS 1.0, a doctype or entities, another encoding, malformed XML, an element it does not know or
one written twice in an item, markup or a comment inside a text element, xml:base below an
item) returns None, and feedparser reads it.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urljoin

from feedparser.urls import make_safe_absolute_uri
from lxml import etree

from aggregator.dates import feed_date
from aggregator.models import Media, ParsedFeed, RawEntry
from aggregator.pacing import feed_ttl

CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC = "{http://purl.org/dc/elements/1.1/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
ATOM = "{http://www.w3.org/2005/Atom}"
FEEDBURNER_ORIGLINK = "{http://rssnamespace.org/feedburner/ext/1.0}origLink"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_EXTRA_SLASHES = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_NAMED_REFERENCE = re.compile(r"&([A-Za-z0-9_]+);")
# feedparser maps C1 controls to the Windows-1252 characters they stand for
_CP1252 = {code: bytes([code]).decode("cp1252") for code in (0x80, *range(0x82, 0x8D), 0x8E,
           *range(0x91, 0x9D), 0x9E, 0x9F)}  # fmt: skip

# An item's elements that hold one value each: written twice, feedparser's pick among them
# depends on their order and kind, so such an item is left to it. `author` and dc:creator
# fill one field and count as one.
SINGLE = {
    "title": "title", "link": "link", "guid": "guid", "description": "description",
    CONTENT: "content", "pubDate": "pubDate", DC + "date": "dc:date", "author": "author",
    DC + "creator": "author", FEEDBURNER_ORIGLINK: "origLink", "comments": "comments",
    "source": "source", "{http://wellformedweb.org/CommentAPI/}commentRss": "commentRss",
    "{http://wellformedweb.org/CommentAPI/}comment": "comment",
    "{http://purl.org/rss/1.0/modules/slash/}comments": "slash:comments",
    "{com-wordpress:feed-additions:1}post-id": "post-id",
}  # fmt: skip
_ATTRIBUTES = {  # the attributes read (or harmless) on an item's elements; any other: feedparser
    "guid": {"isPermaLink"}, "category": {"domain"}, "enclosure": {"url", "type", "length"},
    "source": {"url"}, "title": {XML_LANG},
}  # fmt: skip
_SCOPE = frozenset({XML_BASE, XML_LANG, "base", "lang"})  # the attributes an item may have
_ROOT = _SCOPE | {"version"}
_CHANNEL_TEXT = ("title", "link", "language", DC + "language", "ttl")
_CHANNEL_NESTED = frozenset({"item", "image", "textInput", "textinput", "skipHours", "skipDays"})
_CHANNEL_ASIDE = frozenset({DC + "title", MEDIA + "title"})  # they set the feed's title


def declared_encoding(body: bytes) -> str | None:
    """The encoding a body's XML declaration names, lower case; None when it names none."""
    declared = _DECLARED.match(body[:200])
    return declared.group(1).decode("ascii").lower() if declared else None


def declaring_utf8(body: bytes) -> bytes:
    """The body with its XML declaration naming UTF-8 (as it is, when it names no encoding)."""
    declared = _DECLARED.match(body[:200])
    if not declared:
        return body
    start, end = declared.span(1)
    return body[:start] + b"utf-8" + body[end:]


def utf8_by_its_own_account(body: bytes) -> bool:
    """Whether a body is UTF-8 by what it says and is: its XML declaration names UTF-8 or no
    encoding, and its bytes decode as UTF-8."""
    if declared_encoding(body) not in (None, "utf-8", "utf8"):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8(body: bytes, content_type: str) -> bool:
    """Whether the body is UTF-8 by every account (HTTP charset, XML declaration, bytes)."""
    charset = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", content_type)
    if charset and charset.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        return False
    return utf8_by_its_own_account(body)


def _join(base: str, uri: str) -> str:
    """A URI resolved as feedparser resolves it (extra slashes after the scheme dropped; ''
    for what urljoin refuses)."""
    try:
        return urljoin(base, _EXTRA_SLASHES.sub(r"\1\3", uri))
    except ValueError:
        return ""


def _mended(text: str) -> str:
    """Text as feedparser gives it: UTF-8 that was read as Latin-1 decoded again, and C1
    controls as the Windows-1252 characters they stand for."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252)


def _read(element: etree._Element | None, base: str | None = None) -> str:
    """An element's text as feedparser reads it: stripped, resolved against `base` when one is
    given and the text is not empty, then mended."""
    if element is None:
        return ""
    text = (element.text or "").strip()
    if base is not None and text:
        text = _join(base, text)
    return _mended(text)


def _scoped(base: str, element: etree._Element) -> str:
    """The base URI inside an element, as feedparser tracks xml:base (a result that is not an
    absolute URI of a scheme it accepts leaves the base as it was)."""
    given = element.get(XML_BASE) or element.get("base")
    return make_safe_absolute_uri(base, given or base) or base


def _scoped_language(language: str | None, element: etree._Element) -> str | None:
    """The language inside an element, as feedparser tracks xml:lang ('' clears it)."""
    given = element.get(XML_LANG, element.get("lang"))
    return language if given is None else (given or None)


def _link(text: str) -> str:
    """An item's <link> as feedparser stores it, its query's references undone."""
    return _NAMED_REFERENCE.sub(r"&\g<1>", text.replace("&amp;", "&"))


def media_length(value: object) -> int | None:
    """A file's size in bytes as a feed writes it (an enclosure's `length`, a `fileSize`), when
    it is plain ASCII digits of a sane length; None otherwise. Both parsing paths read it so."""
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 16 else None


def _categories(elements: list[etree._Element]) -> tuple[str, ...]:
    """Category terms as feedparser collects them: a domain opens a tag that the text then
    names; a term already held under no domain is not added twice."""
    tags: list[list[str | None]] = []
    for element in elements:
        domain = element.get("domain")
        if domain and [None, domain] not in tags:
            tags.append([None, domain])
        term = _read(element)
        if not term:
            continue
        if tags and not tags[-1][0]:
            tags[-1][0] = term
        elif [term, None] not in tags:
            tags.append([term, None])
    return tuple(term for term, _ in tags if term)


def _media(enclosures: list[etree._Element], media: list[etree._Element]) -> tuple[Media, ...]:
    """Enclosures, then media:content, then media:thumbnail (also inside media:group), first
    of each URL kept, as `parse._media` takes them from feedparser (types lower-cased)."""
    found: dict[str, Media] = {}
    for enclosure in enclosures:
        url = enclosure.get("url")
        if url and url not in found:
            kind = enclosure.get("type")
            found[url] = Media(url, kind.lower() if kind else None,
                               media_length(enclosure.get("length")))  # fmt: skip
    for content in (m for m in media if m.tag == MEDIA + "content"):
        url = content.get("url")
        if url and url not in found:
            kind = content.get("type")
            size = media_length(content.get("fileSize") or content.get("filesize"))
            found[url] = Media(url, kind.lower() if kind else None, size,
                               content.get("medium") or None, "content")  # fmt: skip
    for thumbnail in (m for m in media if m.tag == MEDIA + "thumbnail"):
        url = thumbnail.get("url")
        if url and url not in found:
            found[url] = Media(url, None, None, "image", "thumbnail")
    return tuple(found.values())


def _media_readable(element: etree._Element) -> bool:
    """Whether feedparser would take from this media element only what `_media` reads: a
    thumbnail's text would be its URL; a group may hold only contents and thumbnails."""
    if element.tag == MEDIA + "group":
        return all(
            isinstance(child.tag, str)
            and child.tag in (MEDIA + "content", MEDIA + "thumbnail")
            and _media_readable(child)
            for child in element
        )
    names = element.keys()
    if len(element) or len({name.lower() for name in names}) < len(names):
        return False  # feedparser lower-cases attribute names: fileSize and filesize would mix
    return element.tag != MEDIA + "thumbnail" or not (element.text or "").strip()


def _item(item: etree._Element, base: str, language: str | None, feed_url: str) -> RawEntry | None:
    """One <item> as feedparser would give it, or None when it holds something feedparser
    might read otherwise."""
    if not set(item.keys()) <= _SCOPE:
        return None  # rdf:about would be its id, href its link
    base = _scoped(base, item)
    language = _scoped_language(language, item)
    one: dict[str, etree._Element] = {}
    categories: list[etree._Element] = []
    enclosures: list[etree._Element] = []
    media: list[etree._Element] = []
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction between elements
        if tag == MEDIA + "group" or tag in (MEDIA + "content", MEDIA + "thumbnail"):
            if not _media_readable(child):
                return None
            media.extend(child if tag == MEDIA + "group" else (child,))
            continue
        if len(child) or not set(child.keys()) <= _ATTRIBUTES.get(tag, set()):
            return None  # markup inside a text element, or an attribute that would count
        if tag == "category":
            categories.append(child)
        elif tag == "enclosure":
            enclosures.append(child)
        elif tag in SINGLE and SINGLE[tag] not in one:
            one[SINGLE[tag]] = child
        else:
            return None  # unknown to us, or written twice
    guid_element = one.get("guid")
    permalink = guid_element is not None and guid_element.get("isPermaLink", "true") == "true"
    guid = _read(guid_element, base if permalink else None)
    link = _link(_read(one["link"], base)) if "link" in one else guid if permalink else ""
    link = _read(one.get("origLink")) or link
    pub_date, dc_date = _read(one.get("pubDate")), _read(one.get("dc:date"))
    published, updated = feed_date(pub_date), feed_date(dc_date)
    description, content = one.get("description"), one.get("content")
    body = _read(content)
    title = one.get("title")
    return RawEntry(
        guid=guid or None,
        link=link or None,
        title=_read(title),
        summary=_read(description) if description is not None else body,
        content=body,
        author=_read(one.get("author")) or None,
        categories=_categories(categories),
        published=published,
        updated=updated,
        date_text=None if published or updated else (pub_date or dc_date or None),
        language=_title_language(title, language),
        media=_media(enclosures, media),
        base=base if description is not None or content is not None else feed_url,
    )


def _title_language(title: etree._Element | None, language: str | None) -> str | None:
    """feedparser's language of an item: the one in scope at its title (none without one)."""
    if title is None:
        return None
    scoped = _scoped_language(language, title)
    return scoped.replace("_", "-") if scoped else None


def _channel(channel: etree._Element) -> dict[str, etree._Element] | None:
    """The channel's text elements that feedparser reads into the feed's title, link,
    language and ttl; None when another element would change one of those."""
    found: dict[str, etree._Element] = {}
    for child in channel:
        tag = child.tag
        if not isinstance(tag, str) or tag in _CHANNEL_NESTED:
            continue
        if tag in _CHANNEL_ASIDE or (tag.startswith(ATOM) and not _other_link(child)):
            return None
        if tag in _CHANNEL_TEXT:
            key = "language" if tag == DC + "language" else tag
            if key in found or len(child) or child.keys():
                return None
            found[key] = child
        elif len(child):
            return None  # a <title> or <link> nested in an element of its own
    return found


def _other_link(element: etree._Element) -> bool:
    """An atom:link to something else than the site (the feed itself, a WebSub hub), which
    feedparser does not take for the feed's link."""
    rel = (element.get("rel") or "alternate").lower()
    return element.tag == ATOM + "link" and rel != "alternate" and bool(element.get("href"))


def parse_rss(
    body: bytes, content_type: str, final_url: str, content_language: str | None = None
) -> ParsedFeed | None:
    """The feed read on the fast path, or None to leave it to feedparser. `content_language` is
    the response's Content-Language header, which feedparser takes as the feed's language."""
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith((b"<?xml", b"<rss")) or b"<!DOCTYPE" in body[:4096].upper():
        return None
    if not _utf8(body, content_type):
        return None
    try:
        parser = etree.XMLParser(  # one per call: lxml parsers are not to be shared by threads
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False
        )
        root = etree.fromstring(body, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.tag != "rss" or not (root.get("version") or "").startswith("2."):
        return None
    channels = [child for child in root if isinstance(child.tag, str)]
    if len(channels) != 1 or channels[0].tag != "channel":
        return None  # items outside the channel, or a second channel: feedparser reads them
    channel = channels[0]
    texts = _channel(channel)
    if texts is None or not set(channel.keys()) <= _SCOPE or not set(root.keys()) <= _ROOT:
        return None  # a channel's href would be the feed's link
    base = _scoped(_scoped(final_url, root), channel)
    feed_language = content_language.replace("_", "-") if content_language else None
    language = _scoped_language(content_language or None, root)
    if language:
        feed_language = language.replace("_", "-")
    language = _scoped_language(language, channel)
    if "language" in texts:
        feed_language = _read(texts["language"])
    entries = []
    for item in channel.iterchildren("item"):  # all of them, as feedparser: the newest are kept
        try:
            entry = _item(item, base, language, final_url)
        except Exception:  # unforeseen: feedparser's path reads it, dropping only that item
            return None
        if entry is None:
            return None
        entries.append(entry)
    return ParsedFeed(
        title=_read(texts.get("title")),
        link=_NAMED_REFERENCE.sub(r"&\g<1>", _read(texts.get("link"), base)) or None,
        language=feed_language or None,
        entries=entries,
        ttl=feed_ttl(_read(texts.get("ttl"))),
    )
