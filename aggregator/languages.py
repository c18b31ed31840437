"""Language tags as BCP 47 (`en_US`, `en-us` -> `en-US`; `EN` -> `en`), and the primary subtag
that story matching and right-to-left layout go by."""

from __future__ import annotations

import difflib
import re

RTL_LANGUAGES = frozenset({"ar", "fa", "ps", "ur", "ckb", "he", "ug", "prs", "pbu", "sd", "yi"})
_NAMES = {
    "english": "en", "persian": "fa", "farsi": "fa", "dari": "fa", "pashto": "ps",
    "pushto": "ps", "arabic": "ar", "urdu": "ur",
}  # fmt: skip
NAMES = {"en": "English", "fa": "دری", "ps": "پښتو", "ar": "العربية", "ur": "اردو"}
_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}", re.ASCII)


def language_tag(value: str | None) -> str | None:
    """A well-formed BCP 47 tag in its canonical case, or None when `value` is not one."""
    text = (value or "").strip().replace("_", "-")
    if not text:
        return None
    named = _NAMES.get(text.lower())
    if named:
        return named
    parts = text.split("-")
    if not all(_SUBTAG.fullmatch(p) for p in parts):
        return None
    primary = parts[0]
    if not (primary.isalpha() and 2 <= len(primary) <= 3):
        return None
    out = [primary.lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha() and len(out) == 1:
            out.append(part.title())  # script: Latn, Arab
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            out.append(part.upper())  # region: US, AF, 419
        else:
            out.append(part.lower())
    return "-".join(out)


def language_suggestion(value: str) -> str | None:
    """The tag an editor probably meant by a misspelt language name or code ("pashtu" -> ps)."""
    text = value.strip().lower()
    close = difflib.get_close_matches(text, [*_NAMES, *NAMES], n=1, cutoff=0.7)
    return (_NAMES.get(close[0]) or close[0]) if close else None


def primary(tag: str) -> str:
    """The language of a tag without script or region: what matching compares."""
    return tag.split("-", 1)[0].lower()


def name_of(code: str) -> str:
    """A language's name in itself (Dari and Pashto as their readers write them)."""
    return NAMES.get(primary(code), code)


def is_rtl(tag: str) -> bool:
    """True for a language written right to left (Dari, Pashto, Arabic...)."""
    return primary(tag) in RTL_LANGUAGES
