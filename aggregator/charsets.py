"""Text that is almost what it should be, read as a browser reads it: UTF-8 with a few stray
bytes and Dari in windows-1256 that never says so (for feeds, `parse.py`, and pages,
`htmlpage.py`), character references to UTF-16 halves or beyond Unicode, and an encoding label
with a stray byte."""

from __future__ import annotations

import codecs
import re
import threading
from typing import Any

# the byte order marks a feed or a page may begin with, and the encoding each names
BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BOM_STARTS = tuple(bom for bom, _ in BOMS)

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


# Arabic-script letters, marks and joiners in runs of two or more: words, as Dari text in
# windows-1256 reads. Latin-1 text read so gives Arabic letters alone between Latin ones
# (German's ä ö ß), or none (é è à ç û ü keep their places in windows-1256).
_ARABIC_WORDS = re.compile("[\u0600-\u06ff\u200c\u200d]{2,}")


# the charsets servers and templates name by default, whatever a page holds (Apache's
# AddDefaultCharset ISO-8859-1, a template's windows-1252 or US-ASCII), as codecs names them
_DEFAULT_LABELS = frozenset({"iso8859-1", "cp1252", "ascii", "iso8859-15"})


def codec_name(label: str) -> str | None:
    """Python's name for the charset a label names (`ISO-8859-1` -> `iso8859-1`), if any."""
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def default_label(label: str) -> bool:
    """Whether a charset is one a server or a template names by default (ISO-8859-1,
    windows-1252, US-ASCII): a label an old Dari site's windows-1256 often carries."""
    return codec_name(label) in _DEFAULT_LABELS


def reads_as_windows_1256(body: bytes) -> bool:
    """Whether a body that is not UTF-8 is Arabic-script text in windows-1256: nine in ten of
    its characters beyond ASCII in Arabic-script words (an old Dari site that never names its
    charset; browsers' detectors find it so), with the letters' frequencies of such text."""
    text = body.decode("cp1256")
    beyond_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    words = _ARABIC_WORDS.findall(text)
    in_words = sum(map(len, words))
    return in_words >= 8 and in_words >= 0.9 * beyond_ascii and _arabic_frequencies(words)


def _arabic_frequencies(words: list[str]) -> bool:
    """Whether Arabic-script words have a letter frequency Dari, Pashto, Arabic and Urdu share:
    alef (ا) at least twice as common as ء and إ together. Russian in KOI8-R makes Arabic-script
    words in windows-1256 too, but its commonest letters, а and е, are ء and إ there."""
    letters = "".join(words)
    alef, hamza = letters.count("\u0627"), letters.count("\u0621") + letters.count("\u0625")
    return hamza * 2 <= alef


# a numeric character reference that XML forbids and a browser reads its own way: to a UTF-16
# surrogate (U+D800 to U+DFFF; decimal 55296 to 57343, found among 55000 to 57999), what a CMS
# that escapes by UTF-16 code units writes for an emoji, two of them; or beyond Unicode (past
# U+10FFFF, found among six hexadecimal or seven decimal digits and more). feedparser's loose
# parser raised on both (the whole source failed).
_ODD_REF = re.compile(
    rb"&#(?:[xX]0*([dD][89a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{5,})"
    rb"|0*(5[5-7][0-9]{3}|[1-9][0-9]{6,}));"
)
_REPLACEMENT_REF = b"&#xFFFD;"


def _odd(ref: re.Match[bytes]) -> int | None:
    """The code a reference names, when it is a surrogate's or beyond Unicode."""
    digits = ref[1] or ref[2]
    if len(digits) > 8:
        return 0x110000
    code = int(ref[1], 16) if ref[1] else int(ref[2])
    return code if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF else None


def character_refs_mended(body: bytes) -> bytes:
    """A body whose character references are all to characters, as a browser reads them: to
    surrogates, a high one and a low one next to each other as the character they encode, any
    other as U+FFFD; beyond Unicode, U+FFFD."""
    if b"&#" not in body:
        return body
    refs = [(ref, code) for ref in _ODD_REF.finditer(body) if (code := _odd(ref))]
    if not refs:
        return body
    pieces, at, skip = [], 0, False
    for n, (ref, code) in enumerate(refs):
        if skip:
            skip = False
            continue
        pieces.append(body[at : ref.start()])
        at = ref.end()
        following = refs[n + 1] if n + 1 < len(refs) else None
        low = following[1] if following and following[0].start() == at else 0
        if code < 0xDC00 and 0xDC00 <= low <= 0xDFFF:
            pieces.append(b"&#x%X;" % (0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
            at, skip = following[0].end(), True
        else:
            pieces.append(_REPLACEMENT_REF)
    pieces.append(body[at:])
    return b"".join(pieces)


# an XML declaration's encoding label as feedparser finds it (on the first line, within 1 KB)
_LABEL = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")


def label_mended(body: bytes) -> bytes:
    """A body whose XML declaration names its encoding in ASCII, or not at all: a label with a
    stray byte or a NUL (a damaged template) made feedparser raise, failing the source, where a
    browser ignores a label it does not know."""
    label = _LABEL.match(body[:1024])
    if label is None or (label[1].isascii() and b"\0" not in label[1]):
        return body
    return body[: label.start(1)] + body[label.end(1) :]


LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # half of a UTF-16 pair, alone: UTF-8 has none


def without_lone_surrogates(value: Any) -> Any:
    """A JSON document with each lone surrogate (a `\\ud800` escape, which JSON allows and
    UTF-8 cannot store) as U+FFFD, as a browser shows it; pairs were joined by the decoder."""
    if isinstance(value, str):
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    return value
