"""Read an HTML page as a browser reads it: its encoding, its tree, the base of its links and
the feeds it advertises. Listing sources, the links page, discovery and parse's hint use it."""

from __future__ import annotations

import codecs
import re

import lxml.html
from lxml import etree

from aggregator.charsets import mostly_utf8, reads_as_windows_1256
from aggregator.normalize import joined_url

MAX_PAGE = 5_000_000  # bytes of HTML handed to the parser
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_AS_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii"})  # as browsers read these labels
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/json",
)


def page_encoding(body: bytes, content_type: str = "") -> str:
    """The encoding a browser reads an HTML page in: its BOM, else the charset of its HTTP
    Content-Type, else of its <meta>, else what a browser's detector says: UTF-8 if it is UTF-8
    (but for a few stray bytes), windows-1256 if it is Arabic-script text in it, else
    windows-1252."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    for label in (_HTTP_CHARSET.search(content_type), _META_CHARSET.search(body[:4096])):
        if label:
            name = label[1] if isinstance(label[1], str) else label[1].decode("ascii")
            try:
                known = codecs.lookup(name).name
            except LookupError:
                continue
            return "windows-1252" if known in _AS_WINDOWS_1252 else known
    if mostly_utf8(body)[0] is not None:
        return "utf-8"
    return "windows-1256" if reads_as_windows_1256(body) else "windows-1252"


def html_root(body: bytes, content_type: str = "", limit: int = MAX_PAGE) -> lxml.html.HtmlElement:
    """An HTML page's tree, decoded as `page_encoding` says (lxml alone reads a page without a
    <meta> charset as Latin-1, whatever its Content-Type). Raises ParserError or ValueError
    for what is no page."""
    text = body[:limit].decode(page_encoding(body, content_type), errors="replace")
    return lxml.html.fromstring(_XML_DECLARATION.sub("", text.removeprefix("\ufeff")))


def page_base(root: lxml.html.HtmlElement, url: str) -> str:
    """What the page's relative links are relative to: its `<base href>`, else its URL."""
    for tag in root.iter("base"):
        if tag.get("href"):
            return joined_url(url, tag.get("href", "")) or url
    return url


def feed_links(body: bytes, base_url: str, content_type: str = "") -> list[str]:
    """The feeds a page advertises, in page order, site feeds before comment feeds."""
    try:
        root = html_root(body, content_type, 2_000_000)
    except (etree.ParserError, ValueError):
        return []
    base_url = page_base(root, base_url)
    links: list[str] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        url = joined_url(base_url, href) if "alternate" in rel and kind in FEED_TYPES else None
        if url and url not in links:
            links.append(url)
    return sorted(links, key=lambda u: "comment" in u.lower())
