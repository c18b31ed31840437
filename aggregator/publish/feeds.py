"""Render the merged rolling feed as RSS 2.0 and Atom 1.0 (feedgen) and JSON Feed 1.1."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator import __version__
from aggregator.config import Site
from aggregator.edition import Edition
from aggregator.languages import name_of
from aggregator.models import Story
from aggregator.normalize import xml_safe
from aggregator.publish.media import best_enclosure, enclosures, image, mime_type

GENERATOR = "aggregator"
ATOM = "{http://www.w3.org/2005/Atom}"


ITEM_HTML_CHARS = 100_000  # longer, an item's HTML is its summary or excerpt in our feeds


def _within(html: str) -> bool:
    return 0 < len(html) <= ITEM_HTML_CHARS


def item_html(story: Story) -> str:
    """The item body: the story's sanitized HTML, its source and the other outlets that ran it.
    HTML past `ITEM_HTML_CHARS` (a long read is a fifth of that; a feed that puts a whole page
    in every item, megabytes) gives way to the summary, else the excerpt: feed.xml of such
    items ran to 30 MB, which feed readers give up on."""
    entry = story.entry
    body = next(
        (html for html in (entry.content_html, entry.summary_html) if _within(html)),
        f"<p>{escape(entry.excerpt)}</p>",
    )
    home = story.source_home or entry.url
    credit = f'<p>Source: <a href="{escape(home)}">{escape(story.source_name)}</a></p>'
    if story.also:
        links = ", ".join(
            f'<a href="{escape(m.url)}">{escape(m.source_name)}</a>' for m in story.also
        )
        credit += f"\n<p>Also reported by: {links}</p>"
    for line in also_in(story):
        credit += f"\n<p>{line}</p>"
    return f"{body}\n{credit}"


def also_in(story: Story) -> list[str]:
    """'Also in دری: <a>title</a>' for each linked story in another language, as HTML."""
    return [
        f'Also in <span lang="{escape(other.language)}">{escape(name_of(other.language))}</span>: '
        f'<a href="{escape(other.url)}" lang="{escape(other.language)}" dir="auto">'
        f"{escape(other.title)}</a>"
        for other in story.translations  # the same event for readers of another language
    ]


def _updated(stories: list[Story], now: datetime) -> datetime:
    return max((s.entry.updated or s.entry.published for s in stories), default=now)


@dataclass(frozen=True)
class FeedInfo:
    """One family of feeds (RSS, Atom and JSON twins): the merged feed, or one language's or one
    category's, with the file names they are published under."""

    title: str
    language: str
    rss: str = "feed.xml"
    atom: str = "atom.xml"
    json: str = "feed.json"

    @classmethod
    def part(cls, site: Site, label: str, language: str, path: str) -> FeedInfo:
        """The feeds of one language or category: `path`.xml, `path`.atom.xml, `path`.json."""
        title = xml_safe(f"{site.title}: {label}")  # an editor's category may hold anything
        return cls(title, language, f"{path}.xml", f"{path}.atom.xml", f"{path}.json")


def _info(site: Site, info: FeedInfo | None) -> FeedInfo:
    return info or FeedInfo(site.title, site.language)


def _channel(fg: FeedGenerator, site: Site, info: FeedInfo, name: str, kind: str) -> None:
    """What every feed carries: title, links (a self link to where it is served), language,
    generator and a feed-level author, so that no Atom entry is without one."""
    fg.title(info.title)
    fg.link(href=site.link, rel="alternate")
    fg.link(href=site.published_url(name), rel="self", type=kind)
    fg.language(info.language)
    fg.generator(GENERATOR, version=__version__)
    fg.author(name=site.title, uri=site.link)


def _generator(
    site: Site, stories: list[Story], now: datetime, info: FeedInfo, name: str, kind: str
) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(site.link if info.rss == "feed.xml" else site.published_url(info.rss))
    fg.subtitle(site.description)
    _channel(fg, site, info, name, kind)
    fg.updated(_updated(stories, now))
    fg.lastBuildDate(_updated(stories, now))
    for story in stories:
        entry = story.entry
        fe = fg.add_entry(order="append")
        fe.id(story.id)
        fe.guid(story.id, permalink=False)
        fe.title(entry.title)
        fe.link(href=entry.url, rel="alternate")
        fe.published(entry.published)
        fe.updated(entry.updated or entry.published)
        fe.author(name=story.source_name)
        fe.source(url=_source_url(story), title=story.source_name)
        fe.category(term=story.category)
        summary = entry.summary_html if _within(entry.summary_html) else escape(entry.excerpt)
        if summary.strip():
            fe.summary(summary, type="html")
        fe.content(item_html(story), type="html")
        chosen = best_enclosure(entry.media)
        if chosen:  # RSS carries one enclosure; feedgen writes it as Atom's rel="enclosure" too
            fe.enclosure(chosen.url, str(chosen.length or 0), mime_type(chosen))
    return fg


def rss_bytes(
    site: Site, stories: list[Story], now: datetime, info: FeedInfo | None = None
) -> bytes:
    """RSS 2.0, newest first, with `content:encoded` and a `<source>` naming the outlet."""
    info = _info(site, info)
    return _generator(site, stories, now, info, info.rss, "application/rss+xml").rss_str(
        pretty=True
    )


def atom_bytes(
    site: Site, stories: list[Story], now: datetime, info: FeedInfo | None = None
) -> bytes:
    """Atom 1.0, newest first, with the outlet as author and `<source>`."""
    info = _info(site, info)
    fg = _generator(site, stories, now, info, info.atom, "application/atom+xml")
    return _complete_entries(fg.atom_str(pretty=True), stories)


def _source_url(story: Story) -> str:
    """What names the outlet in an item's `<source>`: its feed, else its home page, else the
    entry's own page (an Atom `<source>`'s id may not be empty)."""
    return story.source_feed or story.source_home or story.entry.url


def _complete_entries(document: bytes, stories: list[Story]) -> bytes:
    """What feedgen 1.0 cannot write in Atom entries: the `rel`, `type` and `length` it drops
    from links (its issue #135: the first link is the alternate, the next the enclosure), and
    the `id` and `updated` that a `<source>` should carry."""
    parser = etree.XMLParser(remove_blank_text=True)
    root = etree.fromstring(document, parser)
    for entry, story in zip(root.iterfind(f"{ATOM}entry"), stories, strict=True):
        source = entry.find(f"{ATOM}source")
        if source is not None:
            etree.SubElement(source, f"{ATOM}id").text = _source_url(story)
            etree.SubElement(source, f"{ATOM}updated").text = entry.findtext(f"{ATOM}updated")
        links = entry.findall(f"{ATOM}link")
        if links:
            links[0].set("rel", "alternate")
        chosen = best_enclosure(story.entry.media)
        if chosen and len(links) > 1:
            links[1].set("rel", "enclosure")
            links[1].set("type", mime_type(chosen))
            if chosen.length:
                links[1].set("length", str(chosen.length))
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def json_feed_bytes(
    site: Site, stories: list[Story], now: datetime, info: FeedInfo | None = None
) -> bytes:
    """JSON Feed 1.1 with the same items and ids as the XML feeds."""
    items = []
    for story in stories:
        entry = story.entry
        item: dict[str, object] = {
            "id": story.id,
            "url": entry.url,
            "title": entry.title,
            "content_html": item_html(story),
            "summary": entry.excerpt,
            "date_published": entry.published.isoformat(),
            "authors": [{"name": story.source_name, "url": story.source_home or entry.url}],
            "tags": [story.category],
            "language": entry.language,
        }
        if entry.updated:
            item["date_modified"] = entry.updated.isoformat()
        picture = image(entry.media)
        if picture:
            item["image"] = picture.url
        attachments = [
            {"url": m.url, "mime_type": mime_type(m)}
            | ({"size_in_bytes": m.length} if m.length else {})
            for m in enclosures(entry.media)
        ]
        if attachments:
            item["attachments"] = attachments
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _info(site, info).title,
        "home_page_url": site.link,
        "feed_url": site.published_url(_info(site, info).json),
        "description": site.description,
        "language": _info(site, info).language,
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def editions_atom(site: Site, editions: list[Edition], due: dict[date, datetime]) -> bytes:
    """digest.xml: one Atom entry per closed daily edition, for one update a day; a capped
    edition links its archive page for the rest."""
    host = urlsplit(site.link).hostname or "aggregator.invalid"
    fg = FeedGenerator()
    fg.id(f"tag:{host},2026:digest")
    fg.subtitle(site.description)
    _channel(fg, site, _info(site, None), "digest.xml", "application/atom+xml")
    fg.title(f"{site.title}: daily editions")
    fg.updated(max(due.values(), default=datetime(2026, 1, 1, tzinfo=UTC)))
    for edition in sorted(editions, key=lambda e: e.day, reverse=True):
        items = "\n".join(
            f'<li><a href="{escape(s.entry.url)}">{escape(s.entry.title)}</a> '
            f"({escape(s.source_name)}){''.join('; ' + line for line in also_in(s))}</li>"
            for s in edition.stories
        )
        fe = fg.add_entry(order="append")
        fe.id(f"tag:{host},{edition.day.isoformat()}:edition")
        fe.title(f"{site.title}: {edition.day.strftime('%A %d %B %Y')}")
        fe.link(href=site.link, rel="alternate")
        fe.published(due[edition.day])
        fe.updated(due[edition.day])
        more = ""
        if edition.more:
            page = escape(site.published_url(f"archive/{edition.day.isoformat()}.html"))
            stories = "story" if edition.more == 1 else "stories"
            more = (
                f'\n<p>{edition.more} more {stories} in <a href="{page}">the day’s edition</a>.</p>'
            )
        fe.content(f"<ul>\n{items}\n</ul>{more}", type="html")
    return fg.atom_str(pretty=True)
