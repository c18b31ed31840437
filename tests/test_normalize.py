import re
import unicodedata
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.models import Media, RawEntry
from aggregator.normalize import (
    AUTHOR_CHARS,
    CATEGORY_CHARS,
    MAX_CATEGORIES,
    MAX_DEPTH,
    MAX_LINKS,
    MAX_MEDIA,
    MAX_URL_CHARS,
    SkipEntry,
    canonical_url,
    clean_title,
    collapse,
    digest_context,
    excerpt,
    normalize_entry,
    plain_text,
    raw_digest,
    sanitize_html,
    shallow,
    xml_safe,
)
from aggregator.rules import Rules, RuleSet

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Khaama.COM/a/B?x=1#frag", "https://www.khaama.com/a/B?x=1"),
        ("https://k.com/p?utm_source=rss&utm_medium=rss&id=9", "https://k.com/p?id=9"),
        ("https://k.com/p?fbclid=abc&gclid=d&mc_cid=1&mc_eid=2", "https://k.com/p"),
        # shared from Facebook's and Instagram's apps, TikTok and LinkedIn ads, Google Ads
        (
            "https://k.com/p?mibextid=Zxz2cZ&igsh=MW4&ttclid=E&li_fat_id=9&gad_source=1&id=3",
            "https://k.com/p?id=3",
        ),
        # a visit's session: PHP's and ColdFusion's in the query, Java's in the path
        (
            "https://k.com/n.php?id=5&PHPSESSID=9f8e&CFID=1&CFTOKEN=2&cat=2",
            "https://k.com/n.php?id=5&cat=2",
        ),
        ("https://k.com/news/12;jsessionid=A1B2C3?id=4", "https://k.com/news/12?id=4"),
        ("https://k.com/a;JSESSIONID=A1.node1/b;v=2", "https://k.com/a/b;v=2"),
        (
            "https://www.bbc.com/pashto/articles/c4g?at_medium=RSS&at_campaign=rss",
            "https://www.bbc.com/pashto/articles/c4g",
        ),
        (
            "http://www.bbc.co.uk/news/1?ns_mchannel=rss&ns_source=PublicRSS20-sa",
            "http://www.bbc.co.uk/news/1",
        ),
        (
            "https://k.com/p?mtm_campaign=x&pk_kwd=y&_ga=2.1&xtor=RSS-3&hsa_cam=4&p=2",
            "https://k.com/p?p=2",
        ),
        (
            "https://k.com/p?ref=k.com&page=2&id=7&source=rss",
            "https://k.com/p?ref=k.com&page=2&id=7&source=rss",
        ),
        ("http://k.com:80/p", "http://k.com/p"),
        ("https://k.com:443", "https://k.com/"),
        ("https://k.com:8443/p", "https://k.com:8443/p"),
        ("https://user:pw@k.com/p", "https://k.com/p"),
        ("https://k.com/p?UTM_Source=x&q=%D8%A7", "https://k.com/p?q=%D8%A7"),
        ("http://[::1]:8080/x?a=1", "http://[::1]:8080/x?a=1"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


def test_clean_title_decodes_entities_and_collapses_space():
    assert clean_title("  Taliban &amp; UN\n\t talks ") == "Taliban & UN talks"
    assert clean_title("Double &amp;amp; escaped") == "Double &amp; escaped"  # once only
    assert clean_title("<b>Bold</b> title") == "Bold title"
    assert clean_title("Kabul &#8211; Herat") == "Kabul – Herat"


def test_clean_title_survives_a_lone_surrogate_next_to_markup():
    # a JSON feed can escape half a character ("\ud800"); the HTML parser cannot take it
    assert clean_title("<b>Kabul</b> \ud800talks") == "Kabul talks"


def test_plain_text_of_sanitized_html():
    html = sanitize_html(
        '<p title="a>b">One<br>two</p><div>three</div><img alt="x>y" src="https://k.com/i.png">'
        "<b>fo</b>ur &amp; &lt;tag&gt;&nbsp;five<!-- gone --><script>gone()</script>"
    )
    assert plain_text(html) == "One two threefour & <tag> five"


@pytest.mark.parametrize(
    ("parsed", "title"),
    [
        ("&lt;img src=x onerror=alert(1)&gt;", "&lt;img src=x onerror=alert(1)&gt;"),
        ("<img src=x onerror=alert(1)>Kabul", "Kabul"),
        ("\u202eKabul\u202c news \u2067کابل\u2069", "Kabul news کابل"),
        ("Zero\u200cwidth and \u200fmarks stay", "Zero\u200cwidth and \u200fmarks stay"),
    ],
)
def test_titles_never_become_markup_and_lose_bidi_controls(parsed, title):
    assert clean_title(parsed) == title


def test_excerpts_keep_paragraphs_apart():
    entry = normalize_entry(
        raw(summary="<p>The council met in the evening.</p><p>hover text</p><ul><li>one</li><li>"
            "two</li></ul><script>var x = 1;</script>"),
        "K", "en", NOW,
    )  # fmt: skip
    assert entry.excerpt == "The council met in the evening. hover text one two"


@pytest.mark.parametrize(
    "dirty",
    [
        "<script>alert(1)</script>",
        "<style>p{}</style>",
        '<iframe src="https://x.example/"></iframe>',
        '<p onclick="alert(1)">x</p>',
        '<a href="javascript:alert(1)">x</a>',
        '<img src="data:image/png;base64,AAAA">',
        '<object data="x.swf"></object>',
        '<a href="/relative">x</a>',
    ],
)
def test_sanitize_removes_active_content(dirty):
    clean = sanitize_html(f"<p>kept</p>{dirty}")
    assert "kept" in clean
    for bad in (
        "script",
        "style",
        "iframe",
        "onclick",
        "javascript:",
        "data:",
        "object",
        "/relative",
    ):
        assert bad not in clean


def test_sanitize_keeps_safe_markup():
    clean = sanitize_html(
        '<p dir="rtl">متن <a href="https://a.af/x">لینک</a> '
        '<img src="https://a.af/i.jpg" alt="i"></p>'
    )
    assert '<p dir="rtl">' in clean
    assert 'href="https://a.af/x"' in clean
    assert 'rel="noopener noreferrer nofollow"' in clean
    assert '<img src="https://a.af/i.jpg" alt="i">' in clean


PIXEL = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (  # WP Rocket and Jetpack: a pixel in src, the picture in data-lazy-src and <noscript>
            f'<img src="{PIXEL}" data-lazy-src="https://k.af/a.jpg" alt="a">'
            '<noscript><img src="https://k.af/a.jpg"></noscript>',
            '<img src="https://k.af/a.jpg" alt="a">',
        ),
        ("<img data-src=/b.jpg class=lazyload>", '<img src="https://k.af/b.jpg">'),
        ("<IMG SRC='/spin.gif' DATA-ORIGINAL='/c.jpg'>", '<img src="https://k.af/c.jpg">'),
        ('<img src="/s.gif" Data-Lazy-Src="/e.jpg">', '<img src="https://k.af/e.jpg">'),
        ('<img src="/d.jpg" data-id="7">', '<img src="https://k.af/d.jpg">'),
        ('<img data-src="javascript:alert(1)" alt="x">', ""),  # and no picture without a source
        (f'<p>text<img src="{PIXEL}"></p>', "<p>text</p>"),
    ],
)
def test_a_lazy_loaded_picture_keeps_the_source_it_waits_in(html, expected):
    assert sanitize_html(html, "https://k.af/post/1") == expected


def test_excerpt_cuts_at_word_boundary():
    text = "word " * 100
    short = excerpt(text.strip(), 50)
    assert short.endswith("…") and len(short) <= 51 and "wor…" not in short
    assert excerpt("short", 50) == "short"
    assert excerpt("Residents said. […]", 50) == "Residents said. …"
    assert excerpt("Residents said [...]", 50) == "Residents said…"


def raw(**kw) -> RawEntry:
    base = dict(guid="g1", link="https://k.com/a?utm_source=x", title="T", summary="", content="")
    return RawEntry(**{**base, **kw})


def test_missing_date_falls_back_to_first_seen():
    assert normalize_entry(raw(), "K", "en", NOW).published == NOW


def test_future_date_is_clamped():
    entry = normalize_entry(raw(published=NOW + timedelta(days=3)), "K", "en", NOW)
    assert entry.published == NOW
    near = NOW + timedelta(hours=5)
    assert normalize_entry(raw(published=near), "K", "en", NOW).published == near
    ancient = datetime(1, 1, 1, tzinfo=UTC)  # a broken feed's year 1: no date at all
    assert normalize_entry(raw(published=ancient, updated=ancient), "K", "en", NOW).published == NOW


def test_language_entry_then_feed_then_en_unless_the_editor_gave_another():
    assert normalize_entry(raw(language="ps"), "K", None, NOW, "en-US").language == "ps"
    assert normalize_entry(raw(), "K", None, NOW, "en-US").language == "en-US"
    assert normalize_entry(raw(language="en_us"), "K", None, NOW).language == "en-US"
    assert normalize_entry(raw(language="not a tag"), "K", None, NOW, "EN").language == "en"
    assert normalize_entry(raw(), "K", None, NOW).language == "en"
    # the editor's fa: a WordPress site's admin language (en-US) does not make Dari English
    assert normalize_entry(raw(), "K", "fa", NOW).language == "fa"
    assert normalize_entry(raw(), "K", "fa", NOW, "en-US").language == "fa"
    assert normalize_entry(raw(language="en"), "K", "fa", NOW, "fa").language == "fa"
    # one language both ways: the feed's tag says more
    assert normalize_entry(raw(), "K", "fa", NOW, "fa-AF").language == "fa-AF"
    assert normalize_entry(raw(language="prs"), "K", "fa", NOW, "en").language == "fa-AF"


def test_entry_without_http_link_is_dropped():
    with pytest.raises(SkipEntry, match="no link"):
        normalize_entry(raw(link=None), "K", "en", NOW)
    with pytest.raises(SkipEntry, match="not http"):
        normalize_entry(raw(link="javascript:alert(1)"), "K", "en", NOW)
    with pytest.raises(SkipEntry, match="invalid port"):
        normalize_entry(raw(link="https://example.af:123456/a"), "K", "en", NOW)
    with pytest.raises(SkipEntry, match="IPv6"):  # the W3C Feed Validator refuses it in RSS
        normalize_entry(raw(link="http://[2001:db8::1]/a", guid="g"), "K", "en", NOW)
    refused = ("k.c om", "k<b>.com", "k%41.com", "kabulپ.com", ".", "k" * 64 + ".com", "k.af.704",
               "10.0.0.256", "xn--mgbh0fb.xn--mgbaam7a8h900")  # fmt: skip
    for host in refused:  # browsers refuse them; a DNS label has at most 63 bytes
        with pytest.raises(SkipEntry, match="host is not a name"):
            normalize_entry(raw(link=f"https://{host}/a", guid="g"), "K", "en", NOW)
    for host in ("مثال.af", "Ｋ.com", "k_1.com", "xn--mgbh0fb.af", "10.0.0.255", "2026.af"):
        assert normalize_entry(raw(link=f"https://{host}/a"), "K", "en", NOW).url.isascii()


@pytest.mark.parametrize(
    "base",
    [
        "https://xn--bad-.example/",  # no name to nh3 (an empty punycode label): it raised
        "ftp://k.com/feed",
        "javascript:alert(1)//",
        "/feed",
        "",
        None,
    ],
)
def test_a_base_the_sanitizer_refuses_drops_relative_links_only(base):
    html = '<p>Read <a href="/a">this</a> and <a href="https://k.com/b">that</a></p>'
    assert sanitize_html(html, base) == (
        '<p>Read <a rel="noopener noreferrer nofollow">this</a> and '
        '<a href="https://k.com/b" rel="noopener noreferrer nofollow">that</a></p>'
    )


def test_an_item_without_a_link_links_its_episode_not_its_cover():
    """A podcast's item with no link of its own links its first file that is not a picture
    (the episode), however the feed orders them; a picture only when it has nothing else."""
    cover, thumb = (
        Media("https://k.af/c.jpg", "image/jpeg"),
        Media("https://k.af/t", medium="image"),
    )
    episode = Media("https://k.af/e.mp3", "audio/mpeg")
    entry = normalize_entry(
        raw(link=None, guid=None, media=(cover, thumb, episode)), "K", "en", NOW
    )
    assert entry.url == "https://k.af/e.mp3"
    assert [m.url for m in entry.media] == [
        "https://k.af/c.jpg",
        "https://k.af/t",
        "https://k.af/e.mp3",
    ]
    entry = normalize_entry(raw(link=None, guid=None, media=(cover, thumb)), "K", "en", NOW)
    assert entry.url == "https://k.af/c.jpg"


def test_guid_falls_back_to_canonical_link():
    entry = normalize_entry(raw(guid=None), "K", "en", NOW)
    assert entry.guid == "https://k.com/a"
    assert entry.url == "https://k.com/a"


def test_excerpt_is_plain_text_of_summary():
    entry = normalize_entry(
        raw(summary="<p>Hello <b>world</b> &amp; more</p><script>x</script>"), "K", "en", NOW
    )
    assert entry.excerpt == "Hello world & more"


def test_include_and_exclude_rules():
    entry = normalize_entry(
        raw(title="Afghanistan: talks resume", summary="Kabul"), "AJ", "en", NOW
    )
    other = normalize_entry(raw(title="Football results", summary="Scores"), "AJ", "en", NOW)
    include = Rules((RuleSet.of("source", ["Afghan", "/\\bTaliban\\b/"], []),))
    assert include.verdict(entry) is None
    assert include.verdict(other) == "no source include rule matches"
    exclude = Rules((RuleSet.of("source", [], ["kabul"]),))
    assert exclude.verdict(entry) == "source exclude rule 'kabul' matches"


def test_characters_xml_cannot_carry_are_dropped():
    dirty = raw(title="Kabul\x0bnews \x01today", summary="<p>a\x02b</p>", author="Desk\x00")
    entry = normalize_entry(dirty, "K", "en", NOW)
    assert (entry.title, entry.summary_html, entry.excerpt, entry.author) == (
        "Kabul news today",
        "<p>ab</p>",
        "ab",
        "Desk",
    )


URLISH = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            ["http", "https", "HTTP", "://", ":", "//", "/", "?", "#", "&", "=", "@", "[", "]", ".",
             "::1", "utm_source=x", "a", "Ex.AF", "80", "443", "99999", "%20", "مطلب", " ", "\t",
             "\x00", "\ufffe", "www", "-", "١٢", "<", "%", "\u067e"]
        ),
        max_size=14,
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.one_of(URLISH, st.text(max_size=60)))
def test_canonical_url_never_raises_and_is_idempotent(text):
    once = canonical_url(text)
    assert canonical_url(once) == once


@settings(max_examples=200, deadline=None)
@given(URLISH)
def test_link_problem_never_raises_and_agrees_with_is_http_url(text):
    from aggregator.normalize import is_http_url, link_problem

    problem = link_problem(text)
    assert (problem is None) == is_http_url(text)
    if problem is None:
        canonical = canonical_url(text)
        assert canonical.startswith(("http://", "https://"))
        assert re.fullmatch(r"[a-z0-9._~!$&'()*+,;=-]+", urlsplit(canonical).hostname or "")


def _other(value: object) -> object:
    """A value of the same kind that differs."""
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, datetime):
        return value + timedelta(seconds=1)
    if isinstance(value, tuple):
        return (*value, value[0])
    return "x" if value is None else None


def test_an_items_digest_changes_with_anything_cleaning_reads_and_only_then():
    from dataclasses import fields, replace

    raw = RawEntry(
        guid="g", link="https://k.af/1", title="Salang closed", summary="<p>Snow</p>",
        content="<p>Snow closed the pass.</p>", author="A", categories=("Roads",),
        published=NOW - timedelta(hours=2), updated=None, language="en",
        media=(Media("https://k.af/a.jpg", "image/jpeg"),), date_text=None, base="https://k.af/",
    )  # fmt: skip
    context = digest_context("K", "en", "en", "Rules(())")
    digest = raw_digest(raw, context)
    assert len(digest) == 8
    assert raw_digest(replace(raw), context) == digest  # a copy: the same
    for item in fields(RawEntry):
        changed = replace(raw, **{item.name: _other(getattr(raw, item.name))})
        assert raw_digest(changed, context) != digest, item.name
    moved = replace(raw, title="Salang closed<p>", summary="Snow</p>")  # text between fields
    assert raw_digest(moved, context) != digest
    for at, part in enumerate(("K", "en", "en", "Rules(())")):
        parts = ["K", "en", "en", "Rules(())"]
        parts[at] = part + "x"
        assert raw_digest(raw, digest_context(*parts)) != digest
    lone = replace(raw, title="\ud800")  # a JSON feed's lone surrogate: digested, not raised
    assert raw_digest(lone, context) != digest


def test_stacked_combining_marks_are_thinned_to_three_a_letter():
    """ "Zalgo" text, a letter under dozens of combining marks, climbs over the lines above and
    below it on a page; a title, an author or an excerpt keeps three marks a letter, which no
    language needs more of (Vietnamese uses two; Arabic's harakat are not touched)."""
    marks = "".join(map(chr, range(0x300, 0x340)))
    entry = normalize_entry(
        raw(title=f"K{marks}abul", author=f"A{marks}", summary=f"<p>Lede K{marks}abul</p>"),
        "K", "en", NOW,
    )  # fmt: skip
    assert entry.title == f"K{marks[:3]}abul" and entry.author == f"A{marks[:3]}"
    assert entry.excerpt == f"Lede K{marks[:3]}abul"
    vietnamese = unicodedata.normalize("NFD", "Tiếng Việt được ệ")
    harakat = "مُحَمَّدٌ رَسُولُ"
    for text in (vietnamese, harakat):
        assert normalize_entry(raw(title=text), "K", "en", NOW).title == text


def test_a_title_past_300_characters_is_cut_at_a_word_with_an_ellipsis():
    """A feed that sends its whole article as the title, or a megabyte of it: pages and feeds
    carry at most 300 characters of it."""
    words = "Kabul news " * 100
    entry = normalize_entry(raw(title=words), "K", "en", NOW)
    assert len(entry.title) <= 301 and entry.title.endswith("news…")
    assert entry.title[:-1] == words[: len(entry.title) - 1]
    one_word = normalize_entry(raw(title="x" * 10_000), "K", "en", NOW).title
    assert one_word == "x" * 300 + "…"
    assert normalize_entry(raw(title="Short"), "K", "en", NOW).title == "Short"


@pytest.mark.parametrize(
    "fragment",
    [
        "<blockquote>x" * 20_000,  # never closed
        "<blockquote>" * 20_000 + "x" + "</blockquote>" * 20_000,
        "<ul><li>x" * 20_000,
        "<span><div>x" * 10_000,
    ],
)
def test_nesting_is_cut_at_the_depth_browsers_build(fragment):
    """nh3's parser takes time quadratic in nesting depth (100,000 nested <div>s: 18 s), so a
    feed could hold a worker for hours: start tags past 512 open elements are dropped, as
    Chromium's parser nests no deeper, and no text is lost."""
    cleaned = sanitize_html(fragment)
    depth = deepest = 0
    for tag in re.findall(r"</?(?:blockquote|ul|span)\b", cleaned):
        depth += -1 if tag[1] == "/" else 1
        deepest = max(deepest, depth)
    assert deepest <= MAX_DEPTH
    assert cleaned.count("x") == fragment.count("x")
    assert len(clean_title(fragment)) == fragment.count("x")


def test_a_long_article_of_many_tags_is_left_as_it_is():
    article = "".join(
        f"<p>Paragraph {i} <b>held</b> <a href='https://a.af/{i}'>link</a><br></p>"
        for i in range(1_000)
    )
    assert shallow(article) == article  # 7,000 tags, none deeper than 2
    unclosed = "<p>text" * 3_000 + "<div>" * 10 + "end"  # paragraphs never closed do not nest
    assert shallow(unclosed) == unclosed


def test_what_an_entry_keeps_of_a_feeds_long_lists_is_bounded():
    """A feed may give an item thousands of categories, files and links: the first few are
    kept, in order, so that one feed cannot fill the matching window or the database."""
    links = "".join(f'<a href="https://site{n}.example/a">{n}</a> ' for n in range(5_000))
    raw = RawEntry(
        guid="g",
        link="https://k.af/1",
        title="Many",
        summary="",
        content=f"<p>{links}</p>",
        author="A. Writer " * 100,
        categories=tuple(f"tag {n % 2_500} " + "long " * 50 for n in range(5_000)),
        media=tuple(Media(f"https://k.af/{n}.jpg", "image/jpeg") for n in range(100)),
    )
    entry = normalize_entry(raw, "K", "en", NOW)
    assert entry.links == tuple(f"https://site{n}.example/a" for n in range(MAX_LINKS))
    assert [c.split()[1] for c in entry.categories] == [str(n) for n in range(MAX_CATEGORIES)]
    assert all(len(c) <= CATEGORY_CHARS for c in entry.categories)
    assert [m.url for m in entry.media] == [f"https://k.af/{n}.jpg" for n in range(MAX_MEDIA)]
    assert entry.author is not None and len(entry.author) <= AUTHOR_CHARS


def test_a_link_longer_than_servers_take_is_no_link():
    long = "https://k.af/" + "a" * MAX_URL_CHARS
    with pytest.raises(SkipEntry, match="link is longer than 8,192 characters"):
        normalize_entry(
            RawEntry(guid=None, link=long, title="T", summary="", content=""), "K", "en", NOW
        )
    raw = RawEntry(
        guid="g",
        link="https://k.af/1",
        title="T",
        summary="",
        content=f'<p><a href="{long}">x</a> <a href="https://k.af/2">y</a></p>',
        media=(Media(long, "image/jpeg"), Media("https://k.af/p.jpg", "image/jpeg")),
    )
    entry = normalize_entry(raw, "K", "en", NOW)
    assert entry.links == ("https://k.af/2",)
    assert [m.url for m in entry.media] == ["https://k.af/p.jpg"]


BODY = "<p>The article's own text, at length.</p>"
TEXT = "The article's own text, at length."


@pytest.mark.parametrize(
    ("title", "summary", "content", "expected"),
    [
        ("Own title", "<p>The summary.</p>", BODY, ("Own title", "The summary.")),
        ("", "<p>The summary.</p>", BODY, (TEXT, "The summary.")),
        ("", "<p>The summary.</p>", "", ("The summary.", "The summary.")),
        ("Own title", "", BODY, ("Own title", TEXT)),
        ("<b></b>", "<p> </p>", BODY, (TEXT, TEXT)),  # nothing of either: the text for both
    ],
)
def test_a_missing_title_or_summary_is_made_from_the_article_text(
    title, summary, content, expected
):
    entry = normalize_entry(raw(title=title, summary=summary, content=content), "K", "en", NOW)
    assert (entry.title, entry.excerpt) == expected


def test_every_ascii_control_xml_cannot_carry_is_dropped_and_only_those():
    for code in range(128):
        kept = code in (0x09, 0x0A, 0x0D) or 0x20 <= code < 0x7F
        text = f"Kabul {chr(code)}news"
        assert xml_safe(text) == (text if kept else "Kabul news"), hex(code)
        assert collapse(text) == (" ".join(text.split()) if kept else "Kabul news"), hex(code)
