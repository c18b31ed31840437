"""Publish the outputs: feeds, editions, archive and status, each written atomically."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from aggregator.config import Config, category_slug
from aggregator.edition import (
    Edition,
    FrontPage,
    closed_days,
    digest_due,
    digest_list,
    edition,
    feed_stories,
    front_page,
    latest,
    most_carried,
    section_feeds,
)
from aggregator.health import SourceHealth, source_health
from aggregator.languages import name_of, primary
from aggregator.models import Story
from aggregator.opml import opml_bytes
from aggregator.publish.atomic import remove_stale_temp_files, write_atomic
from aggregator.publish.digest import (
    Navigation,
    archive_index_html,
    edition_html,
    index_html,
    relink_edition,
)
from aggregator.publish.feeds import (
    FeedInfo,
    atom_bytes,
    editions_atom,
    json_feed_bytes,
    rss_bytes,
)
from aggregator.publish.isolate import render_isolated
from aggregator.publish.status import status_html, status_json
from aggregator.store import Store

DIGEST_EDITIONS = 30
DIGEST_STORIES = 300  # listed in a digest edition: the ones most outlets carried; the rest: archive
ARCHIVE_STORIES = 1_000  # on an archive page (about 1 MB): the ones most outlets carried
# meta: fingerprints of what the last publish was made from, and the pages and feeds it wrote
PAGES_KEY, STATUS_KEY, FILES_KEY = "publish.pages", "publish.status", "publish.files"
_ARCHIVE_PAGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.html")


@dataclass
class Published:
    """What a publish wrote: the rolling feeds' item count, and the stories it had to leave out."""

    stories: int
    problems: list[str] = field(default_factory=list)
    written: int = 0  # files written (0: nothing had changed)


def _fingerprint(*parts: object) -> str:
    """A digest of what outputs are made from (dataclasses, dates and lists repr stably)."""
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


@functools.cache
def renderer() -> str:
    """A digest of the code and templates that write the outputs, part of every fingerprint:
    an upgrade that renders differently rewrites them once, not at the next story."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*here.glob("*.py"), *here.glob("templates/*.html")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _timeless(row: SourceHealth) -> SourceHealth:
    """A source's health without the times that move at every check."""
    return replace(row, last_success=None, next_check=None, last_new_entry=None)


def _only(edition: Edition, stories: list[Story]) -> Edition:
    """The edition with only those of its stories that are in `stories`."""
    keep = {s.id for s in stories}
    return replace(edition, stories=[s for s in edition.stories if s.id in keep])


def _front_only(front: FrontPage, stories: list[Story]) -> FrontPage:
    """The front page with only those of its stories that are in `stories`."""
    keep = {s.id for s in stories}
    return replace(
        front,
        top=[s for s in front.top if s.id in keep],
        latest=[s for s in front.latest if s.id in keep],
    )


def _front_language(front: FrontPage, code: str) -> FrontPage:
    """The front page of one language (primary subtag)."""
    return replace(
        front,
        top=[s for s in front.top if primary(s.entry.language) == code],
        latest=[s for s in front.latest if primary(s.entry.language) == code],
        more=0,
    )


def _archived_days(store: Store, folder: Path) -> list[tuple[date, int | None]]:
    """Every edition page in the archive folder, with its story count where the store knows it.

    The pages are never deleted, so the archive index lists them all, even editions whose
    stories retention has since removed from the database."""
    counts = store.editions()
    days: dict[date, int | None] = {}
    for page in folder.glob("*.html") if folder.is_dir() else ():
        match = _ARCHIVE_PAGE.fullmatch(page.name)
        if match:
            try:
                day = date.fromisoformat(match[1])
            except ValueError:
                continue
            days[day] = counts.get(day)
    return sorted(days.items())


def _neighbours(days: list[date], day: date) -> tuple[date | None, date | None]:
    """The editions archived just before and just after `day` (`days` sorted, holding `day`)."""
    at = days.index(day)
    return (days[at - 1] if at else None, days[at + 1] if at + 1 < len(days) else None)


def _adjacent(days: list[date], new: list[date]) -> set[date]:
    """The archived editions next to a newly archived one, whose edition links now change."""
    return {d for day in new for d in _neighbours(days, day) if d is not None}


def _relink_archive(folder: Path, days: list[date], pages: set[date]) -> None:
    """Point the edition links of already archived `pages` at their new neighbours."""
    for day in sorted(pages):
        path = folder / f"{day.isoformat()}.html"
        text = path.read_text(encoding="utf-8")
        linked = relink_edition(text, *_neighbours(days, day))
        if linked != text:
            write_atomic(path, linked.encode("utf-8"))


def publish(config: Config, store: Store, output: Path, now: datetime) -> Published:
    """Write every output file; a story that cannot be rendered is left out and reported.

    Closed editions are archived once: an existing archive/YYYY-MM-DD.html is never rendered
    again; only its previous/next edition links change when an edition next to it is archived.
    Nothing is rewritten when nothing it shows changed: the pages and feeds are compared by a
    fingerprint of what they are made from (stories, editions, settings, the local day), the
    status files by the sources' health without its clock times.
    """
    output.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output)
    report = Published(0)

    def isolated(stories: list[Story], render: Callable[[list[Story]], bytes]) -> bytes:
        data, dropped = render_isolated(stories, render, lambda s: f"story {s.id} ({s.entry.url})")
        report.problems.extend(f"{line}: left out, retried next publish" for line in dropped)
        return data

    pool = latest(store, config)  # the newest stories, read once for every output below
    stories = feed_stories(store, config, pool)
    by_language, by_category = section_feeds(store, config, pool)
    site = config.site
    families = [
        *((name_of(code), FeedInfo.part(site, name_of(code), code, f"lang/{code}"))
          for code in by_language),
        *((name, FeedInfo.part(site, name, site.language, f"category/{category_slug(name)}"))
          for name in by_category),
    ]  # fmt: skip
    parts = [*by_language.values(), *by_category.values()]
    switch = tuple((code, name_of(code)) for code in by_language) if len(by_language) > 1 else ()
    nav = Navigation(switch, tuple(families))
    counts = closed_days(store, config, now)
    due = {day: digest_due(day, config) for day in counts}
    sent_days = [day for day in counts if due[day] <= now][-DIGEST_EDITIONS:]
    lists = {day: digest_list(store, config, day, DIGEST_STORIES) for day in sent_days}
    sent = [edition(store, config, day, listed) for day, (listed, _) in lists.items()]
    front = front_page(store, config, now, pool=pool)
    health = source_health(store, config, now)
    status_folder = config.status_folder or output
    today = now.astimezone(site.zone).date()
    pages = _fingerprint(
        renderer(), config.model_dump(mode="json"), today, stories, by_language, by_category,
        list(counts.items()), [(e.day, e.stories, e.more, due[e.day]) for e in sent], front,
    )  # fmt: skip
    status = _fingerprint(renderer(), [_timeless(row) for row in health])
    rendered: dict[Path, bytes] = {}
    made = [output / name for name in (store.get_meta(FILES_KEY) or "").splitlines()]
    present = bool(made) and all(path.exists() for path in made)  # none deleted by hand since
    if store.get_meta(PAGES_KEY) != pages or not present:
        archive = output / "archive"
        on_disk = {day for day, _ in _archived_days(store, archive)}
        new_days = [day for day in counts if day not in on_disk]
        archived = sorted(on_disk | set(new_days))
        for day in new_days:
            built = edition(store, config, day, most_carried(store, config, day, ARCHIVE_STORIES))
            around = _neighbours(archived, day)
            write_atomic(
                archive / f"{day.isoformat()}.html",
                isolated(
                    built.stories,
                    lambda ss, e=built, n=around: edition_html(config, _only(e, ss), now, nav, n),
                ),
            )
            with store.transaction():
                store.record_edition(day, len(built.stories) + built.more, now)
        _relink_archive(archive, archived, on_disk & _adjacent(archived, new_days))
        on_index = front.top + front.latest
        in_digest = [s for e in sent for s in e.stories]
        rendered = {
            output / "feed.xml": isolated(stories, lambda ss: rss_bytes(site, ss, now)),
            output / "atom.xml": isolated(stories, lambda ss: atom_bytes(site, ss, now)),
            output / "feed.json": isolated(stories, lambda ss: json_feed_bytes(site, ss, now)),
            output / "index.html": isolated(
                on_index,
                lambda ss: index_html(config, _front_only(front, ss), now, nav),
            ),
            output / "archive/index.html": archive_index_html(
                config, _archived_days(store, output / "archive")
            ),
            output / "digest.xml": isolated(
                in_digest,
                lambda ss: editions_atom(
                    site, [_only(e, ss) for e in sent], {e.day: due[e.day] for e in sent}
                ),
            ),
            output / "feeds.opml": opml_bytes(config),
        }
        for code in switch and by_language:  # a page per language, linked by the switch
            mine = _front_language(front, code)
            rendered[output / f"{code}.html"] = isolated(
                mine.top + mine.latest,
                lambda ss, m=mine, c=code: index_html(config, _front_only(m, ss), now, nav, c),
            )
        for (_, info), part in zip(families, parts, strict=True):
            for name, render in (
                (info.rss, rss_bytes), (info.atom, atom_bytes), (info.json, json_feed_bytes)
            ):  # fmt: skip
                rendered[output / name] = isolated(
                    part, lambda ss, r=render, i=info: r(site, ss, now, i)
                )
    status_files = [status_folder / "status.json", status_folder / "status.html"]
    if store.get_meta(STATUS_KEY) != status or not all(path.exists() for path in status_files):
        rendered[status_files[0]] = status_json(health, now)
        rendered[status_files[1]] = status_html(config, health, now)
    for path, data in rendered.items():
        write_atomic(path, data)
    with store.transaction():  # what these files show: the next publish compares
        for day, (listed, chosen) in lists.items():
            if chosen:
                store.set_listed(day, listed)
        store.set_meta(PAGES_KEY, "" if report.problems else pages)  # left-out stories: retry
        store.set_meta(STATUS_KEY, status)
        if rendered.keys() - set(status_files):
            pages_written = sorted(
                str(path.relative_to(output))
                for path in rendered.keys() - set(status_files)
                if path.is_relative_to(output)
            )
            store.set_meta(FILES_KEY, "\n".join(pages_written))
    report.stories = len(stories)
    report.written = len(rendered)
    return report
