"""Reconcile feeds.yaml with the desk's "Links to More News" page: the outside sites it links to
that nobody follows yet (with the feed found for each), the sources it no longer links to, and
the followed sites whose feed moved or fails."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree

from aggregator.config import Config, Source
from aggregator.discover import Found, NoFeed
from aggregator.htmlpage import html_root, page_base
from aggregator.normalize import canonical_url, joined_url

MAX_SITES = 200  # outside sites read from one page
SOCIAL = frozenset(
    {
        "facebook.com", "twitter.com", "x.com", "instagram.com", "youtube.com", "youtu.be",
        "t.me", "telegram.me", "linkedin.com", "whatsapp.com", "wa.me", "tiktok.com",
        "pinterest.com", "wordpress.org", "wordpress.com", "gravatar.com", "google.com",
        "play.google.com", "apps.apple.com",
    }
)  # fmt: skip


def site_key(url: str | None) -> str:
    """A site as the desk thinks of it: host without `www.`, with a port only if unusual."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return f"{host}:{port}" if port and port != default else host


@dataclass(frozen=True)
class LinkedSite:
    key: str
    url: str  # the first link to it on the page
    text: str  # what the page calls it


def linked_sites(
    body: bytes, page_url: str, own: Iterable[str] = (), content_type: str = ""
) -> list[LinkedSite]:
    """The outside sites a page links to, in page order, once each; the page's own site, the
    desk's own sites and social networks left out."""
    try:
        root = html_root(body, content_type)
    except (etree.ParserError, ValueError):
        return []
    base = page_base(root, page_url)
    skip = {site_key(page_url), *(site_key(u) for u in own)}
    sites: dict[str, LinkedSite] = {}
    for anchor in root.iter("a"):
        url = joined_url(base, anchor.get("href") or "")
        key = site_key(url) if url else ""
        if not url or not key or key in skip:
            continue
        if key in SOCIAL or any(key.endswith("." + s) for s in SOCIAL) or key in sites:
            continue
        sites[key] = LinkedSite(key, url, " ".join(anchor.text_content().split()))
        if len(sites) >= MAX_SITES:
            break
    return list(sites.values())


@dataclass
class Reconciliation:
    """What `aggregator links` reports: a reviewable diff of the page against feeds.yaml."""

    linked: int = 0
    new: list[tuple[LinkedSite, Found | None, str]] = field(default_factory=list)
    unlinked: list[Source] = field(default_factory=list)
    moved: list[tuple[Source, str]] = field(default_factory=list)
    failing: list[tuple[Source, str]] = field(default_factory=list)
    same: int = 0


def _keys(source: Source) -> set[str]:
    return {site_key(source.url), *([site_key(source.homepage)] if source.homepage else [])}


def reconcile(
    config: Config,
    sites: list[LinkedSite],
    discover: Callable[[str], Found],
    feed_works: Callable[[Source], str | None],
    workers: int = 8,
) -> Reconciliation:
    """Compare the linked sites with the sources. `discover` finds a site's feed (NoFeed if
    none); `feed_works` says why a source's feed fails, or None (or a permanent redirect's
    target as "moved:URL")."""
    report = Reconciliation(linked=len(sites))
    followed = [s for s in config.sources if not s.own]
    by_key = {key: s for s in followed for key in _keys(s)}
    linked = {site.key for site in sites}
    report.unlinked = [s for s in followed if not _keys(s) & linked]

    def new_site(site: LinkedSite) -> tuple[LinkedSite, Found | None, str]:
        try:
            return site, discover(site.url), ""
        except NoFeed as exc:
            return site, None, str(exc)

    def known_site(site: LinkedSite) -> tuple[Source, str | None, Found | None]:
        source = by_key[site.key]
        problem = feed_works(source)
        if problem is None or problem.startswith("moved:"):
            return source, problem, None
        try:
            return source, problem, discover(site.url)
        except NoFeed:
            return source, problem, None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fresh = pool.map(new_site, [s for s in sites if s.key not in by_key])
        known = pool.map(known_site, [s for s in sites if s.key in by_key])
        report.new = list(fresh)
        seen: set[str] = set()
        for source, problem, found in known:
            if source.name in seen:
                continue
            seen.add(source.name)
            if problem is None:
                report.same += 1
            elif problem.startswith("moved:"):
                report.moved.append((source, problem.removeprefix("moved:")))
            elif found and canonical_url(found.url) != canonical_url(source.url):
                report.moved.append((source, found.url))
            else:
                report.failing.append((source, problem))
    return report
