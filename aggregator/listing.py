"""Turn a listing page of an outlet without a feed into entries, with the CSS selectors of its
`type: html` source. Downstream they are ordinary entries: normalize cleans them as any other."""

from __future__ import annotations

import html
from datetime import UTC, datetime, tzinfo

import lxml.html
from lxml import etree

from aggregator.config import Selectors
from aggregator.dates import parse_date
from aggregator.htmlpage import html_root, page_base
from aggregator.models import Media, ParsedFeed, RawEntry
from aggregator.normalize import LAZY_SOURCES, joined_url, without_credentials
from aggregator.parse import NotAFeed

MAX_ITEMS = 1000  # items read from one page, whatever it holds


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


_PICTURE_ATTRIBUTES = (*LAZY_SOURCES, "src")  # where a lazy-loaded picture waits, then the usual
_SRCSET_ATTRIBUTES = ("data-srcset", "data-lazy-srcset", "srcset")


def _image(element: lxml.html.HtmlElement | None, base: str) -> str | None:
    """The first http(s) picture an element is or holds: a lazy-loaded one where it waits (a
    data: placeholder or a spinner in its src), else its src, else its srcset's first."""
    if element is None:
        return None
    images = [element] if element.tag in ("img", "source") else element.cssselect("img, source")
    for image in images:
        sources = [image.get(name) or "" for name in _PICTURE_ATTRIBUTES]
        for name in _SRCSET_ATTRIBUTES:  # "a.jpg 1x, b.jpg 2x": the first candidate
            sources.append(next(iter((image.get(name) or "").split(",")[0].split()), ""))
        for source in sources:
            url = joined_url(base, source) if source.strip() else None
            if url:
                return url
    return None


def _date(
    element: lxml.html.HtmlElement | None, zone: tzinfo, now: datetime | None
) -> tuple[object, str | None]:
    if element is None:
        return None, None
    text = element.get("datetime") or element.get("content") or _text(element)
    moment = parse_date(text, zone, now)
    return moment, (None if moment else text or None)


def parse_listing(
    body: bytes,
    final_url: str,
    selectors: Selectors,
    content_type: str = "",
    zone: tzinfo = UTC,
    now: datetime | None = None,
) -> ParsedFeed:
    """The items `selectors` find on the page, as raw entries; NotAFeed when none is found. A
    date that names no zone is the page's local time, in `zone`; a relative one ("2 hours
    ago") is counted back from `now`, when the page was fetched. Links are resolved against
    `final_url` without its login."""
    final_url = without_credentials(final_url)
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
        published, date_text = _date(_first(item, selectors.date), zone, now)
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
