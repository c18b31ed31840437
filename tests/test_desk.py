"""`add` and `remove` against a local server: feed discovery, and feeds.yaml edited in place."""

from __future__ import annotations

import pytest

from aggregator.cli import main
from aggregator.cli.desk import as_url
from aggregator.config import load_config
from aggregator.htmlpage import feed_links
from tests.conftest import FeedServer

# An editor's file: comments, odd spacing and quoting that an edit must not touch.
EDITED_BY_HAND = """\
# AOP News sources, kept by the desk.  Last review: November.
site:
  title: 'AOP News - Daily Digest'   # shown on every page
  link: "https://www.aopnews.com/"
  publish_at: 06:30

sources:
  # our own site first
  - name: "AOP News"
    url: "{base}/aop/feed/"
    own: yes          # YAML 1.2: a string, read as true

  - name: Khaama Press
    url: {base}/khaama/feed/
    category:   "Afghan media"
    # refresh: 30   (too often for them)

# retention stays at the defaults
retention: {{content_days: 90}}
"""

PAGE_WITH_LINKS = b"""<!doctype html><html lang="fa"><head><title>Amu</title>
<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Amu TV" href="/amu/feed/">
<link rel="stylesheet" href="/style.css">
</head><body><h1>Amu TV</h1></body></html>"""

PASHTO_FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>پژواک</title><link>https://pajhwok.com/ps/</link><language>ps-af</language>
<item><title>د کابل خبر</title><link>https://pajhwok.com/ps/1/</link></item>
</channel></rss>""".encode()

PAGE_WITHOUT_LINKS = (
    b"<!doctype html><html><head><title>Pajhwok</title></head><body>news</body></html>"
)


@pytest.fixture
def desk(workspace, feed_server):
    base = feed_server.url("")
    feed_server.feed("/aop/feed/", "aop_wordpress.xml")
    feed_server.feed("/khaama/feed/", "khaama_wordpress.xml")
    workspace.config.write_text(EDITED_BY_HAND.format(base=base), encoding="utf-8")
    return workspace


def run(workspace, *args: str) -> int:
    return main([*args, "--config", str(workspace.config)])


def lines_other_than(text: str, added: list[str]) -> list[str]:
    lines = text.splitlines(keepends=True)
    for line in added:
        lines.remove(line)
    return lines


def test_feed_links_in_page_order_site_feeds_before_comment_feeds():
    assert feed_links(PAGE_WITH_LINKS, "https://amu.tv/fa/") == [
        "https://amu.tv/amu/feed/",
        "https://amu.tv/comments/feed/",
    ]
    assert feed_links(b"\x00\xff not html", "https://x.example/") == []


def test_a_link_too_broken_to_resolve_is_passed_over_not_raised():
    from aggregator.links import linked_sites

    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" href="http://[::1">'
        b'<link rel="alternate" type="application/rss+xml" href="/feed/"></head><body>'
        b'<a href="http://[::1">x</a><a href="https://tolonews.com/fa">TOLOnews</a></body></html>'
    )
    assert feed_links(page, "https://amu.tv/") == ["https://amu.tv/feed/"]
    assert [s.url for s in linked_sites(page, "https://amu.tv/")] == ["https://tolonews.com/fa"]


def test_a_links_page_without_a_meta_charset_is_read_by_its_header():
    from aggregator.links import linked_sites

    page = '<html><body><a href="https://tolonews.com/fa">طلوع نیوز</a></body></html>'
    sites = linked_sites(page.encode(), "https://aopnews.com/", (), "text/html; charset=utf-8")
    assert [s.text for s in sites] == ["طلوع نیوز"]


def test_feed_links_are_relative_to_the_pages_base_element():
    page = (
        b'<html><head><base href="/fa/"><link rel="alternate" type="application/rss+xml" '
        b'href="feed/"></head></html>'
    )
    assert feed_links(page, "https://amu.tv/news/1") == ["https://amu.tv/fa/feed/"]


def test_a_feed_title_becomes_a_name_on_one_line_without_bidi_controls(desk, feed_server):
    body = PASHTO_FEED.replace("پژواک".encode(), "  \u202epazhwak\n\t news  ".encode(), 1)
    url = feed_server.add("/odd/feed/", body, headers={"Content-Type": "application/rss+xml"})
    assert run(desk, "add", url) == 0
    assert load_config(desk.config).sources[-1].name == "pazhwak news"


def test_add_a_page_with_autodiscovery_keeps_every_other_byte(desk, feed_server, capsys):
    page = feed_server.add("/amu/", PAGE_WITH_LINKS, headers={"Content-Type": "text/html"})
    feed_server.feed("/amu/feed/", "tolonews_atom.xml", "application/atom+xml")
    before = desk.config.read_text(encoding="utf-8")
    assert run(desk, "add", page, "--category", "Afghan media", "--language", "fa") == 0
    out = capsys.readouterr().out
    assert "advertised by the page" in out
    after = desk.config.read_text(encoding="utf-8")
    added = [
        '  - name: "TOLOnews"\n',
        f'    url: "{feed_server.url("/amu/feed/")}"\n',
        f'    homepage: "{page}"\n',
        '    language: "fa"\n',
        '    category: "Afghan media"\n',
    ]
    assert lines_other_than(after, added) == before.splitlines(keepends=True)
    assert after.index(added[0]) > after.index("# refresh: 30")  # after the last source
    assert after.index(added[-1]) < after.index("# retention stays")
    config = load_config(desk.config)
    assert [s.name for s in config.sources] == ["AOP News", "Khaama Press", "TOLOnews"]
    assert config.sources[0].own is True and config.site.publish_at == "06:30"


def test_add_a_page_with_only_the_usual_path(desk, feed_server, capsys):
    page = feed_server.add("/pajhwok/", PAGE_WITHOUT_LINKS, headers={"Content-Type": "text/html"})
    feed_server.add("/pajhwok/feed/", PASHTO_FEED, headers={"Content-Type": "application/rss+xml"})
    assert run(desk, "add", page) == 0
    assert f"at {feed_server.url('/pajhwok/feed/')}" in capsys.readouterr().out
    source = load_config(desk.config).source("پژواک")  # the name and language the feed gives
    assert source.url == feed_server.url("/pajhwok/feed/") and source.language == "ps-AF"
    assert source.homepage == page


def test_a_feed_without_a_language_is_added_with_a_hint(desk, feed_server, capsys):
    url = feed_server.feed("/tolo/fa/feed/", "tolonews_dari_cp1256.xml")
    assert run(desk, "add", url, "--name", "TOLOnews Dari") == 0
    assert "the feed declares no language" in capsys.readouterr().out
    assert load_config(desk.config).source("TOLOnews Dari").language == "en"


@pytest.mark.parametrize("declared", ["en-US", "fr"])
def test_a_language_that_its_titles_belie_is_not_written_but_named(
    desk, feed_server, capsys, declared
):
    """WordPress declares its admin screens' language: `en-US` over Pashto titles. Written
    into feeds.yaml, it would read as the editor's word and make the source's Pashto English."""
    body = PASHTO_FEED.replace(b"ps-af", declared.encode())
    url = feed_server.add("/wp/feed/", body, headers={"Content-Type": "application/rss+xml"})
    assert run(desk, "add", url) == 0
    out = capsys.readouterr().out
    assert f"the feed declares {declared} but its titles are in Arabic script" in out
    assert load_config(desk.config).source("پژواک").given_language is None
    english = body.replace("د کابل خبر".encode(), "News of Kabul (کابل) in brief".encode())
    url = feed_server.add("/wp2/feed/", english, headers={"Content-Type": "application/rss+xml"})
    assert run(desk, "add", url, "--name", "English") == 0
    assert load_config(desk.config).source("English").given_language == declared


def test_a_page_that_only_links_its_feed_is_added_through_the_link(desk, feed_server, capsys):
    """No `<link rel="alternate">`, a feed at no usual path, but an RSS icon in the footer (as
    many news sites have): it was 'the page advertises no feed'. A page of a thousand such
    links costs four fetches, not a thousand."""
    footer = "".join(f'<a href="/rss/{n}">RSS</a>' for n in range(1000))
    page = (
        '<html><body><a href="/rssfeeds" title="RSS feeds"><img alt="RSS" src="i.png"></a>'
        f'<a href="/services/news.rss">news</a>{footer}</body></html>'
    ).encode()
    url = feed_server.add("/portal/", page, headers={"Content-Type": "text/html"})
    feed_server.add(
        "/rssfeeds", b"<html><body>our feeds</body></html>", headers={"Content-Type": "text/html"}
    )
    feed_server.feed("/services/news.rss", "khaama_wordpress.xml")
    assert run(desk, "add", url, "--name", "Portal") == 0
    assert "linked from the page" in capsys.readouterr().out
    assert load_config(desk.config).sources[-1].url == feed_server.url("/services/news.rss")
    assert sum(seen.path.startswith("/rss/") for seen in feed_server.log) == 0  # found before
    feed_server.add("/portal2/", footer.encode(), headers={"Content-Type": "text/html"})
    assert run(desk, "add", feed_server.url("/portal2/")) == 1
    assert sum(seen.path.startswith("/rss/") for seen in feed_server.log) == 4
    assert "nor do the 4 links on it that look like a feed's" in capsys.readouterr().err


def test_a_page_without_a_feed_suggests_an_html_source(desk, feed_server, capsys):
    page = feed_server.add("/nofeed/", PAGE_WITHOUT_LINKS, headers={"Content-Type": "text/html"})
    before = desk.config.read_bytes()
    assert run(desk, "add", page) == 1
    err = capsys.readouterr().err
    assert "no feed found" in err and "the page advertises no feed" in err
    assert "html source" in err
    assert desk.config.read_bytes() == before


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (b"Down for maintenance.", "text/plain", "text, not XML: it begins \u201cDown for maint"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "a PNG image"),
        (b"<?xml version='1.0'?><error/>", "text/xml", "XML of another kind: its root is <error>"),
        (b"<opml version='2.0'><body><outline xmlUrl='https://a/f'/></body></opml>", "text/x-opml",
         "an OPML list of feeds: add them with aggregator opml import URL"),
        (b"", "application/rss+xml", "an empty body"),
    ],
)  # fmt: skip
def test_a_url_that_answers_with_no_page_says_what_it_answered(
    desk, feed_server, capsys, body, content_type, said
):
    """An editor who types a URL that answers with plain text, an image or an API's error
    learns what it answered, and is not sent to make an html source of it."""
    url = feed_server.add("/odd", body, headers={"Content-Type": content_type})
    assert run(desk, "add", url) == 1
    err = capsys.readouterr().err
    assert f"no feed found at {url}: it answered with {said}" in err
    assert "html source" not in err


def test_a_site_behind_a_login_is_added_with_it_but_never_shows_it(desk, feed_server, capsys):
    """The login goes into the feed's url (it is fetched with it), not into the homepage,
    a public link, nor into what `add` prints."""
    page = feed_server.add("/amu/", PAGE_WITH_LINKS, headers={"Content-Type": "text/html"})
    feed_server.feed("/amu/feed/", "tolonews_atom.xml", "application/atom+xml")
    assert run(desk, "add", page.replace("://", "://desk:s3cret@")) == 0
    assert "s3cret" not in capsys.readouterr().out
    source = load_config(desk.config).source("TOLOnews")
    assert source.url == feed_server.url("/amu/feed/").replace("://", "://desk:s3cret@")
    assert source.homepage == page
    assert feed_server.requests_to("/amu/feed/")[0].headers["authorization"].startswith("Basic ")


def test_a_page_whose_advertised_feed_fails_says_why(desk, feed_server, capsys):
    page = b'<html><head><link rel=alternate type=application/rss+xml href="/gone.xml"></head>'
    url = feed_server.add("/site/", page, headers={"Content-Type": "text/html"})
    assert run(desk, "add", url) == 1
    gone = feed_server.url("/gone.xml")
    assert f"the feed the page advertises does not parse ({gone}: HTTP 404 Not Found)" in (
        capsys.readouterr().err
    )


def test_a_challenge_page_is_named_and_no_html_source_suggested(desk, feed_server, capsys):
    challenge = b"<html><head><title>Just a moment...</title></head><body id=cf-chl-widget>"
    url = feed_server.add("/cf/", challenge, headers={"Content-Type": "text/html"})
    assert run(desk, "add", url) == 1
    err = capsys.readouterr().err
    assert "answered with a challenge page (looks like a firewall or bot block: Cloudflare)" in err
    assert "html source" not in err


@pytest.mark.parametrize(
    ("typed", "url"),
    [
        ("tolonews.com", "https://tolonews.com"),  # as an address bar shows a site
        (" pa.azadiradio.com/api/epiqq ", "https://pa.azadiradio.com/api/epiqq"),
        ("tolonews.com:8080/fa", "https://tolonews.com:8080/fa"),
        ("http://tolonews.com", "http://tolonews.com"),
        ("ftp://tolonews.com/feed", "ftp://tolonews.com/feed"),  # refused by the fetch, as is
        ("/etc/passwd", "/etc/passwd"),
        ("localhost", "localhost"),
        ("feed://tolonews.com/rss.xml", "http://tolonews.com/rss.xml"),  # a subscribe button's
        ("FEED:https://tolonews.com/rss.xml", "https://tolonews.com/rss.xml"),
        ("itpc://tolonews.com/podcast", "http://tolonews.com/podcast"),
    ],
)
def test_a_bare_site_typed_to_add_is_taken_as_https(typed, url):
    assert as_url(typed) == url


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("http://", "it names no host"),
        ("http://[::1", "it is not a URL (Invalid IPv6 URL)"),  # was ValueError: Invalid IPv6 URL
        ("http://127.0.0.1:99999/", "it is not a URL (Port out of range 0-65535)"),
    ],
)
def test_a_url_that_cannot_be_fetched_is_refused_as_such(desk, capsys, typed, reason):
    before = desk.config.read_bytes()
    assert run(desk, "add", typed) == 1
    assert f"refused to fetch {typed!r}: {reason}" in capsys.readouterr().err
    assert desk.config.read_bytes() == before


@pytest.mark.parametrize("how", ["same URL", "same feed behind a page", "same name"])
def test_a_duplicate_is_refused_and_the_file_untouched(desk, feed_server, capsys, how):
    page = feed_server.add("/k/", PAGE_WITH_LINKS.replace(b"/amu/feed/", b"/khaama/feed/"))
    feed_server.feed("/other/feed/", "tolonews_atom.xml", "application/atom+xml")
    args = {
        "same URL": [feed_server.url("/khaama/feed?utm_source=desk")],
        "same feed behind a page": [page],
        "same name": [feed_server.url("/other/feed/"), "--name", "Khaama Press"],
    }[how]
    before = desk.config.read_bytes()
    assert run(desk, "add", *args) == 2
    err = capsys.readouterr().err
    assert "already followed as 'Khaama Press'" in err or "exists already" in err
    assert desk.config.read_bytes() == before


def test_remove_takes_out_one_source_and_nothing_else(desk, capsys):
    before = desk.config.read_text(encoding="utf-8")
    assert run(desk, "remove", "AOP News") == 0
    after = desk.config.read_text(encoding="utf-8")
    removed = [
        '  - name: "AOP News"\n',
        '    url: "' + before.split('url: "')[1].split('"')[0] + '"\n',
        "    own: yes          # YAML 1.2: a string, read as true\n",
    ]
    assert lines_other_than(before, removed) == after.splitlines(keepends=True)
    assert [s.name for s in load_config(desk.config).sources] == ["Khaama Press"]
    assert run(desk, "remove", "Nobody") == 2
    assert "no source named 'Nobody'" in capsys.readouterr().err


def test_a_desk_starts_with_its_first_add_and_may_end_with_no_source(tmp_path, feed_server, capsys):
    """`add` on a desk without feeds.yaml wrote nothing: 'feeds.yaml: not found'; a file with
    `sources: []` was invalid for `add` too. Removing the last source leaves a desk with none,
    which `check` accepts and `run` refuses, saying what to do."""
    config = tmp_path / "feeds.yaml"
    url = feed_server.feed("/feed/", "aop_wordpress.xml")
    assert main(["run", "--config", str(config)]) == 2
    assert "start one with `aggregator add URL`" in capsys.readouterr().err
    assert main(["add", url, "--config", str(config)]) == 0
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# The sources this desk follows") and f'url: "{url}"' in text
    assert main(["run", "--config", str(config)]) == 0
    assert (tmp_path / "output" / "feed.xml").exists()
    name = load_config(config).sources[0].name
    assert main(["remove", name, "--config", str(config)]) == 0
    assert config.read_text(encoding="utf-8").endswith("sources:\n")
    capsys.readouterr()
    assert main(["check", "--config", str(config)]) == 0
    assert "OK, 0 sources" in capsys.readouterr().out
    for command in ("run", "fetch", "schedule"):
        assert main([command, "--config", str(config)]) == 2
        assert "has no sources yet: add one with `aggregator add URL`" in capsys.readouterr().err
    config.write_text("site: {title: T}\nsources: []\n", encoding="utf-8")
    assert main(["add", url, "--config", str(config)]) == 0
    assert [s.url for s in load_config(config).sources] == [url]


@pytest.fixture
def sites():
    """Four outside sites, each its own server (its own host:port, as separate outlets are)."""
    servers = [FeedServer() for _ in range(4)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


def test_links_reconciles_the_links_page_with_feeds_yaml(desk, feed_server, sites, capsys):
    amu, pajhwok, khaama, moved = sites
    amu.add("/", PAGE_WITH_LINKS, headers={"Content-Type": "text/html"})
    amu.feed("/amu/feed/", "tolonews_atom.xml", "application/atom+xml")
    pajhwok.add("/", PAGE_WITHOUT_LINKS, headers={"Content-Type": "text/html"})
    khaama.feed("/feed/", "khaama_wordpress.xml")
    khaama.add("/", b"<html><body>Khaama</body></html>", headers={"Content-Type": "text/html"})
    moved.add("/", PAGE_WITH_LINKS.replace(b"/amu/feed/", b"/rss/new.xml"))
    moved.feed("/rss/new.xml", "aop_wordpress.xml")
    # feeds.yaml follows Khaama here, a site whose feed has gone, and one no longer linked
    text = desk.config.read_text(encoding="utf-8")
    text = text.replace(f"{feed_server.url('')}/khaama/feed/", khaama.url("/feed/"))
    text = text.replace(
        "# retention stays",
        f"  - name: Hasht-e Subh\n    url: {moved.url('/old/feed/')}\n"
        f"  - name: Zan Times\n    url: https://zantimes.com/feed/\n# retention stays",
    )
    desk.config.write_text(text, encoding="utf-8")
    page = feed_server.add(
        "/links-to-more-news/",
        (
            '<html><body><nav><a href="/">Home</a> <a href="https://www.facebook.com/aop">f</a>'
            f'</nav><main><ul><li><a href="{amu.url("/")}">Amu TV</a></li>'
            f'<li><a href="{pajhwok.url("/")}">Pajhwok</a></li>'
            f'<li><a href="{khaama.url("/")}">Khaama Press</a></li>'
            f'<li><a href="{khaama.url("/category/news")}">Khaama news</a></li>'
            f'<li><a href="{moved.url("/")}">Hasht-e Subh</a></li></ul></main></body></html>'
        ).encode(),
        headers={"Content-Type": "text/html"},
    )
    before = desk.config.read_bytes()
    assert run(desk, "links", page) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{page}: 4 outside sites linked; 1 followed as they are"
    assert (
        f"+ Amu TV ({amu.url('/')}): feed {amu.url('/amu/feed/')} (advertised by the page, "
        in out[1]
    )
    assert out[2].startswith(
        f"+ Pajhwok ({pajhwok.url('/')}): no feed: candidate for an html source"
    )
    assert "- Zan Times: followed (feeds.yaml line " in "\n".join(out)
    assert (
        f"~ Hasht-e Subh: feed moved: {moved.url('/old/feed/')} -> {moved.url('/rss/new.xml')}"
        in "\n".join(out)
    )
    assert not any(line.startswith("- AOP News") for line in out)  # the desk's own site
    assert desk.config.read_bytes() == before  # nothing changes without --apply

    assert run(desk, "links", page, "--apply") == 0
    assert "added 1 source to" in capsys.readouterr().out
    after = desk.config.read_text(encoding="utf-8")
    assert after.startswith(before.decode("utf-8").split("# retention stays")[0])
    names = [s.name for s in load_config(desk.config).sources]
    assert names == ["AOP News", "Khaama Press", "Hasht-e Subh", "Zan Times", "Amu TV"]
    assert load_config(desk.config).source("Amu TV").homepage == amu.url("/")


def test_a_title_with_a_line_separator_does_not_shift_the_edit(tmp_path):
    from aggregator.feedsfile import add_source

    text = (
        'site:\n  title: "AOP\u2028News"\n'
        "sources:\n  - name: A\n    url: https://a.example/feed\n# end\n"
    )
    edited, config = add_source(text, {"name": "B", "url": "https://b.example/feed"}, tmp_path)
    assert edited == text.replace(
        "# end", '  - name: "B"\n    url: "https://b.example/feed"\n# end'
    )
    assert [s.name for s in config.sources] == ["A", "B"]


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_site_behind_an_expired_certificate_is_added_only_when_the_editor_accepts_it(
    desk, tls_feed, capsys
):
    from datetime import UTC, datetime, timedelta

    expired = datetime.now(UTC) - timedelta(days=3)
    url = tls_feed(lambda ca, _: ca.issue_cert("127.0.0.1", not_after=expired))
    before = desk.config.read_bytes()
    assert run(desk, "add", url) == 1
    err = capsys.readouterr().err
    assert "TLS: the site's certificate has expired" in err
    assert "--accept-invalid-certificate" in err
    assert desk.config.read_bytes() == before
    assert run(desk, "add", url, "--name", "Expired", "--accept-invalid-certificate") == 0
    source = load_config(desk.config).source("Expired")
    assert source.accept_invalid_certificate and source.url == url


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_links_checks_a_followed_feed_as_its_source_is_fetched(tls_feed):
    """`links` tells a followed feed that fails (`!`) from one that works: a source whose
    certificate the editor accepts works, as `run` fetches it."""
    from datetime import UTC, datetime, timedelta

    from aggregator.discover import feed_problem
    from aggregator.fetch import FetchOptions

    expired = datetime.now(UTC) - timedelta(days=3)
    url = tls_feed(lambda ca, _: ca.issue_cert("127.0.0.1", not_after=expired))
    options = FetchOptions(user_agent="t", timeout=5.0)
    assert feed_problem(url, options) == "TLS: the site's certificate has expired"
    assert feed_problem(url, options, verify=False) is None
