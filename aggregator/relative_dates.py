"""The relative times listing pages show instead of a date ("2 hours ago", "۲ ساعت پیش",
"۲ ساعته مخکې", "منذ ساعتين", "yesterday 10:30", "دیروز"), in English, Dari, Pashto and
Arabic. Read as a span before the moment the page was fetched; they were taken for dates of
their own ("ago" is Spanish for August: "2 hours ago" read as 1 August, 02:00)."""

from __future__ import annotations

import re
from datetime import timedelta

from aggregator.calendars import PERSIAN_LETTERS

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_UNITS = {
    # English, singular (a plural's "s" is read apart)
    "second": 1, "sec": 1, "minute": _MINUTE, "min": _MINUTE, "hour": _HOUR, "hr": _HOUR,
    "day": _DAY, "week": 7 * _DAY, "month": 30 * _DAY, "year": 365 * _DAY,
    # Dari and Persian
    "ثانیه": 1, "دقیقه": _MINUTE, "ساعت": _HOUR, "روز": _DAY, "هفته": 7 * _DAY,
    "ماه": 30 * _DAY, "سال": 365 * _DAY,
    # Pashto, as counted ("ساعته", "ورځې") and as written alone
    "ثانیې": 1, "ثانیو": 1, "دقیقې": _MINUTE, "دقیقو": _MINUTE, "ساعته": _HOUR,
    "ساعتونه": _HOUR, "ساعتو": _HOUR, "ورځې": _DAY, "ورځو": _DAY, "ورځ": _DAY,
    "اونۍ": 7 * _DAY, "اوونۍ": 7 * _DAY, "میاشتې": 30 * _DAY, "میاشت": 30 * _DAY,
    "کاله": 365 * _DAY, "کال": 365 * _DAY,
    # Arabic, singular and plural; the dual ("ساعتين", two hours) in `_DUALS`
    "ثانية": 1, "ثوان": 1, "ثواني": 1, "دقيقة": _MINUTE, "دقائق": _MINUTE, "ساعة": _HOUR,
    "ساعات": _HOUR, "يوم": _DAY, "أيام": _DAY, "ايام": _DAY, "أسبوع": 7 * _DAY,
    "اسبوع": 7 * _DAY, "أسابيع": 7 * _DAY, "اسابيع": 7 * _DAY, "شهر": 30 * _DAY,
    "أشهر": 30 * _DAY, "اشهر": 30 * _DAY, "سنة": 365 * _DAY, "سنوات": 365 * _DAY,
}  # fmt: skip
_DUALS = {
    "ثانيتين": 2, "دقيقتين": 2 * _MINUTE, "ساعتين": 2 * _HOUR, "يومين": 2 * _DAY,
    "أسبوعين": 14 * _DAY, "اسبوعين": 14 * _DAY, "شهرين": 60 * _DAY, "سنتين": 730 * _DAY,
}  # fmt: skip
# Arabic yeh and kaf as Persian ones, in these tables and in the text read: sites type both
_UNITS = {unit.translate(PERSIAN_LETTERS): seconds for unit, seconds in _UNITS.items()}
_DUALS = {unit.translate(PERSIAN_LETTERS): seconds for unit, seconds in _DUALS.items()}
_ONE = r"an?|one|یک|یو|یوه|واحد"
# counts written as words, two to ten, in English, Dari and Pashto ("two days ago", "دو روز پیش")
_COUNTS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
    "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8, "نه": 9, "ده": 10,
    "دوه": 2, "درې": 3, "دری": 3, "څلور": 4, "پنځه": 5, "شپږ": 6, "اووه": 7, "اته": 8,
    "نهه": 9, "لس": 10,
}  # fmt: skip
_COUNT = "|".join(sorted(map(re.escape, _COUNTS), key=len, reverse=True))
_UNIT = "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
_BEFORE = r"پیش|قبل|مخکې|مخکی|وړاندې|دمخه|پخوا"
_AGO = re.compile(
    rf"(?<!\w)(\d+|{_COUNT}|{_ONE})\s*({_UNIT})(?:e?s)?\s*(?:ago|{_BEFORE})(?!\w)"  # 2 hours ago
    rf"|(?<!\w)منذ\s*(\d+|{_ONE})?\s*({'|'.join(_DUALS)}|{_UNIT})(?!\w)",  # منذ ۲ ساعات; منذ ساعتين
    re.IGNORECASE,
)
_NOW = re.compile(
    r"(?<!\w)(?:just now|right now|now|moments? ago|a few seconds ago|لحظاتی (?:پیش|قبل)"
    r"|همین (?:حالا|اکنون)|اکنون|همدا اوس|اوس|الآن|منذ لحظات|قبل لحظات)(?!\w)",
    re.IGNORECASE,
)
_DAYS_BACK = {"today": 0, "امروز": 0, "نن": 0, "اليوم": 0, "yesterday": 1, "دیروز": 1,
              "پرون": 1, "أمس": 1, "امس": 1, "پریروز": 2, "لیرې پرون": 2}  # fmt: skip
_DAYS_BACK = {word.translate(PERSIAN_LETTERS): days for word, days in _DAYS_BACK.items()}
_DAY_WORD = re.compile(
    rf"(?<!\w)({'|'.join(sorted(_DAYS_BACK, key=len, reverse=True))})(?!\w)", re.IGNORECASE
)


def time_ago(text: str) -> timedelta | None:
    """How long before the page was fetched a relative time says it was ("2 hours ago": two
    hours; "just now": none); None for a text that says no such thing. Digits are ASCII."""
    text = text.translate(PERSIAN_LETTERS)
    found = _AGO.search(text)
    if found:
        count, unit = (found[1], found[2]) if found[2] else (found[3], found[4])
        seconds = _DUALS.get(unit) or _UNITS[unit.lower()]
        if count and count.isdigit():
            number = min(int(count), 10**6)
        else:  # "an", "two", "دو"; none before an Arabic unit: one
            number = _COUNTS.get((count or "").lower(), 1)
        return timedelta(seconds=number * seconds)
    return timedelta() if _NOW.search(text) else None


def days_back(text: str) -> tuple[int, str] | None:
    """The days before the fetch's day a day word names (today 0, yesterday 1, the day before
    2), and the text without it (a clock time, "10:30", may remain); None without one."""
    text = text.translate(PERSIAN_LETTERS)
    found = _DAY_WORD.search(text)
    if found is None:
        return None
    rest = f"{text[: found.start()]} {text[found.end() :]}".strip(" ,،-–—|")
    return _DAYS_BACK[found[1].lower()], rest
