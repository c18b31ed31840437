"""The fast RSS 2.0 path gives exactly what feedparser gives, once cleaned, or steps aside."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.normalize import SkipEntry, normalize_entry
from aggregator.parse import feedparser_feed, parse_feed
from aggregator.rss import parse_rss
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
