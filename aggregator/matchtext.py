"""Text normalization for matching stories (never for display): one form for every spelling.

Dari and Pashto outlets write the same word with Arabic or Persian letter forms, with or without
zero-width non-joiners, tatweel and diacritics, and with Persian or Arabic-Indic digits; English
outlets add "UPDATE:" prefixes, " - TOLOnews" suffixes and "Source:" attributions. All of that is
folded away here so that only the words of the story remain.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable

import snowballstemmer

LETTERS = str.maketrans(
    {
        "ي": "ی",  # Arabic yeh -> Persian yeh
        "ى": "ی",  # alef maksura
        "ې": "ی",  # Pashto yeh forms
        "ۍ": "ی",
        "ئ": "ی",
        "ك": "ک",  # Arabic kaf -> Persian keheh
        "ګ": "گ",  # Pashto gaf -> Persian gaf
        "ة": "ه",  # teh marbuta
        "ۀ": "ه",
        "ە": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ـ": "",  # tatweel
    }
)
DIGITS = str.maketrans({chr(base + i): str(i) for base in (0x0660, 0x06F0) for i in range(10)})
# both in one pass, as `fold` needs them: no letter maps to a digit, no digit to a letter (on
# Dari and Pashto text, str.translate looks up every character: 7 us a pass for 250 of them)
_LETTERS_AND_DIGITS = LETTERS | DIGITS
# Formats (zero-width joiners, direction marks) and combining marks vanish; other symbols split.
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_THOUSANDS = re.compile(r"(?<=\d)[,٬](?=\d{3}(?!\d))")
_DECIMAL = re.compile(r"(?<=\d)[.٫](?=\d)")
_DECIMAL_MARK = "ǂ"  # a letter no source writes, holding a decimal point through the folding
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_POSSESSIVE = re.compile(r"['’]s\b", re.IGNORECASE)
_TITLE_PREFIX = re.compile(
    r"^\s*(?:update[d]?|breaking(?: news)?|exclusive|watch|video|photos?|live|"
    r"just in|developing|opinion|analysis|خبر فوری|فوری|ویدیو)\s*[:\-–—|]\s*",
    re.IGNORECASE,
)
_POST_FOOTER = re.compile(
    r"\bthe post\b.{0,300}?\b(?:appeared first|first appeared) on\b.*$", re.IGNORECASE | re.DOTALL
)
AGENCIES = (
    "AFP",
    "Reuters",
    "AP",
    "Associated Press",
    "Xinhua",
    "ANI",
    "IANS",
    "Anadolu",
    "Bakhtar",
    "Bakhtar News Agency",
    "BBC",
    "VOA",
    "Radio Azadi",
    "Radio Free Europe",
    "RFE/RL",
    "TOLOnews",
    "Tolo News",
    "Pajhwok",
    "Pajhwok Afghan News",
    "Khaama",
    "Khaama Press",
    "Ariana News",
    "Amu TV",
    "Amu",
    "KabulNow",
    "Afghanistan International",
    "Afintl",
    "Hasht-e Subh",
    "8am",
    "Etilaatroz",
    "Zan Times",
    "AOP",
    "AOP News",
    "طلوع نیوز",
    "طلوع‌نیوز",
    "پژواک",
    "آریانا نیوز",
    "بی بی سی",
    "بی‌بی‌سی",
    "رادیو آزادی",
    "صدای امریکا",
    "افغانستان اینترنشنال",
    "آمو",
    "هشت صبح",
)


class _CharFolding(dict[int, str | None]):
    """str.translate table built on first sight of each character, from its Unicode category:
    marks and format characters vanish, punctuation, symbols and controls become spaces."""

    def __missing__(self, code: int) -> str | None:
        category = unicodedata.category(chr(code))
        if category in _DROP_CATEGORIES:
            value: str | None = ""
        elif category[0] in "PSZC":
            value = " "
        else:
            value = None
        self[code] = value if value is not None else chr(code)
        return self[code]


_FOLDING = _CharFolding({ord(_DECIMAL_MARK): _DECIMAL_MARK})


_ABBREVIATION = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})(?![\w])")  # U.S., U.N., e.g.
_CODE = re.compile(r"(?<=[A-Za-z])-(?=\d)")  # K-12, F-16, MH-17, COVID-19: one code each


def fold(text: str) -> str:
    """NFKC, case folding, one letter form, no marks or zero-width characters, ASCII digits,
    punctuation as spaces, whitespace collapsed. "U.S." is one word ("us"), "K-12" one code
    ("k12"), not the letters and a number."""
    if "." in text:
        text = _ABBREVIATION.sub(lambda m: m.group(1).replace(".", ""), text)
    if "-" in text:
        text = _CODE.sub("", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    if "s" in text:
        text = _POSSESSIVE.sub("", text)
    text = _DECIMAL.sub(_DECIMAL_MARK, _THOUSANDS.sub("", unicodedata.normalize("NFD", text)))
    text = unicodedata.normalize("NFC", text.translate(_FOLDING))
    text = text.translate(_LETTERS_AND_DIGITS).replace(_DECIMAL_MARK, ".")
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """The folded words of a text."""
    return fold(text).split()


_ENGLISH = snowballstemmer.stemmer("english")
_PERSIAN = snowballstemmer.stemmer("persian")


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One form for a word's inflections: Snowball English for Latin words, Persian for Arabic
    script (Dari; Pashto shares most suffixes); numbers and short words unchanged."""
    if len(word) < 4 or not word.isalpha():
        return word
    if word.isascii():
        return _ENGLISH.stemWord(word)
    if "\u0600" <= word[0] <= "\u06ff":
        return _PERSIAN.stemWord(word)
    return word


# News wording that varies between outlets for the same fact: each group folds to its first word.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("close", "shut", "closure", "closed", "shuts"),
    ("reopen", "resume", "restart", "resumption"),
    ("earthquake", "quake", "tremor", "زلزله", "زمینلرزه", "زلزلې"),
    ("hit", "strike", "jolt", "shake", "rock", "struck", "shook"),
    ("explosion", "blast", "explode", "bomb", "bombing", "انفجار", "چاودنه", "چاودنې"),
    ("kill", "dead", "die", "death", "died", "slain", "کشته", "ووژل", "وژل"),
    ("beat", "defeat", "thrash", "trounce", "overcome"),
    ("detain", "arrest", "seize", "nab", "بازداشت", "نیولی"),
    ("dismiss", "sack", "lay"),
    ("fire", "blaze", "آتش", "اور"),
    ("destroy", "burn", "gut", "gutted"),
    ("escape", "flee", "fled", "breakout", "فرار"),
    ("prison", "jail", "زندان", "prisoner", "inmate", "زندانی"),  # "prisoner" stems to "prison"
    ("ban", "bar", "prohibit", "forbid", "منع", "ممنوع", "بندیز"),
    ("deny", "deprive", "exclude", "محروم"),
    ("migrant", "refugee", "returnee", "مهاجر", "کډوال"),
    ("return", "come", "بازگشت", "برگشت", "بازگشتند", "برگشتند", "راستانه"),
    ("opium", "poppy", "تریاک", "کوکنار", "کوکنارو"),
    ("person", "people", "تن", "تنه", "کسان", "نفر"),
    ("airstrike", "airstrikes", "raid", "raids", "bombard"),
    ("outage", "blackout", "cut", "cuts", "خاموشی", "قطع"),
    ("extend", "renew", "prolong", "تمدید"),
    ("envoy", "diplomat", "diplomats", "consular"),
    ("order", "tell", "instruct", "direct"),
    ("ease", "reduce"),  # "cut" is an outage above: a word belongs to one group
    ("congestion", "jam", "jams"),
    ("unsc", "security council"),
    ("taliban", "طالبان", "طالبانو", "emirate", "امارت"),
    ("un", "united nations", "سازمان ملل", "ملگرو ملتونو"),
)


def _synonym_table() -> dict[str, str]:
    table = {}
    for group in SYNONYMS:
        head = stem(fold(group[0]).replace(" ", ""))
        for word in group:
            table[stem(fold(word).replace(" ", ""))] = head
    return table


def canonical(word: str) -> str:
    """A stemmed word in its synonym group's form (\"quake\" -> \"earthquak\")."""
    return _CANONICAL.get(word, word)


_MATCH_FORMS: dict[str, str] = {}


def match_form(word: str) -> str:
    """A folded word as matching compares it: stemmed, in its synonym group's form. Kept in a
    table (every entry has dozens of words, mostly seen before), emptied at 50,000 words (a
    few MB; `stem` keeps its own larger cache)."""
    form = _MATCH_FORMS.get(word)
    if form is None:
        if len(_MATCH_FORMS) >= 50_000:
            _MATCH_FORMS.clear()
        form = _MATCH_FORMS[word] = canonical(stem(word))
    return form


_NUMBER_WORDS = {
    fold(word): str(value)
    for value, words in enumerate(
        (
            (),
            ("one",),
            ("two", "دو"),
            ("three", "سه", "درې"),
            ("four", "چهار", "څلور"),
            ("five", "پنج", "پنځه"),
            ("six", "شش", "شپږ"),
            ("seven", "هفت", "اووه"),
            ("eight", "هشت", "اته"),
            ("nine", "نهه"),  # not "نه": in Dari also "not", in Pashto "no"
            ("ten", "لس"),  # not "ده": in Pashto "is"
            ("eleven",),
            ("twelve", "دوازده", "دولس"),
        )
    )
    for word in words
} | {"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"}


def number_value(word: str) -> str:
    """A number word as digits ("eight" -> "8"); other words unchanged."""
    return _NUMBER_WORDS.get(word, word)


def is_number(word: str) -> bool:
    """A folded token that is a number: 12, 3000, 4.6."""
    return _NUMBER.fullmatch(word) is not None


_AGE_AFTER = frozenset({"year", "years", "yr", "yrs", "ساله", "سال", "کلن", "کلنه", "کلنې"})
_AGE_BEFORE = frozenset({"aged", "age", "ages"})
_SCALES = frozenset(
    {"thousand", "million", "billion", "trillion", "m", "bn", "mn", "k", "هزار", "میلیون",
     "ملیون", "میلیارد", "ملیارد", "زره", "میلونه", "ملیونه", "میلیونه"}
)  # fmt: skip
_CURRENCIES = frozenset(
    {"dollar", "dollars", "usd", "us$", "afghani", "afghanis", "afs", "afn", "euro", "euros",
     "eur", "pound", "pounds", "rupee", "rupees", "yuan", "toman", "tomans", "rial", "rials",
     "دالر", "دلار", "افغانی", "افغانۍ", "یورو", "کلدار", "تومان", "ریال", "روپیه"}
)  # fmt: skip
_CURRENCY_SIGNS = str.maketrans({"$": " dollar ", "€": " euro ", "£": " pound ", "؋": " afghani "})
_ANY_CURRENCY_SIGN = re.compile("[" + re.escape("".join(map(chr, _CURRENCY_SIGNS))) + "]")
# words next to a number that make it a count of people (killed, wounded, detained...), which
# a later report of the same event raises: folded and stemmed, as in Features
_COUNT_WORDS = frozenset(
    stem(fold(w)) for w in (
        "kill", "killed", "dead", "die", "died", "death", "deaths", "toll", "injured", "injure",
        "injuries", "wounded", "wound", "casualties", "casualty", "hurt", "missing", "victims",
        "people", "persons", "person", "civilians", "detained", "arrested", "کشته", "زخمی",
        "مجروح", "زخم", "تلفات", "ټپي", "مړه", "ووژل", "وژل", "تن", "تنه", "نفر", "کسان",
        "بازداشت", "ناپدید",
    )
)  # fmt: skip


_SCALED = re.compile(r"(\d+(?:\.\d+)?)(k|m|mn|bn)")
_SCALE_WORDS = {"k": "thousand", "m": "million", "mn": "million", "bn": "billion"}


def figure_words(words: list[str]) -> list[str]:
    """Number words as digits and "90m" as "90 million", so "$90m" and "$90 million" agree."""
    out = []
    for word in words:
        scaled = word[:1].isdigit() and _SCALED.fullmatch(word)
        if scaled:
            out += [scaled[1], _SCALE_WORDS[scaled[2]]]
        else:
            out.append(_NUMBER_WORDS.get(word, word))
    return out


_TOLL = "toll"  # "death toll in the Kabul blast rises to 11"


def money_signs(text: str) -> str:
    """Currency signs as words ("$5" -> "dollar 5"), so that a sum reads as money. Looked
    for first: a translation looks up every character of a Dari or Pashto text (13 us for
    250 of them, against 1 us for the search)."""
    if _ANY_CURRENCY_SIGN.search(text) is None:
        return text
    return text.translate(_CURRENCY_SIGNS)


def incidental(words: list[str], at: int) -> bool:
    """Whether the number at `words[at]` is an age ("20-year-old", "aged 20", "۲۰ ساله") or a
    sum of money ("1.4 million dollars", "afs 500"): not the figure that tells events apart."""
    after = words[at + 1 : at + 3]
    before = words[at - 1] if at else ""
    if (
        after[:1]
        and after[0] in _AGE_AFTER
        and (after[0] not in ("year", "years", "سال") or after[1:2] in (["old"], ["olds"]))
    ):
        return True  # fmt: skip
    if before in _AGE_BEFORE:
        return True
    unit = after[1:2] if after[:1] and after[0] in _SCALES else after[:1]
    return bool(unit) and unit[0] in _CURRENCIES or before in _CURRENCIES


def counts_people(words: list[str], at: int) -> bool:
    """Whether the number at `words[at]` counts people (killed, wounded, detained): a figure a
    later report of the same event may raise ("9 dead", then "death toll rises to 12")."""
    near = words[max(at - 3, 0) : at] + words[at + 1 : at + 3]
    return any(stem(w) in _COUNT_WORDS for w in near) or _TOLL in words[:at]


class Boilerplate:
    """Strips outlet boilerplate: "UPDATE:" prefixes, "Outlet:" attributions, "- Outlet" tails."""

    def __init__(self, outlets: Iterable[str] = ()) -> None:
        names = {fold(name) for name in (*AGENCIES, *outlets)} - {""}
        self.outlets = frozenset(names)

    def _is_outlet(self, text: str) -> bool:
        return fold(text) in self.outlets

    def title(self, title: str) -> str:
        """A title without its prefix labels, leading attribution and trailing outlet name."""
        changed = True
        while changed:
            changed = False
            stripped = _TITLE_PREFIX.sub("", title, count=1)
            head, sep, rest = stripped.partition(":")
            if sep and rest.strip() and len(head.split()) <= 5 and self._is_outlet(head):
                stripped = rest
            for separator in (" - ", " – ", " — ", " | "):
                body, sep, tail = stripped.rpartition(separator)
                if sep and body.strip() and self._is_outlet(tail):
                    stripped = body
            stripped = stripped.strip()
            changed = stripped != title.strip()
            title = stripped
        return title

    def lede(self, text: str) -> str:
        """A lede without a leading attribution or WordPress' "The post ... appeared first on"."""
        text = _POST_FOOTER.sub("", text)
        head, sep, rest = text.partition(":")
        if sep and rest.strip() and len(head.split()) <= 5 and self._is_outlet(head):
            text = rest
        return text.strip()


_CANONICAL = _synonym_table()
