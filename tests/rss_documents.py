"""Random RSS 2.0 documents built from what real feeds do (entities, CDATA, relative and odd
URIs, permalink guids, text that was UTF-8 read as Latin-1, C1 controls, dates in every shape,
xml:base and xml:lang at each level, media, categories, a Content-Language header), in
combinations nobody wrote by hand: test_rss.py holds the fast path to feedparser on them.

Some pieces (markup or a comment inside a text element, an unknown element, one written
twice, an rdf:about) must make the fast path step aside; most documents have none."""

from __future__ import annotations

import random
from collections.abc import Callable

TEXTS = [
    "Kabul &amp; Herat", "<![CDATA[Kabul & <b>Herat</b>]]>", "  spaced\n out  ", "",
    "&#1575;&#1601;&#1594;&#1575;&#1606;", "افغانستان", "د کابل ښار", "&lt;b&gt;bold&lt;/b&gt;",
    "Tom &quot;Q&quot; &apos;s", "a &amp;amp; b", "<![CDATA[]]>", "<![CDATA[ a ]]> b",
    "\u200frtl mark", "Caf\u00e9 cr\u00e8me", "Caf\u00c3\u00a9, UTF-8 read as Latin-1",
    "&#147;quoted&#148; &#133; &#128;", "no&#160;break", "&#x1F600; emoji", "x &#x85; y",
    "<![CDATA[<p>para <a href='/x'>l</a> <img src=\"i.png\"></p>]]>",
    "&lt;p&gt;para &lt;a href='rel/y'&gt;l&lt;/a&gt;&lt;/p&gt;",
]  # fmt: skip
ASIDE_TEXTS = ["A<!-- c -->B", "x<?pi y?>z", "<b>inline</b> markup"]
URIS = [
    "https://news.example/a?utm_source=x&amp;id=1", "/relative/path", "relative", "?q=1",
    " https://x.example/b ", "", "javascript:alert(1)", "mailto:desk@x.example",
    "https:///x.example/triple", "http://[::1", "http://[::1]/x", "//cdn.example/p", "#frag",
    "https://x.example/a&amp;amp;b=1", "https://x.example/?a=1&amp;copy=2", "12345", "post-7",
    "tag:x.example,2026:1", "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427", "../up/one",
    "https://x.example/افغانستان", "https://x.example/caf\u00c3\u00a9",
    "<![CDATA[https://x.example/c]]>",
]  # fmt: skip
DATES = [
    "Mon, 30 Nov 2026 10:00:00 +0000", "Mon, 30 Nov 2026 10:00:00 GMT", "2026-11-30T10:00:00Z",
    "30 Nov 2026", "garbage", "", "Mon, 30 Nov 2026 10:00:00 +0430", "Tue, 31 Nov 2026 10:00:00",
    "Mon, 30 Nov 26 10:00:00 EST", " Mon, 30 Nov 2026 10:00:00 +0000 ", "2026-11-30",
    "Mon, 30 Nov 2026 10:00 PDT", "۳۰ نوامبر ۲۰۲۶", "Lun, 30 Nov 2026 10:00:00 +0100",
    "2026-11-30 10:00:00", "Mon, 30 Nov 2026 25:61:00 +0000", "Sun, 29 Nov 2026 23:00:00 Z",
    "Mon, 01 Jan 0001 00:00:00 +0000", "Fri, 31 Dec 9999 23:59:59 -1200", "1970-01-01T00:00:00Z",
    "Thu, 30 Nov 2028 10:00:00 +1400", "0000-00-00 00:00:00", "2026-W48-1",
    "Mon, 30 Nov 2026 10:00:00 AFT", "Mon, 30 Nov 2026 10:00:00 GMT+4:30",
    "Mon, 30 Nov 2026 10:00 UTC+4",
]  # fmt: skip
ITEM_ATTRIBUTES = [
    *[""] * 12, ' xml:base="https://base.example/dir/"', ' xml:base="sub/"',
    ' xml:base="javascript:x"', ' xml:lang="fa"', ' xml:lang="ps_AF"',
    ' rdf:about="x" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
]  # fmt: skip
NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0" xmlns:x="urn:x"'
)


def _element(tag: str, value: str, attributes: str = "") -> str:
    return f"<{tag}{attributes}>{value}</{tag}>"


def _maybe(rng: random.Random, chance: float, make: Callable[[], str]) -> list[str]:
    return [make()] if rng.random() < chance else []


def _text(rng: random.Random) -> str:
    return rng.choice(ASIDE_TEXTS) if rng.random() < 0.03 else rng.choice(TEXTS)


def _media(rng: random.Random) -> str:
    url = rng.choice(["https://x.example/a.jpg", " https://x.example/b.jpg", "rel.jpg", ""])
    kind = rng.choice(["", ' type="image/JPEG"', ' type="video/mp4"'])
    size = rng.choice(["", ' fileSize="99"', ' filesize="12"', ' fileSize="x"'])
    medium = rng.choice(["", ' medium="image"'])
    content = f'<media:content url="{url}"{kind}{size}{medium}/>'
    thumbnail = rng.choice(['<media:thumbnail url="https://x.example/t.jpg"/>',
                            '<media:thumbnail url=""/>'])  # fmt: skip
    if rng.random() < 0.1:  # what feedparser reads more of: a title, a URL as text, two sizes
        aside = ["<media:title>T</media:title>", "<media:thumbnail>t.jpg</media:thumbnail>",
                 '<media:content url="a.jpg" fileSize="1" filesize="2"/>']  # fmt: skip
        thumbnail = rng.choice(aside)
    return rng.choice([content, thumbnail, f"<media:group>{content}{thumbnail}</media:group>"])


def _item(rng: random.Random) -> str:
    title_language = rng.choice(["", "", ' xml:lang="ps"', ' xml:lang=""'])
    permalink = rng.choice(["", "", ' isPermaLink="false"', ' isPermaLink="true"',
                            ' isPermaLink="True"'])  # fmt: skip
    author = ["a@b.example (Ann)", "Ann &lt;ann@b.example&gt;", "Ann", ""]
    parts = [
        *_maybe(rng, 0.9, lambda: _element("title", _text(rng), title_language)),
        *_maybe(rng, 0.8, lambda: _element("link", rng.choice(URIS))),
        *_maybe(rng, 0.7, lambda: _element("guid", rng.choice(URIS), permalink)),
        *_maybe(rng, 0.7, lambda: _element("pubDate", rng.choice(DATES))),
        *_maybe(rng, 0.3, lambda: _element("dc:date", rng.choice(DATES))),
        *_maybe(rng, 0.8, lambda: _element("description", _text(rng))),
        *_maybe(rng, 0.4, lambda: _element("content:encoded", _text(rng))),
        *_maybe(rng, 0.3, lambda: _element("dc:creator", _text(rng))),
        *_maybe(rng, 0.15, lambda: _element("author", rng.choice(author))),
        *_maybe(rng, 0.1, lambda: _element("feedburner:origLink", rng.choice(URIS))),
        *_maybe(rng, 0.1, lambda: _element("comments", rng.choice(URIS))),
        *_maybe(rng, 0.05, lambda: '<source url="https://s.example/">Source</source>'),
    ]
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        domain = rng.choice(["", "", ' domain="d"', ' domain=""'])
        parts.append(_element("category", _text(rng), domain))
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        url = rng.choice(["https://x.example/a.mp3", " https://x.example/b.mp3", "rel.mp3", ""])
        kind = rng.choice(["audio/mpeg", "Audio/MPEG", ""])
        length = rng.choice(["12", "", "x", "-1"])
        parts.append(f'<enclosure url="{url}" type="{kind}" length="{length}"/>')
    parts += [_media(rng) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
    parts += _maybe(rng, 0.05, lambda: "<!-- a comment between elements -->")
    parts += _maybe(rng, 0.02, lambda: "<x:note>unknown</x:note>")
    if parts and rng.random() < 0.02:
        parts.append(rng.choice(parts))  # an element written twice
    rng.shuffle(parts)
    return f"<item{rng.choice(ITEM_ATTRIBUTES)}>{''.join(parts)}</item>"


def _atom_link(rel: str) -> str:
    return f'<atom:link href="https://news.example/feed/" rel="{rel}"/>'


def document(rng: random.Random) -> tuple[bytes, dict[str, str], str]:
    """One random document: its body, response headers and URL."""
    channel = [
        *_maybe(rng, 0.95, lambda: _element("title", _text(rng))),
        *_maybe(rng, 0.9, lambda: _element("link", rng.choice(URIS))),
        *_maybe(
            rng,
            0.7,
            lambda: _element(
                rng.choice(["language"] * 5 + ["dc:language"]),
                rng.choice(["en", "fa_AF", "", " ps "]),
            ),
        ),  # fmt: skip
        *_maybe(rng, 0.2, lambda: _element("ttl", rng.choice(["60", " 30 ", "x"]))),
        *_maybe(rng, 0.5, lambda: _element("description", _text(rng))),
        *_maybe(rng, 0.4, lambda: _atom_link(rng.choice(["self", "hub", "alternate", "Self"]))),
        *_maybe(
            rng,
            0.2,
            lambda: (
                "<image><url>https://x.example/logo.png</url><title>Logo"
                "</title><link>https://x.example/</link></image>"
            ),
        ),  # fmt: skip
        *_maybe(rng, 0.2, lambda: "<generator>https://wordpress.org/?v=6.7</generator>"),
        *_maybe(rng, 0.02, lambda: "<dc:title>Another title</dc:title>"),
    ]
    items = [_item(rng) for _ in range(rng.randint(0, 4))]
    rng.shuffle(channel)
    parts = channel + items
    if rng.random() < 0.3:
        rng.shuffle(parts)  # items before the channel's own elements, or between them
    root = rng.choice(["", "", ' xml:base="https://root.example/r/"', ' xml:lang="fa"',
                       ' xml:lang=""'])  # fmt: skip
    inside = rng.choice([*[""] * 8, ' xml:base="https://chbase.example/c/"', ' xml:base="c2/"',
                         ' xml:lang="ps"', ' href="https://other.example/"'])  # fmt: skip
    declaration = rng.choice(['<?xml version="1.0" encoding="UTF-8"?>\n', '<?xml version="1.0"?>',
                              "", '\ufeff<?xml version="1.0" encoding="utf-8"?>'])  # fmt: skip
    body = (
        f'{declaration}<rss version="2.0" {NAMESPACES}{root}><channel{inside}>'
        f"{''.join(parts)}</channel></rss>"
    ).encode()
    headers = {"content-type": rng.choice(["application/rss+xml", "text/xml", "text/html", "",
                                           "text/xml; charset=utf-8",
                                           'application/xml; charset="UTF-8"'])}  # fmt: skip
    if rng.random() < 0.3:
        headers["content-language"] = rng.choice(["en", "fa_AF", ""])
    url = rng.choice(["https://news.example/feed/", "http://127.0.0.1:8080/rss?x=1&y=2",
                      "https://news.example/a/../feed"])  # fmt: skip
    return body, headers, url
