"""Real feeds, faithfully: what outlets publish reaches feed.xml, atom.xml, feed.json, digest.xml
and index.html intact, and every feed passes the W3C Feed Validator's rules."""

import json
import re
from datetime import timedelta

import feedparser
import pytest

from aggregator.config import load_config
from aggregator.pipeline import run
from aggregator.store import Store
from tests.conftest import DATA, NOW, validate_feeds

FAITHFUL = DATA / "faithful"
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
FIXTURES = {  # name: (file, content type, what feedparser alone sees, entries we keep)
    "Dari WordPress": ("dari_wordpress.xml", "application/rss+xml", 3, 3),
    "Podcast": ("podcast.xml", "application/rss+xml", 2, 2),
    "Radio 0.92": ("rss092_enclosures.xml", "text/xml", 4, 3),
    "Video": ("youtube_media.xml", "application/atom+xml", 1, 1),
    "JSON Feed": ("jsonfeed11.json", "application/feed+json", 0, 2),
    "Lazy CMS": ("homepage_links.xml", "application/rss+xml", 4, 4),
}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Two runs a day apart, so that an edition closes and digest.xml gets an entry."""
    from tests.conftest import FeedServer, Workspace

    server = FeedServer()
    server.start()
    workspace = Workspace(tmp_path_factory.mktemp("fidelity"))
    sources = []
    for name, (file, kind, _, _) in FIXTURES.items():
        body = (FAITHFUL / file).read_bytes()
        url = server.add(f"/{file}", body, headers={"Content-Type": kind})
        sources.append({"name": name, "url": url, "category": "World"})
    workspace.write_config(sources, site={"feed_url": "https://digest.example.af/"})
    config = load_config(workspace.config)
    try:
        for at in (NOW, NOW + timedelta(hours=21)):  # 10:30 on the 28th, 07:30 on the 29th
            with Store(workspace.db) as store:
                report = run(config, store, workspace.output, now=at, force=True)
                assert report.publish_error is None and not report.problems
    finally:
        server.stop()
    return workspace, report


def text(workspace, name):
    return (workspace.output / name).read_text(encoding="utf-8")


def test_entries_kept_and_counted(published):
    workspace, report = published
    with Store(workspace.db) as store:
        kept = dict(store.conn.execute("SELECT source, COUNT(*) FROM entries GROUP BY source"))
    assert kept == {name: fixture[3] for name, fixture in FIXTURES.items()}
    for file, _, seen, _ in FIXTURES.values():
        assert len(feedparser.parse(str(FAITHFUL / file)).entries) == seen
    status = json.loads(text(workspace, "status.json"))
    skipped = {row["name"]: row["skipped"] for row in status["sources"]}
    assert skipped["Radio 0.92"] == "1 entry skipped: no link"  # only a tag: id


def test_every_feed_passes_the_w3c_validator_rules(published):
    workspace, _ = published
    files = [str(workspace.output / n) for n in ("feed.xml", "atom.xml", "digest.xml")]
    assert feedparser.parse(files[2]).entries, "digest.xml has an edition"
    validate_feeds(*files)


def test_links_are_uris_and_items_stay_distinct(published):
    workspace, _ = published
    rss = feedparser.parse(str(workspace.output / "feed.xml"))
    links = [e.link for e in rss.entries]
    assert all(link.isascii() for link in links)
    slug = "https://dari.example.af/%DB%B1%DB%B4%DB%B0%DB%B5/%DB%B0%DB%B9/"
    assert any(link.startswith(slug) for link in links)
    assert sum(link == "https://lazy.example.af/" for link in links) == 4  # four stories
    assert "https://radio.example.af/audio/morning-0528.mp3" in links  # enclosure as the link
    assert "https://radio.example.af/bulletins/3" in links  # permalink guid as the link
    # a relative link is resolved against the feed's final URL
    assert any(
        link.startswith("http://127.0.0.1:") and link.endswith("/2026/11/herat-rail-link")
        for link in links
    )
    feed = json.loads(text(workspace, "feed.json"))
    assert feed["feed_url"] == "https://digest.example.af/feed.json"
    for name in ("feed.xml", "atom.xml"):
        assert f'href="https://digest.example.af/{name}" rel="self"' in text(workspace, name)
    assert '<source url="http://127.0.0.1:' in text(workspace, "feed.xml")


def test_media_reach_every_output(published):
    workspace, _ = published
    rss = text(workspace, "feed.xml")
    assert (
        '<enclosure url="https://cdn.podcast.example.af/kw-12.mp3" length="48123456" '
        'type="audio/mpeg"/>' in rss
    )
    atom = feedparser.parse(str(workspace.output / "atom.xml"))
    enclosures = [link.href for e in atom.entries for link in e.links if link.rel == "enclosure"]
    assert "https://cdn.podcast.example.af/kw-11.mp3" in enclosures
    items = {i["title"]: i for i in json.loads(text(workspace, "feed.json"))["items"]}
    episode = items["Episode 12: Water and the Qosh Tepa canal"]
    assert episode["attachments"] == [
        {"url": "https://cdn.podcast.example.af/kw-12.mp3", "mime_type": "audio/mpeg",
         "size_in_bytes": 48123456}
    ]  # fmt: skip
    video = items["Bamyan Buddhas site reopens to visitors"]
    assert video["image"] == "https://img.example.af/vi/abc123/hqdefault.jpg"
    page = text(workspace, "index.html")
    assert (
        '<img class="picture" src="https://json.example.af/img/solar.jpg" alt="" '
        'referrerpolicy="no-referrer" loading="lazy"' in page
    )


def test_text_languages_and_dates_are_clean(published):
    workspace, _ = published
    outputs = {n: text(workspace, n) for n in ("feed.xml", "atom.xml", "feed.json", "index.html")}
    for name, body in outputs.items():
        assert not BIDI.search(body), name
    titles = [e.title for e in feedparser.parse(str(workspace.output / "feed.xml")).entries]
    tricky = next(t for t in titles if "بلخ" in t)
    assert tricky.startswith("&lt;img src=x") and "<img" not in "".join(titles)
    items = {i["title"]: i for i in json.loads(outputs["feed.json"])["items"]}
    assert items["Episode 12: Water and the Qosh Tepa canal"]["language"] == "en-US"
    assert items["Kandahar solar park starts supplying the grid"]["language"] == "en-US"
    assert items["Bamyan Buddhas site reopens to visitors"]["language"] == "en-US"
    assert items["Snow closes Salang pass overnight"]["language"] == "en"
    assert items["تاریخ با ارقام فارسی"]["date_published"] == "2026-11-28T02:30:00+00:00"
    episode = items["Episode 12: Water and the Qosh Tepa canal"]
    assert episode["date_published"] == "2018-09-24T13:00:00+00:00"  # "Seg, 24 Set 2018"
    page = outputs["index.html"]
    assert not re.search(r'datetime="[^"]*\.\d', page)  # to the second
    assert re.search(r"Episode 11: Girls.*?first seen <bdi><time", page, re.S)  # year 103: no date
    assert "شورای ولایتی هرات امروز تشکیل جلسه داد. اعضا" in page  # paragraphs kept apart
    assert 'lang="en-US"' in page and 'lang="en_us"' not in page
