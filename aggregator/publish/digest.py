"""Render the HTML pages of the editions from Jinja2 templates (autoescaped)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from aggregator.calendars import solar_hijri
from aggregator.config import Config
from aggregator.edition import Edition, FrontPage
from aggregator.health import zone_label
from aggregator.languages import is_rtl, name_of
from aggregator.models import Story
from aggregator.publish.media import image

if TYPE_CHECKING:
    from jinja2 import Environment


# characters from U+1FFFE on: among them the noncharacters past the first plane, which HTML
# forbids (normalize drops the first plane's; a class of these 32 made its cleaning slow)
_ASTRAL_TAIL = re.compile("[\U0001fffe-\U0010ffff]")


def _noncharacter_dropped(found: re.Match[str]) -> str:
    return "" if (ord(found[0]) & 0xFFFE) == 0xFFFE else found[0]


def _html_safe(value: Any) -> Any:
    """A value as a page may print it: without noncharacters (U+1FFFE, ..., U+10FFFF)."""
    if isinstance(value, str) and _ASTRAL_TAIL.search(value):
        cleaned = _ASTRAL_TAIL.sub(_noncharacter_dropped, value)
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


@cache
def templates() -> Environment:
    """The pages' templates. Jinja2 (50 ms to import) is imported for the first page
    rendered: a run that changes nothing renders none."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_html_safe,
    )
    environment.filters["isotime"] = lambda moment: moment.isoformat(timespec="seconds")
    return environment


def group_by_category(stories: list[Story], config: Config) -> list[tuple[str, list[Story]]]:
    """Stories grouped by category, categories in the order feeds.yaml first names them."""
    order = list(dict.fromkeys(s.category for s in config.sources))
    groups: dict[str, list[Story]] = defaultdict(list)
    for story in stories:
        groups[story.category].append(story)
    ranked = sorted(groups, key=lambda c: order.index(c) if c in order else len(order))
    return [(category, groups[category]) for category in ranked]


@dataclass(frozen=True)
class Section:
    heading: str
    hijri: str  # the same day in the Solar Hijri calendar, as Afghan readers date it
    day: date
    count: int  # the day's stories
    groups: list[tuple[str, list[Story]]]
    more: int = 0  # of them, the ones a cap left off the page


def _section(config: Config, heading: str, edition: Edition) -> Section:
    groups = group_by_category(edition.stories, config)
    hijri = solar_hijri(edition.day, config.site.language)
    count = len(edition.stories) + edition.more
    return Section(heading, hijri, edition.day, count, groups, edition.more)


@dataclass(frozen=True)
class Navigation:
    """What every page links besides its stories: the per-language pages and the feeds of each
    language and section."""

    switch: tuple[tuple[str, str], ...] = ()  # (code, name) of each language page
    families: tuple[tuple[str, Any], ...] = ()  # (label, FeedInfo) of each feed family


def _render(
    template: str,
    config: Config,
    now: datetime,
    root: str,
    nav: Navigation,
    language: str | None = None,
    **page: object,
) -> bytes:
    """A page on base.html: what every page needs (site, clock, navigation, helpers) and `page`."""
    zone = config.site.zone
    return (
        templates()
        .get_template(template)
        .render(
            site=config.site,
            generated=now.astimezone(zone),
            zone=zone,
            zone_label=zone_label(config.site.timezone),
            switch=nav.switch,
            families=nav.families,
            page_language=language,
            rtl=is_rtl,
            image=image,
            labels=labels,
            language_name=name_of,
            root=root,
            **page,
        )
        .encode("utf-8")
    )


def _long_date(day: date) -> str:
    return day.strftime("%A %d %B %Y")


LABELS = {
    "en": {"also": "Also reported by", "also_in": "Also in", "first_seen": "first seen",
           "undated": "no date in the feed", "top": "Top stories",
           "top_note": "carried by several outlets in the last 24 hours", "latest": "Latest",
           "none": "No stories yet."},
    "fa": {"also": "همچنین گزارش شده در", "also_in": "به زبان", "first_seen": "نخستین بار دیده شد",
           "undated": "بدون تاریخ", "top": "خبرهای مهم",
           "top_note": "خبرهایی که چند رسانه در ۲۴ ساعت گذشته نشر کرده‌اند",
           "latest": "تازه‌ترین خبرها", "none": "هنوز خبری نیست."},
    "ps": {"also": "نورو رسنیو هم خپور کړی", "also_in": "په ژبه", "first_seen": "لومړی ځل ولیدل شو",
           "undated": "بې نېټې", "top": "مهم خبرونه",
           "top_note": "هغه خبرونه چې په تېرو ۲۴ ساعتونو کې څو رسنیو خپاره کړي",
           "latest": "تازه خبرونه", "none": "تر اوسه خبر نشته."},
}  # fmt: skip


def labels(language: str) -> dict[str, str]:
    """Interface words in the language of the item they head (English, Dari or Pashto)."""
    return LABELS.get(language.split("-")[0].lower(), LABELS["en"])


def index_html(
    config: Config,
    front: FrontPage,
    now: datetime,
    nav: Navigation = Navigation(),  # noqa: B008
    language: str | None = None,
) -> bytes:
    """index.html (or a language's page): the top stories, then the latest by section."""
    today = now.astimezone(config.site.zone).date()
    return _render(
        "front.html",
        config,
        now,
        "",
        nav,
        language,
        title=config.site.title,
        heading=_long_date(today),
        hijri=solar_hijri(today, config.site.language),
        hijri_of=lambda day: solar_hijri(day, config.site.language),
        today=today,
        front=front,
        groups=group_by_category(front.latest, config),
    )


def editions_nav(previous: date | None, following: date | None) -> Markup:
    """An archive page's links to the editions before and after it, between markers, so that
    archiving a later edition can rewrite these links and nothing else of the page."""
    links = (
        templates()
        .get_template("_editions.html")
        .render(previous=previous, following=following, long_date=_long_date)
    )
    return Markup(f"{_NAV_START}{links}{_NAV_END}")


_NAV_START, _NAV_END = "<!--editions-->", "<!--/editions-->"
_NAV = re.compile(re.escape(_NAV_START) + ".*?" + re.escape(_NAV_END), re.S)


def relink_edition(page: str, previous: date | None, following: date | None) -> str:
    """`page` with its edition links pointing at `previous` and `following` (unchanged when the
    page has no such links: pages archived before they existed are left as written)."""
    return _NAV.sub(lambda _: str(editions_nav(previous, following)), page, count=1)


def edition_html(
    config: Config,
    edition: Edition,
    now: datetime,
    nav: Navigation = Navigation(),  # noqa: B008
    neighbours: tuple[date | None, date | None] = (None, None),
) -> bytes:
    """archive/YYYY-MM-DD.html: one closed edition, written once (but for its edition links)."""
    title = f"{config.site.title}: {_long_date(edition.day)}"
    section = _section(config, _long_date(edition.day), edition)
    return _render(
        "digest.html", config, now, "../", nav,
        title=title, sections=[section], editions=editions_nav(*neighbours),
    )  # fmt: skip


MONTHS_AFTER = 31  # a longer archive index is grouped under month headings


def archive_index_html(config: Config, days: list[tuple[date, int | None]]) -> bytes:
    """archive/index.html: every archived edition, newest first, by month when the list is long
    (a count is None for an edition whose stories retention has removed from the database)."""
    newest_first = sorted(days, reverse=True)
    months: list[tuple[date | None, list[tuple[date, int | None]]]] = []
    if len(newest_first) <= MONTHS_AFTER:
        months = [(None, newest_first)] if newest_first else []
    else:
        for day, count in newest_first:
            month = day.replace(day=1)
            if not months or months[-1][0] != month:
                months.append((month, []))
            months[-1][1].append((day, count))
    most = max((count or 0 for _, count in days), default=0)
    page = (
        templates()
        .get_template("archive.html")
        .render(site=config.site, months=months, most=most, rtl=is_rtl)
    )
    return page.encode("utf-8")
