"""Editors' corrections: `split` and `merge` survive later runs and change what feed.xml shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import feedparser

from aggregator.cli import main

NOW = datetime.now(UTC)
ITEMS = {
    "aop": [
        ("salang-reopens", "Salang pass reopens after two-day closure",
         "The Salang pass reopened on Saturday after snow and avalanches kept it closed for two "
         "days, officials said.", 2),
        ("herat-wheat", "Wheat prices fall in Herat markets",
         "Traders in Herat report lower wheat prices after imports from Kazakhstan rose.", 6),
    ],
    "khaama": [
        ("salang-pass-reopened", "Salang pass reopened to traffic after avalanches",
         "Traffic resumed through the Salang pass after avalanches closed the route for two "
         "days, officials said.", 3),
        ("kandahar-solar", "Kandahar solar park starts supplying the grid",
         "The 10 MW park in Kandahar began supplying power on Friday.", 8),
    ],
}  # fmt: skip
LATER = (
    "salang-traffic",
    "Salang pass reopens after avalanches, officials say",
    "Officials said the Salang pass reopened after avalanches kept it closed for two days.",
    1,
)


def link(outlet: str, slug: str) -> str:
    return f"https://{outlet}.example/news/{slug}"


def rss(outlet: str, items: list[tuple[str, str, str, int]]) -> bytes:
    body = "".join(
        f"<item><title>{escape(title)}</title><link>{link(outlet, slug)}</link>"
        f"<guid>{link(outlet, slug)}</guid>"
        f"<pubDate>{format_datetime(NOW - timedelta(hours=hours))}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for slug, title, text, hours in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{outlet}'
        f"</title><link>https://{outlet}.example/</link>{body}</channel></rss>"
    ).encode()


class Desk:
    def __init__(self, workspace, feed_server):
        self.workspace, self.server = workspace, feed_server
        sources = []
        for outlet in ("aop", "khaama", "kabulnow"):
            url = feed_server.add(
                f"/{outlet}",
                rss(outlet, ITEMS.get(outlet, [])),
                headers={"Content-Type": "application/rss+xml"},
            )
            sources.append({"name": outlet, "url": url, "own": outlet == "aop"})
        workspace.write_config(sources)

    def cli(self, *args: str) -> int:
        return main(self.workspace.args(*args))

    def run(self) -> None:
        assert self.cli("run", "--force") == 0

    def items(self) -> dict[str, list[str]]:
        """Each feed.xml item's link, with the links of the other outlets it names."""
        parsed = feedparser.parse(str(self.workspace.output / "feed.xml"))
        return {
            e.link: sorted(
                href
                for href in _hrefs(e.content[0].value if "content" in e else e.summary)
                if href != e.link
            )
            for e in parsed.entries
        }

    def later(self, item: tuple[str, str, str, int]) -> None:
        route = self.server.routes["/kabulnow"]
        route.body = rss("kabulnow", [item])


def _hrefs(html: str) -> list[str]:
    import re

    return [h for h in re.findall(r'href="([^"]+)"', html) if ".example/news/" in h]


def test_split_keeps_an_entry_out_of_its_story_on_later_runs(workspace, feed_server, capsys):
    desk = Desk(workspace, feed_server)
    desk.run()
    salang, khaama = link("aop", "salang-reopens"), link("khaama", "salang-pass-reopened")
    assert desk.items()[salang] == [khaama]  # matched: one story, two outlets
    assert len(desk.items()) == 3
    capsys.readouterr()

    assert desk.cli("split", khaama + "?utm_source=x") == 0
    assert "taken out of story" in capsys.readouterr().out
    assert desk.cli("publish") == 0
    items = desk.items()
    assert len(items) == 4 and items[salang] == [] and items[khaama] == []

    desk.later(LATER)  # a third outlet's report of the same event arrives
    desk.run()
    items = desk.items()
    later = link("kabulnow", "salang-traffic")
    assert items[salang] == [later]  # it joins the original story...
    assert items[khaama] == []  # ...never the entry the editor split off
    assert later not in items

    assert desk.cli("explain", khaama) == 0
    out = capsys.readouterr().out
    assert "decision: kept apart by an editor" in out and "editor's override: split" in out
    assert desk.cli("overrides") == 0
    assert f"split  {khaama}" in capsys.readouterr().out

    browser_copy = khaama.replace("https://", "http://").rstrip("/") + "/amp/"
    assert desk.cli("split", browser_copy, "--undo") == 0  # the page as a browser showed it
    assert "is back in story" in capsys.readouterr().out
    assert desk.cli("publish") == 0
    assert desk.items()[salang] == sorted([khaama, later])


def test_merge_puts_two_entries_in_one_story_for_good(workspace, feed_server, capsys):
    desk = Desk(workspace, feed_server)
    desk.run()
    wheat, solar = link("aop", "herat-wheat"), link("khaama", "kandahar-solar")
    assert len(desk.items()) == 3 and solar in desk.items()
    assert desk.cli("merge", solar, wheat) == 0
    assert desk.cli("publish") == 0
    assert desk.items()[wheat] == [solar] and solar not in desk.items()

    desk.later(LATER)
    desk.run()  # a later run, with new entries clustered, leaves the merge as it is
    assert desk.items()[wheat] == [solar]
    assert desk.cli("merge", solar, wheat) == 0  # asking again changes nothing
    assert "in one story already" in capsys.readouterr().out

    assert desk.cli("merge", wheat, solar, "--undo") == 0  # either order undoes it
    assert desk.cli("publish") == 0
    assert desk.items()[wheat] == [] and desk.items()[solar] == []
    assert desk.cli("merge", solar, wheat, "--undo") == 1
    assert "no merge of" in capsys.readouterr().err
    assert desk.cli("merge", solar, "https://nowhere.example/x") == 1
