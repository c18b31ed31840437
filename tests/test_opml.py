"""OPML 2.0: export, import (our own files and other readers'), and output/feeds.opml."""

from __future__ import annotations

from aggregator.cli import main
from aggregator.config import load_config
from aggregator.opml import read_opml

REPO_CONFIG = "feeds.yaml"

# The shape other readers export: nested folders, type="rss", extra attributes, a folder-less
# feed with an OPML 2.0 category, a feed with no xmlUrl, a non-http one and one already followed.
OTHER_READER = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions from Inoreader [https://www.inoreader.com]</title></head>
  <body>
    <outline text="News" title="News">
      <outline text="Afghanistan" title="Afghanistan">
        <outline text="Amu TV" title="Amu TV" type="rss" xmlUrl="https://amu.tv/feed/"
                 htmlUrl="https://amu.tv/" inoreader:pinned="1"
                 xmlns:inoreader="https://www.inoreader.com/" />
        <outline text="KabulNow" type="rss" xmlUrl="https://kabulnow.com/feed/"
                 language="en-us" description="Independent news" />
      </outline>
      <outline text="Pajhwok Pashto" type="rss" xmlUrl="https://pajhwok.com/ps/feed/"
               language="ps"/>
    </outline>
    <outline text="Hasht-e Subh" type="rss" xmlUrl="https://8am.media/fa/feed/"
             category="/Dari/Afghan"/>
    <outline text="A podcast" type="rss" xmlUrl="ftp://example.org/feed"/>
    <outline text="Subscribed by button" type="rss" xmlUrl="feed://button.example/rss"/>
    <outline text="Just a link" type="link" url="https://example.org/"/>
    <outline text="Khaama again" type="rss" xmlUrl="https://www.khaama.com/feed"/>
    <outline text="A blogroll site" htmlUrl="https://blog.example/"/>
    <outline text="More lists" type="include" url="https://lists.example/more"/>
    <outline text="Shared list" type="link" url="https://lists.example/dari.OPML"/>
    <outline text="Old exporter" type="rss" xmlURL="https://old.example/rss"
             category=", , /Dari/ Provinces / ,/Other"/>
  </body>
</opml>"""

SEED = """\
site:
  title: "Desk"   # a comment that must stay
sources:
  - name: "Khaama Press"
    url: "https://www.khaama.com/feed/"
"""


def test_round_trip_export_then_import_into_an_empty_config(tmp_path, capsys):
    exported = tmp_path / "sources.opml"
    assert main(["opml", "export", "--config", REPO_CONFIG, "-o", str(exported)]) == 0
    empty = tmp_path / "feeds.yaml"
    empty.write_text("# an empty desk\n", encoding="utf-8")
    assert main(["opml", "import", str(exported), "--config", str(empty)]) == 0
    assert "imported 22 of 22 feeds" in capsys.readouterr().out
    original = load_config(REPO_CONFIG)
    imported = load_config(empty)
    assert [(s.name, s.url, s.homepage, s.language, s.category) for s in imported.sources] == [
        (s.name, s.url, s.homepage, s.language, s.category) for s in original.sources
    ]
    assert empty.read_text(encoding="utf-8").startswith("# an empty desk\nsources:\n")
    assert main(["opml", "import", str(exported), "--config", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "nothing to import from" in out and "every feed of it is followed already" in out


def test_import_the_shape_other_readers_export(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(SEED, encoding="utf-8")
    other = tmp_path / "inoreader.opml"
    other.write_bytes(OTHER_READER)
    assert main(["opml", "import", str(other), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "skipped 'Khaama again': already followed" in out
    assert "skipped 'A podcast': its feed, 'ftp://example.org/feed', is no http(s) URL" in out
    assert "skipped 'Just a link': it names a page, not its feed: aggregator add " in out
    assert "skipped 'A blogroll site': it names a page, not its feed: aggregator add " in out
    assert (
        "skipped 'More lists': it is another OPML list: aggregator opml import "
        "https://lists.example/more adds its feeds"
    ) in out
    assert "skipped 'Shared list': it is another OPML list: aggregator opml import https" in out
    assert "imported 6 of 8 feeds" in out
    text = config.read_text(encoding="utf-8")
    assert text.startswith(SEED)  # the file as it was, then the new sources
    sources = {s.name: s for s in load_config(config).sources}
    assert sources["Amu TV"].category == "Afghanistan" and sources["Amu TV"].homepage
    assert sources["KabulNow"].language == "en-US"
    assert sources["Subscribed by button"].url == "http://button.example/rss"  # feed:// read
    assert (
        sources["Pajhwok Pashto"].category == "News" and sources["Pajhwok Pashto"].language == "ps"
    )
    assert sources["Hasht-e Subh"].category == "Afghan"
    assert sources["Old exporter"].url == "https://old.example/rss"  # xmlURL: any case is read
    assert sources["Old exporter"].category == "Provinces"  # the first category that has a name


def test_a_blogroll_of_pages_imports_nothing_and_says_why(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    blogroll = tmp_path / "blogroll.opml"
    blogroll.write_bytes(
        b'<opml version="1.1"><body><outline text="Blogs" htmlUrl="https://blogs.example/">'
        b'<outline text="A" htmlUrl="https://a.example/"/>'
        b'<outline text="B" type="link" url="https://b.example/about"/>'
        b"</outline></body></opml>"
    )
    assert main(["opml", "import", str(blogroll), "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "nothing to import from" in captured.out and "it has no feed to follow" in captured.out
    assert "'A': it names a page, not its feed: aggregator add https://a.example/" in captured.out
    assert "'Blogs'" not in captured.err + captured.out  # a folder is no page
    assert not config.exists()


def test_import_with_a_category_and_a_broken_file(tmp_path, capsys):
    config = tmp_path / "feeds.yaml"
    config.write_text(SEED, encoding="utf-8")
    other = tmp_path / "x.opml"
    other.write_bytes(OTHER_READER)
    assert (
        main(["opml", "import", str(other), "--config", str(config), "--category", "Imported"]) == 0
    )
    assert {s.category for s in load_config(config).sources[1:]} == {"Imported"}
    bomb = tmp_path / "bomb.opml"
    bomb.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/feed"/></body></opml>'
    )
    assert main(["opml", "import", str(bomb), "--config", str(config)]) == 2
    assert "entity declarations are not read" in capsys.readouterr().err
    (tmp_path / "bad.opml").write_text("<opml><body>", encoding="utf-8")
    assert main(["opml", "import", str(tmp_path / "bad.opml"), "--config", str(config)]) == 2
    assert "not well-formed XML" in capsys.readouterr().err


def test_import_into_a_feeds_yaml_not_in_utf8_is_an_error_at_its_line(tmp_path, capsys):
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="B" xmlUrl="https://b.example/feed"/></body></opml>'
    )
    config = tmp_path / "feeds.yaml"
    saved = "sources:\n  - name: Café\n    url: https://a.example/feed\n".encode("latin-1")
    config.write_bytes(saved)
    assert main(["opml", "import", str(opml), "--config", str(config)]) == 2
    assert "feeds.yaml:2:14: byte 0xe9 is not UTF-8" in capsys.readouterr().err
    assert config.read_bytes() == saved


def test_publish_writes_feeds_opml_with_every_source(workspace, feed_server):
    from aggregator.pipeline import run
    from aggregator.store import Store

    url = feed_server.feed("/aop/feed/", "aop_wordpress.xml")
    workspace.write_config([{"name": "AOP News", "url": url, "own": True, "category": "AOP"}])
    with Store(workspace.db) as store:
        run(load_config(workspace.config), store, workspace.output)
    outlines = read_opml((workspace.output / "feeds.opml").read_bytes())
    assert [(o.title, o.xml_url, o.category) for o in outlines] == [("AOP News", url, "AOP")]


def test_an_outline_title_becomes_a_name_on_one_line_without_bidi_controls():
    from aggregator.opml import read_opml

    data = (
        '<opml version="2.0"><body><outline text="\u202eAmu\n  TV " type="rss" '
        'xmlUrl="https://amu.tv/feed/"/></body></opml>'
    ).encode()
    assert [o.title for o in read_opml(data)] == ["Amu TV"]


def test_an_html_entity_in_a_title_does_not_refuse_the_whole_file():
    """Some readers write `&nbsp;` or `&eacute;` into an outline's title: XML knows neither,
    and the whole file was refused as not well-formed."""
    data = (
        b'<opml version="2.0"><body><outline text="Kabul&nbsp;News &eacute;dition &amp; more" '
        b'xmlUrl="https://news.example/feed?a=1&amp;b=2"/></body></opml>'
    )
    (outline,) = read_opml(data)
    assert (outline.title, outline.xml_url) == (
        "Kabul News \u00e9dition & more", "https://news.example/feed?a=1&b=2"
    )  # fmt: skip


def test_an_opml_list_is_imported_from_its_url(tmp_path, feed_server, capsys):
    """A reader's shared list, or the OPML link `add` found, is read from its URL; one that
    cannot be had is an error that names it, and changes nothing."""
    listed = (
        b'<opml version="2.0"><body><outline text="Amu TV" type="rss" '
        b'xmlUrl="https://amu.tv/feed/"/></body></opml>'
    )
    url = feed_server.add("/lists/afghan.opml", listed, headers={"Content-Type": "text/x-opml"})
    config = tmp_path / "feeds.yaml"
    assert main(["opml", "import", url, "--config", str(config)]) == 0
    assert "imported 1 of 1 feed from" in capsys.readouterr().out
    assert [s.url for s in load_config(config).sources] == ["https://amu.tv/feed/"]
    before = config.read_bytes()
    assert (
        main(["opml", "import", url.replace("://", "://desk:s3cret@"), "--config", str(config)])
        == 0
    )
    said = capsys.readouterr().out
    assert "every feed of it is followed already" in said and "s3cret" not in said
    gone = feed_server.url("/lists/gone.opml")
    assert main(["opml", "import", gone, "--config", str(config)]) == 2
    assert f"{gone}: HTTP 404" in capsys.readouterr().err
    assert config.read_bytes() == before
