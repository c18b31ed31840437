"""The fast RSS 2.0 path gives exactly what feedparser gives, once cleaned, or steps aside."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest

from aggregator.normalize import SkipEntry, normalize_entry
from aggregator.parse import feedparser_feed, parse_feed
from aggregator.rss import parse_rss
from tests import rss_documents
from tests.conftest import DATA

NOW = datetime(2026, 11, 29, tzinfo=UTC)
RSS = "application/rss+xml"
FAST = ["aop_wordpress.xml", "khaama_wordpress.xml", "feedburner.xml", "rss_edge_cases.xml",
        "faithful/dari_wordpress.xml", "faithful/homepage_links.xml"]  # fmt: skip
SLOW = ["tolonews_atom.xml", "tolonews_dari_cp1256.xml", "malformed.xml", "faithful/podcast.xml",
        "faithful/rss092_enclosures.xml", "faithful/youtube_media.xml"]  # fmt: skip


def cleaned(feed) -> list:
    out = []
    for raw in feed.entries:
        try:
            out.append(normalize_entry(raw, "S", "en", NOW, feed.language))
        except SkipEntry as exc:
            out.append(f"skipped: {exc}")
    return out


@pytest.mark.parametrize("name", FAST)
def test_the_fast_path_matches_feedparser_entry_for_entry(name):
    body = (DATA / name).read_bytes()
    fast = parse_rss(body, RSS, "https://news.example/feed/")
    slow = feedparser_feed(body, {"content-type": RSS}, "https://news.example/feed/")
    assert fast is not None
    assert (fast.title, fast.link, fast.language, fast.ttl) == (
        slow.title, slow.link, slow.language, slow.ttl
    )  # fmt: skip
    assert cleaned(fast) == cleaned(slow)
    assert len(fast.entries) == len(slow.entries) > 0


@pytest.mark.parametrize("name", SLOW)
def test_anything_else_is_left_to_feedparser(name):
    assert parse_rss((DATA / name).read_bytes(), RSS, "https://news.example/feed/") is None


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.replace(b'encoding="UTF-8"', b'encoding="windows-1256"'),  # another encoding
        lambda b: b.replace(b"<rss ", b'<!DOCTYPE rss [<!ENTITY x "y">]><rss '),  # entities
        lambda b: b.replace(
            b"<dc:creator>Desk", b'<x:note xmlns:x="urn:x">D</x:note><dc:creator>D'
        ),
        lambda b: b.replace(
            b"<description>x</description>", b"<description><p>x</p></description>"
        ),
        lambda b: b.replace(b'version="2.0"', b'version="0.91"'),
        lambda b: b.replace(b"</channel></rss>", b"</channel>"),  # malformed
    ],
)
def test_what_the_fast_path_would_read_differently_goes_to_feedparser(change):
    body = change((DATA / "rss_edge_cases.xml").read_bytes())
    assert parse_rss(body, RSS, "https://news.example/feed/") is None
    if b"</rss>" in body and b"0.91" not in body:  # feedparser reads what we stepped aside from
        assert parse_feed(body, {"content-type": RSS}, "https://news.example/").entries


def test_a_charset_other_than_utf8_in_the_header_goes_to_feedparser():
    body = (DATA / "aop_wordpress.xml").read_bytes()
    assert parse_rss(body, "text/xml; charset=iso-8859-1", "https://x.example/") is None
    assert parse_rss(body, "text/xml; charset=UTF-8", "https://x.example/") is not None


def test_random_real_world_documents_read_on_the_fast_path_give_what_feedparser_gives():
    """Every field of the feed and of each raw entry, so that an item's guid and digest do not
    depend on which reader took its body. Only feedparser's warning may differ: it complains of
    a UTF-8 body served as text/xml without a charset (RFC 3023), which the fast path reads."""
    taken = stepped_aside = 0
    for seed in range(1000):
        body, headers, url = rss_documents.document(random.Random(seed))
        if parse_rss(body, headers["content-type"], url, headers.get("content-language")) is None:
            stepped_aside += 1
            continue
        taken += 1
        fast = dataclasses.replace(parse_feed(body, headers, url), warning=None)
        slow = dataclasses.replace(feedparser_feed(body, headers, url), warning=None)
        assert fast == slow, f"seed {seed}: {body.decode()}"
    assert taken >= 300 and stepped_aside >= 300  # both ways, many times


QUIRKS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>
<item><title>Caf\u00c3\u00a9</title><dc:creator>&#147;Desk&#148;</dc:creator><guid>12345</guid>
<pubDate>Mon, 30 Nov 2026 10:00:00 +0000</pubDate><dc:date>2026-11-30T12:00:00Z</dc:date>
<category>x</category><category>x</category><category domain="d">x</category></item>
<item><link>https://x.example/a?b=1&amp;amp;c=2</link><guid isPermaLink="false">7</guid></item>
</channel></rss>"""


def test_the_fast_path_keeps_feedparsers_quirks():
    """A permalink guid resolved against the feed's URL and taken for a missing link; UTF-8
    read as Latin-1 mended, C1 controls as Windows-1252; pubDate and dc:date both read; a term
    repeated without a domain counted once; a link's escaped ampersand undone."""
    body = QUIRKS.encode()
    fast = parse_rss(body, RSS, "https://news.example/feed/")
    assert fast is not None
    first, second = fast.entries
    assert first.guid == first.link == "https://news.example/feed/12345"
    assert (first.title, first.author) == ("Caf\u00e9", "\u201cDesk\u201d")
    assert (first.published.hour, first.updated.hour) == (10, 12)
    assert first.categories == ("x", "x")
    assert (second.guid, second.link) == ("7", "https://x.example/a?b=1&c=2")
    slow = feedparser_feed(body, {"content-type": RSS}, "https://news.example/feed/")
    assert fast.entries == slow.entries


@pytest.mark.parametrize(
    "item",
    [
        "<title>a</title><title>b</title>",  # which one feedparser keeps depends on their order
        "<author>A</author><dc:creator>B</dc:creator>",
        "<title>a<!-- c -->b</title>",
        "<link xml:base='https://b.example/'>x</link>",
        "<media:title xmlns:media='http://search.yahoo.com/mrss/'>t</media:title>",
        "<guid ispermalink='false'>g</guid>",  # feedparser lower-cases attribute names
        "<category term='t'>x</category>",
    ],
)
def test_an_item_feedparser_might_read_otherwise_goes_to_feedparser(item):
    body = QUIRKS.replace("<item><link>", f"<item>{item}<link>").encode()
    assert parse_rss(body, RSS, "https://news.example/feed/") is None


def test_an_item_the_fast_path_fails_on_leaves_the_body_to_feedparser(monkeypatch):
    """Which reads it item by item, so one odd item costs only itself, not its source."""
    from aggregator import rss

    def broken(text: str) -> None:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(rss, "feed_date", broken)
    body = (DATA / "aop_wordpress.xml").read_bytes()
    assert rss.parse_rss(body, RSS, "https://news.example/feed/") is None
    assert parse_feed(body, {"content-type": RSS}, "https://news.example/feed/").entries


def test_a_whole_archive_is_read_on_the_fast_path_as_feedparser_reads_it():
    """A feed of 6,000 items (an archive, a podcast's every episode) went to feedparser, at
    three times the cost (50,000: 11 s a run); the fast path reads every item, as it does."""
    items = "".join(
        f"<item><title>Item {n}</title><link>https://a.example/{n}</link>"
        f"<pubDate>Mon, 30 Nov 2026 {n % 24:02d}:{n % 60:02d}:00 +0000</pubDate>"
        f"<description>Story {n}</description></item>"
        for n in range(6_000)
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>A</title>'
        f"<link>https://a.example/</link><description>d</description>{items}</channel></rss>"
    ).encode()
    fast = parse_rss(body, RSS, "https://a.example/feed/")
    assert fast is not None and len(fast.entries) == 6_000
    slow = feedparser_feed(body, {"content-type": RSS}, "https://a.example/feed/")
    assert fast.entries == slow.entries
