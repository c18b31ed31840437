"""Read an HTML page as a browser reads it: its encoding, its tree, the base of its links and
the feeds it advertises. Listing sources, the links page, discovery and parse's hint use it."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

from aggregator.charsets import (
    BOMS,
    codec_name,
    default_label,
    mostly_utf8,
    reads_as_windows_1256,
)
from aggregator.normalize import joined_url, url_host

MAX_PAGE = 5_000_000  # bytes of HTML handed to the parser
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
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
    windows-1252. A charset servers and templates name by default (ISO-8859-1, windows-1252,
    US-ASCII) is windows-1252 as browsers read it, unless the page is Arabic-script text in
    windows-1256: an old Dari site behind Apache's default, which browsers show as mojibake."""
    for bom, name in BOMS:
        if body.startswith(bom):
            return name
    labels = []  # the HTTP charset, then the <meta> one
    if http := _HTTP_CHARSET.search(content_type):
        labels.append(http[1])
    if meta := _META_CHARSET.search(body[:4096]):
        labels.append(meta[1].decode("ascii"))
    for known in filter(None, map(codec_name, labels)):
        if not default_label(known):
            return known
        return "windows-1256" if reads_as_windows_1256(body) else "windows-1252"
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
    return page_feeds(body, base_url, content_type)[0]


def page_feeds(body: bytes, base_url: str, content_type: str = "") -> tuple[list[str], list[str]]:
    """The feeds a page advertises (`<link rel="alternate">`), and those its links point to
    (`<a href=".../rss.xml">`, `<a>RSS</a>`: a site that advertises none often has an RSS
    icon in its footer), each in page order, site feeds before comment feeds, and links on
    the page's own host before others."""
    try:
        root = html_root(body, content_type, 2_000_000)
    except (etree.ParserError, ValueError):
        return [], []
    base_url = page_base(root, base_url)
    # in page order, each once: dicts, since a list's membership test made a page of 40,000
    # links take seconds
    advertised: dict[str, None] = {}
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        url = joined_url(base_url, href) if "alternate" in rel and kind in FEED_TYPES else None
        if url:
            advertised.setdefault(url)
    linked: dict[str, None] = {}
    for anchor in root.iter("a"):
        url = joined_url(base_url, (anchor.get("href") or "").strip())
        if url and url not in linked and url not in advertised and _feed_like(url, anchor):
            linked[url] = None
    host = url_host(base_url)
    return (
        sorted(advertised, key=lambda u: "comment" in u.lower()),
        sorted(linked, key=lambda u: ("comment" in u.lower(), url_host(u) != host)),
    )


_FEED_PATH = re.compile(r"(?:\.(?:rss|atom|rdf)|/(?:rss|feed|atom|rss2)(?:\.xml)?/?|[/.]rss\.xml)$")
_FEED_QUERY = re.compile(r"(?:^|&)feed=(?:rss2?|atom|rdf)(?:&|$)")
_RSS_WORD = re.compile(r"\b(?:rss|atom)\b", re.IGNORECASE)


def _feed_like(url: str, anchor: lxml.html.HtmlElement) -> bool:
    """Whether a link looks like it leads to a feed: by its path (`/feed/`, `/rss.xml`,
    `.atom`; WordPress's `?feed=rss2`), or its words (`RSS`, an icon's title or alt)."""
    parts = urlsplit(url)
    path = parts.path.lower()
    if "sitemap" in path or not parts.scheme.startswith("http"):
        return False
    if _FEED_PATH.search(path) or _FEED_QUERY.search(parts.query.lower()):
        return True
    words = " ".join(
        [anchor.text_content(), anchor.get("title") or "", anchor.get("aria-label") or ""]
        + [image.get("alt") or "" for image in anchor.iter("img")]
    )
    return _RSS_WORD.search(words[:300]) is not None
