"""Turn a listing page of an outlet without a feed into entries, with the CSS selectors of its
`type: html` source. Downstream they are ordinary entries: normalize cleans them as any other."""

from __future__ import annotations

import codecs
import html
import re

import lxml.html
from lxml import etree

from aggregator.config import Selectors
from aggregator.dates import parse_date
from aggregator.models import Media, ParsedFeed, RawEntry
from aggregator.normalize import joined_url
from aggregator.parse import NotAFeed

MAX_ITEMS = 1000  # items read from one page, whatever it holds
MAX_PAGE = 5_000_000  # bytes of HTML handed to the parser
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_AS_WINDOWS_1252 = frozenset({"latin-1", "iso8859-1", "ascii"})  # as browsers read these labels


def page_encoding(body: bytes, content_type: str = "") -> str:
    """The encoding a browser reads an HTML page in: its BOM, else the charset of its HTTP
    Content-Type, else of its <meta>, else UTF-8 if it is valid UTF-8, else windows-1252."""
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
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "windows-1252"
    return "utf-8"


def html_root(body: bytes, content_type: str = "", limit: int = MAX_PAGE) -> lxml.html.HtmlElement:
    """An HTML page's tree, decoded as `page_encoding` says (lxml alone reads a page without a
    <meta> charset as Latin-1, whatever its Content-Type). Raises ParserError or ValueError
    for what is no page."""
    text = body[:limit].decode(page_encoding(body, content_type), errors="replace")
    return lxml.html.fromstring(_XML_DECLARATION.sub("", text.removeprefix("\ufeff")))


def _first(element: lxml.html.HtmlElement, selector: str | None) -> lxml.html.HtmlElement | None:
    if not selector:
        return None
    found = element.cssselect(selector)
    return found[0] if found else None


def _text(element: lxml.html.HtmlElement | None) -> str:
    return " ".join(element.text_content().split()) if element is not None else ""


def _href(element: lxml.html.HtmlElement | None, base: str) -> str | None:
    """The http(s) link an element is, or holds."""
    if element is None:
        return None
    anchors = [element] if element.get("href") else element.cssselect("a[href]")
    for anchor in anchors:
        url = joined_url(base, anchor.get("href", ""))
        if url:
            return url
    return None


def _image(element: lxml.html.HtmlElement | None, base: str) -> str | None:
    if element is None:
        return None
    images = [element] if element.tag == "img" else element.cssselect("img")
    for image in images:
        source = image.get("src") or image.get("data-src") or ""
        if not source.strip():  # the first candidate of a srcset ("a.jpg 1x, b.jpg 2x")
            source = next(iter((image.get("srcset") or "").split(",")[0].split()), "")
        url = joined_url(base, source) if source.strip() else None
        if url:
            return url
    return None


def _date(element: lxml.html.HtmlElement | None) -> tuple[object, str | None]:
    if element is None:
        return None, None
    text = element.get("datetime") or element.get("content") or _text(element)
    moment = parse_date(text)
    return moment, (None if moment else text or None)


def page_base(root: lxml.html.HtmlElement, url: str) -> str:
    """What the page's relative links are relative to: its `<base href>`, else its URL."""
    for tag in root.iter("base"):
        if tag.get("href"):
            return joined_url(url, tag.get("href", "")) or url
    return url


def parse_listing(
    body: bytes, final_url: str, selectors: Selectors, content_type: str = ""
) -> ParsedFeed:
    """The items `selectors` find on the page, as raw entries; NotAFeed when none is found."""
    try:
        root = html_root(body, content_type)
    except (etree.ParserError, ValueError) as exc:
        raise NotAFeed(f"not an HTML page: {exc}") from None
    base = page_base(root, final_url)
    items = root.cssselect(selectors.item)[:MAX_ITEMS]
    if not items:
        raise NotAFeed(f"the item selector {selectors.item!r} matched nothing on the page")
    entries: list[RawEntry] = []
    unreadable = 0
    for item in items:
        title = _text(_first(item, selectors.title))
        link = _href(_first(item, selectors.link), base)
        if not title or not link:
            unreadable += 1
            continue
        published, date_text = _date(_first(item, selectors.date))
        summary = _text(_first(item, selectors.summary))
        image = _image(_first(item, selectors.image), base)
        entries.append(
            RawEntry(
                guid=link,
                link=link,
                title=html.escape(title, quote=False),
                summary=f"<p>{html.escape(summary, quote=False)}</p>" if summary else "",
                content="",
                published=published,  # type: ignore[arg-type]
                date_text=date_text,
                media=(Media(image, medium="image", role="thumbnail"),) if image else (),
            )
        )
    title_tag = root.find(".//title")
    return ParsedFeed(
        title=_text(title_tag),
        link=final_url,
        language=root.get("lang"),
        entries=entries,
        unreadable=unreadable,
    )
