import json
import re
from datetime import UTC, datetime

import pytest

from aggregator.normalize import normalize_entry
from aggregator.parse import NotAFeed, _linked_text, advertised_feed, parse_feed
from tests.conftest import data_file

RSS = {"content-type": "application/rss+xml"}


def test_wordpress_rss_with_content_encoded():
    feed = parse_feed(data_file("aop_wordpress.xml"), RSS, "https://www.aopnews.com/feed/")
    assert feed.title == "AOP News"
    assert feed.language == "en-US"
    assert feed.warning is None
    first = feed.entries[0]
    assert first.guid == "https://www.aopnews.com/?p=90412"
    assert first.title == "Afghanistan International: Taliban close girls\u2019 madrasas in Herat"
    assert "Teachers said the order came without warning." in first.content
    assert first.categories == ("Afghanistan", "Education")
    assert first.author == "AOP Desk"
    assert first.published.isoformat() == "2026-11-28T05:10:00+00:00"


def test_atom_entries_and_language():
    feed = parse_feed(
        data_file("tolonews_atom.xml"),
        {"content-type": "application/atom+xml"},
        "https://tolonews.com/rss.xml",
    )
    assert [e.guid for e in feed.entries][:2] == [
        "tag:tolonews.com,2026:190123",
        "tag:tolonews.com,2026:190120",
    ]
    assert feed.entries[0].language == "en"
    assert feed.entries[0].updated.isoformat() == "2026-11-28T04:45:00+00:00"


def test_charset_from_http_header_only():
    body = data_file("tolonews_dari_cp1256.xml")
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    headers = {"Content-Type": "application/rss+xml; charset=windows-1256"}
    feed = parse_feed(body, headers, "https://tolonews.com/fa/rss.xml")
    assert feed.title == "طلوع نیوز".replace("ی", "ي")
    assert feed.entries[0].title == "بازگشايي گذرگاه تورخم براي تجارت"


@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml", ""])
def test_dari_in_windows_1256_that_names_no_charset_is_read_so(content_type):
    """No label, no declaration, not UTF-8: feedparser read it as iso-8859-2, every title
    mojibake, without a word. Browsers' detectors read it as windows-1256."""
    body = data_file("tolonews_dari_cp1256.xml")
    assert b"encoding=" not in body
    feed = parse_feed(body, {"Content-Type": content_type}, "https://tolonews.com/fa/rss.xml")
    assert feed.title == "طلوع نیوز".replace("ی", "ي")
    assert feed.entries[0].title == "بازگشايي گذرگاه تورخم براي تجارت"
    assert feed.warning == (
        "feed names no charset and is not UTF-8: read as windows-1256 (Arabic script)"
    )


@pytest.mark.parametrize(
    ("label", "declared"),
    [("ISO-8859-1", "windows-1256"), ("iso-8859-1", ""), ("windows-1252", ""), ("us-ascii", ""),
     ("", "ISO-8859-1"), ("iso-8859-1", "iso-8859-1"),
     # UTF-8, which its bytes plainly are not: a server's or a CMS's label on legacy text
     ("UTF-8", ""), ("", "UTF-8"), ("utf-8", "utf-8")],
)  # fmt: skip
def test_dari_in_windows_1256_under_a_servers_default_label_is_read_so(label, declared):
    """Apache's AddDefaultCharset ISO-8859-1 (or a template's windows-1252, or UTF-8) on an old
    Dari site's windows-1256 feed, its own declaration saying windows-1256 or the template's
    Latin-1: read as labelled (UTF-8: as iso-8859-2), every title was mojibake, without a
    word."""
    body = data_file("tolonews_dari_cp1256.xml")
    if declared:
        body = body.replace(
            b'<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{declared}"?>'.encode()
        )
    headers = {"Content-Type": f"application/rss+xml; charset={label}" if label else "text/xml"}
    feed = parse_feed(body, headers, "https://tolonews.com/fa/rss.xml")
    assert feed.entries[0].title == "بازگشايي گذرگاه تورخم براي تجارت"
    said = label or declared.lower()  # a declaration as it reads it
    if declared == "windows-1256":  # the feed's own word, taken over the server's default
        assert feed.warning is None
        return
    assert feed.warning == (
        f"feed is labelled {said} and is not UTF-8: read as windows-1256 (Arabic script)"
    )


@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252", ""])
@pytest.mark.parametrize(
    "text", ["Größe der Straße, schön", "Þórr Ægir ðæt Ísland", "Café crème, élève à côté"]
)
def test_latin_text_is_not_taken_for_windows_1256(text, label):
    """In windows-1256, German's ä ö ß are Arabic letters alone between Latin ones: unlabelled
    or under a Latin label, such text stays what it is."""
    body = f'<rss version="2.0"><channel><title>T</title><item><title>{text}</title>'
    body += f"<description>{text * 5}</description><link>https://x.example/a</link></item>"
    headers = {"Content-Type": f"application/rss+xml; charset={label}"} if label else RSS
    feed = parse_feed(f"{body}</channel></rss>".encode("cp1252"), headers, "https://x.example/")
    assert (feed.entries[0].title, feed.entries[0].summary) == (text, text * 5)


RUSSIAN = (
    "Правительство России объявило о новых мерах поддержки экономики. По словам министра "
    "финансов, бюджет на следующий год будет увеличен, а налоги для малого бизнеса снижены."
)


@pytest.mark.parametrize("codec", ["koi8_r", "koi8_u"])
@pytest.mark.parametrize("label", ["", "ISO-8859-1"])
def test_russian_in_koi8_is_not_taken_for_windows_1256(codec, label):
    """Russian in KOI8-R reads as Arabic-script words in windows-1256 (а, е, о are ء, إ, د):
    unlabelled, it is not read as Arabic; labelled, it is read as labelled."""
    body = f'<rss version="2.0"><channel><title>T</title><item><title>{RUSSIAN[:50]}</title>'
    body += f"<description>{RUSSIAN}</description><link>https://x.example/a</link></item>"
    body = f"{body}</channel></rss>".encode(codec)
    headers = {"Content-Type": f"application/rss+xml; charset={label}"} if label else RSS
    feed = parse_feed(body, headers, "https://x.example/")
    assert "windows-1256" not in (feed.warning or "")
    assert not re.search("[\u0600-\u06ff]", feed.entries[0].summary)
    labelled = parse_feed(body, {"Content-Type": f"text/xml; charset={codec}"}, "https://x/")
    assert labelled.entries[0].summary == RUSSIAN


@pytest.mark.parametrize(
    ("codec", "text"),
    [("windows-1251", RUSSIAN), ("iso-8859-2", "Żółć gęślą jaźń"), ("euc-kr", "한국어 뉴스")],
)
@pytest.mark.parametrize("label", ["ISO-8859-1", "windows-1252", "us-ascii"])
@pytest.mark.parametrize("content_type", ["text/html", "application/rss+xml"])
def test_a_servers_default_label_gives_way_to_the_charset_a_feed_declares(
    codec, text, label, content_type
):
    """Apache's default ISO-8859-1 on a feed that declares windows-1251: read as labelled, every
    title was mojibake (chardet's corpus of real feeds, served so); the generator's word wins."""
    body = (
        f'<?xml version="1.0" encoding="{codec}"?><rss version="2.0"><channel><title>T</title>'
        f"<item><title>{text}</title><link>https://x.example/a</link></item></channel></rss>"
    ).encode(codec)
    feed = parse_feed(body, {"Content-Type": f"{content_type}; charset={label}"}, "https://x/f")
    assert feed.entries[0].title == text
    labelled = parse_feed(body, {"Content-Type": "text/xml; charset=koi8-r"}, "https://x/f")
    assert labelled.entries[0].title != text  # a label that is no server's default is obeyed


@pytest.mark.parametrize(
    "label", ["windows-1256", "ISO-8859-1", '"windows-1252"', "utf-16", "x-unknown"]
)
@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="UTF-8"?>', ""])
def test_a_utf8_feed_labelled_with_another_charset_is_read_as_utf8(label, declaration):
    """A server's default charset on a CMS's UTF-8 feed: read as labelled, Dari is mojibake."""
    body = (
        f'{declaration}<rss version="2.0"><channel><title>طلوع نیوز</title><item>'
        "<title>د کابل ښار خبرونه</title><link>https://x.example/a</link></item></channel></rss>"
    ).encode()
    headers = {"Content-Type": f"text/xml; charset={label}; q=1"}
    feed = parse_feed(body, headers, "https://x.example/feed")
    assert (feed.title, feed.entries[0].title) == ("طلوع نیوز", "د کابل ښار خبرونه")


@pytest.mark.parametrize("declared", ["windows-1256", "ISO-8859-1", "us-ascii"])
@pytest.mark.parametrize("blank", ["", "\n\n  "])  # what a WordPress plugin prints before it
def test_a_utf8_feed_whose_declaration_says_otherwise_is_read_as_utf8(declared, blank):
    """A site moved to UTF-8 whose template still declares windows-1256; and the blank lines
    before a declaration, which feedparser reads but called the feed malformed."""
    body = (
        f'{blank}<?xml version="1.0" encoding="{declared}"?><rss version="2.0"><channel>'
        "<title>طلوع نیوز</title><item><title>د کابل ښار خبرونه</title>"
        "<link>https://x.example/a</link></item></channel></rss>"
    ).encode()
    feed = parse_feed(body, {"Content-Type": "text/xml"}, "https://x.example/feed")
    assert (feed.title, feed.entries[0].title) == ("طلوع نیوز", "د کابل ښار خبرونه")
    assert feed.warning is None


def _dari_feed(stray_title: bytes, declaration: str = "") -> bytes:
    items = [("طالبان مکتب‌ها را باز کردند", "1"), ("د کابل ښار خبرونه", "2")]
    body = "".join(
        f"<item><title>{title}</title><link>https://x.example/{n}</link></item>"
        for title, n in items
    )
    return (
        f'{declaration}<rss version="2.0"><channel><title>طلوع نیوز</title>{body}'.encode()
        + b"<item><title>" + stray_title + b"</title><link>https://x.example/3</link></item>"
        + b"</channel></rss>"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("stray", "read"),
    [
        (b"Minister\x92s visit", "Minister’s visit"),  # a word processor's quote
        (b"\x93Quoted\x94 \x96 dash\x85", "“Quoted” – dash…"),
        (b"Caf\xe9 opens", "Caf\ufffd opens"),  # Latin-1: as a browser shows it
        ("کابل".encode()[:-1] + b" city", "کاب\ufffd city"),  # cut inside a character
        (b"\xed\xa0\x80 \x80\x80", "\ufffd\ufffd\ufffd \ufffd\ufffd"),  # no lone byte
    ],
)
@pytest.mark.parametrize("label", ["", "; charset=utf-8", "; charset=windows-1256"])
@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="utf-8"?>', ""])
def test_utf8_with_a_stray_byte_is_read_as_a_browser_reads_it(stray, read, label, declaration):
    """One byte that is not UTF-8 made the whole body windows-1252, every Dari title mojibake."""
    body = _dari_feed(stray, declaration)
    feed = parse_feed(body, {"Content-Type": f"application/rss+xml{label}"}, "https://x.example/")
    titles = [entry.title for entry in feed.entries]
    assert (feed.title, titles) == (
        "طلوع نیوز", ["طالبان مکتب‌ها را باز کردند", "د کابل ښار خبرونه", read]
    )  # fmt: skip
    assert feed.warning.startswith("feed is UTF-8 but ")
    assert feed.warning.endswith(" not: read as a browser reads them")


def test_a_json_feed_with_a_stray_byte_is_read():
    body = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "TITLE", "items": [
            {"id": "1", "url": "https://x.example/1", "title": "کابل"},
            {"id": "2", "url": "https://x.example/2", "title": "STRAY"}]},
        ensure_ascii=False,
    ).encode().replace(b"TITLE", "خبرها".encode()).replace(b"STRAY", b"It\x92s")  # fmt: skip
    feed = parse_feed(body, {"content-type": "application/feed+json"}, "https://x.example/f")
    assert [entry.title for entry in feed.entries] == ["کابل", "It’s"]


REFERENCES = {  # XML forbids them; feedparser raised on them (the source failed); as browsers:
    # an emoji written as two references to UTF-16 halves (a CMS escaping by code units) is
    # the emoji, a lone half U+FFFD
    "surrogates": (
        "&#55357;&#56832; &#xD83D;&#XDE00; &#xd800; &#56832;&#55357; &#8217;",
        "😀 😀 \ufffd \ufffd\ufffd ’",
    ),
    # a reference beyond Unicode names no character (chr() arg not in range): U+FFFD
    "beyond Unicode": (
        "&#1114112; &#x110000; &#99999999999999999999; &#X0010FFFF; &#1114111;",
        "\ufffd \ufffd \ufffd \U0010ffff \U0010ffff",
    ),
}


@pytest.mark.parametrize("kind", ["rss", "atom"])
@pytest.mark.parametrize("name", REFERENCES)
def test_character_references_xml_forbids_are_read_as_a_browser_reads_them(name, kind):
    references, expected = REFERENCES[name]
    title = f"Kabul {references}"
    if kind == "rss":
        body = f'<rss version="2.0"><channel><title>T</title><item><title>{title}</title>'
        body += "<link>https://x.example/a</link></item></channel></rss>"
    else:
        body = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry><title>{title}'
        body += '</title><link href="https://x.example/a"/><id>a</id></entry></feed>'
    feed = parse_feed(body.encode(), {}, "https://x.example/")
    assert [entry.title for entry in feed.entries] == [f"Kabul {expected}"]


@pytest.mark.parametrize("label", [b"U\x98TF-8", b"UTF-8\xdd", b"UTF-\x008"])
def test_an_encoding_label_with_a_stray_byte_is_ignored(label):
    """A damaged template's label: feedparser raised decoding it (or on its NUL), failing the
    source; a browser ignores a label it does not know and reads the bytes."""
    body = b'<?xml version="1.0" encoding="' + label + b'"?><rss version="2.0"><channel>'
    body += "<title>T</title><item><title>خبر & news</title>".encode().replace(b"&", b"&amp;")
    body += b"<link>https://x.example/a</link></item></channel></rss>"
    feed = parse_feed(body, RSS, "https://x.example/")
    assert ([entry.title for entry in feed.entries], feed.warning) == (["خبر & news"], None)


GEO = 'xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"'
POINT = (
    '<georss:where><gml:Point srsName="SRS"><gml:pos>34.5 69.2</gml:pos></gml:Point></georss:where>'
)
RAISING = {  # what feedparser raised on: a whole source failed (feedparser's issue 599)
    "a category closed after its item": (
        '<rss version="2.0"><channel><title>T</title><item><title>Kabul</title>'
        "<link>https://x.example/a</link><category>Kabul</item></category></channel></rss>"
    ),
    "a GML point named by an EPSG URL": (
        f'<rss version="2.0" {GEO}><channel><title>T</title><item><title>Kabul</title>'
        f"<link>https://x.example/a</link>{POINT}</item></channel></rss>"
    ).replace("SRS", "http://www.opengis.net/def/crs/EPSG/0/4326"),
    "a GML point in an Atom entry": (
        f'<feed xmlns="http://www.w3.org/2005/Atom" {GEO}><title>T</title><entry><title>Kabul'
        '</title><link href="https://x.example/a"/><id>a</id><content type="xhtml"><div '
        'xmlns="http://www.w3.org/1999/xhtml">Before <svg xmlns="http://www.w3.org/2000/svg"/>'
        f" after</div></content>{POINT}</entry></feed>"
    ).replace("SRS", "EPSG:unknown"),
    "a DTD entity with a backslash": (
        '<!DOCTYPE rss [\n<!ENTITY path "C:\\data">\n]>\n<rss version="2.0"><channel><title>T'
        "</title><item><title>Kabul &amp; &path;</title><link>https://x.example/a</link>"
        "</item></channel></rss>"
    ),
}


@pytest.mark.parametrize("name", RAISING)
def test_a_feed_feedparser_raises_on_is_read_after_repair(name):
    """The body is read again as libxml2 recovers it, without its DOCTYPE (its own entities
    resolved) and the elements of namespaces we do not read; the source is told it is
    malformed and keeps its entries."""
    feed = parse_feed(RAISING[name].encode(), RSS, "https://x.example/")
    (entry,) = feed.entries
    assert entry.title == ("Kabul & C:\\data" if "DTD" in name else "Kabul")
    assert entry.link == "https://x.example/a"
    assert "read after repair: feedparser failed on it (" in (feed.warning or "")
    if "category" in name:
        assert entry.categories == ("Kabul",)
    if "Atom" in name:
        assert entry.content == "Before  after"  # the text after a dropped element stays


def test_lone_surrogates_in_a_json_feed_are_read_as_a_browser_reads_them():
    """JSON allows a lone `\\ud800`; UTF-8 cannot store it: storing failed the source."""
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1\\udfff", '
        b'"url": "https://x.example/1", "title": "Lone \\ud800 half, \\ud83d\\ude00 pair", '
        b'"tags": ["t\\uDC00"]}]}'
    )
    feed = parse_feed(body, {"content-type": "application/feed+json"}, "https://x.example/")
    (entry,) = feed.entries
    assert (entry.guid, entry.title, entry.categories) == (
        "1\ufffd", "Lone \ufffd half, 😀 pair", ("t\ufffd",)
    )  # fmt: skip


def test_a_single_byte_feed_is_not_taken_for_utf8_with_strays():
    """A windows-1256 body has next to no UTF-8 sequences: it is read by its label as before."""
    body = data_file("tolonews_dari_cp1256.xml")
    headers = {"Content-Type": "application/rss+xml; charset=windows-1256"}
    feed = parse_feed(body, headers, "https://tolonews.com/fa/rss.xml")
    assert feed.entries[0].title == "بازگشايي گذرگاه تورخم براي تجارت"
    assert feed.warning is None


def test_feedburner_origlink_preferred():
    feed = parse_feed(data_file("feedburner.xml"), RSS, "https://feeds.feedburner.com/zantimes")
    assert feed.entries[0].link.startswith(
        "https://zantimes.com/2026/11/27/women-journalists-balkh/"
    )
    assert feed.entries[1].published is None


def test_malformed_feed_with_entries_is_accepted_with_warning():
    feed = parse_feed(data_file("malformed.xml"), RSS, "https://pajhwok.com/feed/")
    assert len(feed.entries) == 2
    assert feed.warning.startswith("feed is malformed but readable (2 entries)")
    one = parse_feed(data_file("malformed.xml").replace(b"<item>", b"<x>", 1), RSS, "https://x/")
    assert one.warning.startswith("feed is malformed but readable (1 entry): ")


def test_html_page_is_not_a_feed_and_names_the_advertised_feed():
    with pytest.raises(
        NotAFeed,
        match=r"HTML page, not a feed \(the page advertises a feed at "
        r"https://www.ariananews.af/feed/\)",
    ):
        parse_feed(
            data_file("page.html"), {"content-type": "text/html"}, "https://www.ariananews.af/"
        )


def test_garbage_is_not_a_feed():
    with pytest.raises(NotAFeed, match="not a feed"):
        parse_feed(b"\x00\x01binary", {}, "https://example.com/feed")


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"Service temporarily unavailable.\nTry later.", "text, not XML: it begins "
         "\u201cService temporarily unavailable. Try later.\u201d"),
        ("\u202eevil\x1b[0m " .encode() + b"x" * 200, "text, not XML: it begins \u201cevil[0m "
         + "x" * 51 + "\u2026\u201d"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"%PDF-1.4\n%\xe2\xe3", "a PDF document"),
        (b"\x00\x01\x02binary\x03\x04", "binary data, not text"),
        (b"<?xml version='1.0'?><error><message>Forbidden</message></error>",
         "XML of another kind: its root is <error>, not <rss>, <feed> or <rdf:RDF>"),
        (b"<?xml version='1.0'?>\n<!-- hi -->\n<foo><bar></foo>",
         "XML that does not parse (mismatched tag at line 3, column 13)"),
        (b"<foo>\n<bar></foo>", "XML that does not parse (mismatched tag at line 2, column 8)"),
    ],
)  # fmt: skip
def test_a_body_that_is_no_feed_is_said_to_be_what_it_is(body, said):
    """An editor learns what the server sent in place of the feed: a maintenance notice, an
    image, an API's XML error; quoted text is short and printable, lines and columns count
    from 1, as an editor counts them."""
    for content_type in ("application/rss+xml", "text/plain"):
        with pytest.raises(NotAFeed) as caught:
            parse_feed(body, {"content-type": content_type}, "https://x.example/feed")
        assert str(caught.value) == f"not a feed: {said}"


@pytest.mark.parametrize("content_type", ["text/plain", "application/rss+xml", ""])
def test_json_that_is_no_feed_is_said_to_be_json_whatever_its_label(content_type):
    with pytest.raises(NotAFeed, match=r"^not a feed: JSON without a JSON Feed `items` list$"):
        parse_feed(b' {"error": "rate limited"}', {"content-type": content_type}, "https://x/f")


def test_a_feed_cut_short_before_its_items_is_said_to_be_malformed():
    """A cache plugin's feed file cut short (a full disk): no entries, and a warning, not
    silence; the line counts from the document's first."""
    body = b"<?xml version='1.0'?>\n<rss version='2.0'><channel>\n<title>T</title><it"
    feed = parse_feed(body, RSS, "https://x.example/feed")
    assert feed.entries == []
    assert feed.warning == (
        "feed is malformed but no entry could be read: unclosed token at line 3, column 17"
    )


def test_empty_but_valid_feed_is_not_an_error():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    assert parse_feed(body, RSS, "https://example.com/feed").entries == []


@pytest.mark.parametrize(
    ("page", "hint"),
    [
        (  # unquoted attributes, a <base>, an Atom type: what add finds, the run names
            b"<!doctype html><html><head><base href=/fa/><link rel=alternate "
            b"type=application/atom+xml href=feed.atom></head><body>Home</body></html>",
            "(the page advertises a feed at https://www.ariananews.af/fa/feed.atom)",
        ),
        (  # a challenge answered with 200, by a site that advertises its feed
            b"<html><head><title>Just a moment...</title><link rel=alternate "
            b'type="application/rss+xml" href="/feed/"></head><body class="cf-chl"></body></html>',
            "(looks like a firewall or bot block: Cloudflare)",
        ),
        (b"<html><head><title>Log in</title></head><body><form></form></body></html>", ""),
    ],
)
def test_an_html_page_says_what_it_is(page, hint):
    with pytest.raises(NotAFeed) as caught:
        parse_feed(page, {"Content-Type": "text/html"}, "https://www.ariananews.af/")
    assert str(caught.value) == f"returned an HTML page, not a feed {hint}".strip()


def test_advertised_feed_absent():
    assert advertised_feed(b"<html><head></head></html>", "https://example.com/") is None


def test_relative_links_resolve_against_the_final_url():
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>/</link>'
        b"<item><title>A</title><link>/a/123.html</link>"
        b'<description>&lt;a href="/b/9"&gt;more&lt;/a&gt;</description></item></channel></rss>'
    )
    feed = parse_feed(body, RSS, "https://www.afintl.com/en/feed")
    assert feed.entries[0].link == "https://www.afintl.com/a/123.html"
    entry = normalize_entry(feed.entries[0], "AFI", "en", datetime(2026, 11, 28, tzinfo=UTC))
    assert 'href="https://www.afintl.com/b/9"' in entry.summary_html  # resolved while cleaning


def test_a_files_relative_url_resolves_and_an_empty_one_names_no_file():
    """An RSS enclosure's relative URL, which feedparser leaves as it is, resolves against the
    feed's URL (an item with no other link takes it); an Atom enclosure's empty href, which
    feedparser resolves to the feed itself, names no file."""
    now = datetime(2026, 11, 28, tzinfo=UTC)
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>/</link>'
        b'<item><title>A</title><link>/a/1.html</link><enclosure url="/audio/1.mp3" '
        b'type="audio/mpeg" length="9"/></item><item><title>B</title><guid isPermaLink="false">'
        b'b</guid><enclosure url="audio/2.mp3" type="audio/mpeg" length="9"/></item>'
        b'<item><title>C</title><link>/a/3.html</link><enclosure url="" length="9"/></item>'
        b"</channel></rss>"
    )
    feed = parse_feed(rss, RSS, "https://radio.example.af/podcast/feed")
    entries = [normalize_entry(raw, "R", "en", now) for raw in feed.entries]
    assert [[m.url for m in e.media] for e in entries] == [
        ["https://radio.example.af/audio/1.mp3"],
        ["https://radio.example.af/podcast/audio/2.mp3"],
        [],
    ]
    assert entries[1].url == "https://radio.example.af/podcast/audio/2.mp3"  # its only link
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
        b"<id>urn:f</id><updated>2026-11-28T00:00:00Z</updated><entry><title>A</title>"
        b'<id>urn:a</id><updated>2026-11-28T00:00:00Z</updated><link href="https://k.af/a"/>'
        b'<link rel="enclosure" href=""/><link rel="enclosure" href="p.jpg" type="image/jpeg"/>'
        b"</entry></feed>"
    )
    feed = parse_feed(atom, {"content-type": "application/atom+xml"}, "https://k.af/feed/atom")
    entry = normalize_entry(feed.entries[0], "K", "en", now)
    assert [m.url for m in entry.media] == ["https://k.af/feed/p.jpg"]


@pytest.mark.parametrize("body", [b"", b" \r\n\t"])
def test_an_empty_body_is_said_to_be_empty(body):
    with pytest.raises(NotAFeed, match="the server sent an empty body"):
        parse_feed(body, {"content-type": "application/rss+xml"}, "https://x.example/feed")


ATOM = (
    '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>خبر'
    '</title><entry><title>t</title><link href="https://x.example/a"/><id>x</id>'
    "<updated>2026-11-30T10:00:00Z</updated></entry></feed>"
).encode()


@pytest.mark.parametrize("content_type", ["text/xml", "text/html", "text/plain", "", "image/png"])
def test_a_feed_with_an_odd_label_is_not_called_malformed(content_type):
    """feedparser complains of the label (RFC 3023's US-ASCII for text/xml, a type that is not
    XML); the feed itself is fine, and an editor has nothing to mend in it."""
    feed = parse_feed(ATOM, {"Content-Type": content_type}, "https://x.example/feed")
    assert (feed.title, len(feed.entries), feed.warning) == ("خبر", 1, None)


@pytest.mark.parametrize(
    ("written", "cleaned"),
    [
        ("Watch: &lt;https://youtu.be/x1&gt; &lt;3", "Watch: &lt;https://youtu.be/x1&gt; &lt;3"),
        ("Use &lt;script&gt; and &lt;b&gt;bold&lt;/b&gt; here", "Use &lt;script&gt; and "
         "&lt;b&gt;bold&lt;/b&gt; here"),
        ("Kabul &lt;&gt; Islamabad, &lt;i&gt; 3 &lt; 5",
         "Kabul &lt;&gt; Islamabad, &lt;i&gt; 3 &lt; 5"),
        ("no type: &lt;p&gt;Kabul&amp;nbsp;news&lt;/p&gt;", "no type: <p>Kabul\xa0news</p>"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("element", ["summary", 'content type="text"'])
def test_atom_plain_text_stays_text_unless_it_is_plainly_html(written, cleaned, element):
    """Atom's text constructs are plain text by default: `<https://...>` or `<script>` in a
    video's description was read as a tag and cleaning dropped it and all text after it. A
    generator that wrote HTML but no `type="html"` (a closing tag or an entity, only HTML's
    tags) is still read as HTML, as feedparser reads RSS's."""
    text = f"<{element}>{written}</{element.split()[0]}>"
    body = ATOM.replace(b"<id>x</id>", f"<id>x</id>{text}".encode())
    feed = parse_feed(body, {"Content-Type": "application/atom+xml"}, "https://x.example/feed")
    entry = normalize_entry(feed.entries[0], "S", "en", datetime(2026, 11, 30, tzinfo=UTC))
    assert (entry.content_html or entry.summary_html).replace("&nbsp;", "\xa0") == cleaned


def test_a_feed_that_is_malformed_is_still_said_to_be():
    feed = parse_feed(ATOM.replace(b"</title><entry>", b"</title><entry><b>"), {}, "https://x/")
    assert feed.warning.startswith("feed is malformed but readable")


def test_an_html_page_advertising_a_broken_feed_link_is_still_said_to_be_a_page():
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="http://[::1">'
    with pytest.raises(NotAFeed, match=r"HTML page, not a feed$"):
        parse_feed(page + b"</head></html>", {"content-type": "text/html"}, "https://x.example/")


@pytest.mark.parametrize("name", ["aop_wordpress.xml", "tolonews_atom.xml"])
def test_a_feed_labelled_json_is_read_by_its_bytes(name):
    feed = parse_feed(data_file(name), {"content-type": "application/json"}, "https://x.example/")
    assert len(feed.entries) == 3


@pytest.mark.parametrize(
    "body", [b"[]", b"[{}]", b"1", b'"items"', b"null", b'{"items": null}', b'{"items": {}}']
)
def test_json_that_is_no_json_feed_is_said_to_be(body):
    with pytest.raises(NotAFeed, match=r"^not a feed: JSON without a JSON Feed `items` list$"):
        parse_feed(body, {"content-type": "application/feed+json"}, "https://x.example/f")


def test_a_json_feed_item_with_a_field_of_the_wrong_type_is_kept_without_that_field():
    """authors that are no list, attachments that are a number, a URL urljoin raises on, an id
    that is true: read as absent. Each of them dropped the whole item."""
    item = {"id": True, "url": "https://x.example/a", "title": "Kabul", "authors": True,
            "attachments": 3, "image": "http://[::1", "external_url": "http://[::1"}  # fmt: skip
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [item]}).encode()
    feed = parse_feed(body, {"content-type": "application/feed+json"}, "https://x.example/f")
    assert feed.unreadable == 0
    (entry,) = feed.entries
    assert (entry.guid, entry.link, entry.author, entry.media) == (
        None, "https://x.example/a", None, ()
    )  # fmt: skip
    broken = {**item, "url": "http://[::1", "external_url": "https://x.example/b"}
    body = json.dumps({"version": "https://jsonfeed.org/version/1", "items": [broken]}).encode()
    feed = parse_feed(body, {"content-type": "application/json"}, "https://x.example/f")
    assert feed.entries[0].link == "https://x.example/b"


def test_a_youtube_description_keeps_its_lines_and_links():
    """YouTube's channel feeds describe a video in media:description, plain text that
    feedparser labels HTML: its lines ran together and its addresses were not links."""
    feed = parse_feed(
        data_file("youtube_channel.xml"),
        {"content-type": "application/atom+xml; charset=UTF-8"},
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCz1Ww8Zt0pSdE1ZkL9Gm2wA",
    )
    entry = normalize_entry(feed.entries[0], "TOLOnews YouTube", None, datetime.now(UTC))
    rel = ' rel="noopener noreferrer nofollow"'
    assert entry.summary_html == (
        "Top stories tonight: flour prices rise in Kabul &amp; Herat &lt;full report&gt;.<br>"
        f'Read more: <a href="https://tolonews.com/afghanistan-190123"{rel}>'
        "https://tolonews.com/afghanistan-190123</a>.<br><br>Follow us:<br>"
        f'Facebook: <a href="https://www.facebook.com/TOLOnews"{rel}>'
        "https://www.facebook.com/TOLOnews</a><br>"
        f'Wikipedia (<a href="https://en.wikipedia.org/wiki/TOLOnews"{rel}>'
        "https://en.wikipedia.org/wiki/TOLOnews</a>)"
    )
    assert entry.excerpt.startswith(
        "Top stories tonight: flour prices rise in Kabul & Herat <full report>. Read more: "
    )
    assert entry.links[0] == "https://tolonews.com/afghanistan-190123"
    assert entry.url == "https://www.youtube.com/watch?v=Qm3vT9bXk2A"


@pytest.mark.parametrize(
    ("text", "linked"),
    [
        ("see https://k.af/a_(b).", 'see <a href="https://k.af/a_(b)">https://k.af/a_(b)</a>.'),
        ("(https://k.af/a)!", '(<a href="https://k.af/a">https://k.af/a</a>)!'),
        ('x https://k.af/?a=1&b="2"', 'x <a href="https://k.af/?a=1&amp;b=">https://k.af/?a=1&amp;b=</a>"2"'),
        ("javascript:alert(1) ftp://k.af/", "javascript:alert(1) ftp://k.af/"),
        ("a\r\nb\rc", "a<br>b<br>c"),
    ],
)  # fmt: skip
def test_plain_text_links_only_its_http_addresses(text, linked):
    assert _linked_text(text) == linked


def test_a_copy_of_a_youtube_feed_with_html_of_its_own_keeps_it():
    body = data_file("youtube_channel.xml").replace(
        b"<media:group>",
        b'<summary type="html">&lt;p&gt;Watch &lt;a href="https://k.af/a"&gt;here&lt;/a&gt;'
        b"&lt;/p&gt;</summary><media:group>",
    )
    feed = parse_feed(body, {"content-type": "application/atom+xml"}, "https://k.af/videos.xml")
    assert feed.entries[0].summary == '<p>Watch <a href="https://k.af/a">here</a></p>'
