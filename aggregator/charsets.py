"""How bytes that should be UTF-8 become text when a few of them are not: as a browser reads
them, for feeds (`parse.py`) and pages (`htmlpage.py`) alike."""

from __future__ import annotations

import codecs
import threading

_STRAYS = threading.local()  # the stray bytes `_stray` read in this thread's last decoding


def _stray(exc: UnicodeError) -> tuple[str, int]:
    """Read a byte sequence that is not UTF-8 as a browser does (U+FFFD), but a lone byte of
    Windows' punctuation (0x80 to 0x9F: ’ “ ” – — … pasted from a word processor) between
    characters as that punctuation."""
    assert isinstance(exc, UnicodeDecodeError)
    body, start, end = exc.object, exc.start, exc.end
    alone = _STRAYS.end != start and (end == len(body) or body[end] < 0x80 or body[end] >= 0xC2)
    _STRAYS.count, _STRAYS.end = _STRAYS.count + 1, end
    if alone and end - start == 1 and 0x80 <= body[start] <= 0x9F:
        return body[start:end].decode("cp1252", errors="replace"), end
    return "\ufffd", end


codecs.register_error("aggregator.stray", _stray)


def mostly_utf8(body: bytes) -> tuple[bytes | None, int]:
    """A body made valid UTF-8, and its stray bytes, when it is UTF-8 but for a few of them
    (at least two good characters beyond ASCII for each stray); else None. One stray byte made
    feedparser read the whole body as windows-1252, and every Dari title was mojibake; a body
    in a single-byte charset has next to no valid UTF-8 sequences."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body, 0
    _STRAYS.count, _STRAYS.end = 0, -1
    text = body.decode("utf-8", errors="aggregator.stray")
    strays = _STRAYS.count
    good = len(text) - len(text.encode("ascii", errors="ignore")) - strays
    if good < 2 * strays:
        return None, 0
    return text.encode("utf-8"), strays
