"""Players that feeds embed (a YouTube or Vimeo frame, a `<video>`, an `<audio>`) turned into
links to what they play. Sanitizing drops frames and media elements with their content, and
an article that said "Watch:" kept nothing to watch; other frames (ads, widgets) still go."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit


def hyphen_hint(*names: str) -> re.Pattern[str]:
    """A search for any of these hyphenated names in any case that starts at their first "-",
    a character the same in any case, which `re` skips to; a first letter in either case, or
    two branches, make it try every position (25 us, not 2, on a 2 KB article). The rest of
    each name is checked from there, back and forth."""
    return re.compile(
        "-(?:"
        + "|".join(
            f"(?i:{re.escape(name.partition('-')[2])})(?<=(?i:{re.escape(name)}))" for name in names
        )
        + ")"
    )


# what `players_as_links` reads, at a glance: each from a character the same in any case
_PLAYER_HINT = re.compile(r"<(?i:iframe|video|audio)\b")
_TELEGRAM_HINT = hyphen_hint("data-telegram-post")


def has_players(fragment: str) -> bool:
    """Whether the fragment may hold something `players_as_links` turns into a link."""
    return bool(_PLAYER_HINT.search(fragment) or _TELEGRAM_HINT.search(fragment))


# one element, start tag to end tag, each read once (possessive): a frame left open reads to
# the end of the fragment, never again from a later "<"
PLAYER = re.compile(
    r"<(iframe|video|audio)\b([^<>]*+)>?((?:[^<]|<(?!/\1\b))*+)(?:</\1\s*>)?", re.IGNORECASE
)
_SOURCE_TAG = re.compile(r"<source\b([^<>]*+)>?", re.IGNORECASE)
# where a frame or a medium names what it plays: lazy-loading scripts keep it in data-*
_SOURCES = ("src", "data-src", "data-lazy-src", "data-original")
_ATTRIBUTE = re.compile(
    r"""(?:^|\s)(src|data-src|data-lazy-src|data-original)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)""",
    re.IGNORECASE,
)


def _source(attributes: str) -> str | None:
    """The http(s) URL a tag's attributes name as its source (`//host/...` as https)."""
    found: dict[str, str] = {}
    for name, value in _ATTRIBUTE.findall(attributes):
        found.setdefault(name.lower(), html.unescape(value.strip("\"'")).strip())
    for name in _SOURCES:
        url = found.get(name, "")
        if url.startswith("//"):
            url = "https:" + url
        if url.lower().startswith(("http://", "https://")):
            return url
    return None


_ID = re.compile(r"[\w-]+", re.ASCII)  # a video's id as players write it: YouTube's, Vimeo's


def _segment(path: str, after: str) -> str | None:
    """The id in the path segment that follows `after` ("/embed/ID" -> ID), if there is one."""
    head, found, rest = path.partition(after)
    segment = rest.split("/", 1)[0]
    return segment if found and not head.strip("/") and _ID.fullmatch(segment) else None


def _query(url: str, key: str) -> str | None:
    value = parse_qs(urlsplit(url).query).get(key, [""])[0].strip()
    return value if value.lower().startswith(("http://", "https://")) else None


def _youtube(url: str) -> str | None:
    video = _segment(urlsplit(url).path, "/embed/")
    if video == "videoseries":
        listed = parse_qs(urlsplit(url).query).get("list", [""])[0]
        return f"https://www.youtube.com/playlist?list={listed}" if _ID.fullmatch(listed) else None
    return f"https://www.youtube.com/watch?v={video}" if video else None


def _vimeo(url: str) -> str | None:
    video = _segment(urlsplit(url).path, "/video/")
    return f"https://vimeo.com/{video}" if video else None


def _dailymotion(url: str) -> str | None:
    video = _segment(urlsplit(url).path, "/embed/video/")
    return f"https://www.dailymotion.com/video/{video}" if video else None


def _dailymotion_player(url: str) -> str | None:
    video = parse_qs(urlsplit(url).query).get("video", [""])[0].strip()
    return f"https://www.dailymotion.com/video/{video}" if _ID.fullmatch(video) else None


def _aparat(url: str) -> str | None:
    video = urlsplit(url).path.partition("/videohash/")[2].split("/", 1)[0]
    return f"https://www.aparat.com/v/{video}" if _ID.fullmatch(video) else None


_TELEGRAM_POST = re.compile(r"[A-Za-z0-9_]{3,64}/\d{1,12}", re.ASCII)  # channel/message
# Telegram's post widget: a script alone, which sanitizing drops with nothing left of the post
_TELEGRAM_WIDGET = re.compile(
    r"<script\b[^<>]*?\bdata-telegram-post\s*=\s*[\"']?([A-Za-z0-9_]{3,64}/\d{1,12})\b"
    r"[^<>]*+>(?:\s*</script\s*>)?",
    re.IGNORECASE | re.ASCII,
)


def _telegram_widget(widget: re.Match[str]) -> str:
    return _link(f"https://t.me/{widget[1]}", "Telegram")


def _telegram(url: str) -> str | None:
    post = urlsplit(url).path.strip("/")
    return f"https://t.me/{post}" if _TELEGRAM_POST.fullmatch(post) else None


# the players of the sites Afghan outlets embed from: host -> (name, its page for a frame)
_PLAYERS: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "youtube.com": ("YouTube", _youtube),
    "youtube-nocookie.com": ("YouTube", _youtube),
    "player.vimeo.com": ("Vimeo", _vimeo),
    "dailymotion.com": ("Dailymotion", _dailymotion),
    "geo.dailymotion.com": ("Dailymotion", _dailymotion_player),
    "facebook.com": ("Facebook", lambda url: _query(url, "href")),
    "aparat.com": ("Aparat", _aparat),
    "w.soundcloud.com": ("SoundCloud", lambda url: _query(url, "url")),
    "t.me": ("Telegram", _telegram),
}


def _link(url: str, name: str) -> str:
    return f'<p><a href="{html.escape(url)}">▶ {html.escape(name)}</a></p>'


def _as_link(element: re.Match[str]) -> str:
    """A player as a link to what it plays; any other frame as nothing, as sanitizing has it."""
    kind = element[1].lower()
    source = _source(element[2])
    if kind != "iframe":
        if source is None:  # <video><source src=...></video>
            source = next(filter(None, map(_source, _SOURCE_TAG.findall(element[3]))), None)
        return _link(source, _host(source)) if source else ""
    if source is None:
        return ""
    player = _PLAYERS.get(_host(source))
    page = player[1](source) if player else None
    return _link(page, player[0]) if player and page else ""


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.").removeprefix("m.")


def players_as_links(fragment: str) -> str:
    """The fragment with each embedded player replaced by a paragraph that links to what it
    plays (`▶ YouTube` to the video's page; a Telegram post's widget to the post), and other
    frames dropped."""
    if "data-telegram-post" in fragment.lower():
        fragment = _TELEGRAM_WIDGET.sub(_telegram_widget, fragment)
    return PLAYER.sub(_as_link, fragment)
