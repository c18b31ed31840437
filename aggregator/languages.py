"""Language tags as BCP 47 (`en_US`, `en-us` -> `en-US`; `EN` -> `en`), and the primary subtag
that story matching and right-to-left layout go by."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable

# written right to left: Arabic script (with the Persian and Pashto alphabets: Hazaragi,
# Balochi, South Azerbaijani, Shahmukhi Punjabi...), Hebrew, Syriac, Thaana, N'Ko
RTL_LANGUAGES = frozenset(
    """
    ar fa ps ur ckb he ug prs pbu sd yi haz bal bgp bcc azb pnb skr glk mzn lrc sdh brh khw
    arc syr dv nqo
    """.split()  # noqa: SIM905
)
_NAMES = {
    "english": "en", "persian": "fa", "farsi": "fa", "dari": "fa", "pashto": "ps",
    "pushto": "ps", "arabic": "ar", "urdu": "ur",
}  # fmt: skip
NAMES = {"en": "English", "fa": "دری", "ps": "پښتو", "ar": "العربية", "ur": "اردو"}
_SUBTAG = re.compile(r"[A-Za-z0-9]{1,8}", re.ASCII)
# the two-letter languages (ISO 639-1) and regions (ISO 3166-1, with the registry's private-use
# and reserved ones) of the IANA registry that are their own canonical form: what feeds write
# most, read without loading the registry. A deprecated one (iw, sh; BU, YU) and one the
# registry folds into another (tw -> ak) is read by `_registered`, which replaces it, so that
# `iw-IL` and `iw-Hebr-IL` read alike (`he-IL`). A feed's `xx` or `fa-FA` is in neither.
_LANGUAGES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku
    kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn
    no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm
    sn so sq sr ss st su sv sw ta te tg th ti tk tn to tr ts tt ty ug uk ur uz ve vi vo wa
    wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 (a table, read as one)
)
_REGIONS = frozenset(
    """
    AA AC AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CP CR CU CV CW CX CY CZ DE
    DG DJ DK DM DO DZ EA EC EE EG EH ER ES ET EU FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
    GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU IC ID IE IL IM IN IO IQ IR IS IT JE JM JO
    JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH
    MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA
    PE PF PG PH PK PL PM PN PR PS PT PW PY QA QM QN QO QP QQ QR QS QT QV QW QX QY QZ RE RO RS
    RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TF TG TH TJ
    TK TL TM TN TO TR TT TV TW TZ UA UG UM UN US UY UZ VA VC VE VG VI VN VU WF WS XA XB XC XD
    XE XF XG XH XI XJ XK XL XM XN XO XP XQ XR XS XT XU XV XW XX XY XZ YE YT ZA ZM ZW ZZ
    """.split()  # noqa: SIM905
)


# the individual languages of Afghanistan that the IANA registry places in a macrolanguage,
# by the tag of that macrolanguage: a feed's `pbt` (Southern Pashto) is read, and grouped with
# the desk's other Pashto sources, as `ps`; Afghan Uzbek keeps the script it is written in
_MEMBERS = {
    "pbt": "ps", "pbu": "ps", "pst": "ps", "wne": "ps", "prs": "fa", "pes": "fa",
    "uzs": "uz-Arab", "uzn": "uz",
}  # fmt: skip
# the primary subtags that name no one language: undetermined, several, uncoded, no language
_NO_LANGUAGE = frozenset({"und", "mul", "mis", "zxx"})
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand"})


@functools.lru_cache(maxsize=256)
def language_tag(value: str | None) -> str | None:
    """A valid BCP 47 tag in its canonical form, or None when `value` names no language. The
    tags feeds write most (`en`, `fa-AF`) are read here; any other is read with the IANA
    registry (`_registered`)."""
    text = (value or "").strip().replace("_", "-")
    if not text:
        return None
    named = _NAMES.get(text.lower())
    if named:
        return named
    parts = text.split("-")
    if not all(_SUBTAG.fullmatch(p) for p in parts):
        return None
    primary = parts[0].lower()
    if not primary.isalpha() or len(primary) not in (2, 3):
        return None
    if len(parts) == 1 and primary in _LANGUAGES:
        return primary
    if len(parts) == 2 and primary in _LANGUAGES and parts[1].upper() in _REGIONS:
        return f"{primary}-{parts[1].upper()}"
    return _registered(parts)


def _registered(parts: list[str]) -> str | None:
    """A tag as the registry knows it (langcodes), its longest valid beginning: a script,
    variant or extension only where it is registered, a region it does not know dropped
    (`fa-FA` -> `fa`), an unknown language none. The ISO 639-2 codes some feeds write for a
    language with two letters are those two (`per`, `fas` -> `fa`; `pus` -> `ps`; `eng` ->
    `en`), Dari's `prs` is `fa-AF`, and Pashto's and Uzbek's varieties as in `_MEMBERS`."""
    import langcodes  # its tables take 30 ms to load: only for a tag read here

    for end in range(len(parts), 0, -1):
        try:
            tag = langcodes.standardize_tag("-".join(parts[:end]), macro=True)
        except ValueError:
            continue
        if langcodes.tag_is_valid(tag):
            break
    else:
        return None
    found = tag.split("-")
    if found[0] in _NO_LANGUAGE:
        return None
    member = _MEMBERS.get(found[0])
    if member:
        language, _, script = member.partition("-")
        scripted = len(found) > 1 and len(found[1]) == 4  # its own script subtag: kept
        return _registered([language, *([script] if script and not scripted else []), *found[1:]])
    return "-".join(found)


def entry_language(own: str | None, feed: str | None, configured: str | None) -> str:
    """An entry's language: the one its feed declares for it (its own, else the feed's), unless
    the editor gave its source another language (WordPress declares the language of its admin
    screens, and `en-US` on a Dari site is common); where both name one language, the feed's
    tag is kept (`fa-AF` where the editor wrote `fa`). `en` when nobody says."""
    declared = language_tag(own) or language_tag(feed)
    if configured and (declared is None or primary(declared) != primary(configured)):
        return configured
    return declared or configured or "en"


_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]")


def mostly_arabic_script(texts: Iterable[str]) -> bool:
    """True when most letters of `texts` are of the Arabic script (Dari, Pashto...): what tells
    a feed that declares English for Dari titles."""
    text = "".join(texts)
    letters = sum(c.isalpha() for c in text)
    return letters > 0 and 2 * len(_ARABIC_LETTER.findall(text)) > letters


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
    """True for a language written right to left (Dari, Pashto, Arabic...), or a tag that names
    such a script (`uz-Arab`, Uzbek as Afghans write it)."""
    parts = tag.split("-")
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isalpha():
        return parts[1].title() in RTL_SCRIPTS
    return primary(tag) in RTL_LANGUAGES
