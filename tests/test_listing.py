"""Pages without a feed: `type: html` sources turned into entries by CSS selectors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import feedparser
import pytest

from aggregator.cli import main
from aggregator.config import Selectors, load_config
from aggregator.listing import parse_listing
from aggregator.parse import NotAFeed
from tests.conftest import data_file

SELECTORS = {
    "item": "article.news-item",
    "title": "h2.title",
    "link": "h2.title",
    "date": "time",
    "summary": "p.lead",
    "image": "img",
}


def test_a_listings_dates_that_name_no_zone_are_its_sites_local_time(tmp_path):
    page = (
        '<html><body><div class="n"><a href="/1">Kabul water</a><time>۱۰ قوس ۱۴۰۵ - ۱۲:۳۰'
        '</time></div><div class="n"><a href="/2">Herat rail</a><time>2026-11-30 10:00 GMT'
        "</time></div></body></html>"
    ).encode()
    selectors = Selectors(item="div.n", title="a", link="a", date="time")
    kabul = parse_listing(page, "https://x.example/", selectors, zone=ZoneInfo("Asia/Kabul"))
    assert [e.published for e in kabul.entries] == [
        datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
    ]
    source = {"name": "S", "url": "https://x.example/", "type": "html", "selectors": SELECTORS}
    other = source | {"name": "T", "url": "https://y.example/", "timezone": "UTC"}
    (tmp_path / "feeds.yaml").write_text(
        f"site: {{timezone: Asia/Tehran}}\nsources: [{source}, {other}]\n", encoding="utf-8"
    )
    config = load_config(tmp_path / "feeds.yaml")
    assert [str(config.listing_zone(s)) for s in config.sources] == ["Asia/Tehran", "UTC"]


def test_a_listing_page_becomes_entries_with_absolute_links_dates_and_pictures():
    page = data_file("listing_pajhwok.html")
    parsed = parse_listing(page, "https://pajhwok.example/ps/latest", Selectors(**SELECTORS))
    assert parsed.language == "ps" and parsed.title == "پژواک - تازه خبرونه"
    assert parsed.unreadable == 2  # no link, and a javascript: link
    first, second = parsed.entries
    assert first.link == "https://pajhwok.example/ps/2026/11/28/kabul-water/"  # <base> applied
    assert first.published == datetime(2026, 11, 28, 1, 10, tzinfo=UTC)  # Kabul time read
    assert first.media[0].url == "https://pajhwok.example/images/water.jpg"
    assert second.title == "د هرات اورګاډي &amp; سوداګري"  # as text, escaped once
    assert second.published == datetime(2026, 11, 28, 3, 10, tzinfo=UTC)
    assert second.summary == "<p>د هرات – خواف اورګاډي کرښه بیا فعاله شوه.</p>"
    assert second.media[0].url == "https://pajhwok.example/ps/images/rail.webp"


def test_a_broken_link_or_picture_costs_only_its_item_or_its_picture():
    """A reference urljoin raises on ('http://[::1'), a blank srcset, a broken <base>: the rest
    of the page is read (any of them failed the whole source)."""
    selectors = Selectors(item="article", title="h2", link="a", image="img")
    page = (
        b'<html><head><base href="http://[::1"></head><body>'
        b'<article><h2>Broken</h2><a href="http://[::1">x</a></article>'
        b'<article><h2>Blank srcset</h2><a href="/a">x</a><img srcset=" , "></article>'
        b'<article><h2>Broken picture</h2><a href="/b">x</a><img src="http://[::1"></article>'
        b'<article><h2>Srcset</h2><a href="/c">x</a><img srcset="/c.jpg 1x, /c2.jpg 2x"></article>'
        b"</body></html>"
    )
    parsed = parse_listing(page, "https://site.example/news/", selectors)
    assert [(e.title, e.link, [m.url for m in e.media]) for e in parsed.entries] == [
        ("Blank srcset", "https://site.example/a", []),
        ("Broken picture", "https://site.example/b", []),
        ("Srcset", "https://site.example/c", ["https://site.example/c.jpg"]),
    ]
    assert parsed.unreadable == 1


def test_a_lazy_loaded_picture_is_taken_where_it_waits_not_its_placeholder():
    selectors = Selectors(item="article", title="h2", link="a", image="figure")
    pixel = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    page = (
        f'<article><h2>A</h2><a href="/a">x</a><figure><img src="{pixel}" data-src="/a.jpg">'
        f'</figure></article><article><h2>B</h2><a href="/b">x</a><figure><img src="/spin.gif"'
        ' data-lazy-src="/b.jpg"></figure></article><article><h2>C</h2><a href="/c">x</a><figure>'
        f'<picture><source data-srcset="/c.webp 1x"><img src="{pixel}"></picture></figure>'
        "</article>"
    ).encode()
    parsed = parse_listing(page, "https://site.example/", selectors)
    assert [e.media[0].url for e in parsed.entries] == [
        "https://site.example/a.jpg",
        "https://site.example/b.jpg",
        "https://site.example/c.webp",
    ]


DARI_PAGE = (
    "<html><head>{meta}<title>خبرها</title></head><body><article><h2>خبر كابل امروز</h2>"
    '<a href="/a">x</a></article></body></html>'
)


@pytest.mark.parametrize(
    ("meta", "codec", "content_type"),
    [
        ("", "utf-8", "text/html; charset=UTF-8"),  # the charset only in the HTTP header
        ("", "utf-8", "text/html"),  # none at all: valid UTF-8 is UTF-8
        ("", "cp1256", "text/html; charset=windows-1256"),
        ('<meta charset="windows-1256">', "cp1256", "text/html"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=utf-8">', "utf-8", ""),
        ("", "utf-16", "text/html"),  # its BOM says
    ],
)
def test_a_listing_page_is_decoded_as_a_browser_decodes_it(meta, codec, content_type):
    """lxml alone reads a page without a <meta> charset as Latin-1, whatever its header says:
    a Dari listing page served as UTF-8 by its header only was all mojibake."""
    body = DARI_PAGE.format(meta=meta).encode(codec)
    selectors = Selectors(item="article", title="h2", link="a")
    parsed = parse_listing(body, "https://x.example/", selectors, content_type)
    assert (parsed.title, [e.title for e in parsed.entries]) == ("خبرها", ["خبر كابل امروز"])


def test_an_xhtml_page_with_a_bom_and_an_xml_declaration_is_read():
    page = '<?xml version="1.0" encoding="utf-8"?>' + DARI_PAGE.format(meta="")
    body = page.encode("utf-8-sig")
    selectors = Selectors(item="article", title="h2", link="a")
    parsed = parse_listing(body, "https://x.example/", selectors, "application/xhtml+xml")
    assert [e.title for e in parsed.entries] == ["خبر كابل امروز"]


def test_a_page_labelled_latin1_is_read_as_windows_1252_as_browsers_read_it():
    body = "<html><body><h2>Caf\u00e9 \u201cq\u201d</h2><a href='/a'>x</a></body></html>"
    parsed = parse_listing(body.encode("cp1252"), "https://x.example/",
                           Selectors(item="body", title="h2", link="a"),
                           "text/html; charset=ISO-8859-1")  # fmt: skip
    assert parsed.entries[0].title == "Caf\u00e9 \u201cq\u201d"


def test_an_unlabelled_utf8_page_with_a_stray_byte_is_still_utf8():
    """A browser's detector calls such a page UTF-8; all of it read as windows-1252 was
    mojibake. A page in windows-1252 itself stays so."""
    selectors = Selectors(item="article", title="h2", link="a")
    page = DARI_PAGE.format(meta="").replace("امروز", "امروز STRAY").encode()
    parsed = parse_listing(page.replace(b"STRAY", b"\xe9"), "https://x.example/", selectors)
    assert [e.title for e in parsed.entries] == ["خبر كابل امروز \ufffd"]
    latin = "<html><body><article><h2>Caf\u00e9 cr\u00e8me</h2><a href='/a'>x</a></article>"
    parsed = parse_listing(latin.encode("cp1252"), "https://x.example/", selectors)
    assert [e.title for e in parsed.entries] == ["Caf\u00e9 cr\u00e8me"]


@pytest.mark.parametrize(
    ("text", "codec"),
    [("خبر كابل امروز", "cp1256"), ("Größe der Straße", "cp1252"), ("Þórr Ægir ðæt", "cp1252")],
)
@pytest.mark.parametrize(
    ("content_type", "meta"),
    [("text/html", ""), ("text/html; charset=iso-8859-1", ""),
     ("text/html", '<meta charset="windows-1252">'), ("text/html; charset=us-ascii", "")],
)  # fmt: skip
def test_a_page_in_windows_1256_unlabelled_or_under_a_default_label_is_read_so(
    text, codec, content_type, meta
):
    """An old Dari site that names no charset, or only Apache's default ISO-8859-1 or a
    template's windows-1252: windows-1256, as browsers' detectors read the unlabelled one (it
    was read as windows-1252, mojibake); Latin text stays windows-1252."""
    page = DARI_PAGE.format(meta=meta).replace("خبر كابل امروز", text).replace("خبرها", text)
    selectors = Selectors(item="article", title="h2", link="a")
    parsed = parse_listing(page.encode(codec), "https://x.example/", selectors, content_type)
    assert [e.title for e in parsed.entries] == [text]


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=iso-8859-1"])
def test_a_russian_page_in_koi8_r_is_not_taken_for_windows_1256(content_type):
    """KOI8-R's Russian makes Arabic-script words in windows-1256, not with Arabic's letters."""
    russian = "по словам министра финансов, бюджет на следующий год будет увеличен"
    page = DARI_PAGE.format(meta="").replace("خبر كابل امروز", russian).replace("خبرها", "новости")
    selectors = Selectors(item="article", title="h2", link="a")
    parsed = parse_listing(page.encode("koi8_r"), "https://x.example/", selectors, content_type)
    assert not re.search("[\u0600-\u06ff]", parsed.entries[0].title)
    koi8_r = "text/html; charset=koi8-r"
    labelled = parse_listing(page.encode("koi8_r"), "https://x/", selectors, koi8_r)
    assert labelled.entries[0].title == russian


def test_a_page_where_the_item_selector_finds_nothing_is_the_source_error():
    try:
        parse_listing(b"<html><body><p>redesigned</p></body></html>", "https://x.example/",
                      Selectors(**SELECTORS))  # fmt: skip
    except NotAFeed as exc:
        assert "matched nothing" in str(exc)
    else:
        raise AssertionError("an empty listing must be reported")


def test_an_html_source_runs_end_to_end_into_feed_xml(workspace, feed_server):
    # one date as the page's local time, without a zone: 07:40 in Kabul, the site's zone
    page = data_file("listing_pajhwok.html").replace(
        b"Sat, 28 Nov 2026 03:10:00 +0000", "۲۰۲۶-۱۱-۲۸ ۰۷:۴۰".encode()
    )
    url = feed_server.add("/ps/latest", page, headers={"Content-Type": "text/html; charset=utf-8"})
    workspace.write_config(
        [{"name": "Pajhwok Pashto", "url": url, "type": "html", "language": "ps",
          "category": "Pashto", "selectors": SELECTORS}]
    )  # fmt: skip
    assert load_config(workspace.config).sources[0].type == "html"
    assert main(workspace.args("run")) == 0
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    assert not rss.bozo
    assert {e.link for e in rss.entries} == {
        "https://pajhwok.example/ps/2026/11/28/kabul-water/",
        "https://pajhwok.example/ps/2026/11/28/herat-rail/",
    }
    rail = next(e for e in rss.entries if "herat-rail" in e.link)
    assert rail.title == "د هرات اورګاډي & سوداګري"
    assert rail.published_parsed[:5] == (2026, 11, 28, 3, 10)
    assert "<b>" not in rail.summary


def test_an_html_sources_relative_times_are_counted_back_from_its_fetch(workspace, feed_server):
    """ "۲ ساعته مخکې" (two hours ago) on a Pashto listing: two hours before the run fetched
    the page. It was read as 1 August, or left undated and dated when first seen."""
    page = data_file("listing_pajhwok.html").replace(
        b"Sat, 28 Nov 2026 03:10:00 +0000", "۲ ساعته مخکې".encode()
    )
    url = feed_server.add("/ps/latest", page, headers={"Content-Type": "text/html; charset=utf-8"})
    workspace.write_config([{"name": "P", "url": url, "type": "html", "selectors": SELECTORS}])
    before = datetime.now(UTC).replace(microsecond=0)
    assert main(workspace.args("run")) == 0
    after = datetime.now(UTC)
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    rail = next(e for e in rss.entries if "herat-rail" in e.link)
    published = datetime(*rail.published_parsed[:6], tzinfo=UTC)
    assert before - timedelta(hours=2) <= published <= after - timedelta(hours=2)


def test_html_source_mistakes_are_reported_with_their_lines(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "sources:\n"
        "  - name: A\n    url: https://a.example/\n    type: htm\n"
        "  - name: B\n    url: https://b.example/\n    type: html\n"
        "  - name: C\n    url: https://c.example/\n    type: html\n"
        "    selectors: {item: 'div.x[', title: h2, link: a, dat: time}\n",
        encoding="utf-8",
    )
    assert main(["check", "--config", str(config)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{config}:4:11: sources[0].type: Input should be 'feed' or 'html'; did you mean 'html'?",
        f"{config}:5:5: sources[1]: type: html needs selectors (item, title, link)",
        f"{config}:11:23: sources[2].selectors.item: invalid CSS selector 'div.x[': "
        "Expected ident or '*', got <EOF at 6>",
        f"{config}:11:53: unknown key 'dat' in sources[2].selectors; did you mean 'date'?",
    ]
