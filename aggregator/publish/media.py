"""Which of a story's files to republish where: one RSS enclosure, Atom enclosure links, JSON
Feed attachments, and the picture the digest page shows."""

from __future__ import annotations

import mimetypes
import re
from urllib.parse import urlsplit

from aggregator.models import Media

_RANK = {"audio": 0, "video": 1}  # a podcast's episode before a video before a picture


def mime_type(item: Media) -> str:
    """The file's MIME type: as the feed gave it, else guessed from the URL's path."""
    if item.type and "/" in item.type:
        return item.type
    guessed, _ = mimetypes.guess_type(urlsplit(item.url).path)
    if guessed:
        return guessed
    return "image/jpeg" if item.is_image else "application/octet-stream"


def _kind(item: Media) -> str:
    return item.medium or mime_type(item).split("/", 1)[0]


# a host RSS's enclosure url may name, by the W3C Feed Validator's rule: a dotted name of
# letters, digits and hyphens (no underscore, not one label alone), or an IPv4 address
_ENCLOSURE_HOST = re.compile(r"(?:[a-z0-9-]+\.)+[a-z0-9][a-z0-9-]*")


def _enclosable(item: Media) -> bool:
    return _ENCLOSURE_HOST.fullmatch(urlsplit(item.url).hostname or "") is not None


def enclosures(media: tuple[Media, ...]) -> list[Media]:
    """The files worth republishing as enclosures, best first (thumbnails are not, nor files
    at a host an enclosure cannot name)."""
    files = [m for m in media if m.role != "thumbnail" and _enclosable(m)]
    return sorted(files, key=lambda m: (m.role != "enclosure", _RANK.get(_kind(m), 2)))


def best_enclosure(media: tuple[Media, ...]) -> Media | None:
    """The one enclosure RSS allows."""
    return next(iter(enclosures(media)), None)


def image(media: tuple[Media, ...]) -> Media | None:
    """The picture of a story: an image file, else its thumbnail."""
    images = [m for m in media if m.is_image]
    return next((m for m in images if m.role != "thumbnail"), next(iter(images), None))
