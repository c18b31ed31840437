"""Daily editions cut at Kabul midnight, the immutable archive and digest.xml."""

import re
from datetime import UTC, datetime

import feedparser

from aggregator.config import load_config
from aggregator.pipeline import run
from aggregator.store import Store
from tests.conftest import make_rss

# Asia/Kabul is UTC+04:30
BEFORE_MIDNIGHT = datetime(2026, 11, 27, 19, 20, tzinfo=UTC)  # 23:50 on the 27th in Kabul
AFTER_MIDNIGHT = datetime(2026, 11, 27, 19, 40, tzinfo=UTC)  # 00:10 on the 28th in Kabul
DIGEST_TIME = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # 06:00 on the 28th in Kabul


def item(n: int, title: str) -> bytes:
    return (
        f"<item><title>{title}</title><link>https://www.aopnews.com/2026/11/extra-{n}/</link>"
        f'<guid isPermaLink="false">https://www.aopnews.com/?p=9{n}</guid>'
        f"<pubDate>Fri, 27 Nov 2026 19:0{n} +0000</pubDate>"
        f"<description>Extra story number {n} about {title}.</description></item>"
    ).encode()


class Editions:
    def __init__(self, workspace, feed_server):
        self.workspace, self.server = workspace, feed_server
        url = feed_server.feed("/aop/feed/", "aop_wordpress.xml")
        workspace.write_config(
            [{"name": "AOP News", "url": url, "own": True, "category": "AOP News"}]
        )
        self.config = load_config(workspace.config)

    def add(self, n: int, title: str) -> None:
        route = self.server.routes["/aop/feed/"]
        route.body = route.body.replace(b"</channel>", item(n, title) + b"</channel>")

    def run(self, now):
        with Store(self.workspace.db) as store:
            run(self.config, store, self.workspace.output, now=now, force=True)

    def read(self, name: str) -> str:
        return (self.workspace.output / name).read_text(encoding="utf-8")


def test_editions_are_cut_at_kabul_midnight(workspace, feed_server):
    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    page = editions.read("index.html")
    assert (
        '<p class="edition-date" lang="en" dir="ltr">Friday 27 November 2026 · '
        '<bdi lang="fa" dir="rtl">۶ قوس ۱۴۰۵</bdi></p>' in page
    )
    assert "UN envoy meets Taliban officials" in page
    assert not (workspace.output / "archive" / "2026-11-27.html").exists()

    editions.add(1, "Kabul traffic plan unveiled at midnight")
    editions.run(AFTER_MIDNIGHT)
    page = editions.read("index.html")
    assert '<p class="edition-date" lang="en" dir="ltr">Saturday 28 November 2026 · ' in page
    assert "Kabul traffic plan unveiled" in page and "UN envoy meets" in page
    archived = editions.read("archive/2026-11-27.html")
    assert "UN envoy meets" in archived and "Kabul traffic plan" not in archived
    archive = editions.read("archive/index.html")
    assert 'href="2026-11-27.html">Friday 27 November 2026</a> (3 stories)' in archive
    assert 'class="bar" aria-hidden="true" style="width: 12.0rem"' in archive  # the busiest day
    assert "<main>" in archive


def test_the_archive_is_written_once_and_never_changed(workspace, feed_server):
    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    editions.run(AFTER_MIDNIGHT)
    page = workspace.output / "archive" / "2026-11-27.html"
    before = page.read_bytes()
    route = feed_server.routes["/aop/feed/"]
    route.body = route.body.replace(b"UN envoy meets", b"UN envoy holds talks with")
    editions.run(DIGEST_TIME)
    assert "UN envoy holds talks with" in editions.read("feed.xml")
    assert page.read_bytes() == before


def test_archive_pages_link_the_editions_before_and_after_them(workspace, feed_server):
    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    editions.run(AFTER_MIDNIGHT)
    first = editions.read("archive/2026-11-27.html")
    assert '<a href="../index.html">Today\'s edition</a>' in first
    assert 'rel="prev"' not in first and 'rel="next"' not in first

    editions.add(2, "Second day story")
    editions.run(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    editions.run(datetime(2026, 11, 29, 1, 30, tzinfo=UTC))
    second = editions.read("archive/2026-11-28.html")
    assert (
        '<a rel="prev" href="2026-11-27.html">Previous edition: Friday 27 November 2026</a>'
        in second
    )
    assert '<a href="../index.html">Today\'s edition</a>' in second
    relinked = editions.read("archive/2026-11-27.html")
    assert (
        '<a rel="next" href="2026-11-28.html">Next edition: Saturday 28 November 2026</a>'
        in relinked
    )
    nav = re.compile(r"<!--editions-->.*?<!--/editions-->", re.S)
    assert nav.sub("", relinked) == nav.sub("", first)  # the edition itself is as it was written


def test_digest_xml_gains_one_entry_per_day_at_publish_time(workspace, feed_server):
    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    editions.run(AFTER_MIDNIGHT)
    assert feedparser.parse(editions.read("digest.xml")).entries == []
    editions.run(DIGEST_TIME)
    digest = feedparser.parse(editions.read("digest.xml"))
    assert not digest.bozo
    assert [e.id for e in digest.entries] == ["tag:www.aopnews.com,2026-11-27:edition"]
    assert digest.entries[0].title == "Test Digest: Friday 27 November 2026"
    assert "UN envoy meets Taliban officials in Kabul" in digest.entries[0].content[0].value
    editions.add(2, "Second day story")
    editions.run(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    editions.run(datetime(2026, 11, 29, 1, 30, tzinfo=UTC))
    ids = [e.id for e in feedparser.parse(editions.read("digest.xml")).entries]
    assert ids == [
        "tag:www.aopnews.com,2026-11-28:edition",
        "tag:www.aopnews.com,2026-11-27:edition",
    ]


def test_the_front_page_cap_counts_what_it_leaves_out(workspace, feed_server):
    from aggregator.edition import front_page

    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    with Store(workspace.db) as store:
        stored = store.story_count()
        front = front_page(store, editions.config, BEFORE_MIDNIGHT, cap=1)
    assert stored == 3
    assert len(front.top) + len(front.latest) == 1 and front.more == 2


def test_one_read_of_the_newest_stories_gives_each_output_what_its_own_read_would(
    workspace, feed_server
):
    from aggregator.edition import feed_stories, front_page, latest

    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)
    for n in range(1, 6):
        editions.add(n, f"Extra report {n} on roads in Herat")
    editions.run(AFTER_MIDNIGHT)
    with Store(workspace.db) as store:
        pool = latest(store, editions.config)
        assert len(pool.stories) == store.story_count() == 8
        for count in range(1, 9):
            alone = [s.id for s in latest(store, editions.config, count).stories]
            assert [s.id for s in pool.first(count)] == alone and len(alone) == count
        shared = front_page(store, editions.config, AFTER_MIDNIGHT, cap=4, pool=pool)
        assert shared == front_page(store, editions.config, AFTER_MIDNIGHT, cap=4)
        assert feed_stories(store, editions.config, pool) == feed_stories(store, editions.config)


def test_a_new_sources_back_catalogue_is_in_no_edition(workspace, feed_server):
    """A weekly outlet added on the 27th brings a month of stories: the 27th's archive page
    and digest.xml entry hold those that were news then (published up to 72 h before the run),
    not the rest, which the rolling feed shows by their dates."""
    items = [
        ("chair", "Provincial council elects its chair", "Fri, 27 Nov 2026 12:00:00 +0000"),
        ("bridge", "Bridge reopens after three days", "Tue, 24 Nov 2026 19:30:00 +0000"),
        ("market", "Market prices survey published", "Tue, 24 Nov 2026 19:10:00 +0000"),
        ("harvest", "Harvest festival draws crowds", "Fri, 30 Oct 2026 09:00:00 +0000"),
    ]
    url = feed_server.add(
        "/weekly/",
        make_rss(
            "Weekly",
            [
                {"title": t, "link": f"https://weekly.example.af/{k}", "date": d}
                for k, t, d in items
            ],
        ),
    )
    editions = Editions(workspace, feed_server)
    editions.run(BEFORE_MIDNIGHT)  # the own source alone, then the weekly added
    sources = [
        {"name": "AOP News", "url": editions.config.sources[0].url, "own": True},
        {"name": "Weekly", "url": url},
    ]
    workspace.write_config(sources)
    editions.config = load_config(workspace.config)
    editions.run(BEFORE_MIDNIGHT.replace(minute=25))  # 72 h after 19:25 on the 24th
    editions.run(DIGEST_TIME)

    archived = editions.read("archive/2026-11-27.html")
    assert "UN envoy meets" in archived
    assert "Provincial council elects" in archived and "Bridge reopens" in archived
    assert "Market prices survey" not in archived and "Harvest festival" not in archived
    assert "(5 stories)" in editions.read("archive/index.html")
    digest = feedparser.parse(editions.read("digest.xml")).entries[0].content[0].value
    assert "Bridge reopens" in digest and "Harvest festival" not in digest
    rolling = [e.title for e in feedparser.parse(editions.read("feed.xml")).entries]
    assert "Market prices survey published" in rolling
    assert "Harvest festival draws crowds" in rolling


CARRIED = {  # a day's stories: title -> the outlets that carried it
    "Salang tunnel reopens to traffic": "ABC",
    "Wheat prices fall in Herat market": "AB",
    "School term begins early in Balkh": "A",
    "Kunduz council meets on water": "B",
    "Bamyan festival draws visitors": "C",
}


def serve_outlets(feed_server, carried: dict[str, str]) -> list[dict[str, str]]:
    """Outlets A, B and C, each with the stories of `carried` that it carried, on the 27th."""
    day = "Fri, 27 Nov 2026 {}:00:00 +0000"
    return [
        {"name": f"Outlet {name}", "url": feed_server.add(f"/{name}/", make_rss(name, [
            {"title": t, "link": f"https://story.example.af/{n}", "guid": f"{name}-{n}",
             "date": day.format(10 + n)}
            for n, (t, outlets) in enumerate(carried.items()) if name in outlets
        ]))}
        for name in "ABC"
    ]  # fmt: skip


def run_at(workspace, *moments: datetime) -> None:
    config = load_config(workspace.config)
    for now in moments:
        with Store(workspace.db) as store:
            run(config, store, workspace.output, now=now, force=True)


def test_a_capped_digest_edition_lists_what_most_outlets_carried_and_links_the_rest(
    workspace, feed_server, monkeypatch
):
    """A desk of thousands of sources has ~100,000 stories a day: a digest.xml entry lists
    the `DIGEST_STORIES` that the most outlets carried and counts the rest, which the day's
    archive page holds. The list is chosen once, as the archive page is written once."""
    monkeypatch.setattr("aggregator.publish.DIGEST_STORIES", 2)
    carried = dict(CARRIED)
    workspace.write_config(serve_outlets(feed_server, carried))

    def digest_after(*moments: datetime) -> str:
        run_at(workspace, *moments)
        entry = feedparser.parse((workspace.output / "digest.xml").read_bytes()).entries[0]
        return entry.content[0].value

    listed = digest_after(BEFORE_MIDNIGHT, DIGEST_TIME)
    assert "Salang tunnel reopens" in listed and "Wheat prices fall" in listed
    assert not any(title in listed for title, outlets in carried.items() if len(outlets) == 1)
    assert '3 more stories in <a href="https://www.aopnews.com/archive/2026-11-27.html">' in listed
    archived = (workspace.output / "archive" / "2026-11-27.html").read_text(encoding="utf-8")
    assert all(title in archived for title in carried) and "Listed here" not in archived

    carried["School term begins early in Balkh"] = "ABC"  # carried by more outlets, later
    serve_outlets(feed_server, carried)
    again = digest_after(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    assert "School term begins" not in again and "Wheat prices fall" in again
    assert "3 more stories in" in again


def test_a_capped_archive_page_lists_what_most_outlets_carried_and_counts_the_day(
    workspace, feed_server, monkeypatch
):
    """An archive page of a desk of thousands of sources would hold ~100,000 stories (60 MB):
    it lists the `ARCHIVE_STORIES` that the most outlets carried, then the newest, and says
    how many the day had."""
    monkeypatch.setattr("aggregator.publish.ARCHIVE_STORIES", 3)
    workspace.write_config(serve_outlets(feed_server, CARRIED))
    run_at(workspace, BEFORE_MIDNIGHT, AFTER_MIDNIGHT)
    archived = (workspace.output / "archive" / "2026-11-27.html").read_text(encoding="utf-8")
    on_page = [title for title in CARRIED if title in archived]
    assert on_page == ["Salang tunnel reopens to traffic", "Wheat prices fall in Herat market",
                       "Bamyan festival draws visitors"]  # fmt: skip
    assert ">5 stories</p>" in archived
    assert "Listed here: the 3 that the most outlets carried." in archived
    index = (workspace.output / "archive" / "index.html").read_text(encoding="utf-8")
    assert "(5 stories)" in index
