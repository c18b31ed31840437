"""Find a site's feed from any URL an editor pastes: the URL itself when it is a feed, else the
feeds its page advertises (`<link rel="alternate">`), else the usual paths. Every candidate is
fetched with the same limits as `run` and must parse."""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from aggregator.blocks import described, walls
from aggregator.fetch import FetchOptions, fetch_one
from aggregator.htmlpage import page_feeds
from aggregator.languages import is_rtl, language_tag, mostly_arabic_script
from aggregator.models import FetchRequest, FetchResult, FetchStatus, ParsedFeed
from aggregator.normalize import plain_name
from aggregator.parse import NotAFeed, parse_feed

USUAL_PATHS = ("/feed/", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml")
MAX_ADVERTISED = 6  # candidates tried from one page, so a hostile page cannot send us far
MAX_LINKED = 4  # of the page's links that look like a feed's
MAX_TITLES_READ = 20  # the titles that say which script a feed is written in


@dataclass(frozen=True)
class Found:
    """A working feed: where it is, what it calls itself, and how it was found."""

    url: str
    title: str
    language: str | None  # BCP 47, from the feed
    entries: int
    page: str | None  # the web page it was found from, when the URL was a page
    how: str  # "the URL is a feed", "advertised by the page", "at /feed/"
    misdeclared: str | None = None  # a left-to-right language declared for Arabic-script titles


class NoFeed(Exception):
    """No feed at or behind the URL; the message says what was tried."""


def _fetch(url: str, options: FetchOptions, verify: bool = True) -> FetchResult:
    return fetch_one(FetchRequest("discovery", url, verify=verify), options)


def _read(result: FetchResult) -> ParsedFeed | str:
    """The feed a fetched candidate holds, or why it holds none."""
    if result.status is not FetchStatus.OK:
        return result.error or str(result.status)
    if not result.body:
        return "an empty body"
    try:
        return parse_feed(result.body, result.headers, result.final_url)
    except NotAFeed as exc:
        return str(exc)
    except Exception as exc:  # a candidate nobody foresaw: not a feed we can follow
        return f"unreadable ({type(exc).__name__})"


def _found(result: FetchResult, feed: ParsedFeed, page: str | None, how: str) -> Found:
    """The feed found; a language it declares that its titles belie (WordPress's `en-US` over
    Dari titles) is set aside as `misdeclared`, for the editor to correct, not taken."""
    language = language_tag(feed.language) if feed.language else None
    title = plain_name(feed.title)
    found = Found(result.final_url, title, language, len(feed.entries), page, how)
    titles = [entry.title for entry in feed.entries[:MAX_TITLES_READ]]
    if language and not is_rtl(language) and mostly_arabic_script(titles):
        return replace(found, language=None, misdeclared=language)
    return found


def discover(url: str, options: FetchOptions, verify: bool = True) -> Found:
    """The feed at or behind `url`; NoFeed (saying what was tried) when there is none.
    Without `verify`, a certificate that fails its checks is accepted (the editor's choice)."""
    first = _fetch(url, options, verify)
    if first.status is not FetchStatus.OK:
        raise NoFeed(f"{url}: {first.error or first.status}")
    feed = _read(first)
    if isinstance(feed, ParsedFeed):
        return _found(first, feed, None, "the URL is a feed")
    page, first_reason = first.final_url, feed
    content_type = first.headers.get("content-type", "")
    advertised, linked = page_feeds(first.body or b"", page, content_type)
    advertised, linked = advertised[:MAX_ADVERTISED], linked[:MAX_LINKED]
    folder = urlsplit(page).path.rsplit("/", 1)[0] + "/"  # a site in a sub-folder: /fa/feed/
    usual = [
        urljoin(page, root + path.lstrip("/")) for root in (folder, "/") for path in USUAL_PATHS
    ]
    why: dict[str, str] = {}
    for candidate in dict.fromkeys([*advertised, *linked, *usual]):
        result = _fetch(candidate, options, verify)
        feed = _read(result)
        if isinstance(feed, ParsedFeed):
            how = "advertised by the page" if candidate in advertised else f"at {candidate}"
            how = "linked from the page" if candidate in linked else how
            return _found(result, feed, page, how)
        why[candidate] = feed
    tried = f"none of {', '.join(USUAL_PATHS)} (on the site or beside the page) is a feed"
    names = walls(first.headers, first.body or b"", error=False)
    if names:
        raise NoFeed(
            f"no feed found at {url}: it answered with a challenge page ({described(names)}), "
            f"and {tried}. A feed reader cannot pass the challenge: ask the site to let feed "
            "readers through."
        )
    if first_reason.startswith("not a feed: ") or not first.body:
        what = first_reason.removeprefix("not a feed: ")
        raise NoFeed(f"no feed found at {url}: it answered with {what}, and {tried}.")
    advert = "the page advertises no feed"
    if advertised:
        which = (
            "the feed the page advertises does not parse"
            if len(advertised) == 1
            else f"none of the {len(advertised)} feeds the page advertises parses"
        )
        advert = f"{which} ({advertised[0]}: {why[advertised[0]]})"
    if linked:
        which = (
            "nor does the link on it that looks like a feed's"
            if len(linked) == 1
            else f"nor do the {len(linked)} links on it that look like a feed's"
        )
        advert += f", {which} ({linked[0]}: {why[linked[0]]})"
    raise NoFeed(
        f"no feed found at {url}: {advert}, and {tried}. "
        "Follow the page itself as an html source (type: html with CSS selectors; see README)."
    )


def feed_problem(
    url: str, options: FetchOptions, listing: bool = False, verify: bool = True
) -> str | None:
    """Why the feed at `url` cannot be followed as it is (None: it works), or "moved:NEW" when
    every redirect on the way was permanent. A listing page (`listing`) need only load; a
    certificate is checked unless the editor accepts it (`verify`)."""
    result = _fetch(url, options, verify)
    if result.status is not FetchStatus.OK and result.status is not FetchStatus.NOT_MODIFIED:
        return result.error or str(result.status)
    if result.moved_to:
        return f"moved:{result.moved_to}"
    if listing or isinstance(_read(result), ParsedFeed):
        return None
    return "the URL no longer gives a feed"
