"""Read the dates feeds write: RFC 822 and ISO 8601 through feedparser, then what it misses
(Persian and Arabic-Indic digits, month and weekday names in other languages), and dateutil as
the last resort. Every result is an aware UTC datetime, or None."""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from datetime import time as dtime

from dateutil import parser as dateutil_parser
from feedparser.datetimes import _parse_date as feedparser_date
from feedparser.datetimes.rfc822 import timezone_names

from aggregator.calendars import PERSIAN_LETTERS, SOLAR_MONTHS, from_solar_hijri
from aggregator.relative_dates import days_back, time_ago

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_MONTHS = {
    # Portuguese, Spanish, French, German, Italian, Dutch, Turkish: the abbreviations feeds use
    "jan": "Jan", "janv": "Jan", "janeiro": "Jan", "enero": "Jan", "ene": "Jan", "gen": "Jan",
    "januar": "Jan", "janvier": "Jan", "gennaio": "Jan", "ocak": "Jan",
    "fev": "Feb", "fevereiro": "Feb", "feb": "Feb", "febrero": "Feb", "févr": "Feb",
    "fevr": "Feb", "février": "Feb", "februar": "Feb", "febbraio": "Feb", "şub": "Feb",
    "mar": "Mar", "março": "Mar", "marzo": "Mar", "mars": "Mar", "mär": "Mar", "märz": "Mar",
    "mrt": "Mar", "maart": "Mar",
    "abr": "Apr", "abril": "Apr", "avr": "Apr", "avril": "Apr", "apr": "Apr", "aprile": "Apr",
    "nis": "Apr",
    "mai": "May", "maio": "May", "may": "May", "mayo": "May", "mei": "May", "mag": "May",
    "maggio": "May", "mayıs": "May",
    "jun": "Jun", "junho": "Jun", "junio": "Jun", "juin": "Jun", "juni": "Jun", "giu": "Jun",
    "giugno": "Jun", "haz": "Jun",
    "jul": "Jul", "julho": "Jul", "julio": "Jul", "juil": "Jul", "juillet": "Jul", "juli": "Jul",
    "lug": "Jul", "luglio": "Jul", "tem": "Jul",
    "ago": "Aug", "agosto": "Aug", "août": "Aug", "aout": "Aug", "aug": "Aug", "augustus": "Aug",
    "ağu": "Aug",
    "set": "Sep", "setembro": "Sep", "sep": "Sep", "sept": "Sep", "septiembre": "Sep",
    "septembre": "Sep", "settembre": "Sep", "eyl": "Sep",
    "out": "Oct", "outubro": "Oct", "oct": "Oct", "octubre": "Oct", "octobre": "Oct",
    "okt": "Oct", "oktober": "Oct", "ott": "Oct", "ottobre": "Oct", "eki": "Oct",
    "nov": "Nov", "novembro": "Nov", "noviembre": "Nov", "novembre": "Nov", "kas": "Nov",
    "dez": "Dec", "dezembro": "Dec", "dic": "Dec", "diciembre": "Dec", "déc": "Dec",
    "dec": "Dec", "décembre": "Dec", "dezember": "Dec", "dicembre": "Dec", "aralık": "Dec",
    # Gregorian months in Persian and Arabic script
    "ژانویه": "Jan", "ژانویهٔ": "Jan", "فوریه": "Feb", "مارس": "Mar", "آوریل": "Apr",
    "مه": "May", "می": "May", "ژوئن": "Jun", "ژوئیه": "Jul", "جولای": "Jul", "اوت": "Aug",
    "آگوست": "Aug", "سپتامبر": "Sep", "اکتبر": "Oct", "نوامبر": "Nov", "دسامبر": "Dec",
    "يناير": "Jan", "فبراير": "Feb", "أبريل": "Apr", "ابريل": "Apr", "مايو": "May",
    "يونيو": "Jun", "يوليو": "Jul", "أغسطس": "Aug", "اغسطس": "Aug", "سبتمبر": "Sep",
    "أكتوبر": "Oct", "اكتوبر": "Oct", "نوفمبر": "Nov", "ديسمبر": "Dec",
}  # fmt: skip
# Zones feedparser does not know (it reads them as UTC): this region's, and other unambiguous
# ones (IST is India's, Ireland's or Israel's: left out). Minutes east of UTC.
_ZONES = {
    "aft": 270, "irst": 210, "irdt": 270, "pkt": 300, "uzt": 300, "tjt": 300, "tmt": 300,
    "gst": 240, "msk": 180, "trt": 180, "cet": 60, "cest": 120, "eet": 120, "eest": 180,
    "wet": 0, "west": 60, "bst": 60, "jst": 540, "kst": 540, "hkt": 480, "sgt": 480,
    "aest": 600, "aedt": 660, "akst": -540, "akdt": -480, "hst": -600,
}  # fmt: skip
# a zone after the time: "GMT+4:30", "UTC+4", "GMT+0430" (feedparser reads the first 42.5 hours
# off and ignores the second), or a name
_ZONE = re.compile(
    r"(?<=\d:\d\d)(?P<seconds>(?::\d\d(?:\.\d+)?)?)\s*"
    r"(?:(?:GMT|UTC|UT)\s*(?P<sign>[+-])(?P<hours>\d{1,2})(?::?(?P<minutes>\d\d))?"
    r"|(?P<name>[A-Za-z]{3,4}))\s*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+\.?", re.UNICODE)
_WEEKDAY = re.compile(r"^\s*[^\W\d_]+\.?,\s*", re.UNICODE)  # "Seg," "Lun.," "Mo,": dropped


def normalize(text: str) -> str:
    """ASCII digits, English month names, no weekday: what the RFC 822 reader understands."""
    text = _numeric_zone(_WEEKDAY.sub("", text.translate(_DIGITS).strip()))

    def month(match: re.Match[str]) -> str:
        word = match[0].rstrip(".")
        return _MONTHS.get(word.lower(), match[0])

    return _WORD.sub(month, text)


# an ISO 8601 date whose offset has no colon: feedparser's reader of such dates takes "+0430"
# for four hours and drops the minutes (Kabul's half hour, Tehran's, Kathmandu's 45)
_ISO_OFFSET = re.compile(
    r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)\s*([+-])(\d\d)(\d\d)(?!\d)", re.ASCII
)


def _numeric_zone(text: str) -> str:
    """The date with its zone as a numeric offset where feedparser would misread it."""
    zoned = _named_zone(text)
    if zoned[4:5] == "-" and zoned[-5:-4] in ("+", "-") and zoned[-4:].isdigit():  # ...+0430
        return _ISO_OFFSET.sub(r"\1\2\3:\4", zoned, count=1)
    return zoned


def _minutes_of(name: str) -> int | None:
    """A zone name's offset in minutes: ours, else feedparser's (UTC too); None if unknown."""
    if name in _ZONES:
        return _ZONES[name]
    hours = timezone_names.get(name, 0 if name == "utc" else None)
    return None if hours is None else 60 * hours


def _named_zone(text: str) -> str:
    """The date with a zone name, or a GMT+H:MM, as a numeric offset: feedparser's reader of
    ISO 8601 dates knows no name, and read "2026-11-30 10:00:00 UTC" as midnight."""
    found = _ZONE.search(text)
    if not found:
        return text
    if found["name"]:
        minutes = _minutes_of(found["name"].lower())
        if minutes is None:
            return text
    else:
        minutes = int(found["hours"]) * 60 + int(found["minutes"] or 0)
        minutes = -minutes if found["sign"] == "-" else minutes
    if abs(minutes) >= 24 * 60:
        return text
    sign = "-" if minutes < 0 else "+"
    offset = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{text[: found.start()]}{found['seconds']} {offset}"


# a date of the Solar Hijri calendar, as Afghan and Iranian sites write it: its year 1300 to
# 1439 (1921 to 2061 AD), which no Gregorian date of a news item has (and no Lunar Hijri year
# since 2018, 1440)
_YEAR = r"(1(?:3\d|4[0-3])\d)"
_SOLAR_YMD = re.compile(rf"(?<!\d){_YEAR}([-/.])(\d{{1,2}})\2(\d{{1,2}})(?!\d)")
_SOLAR_DMY = re.compile(rf"(?<!\d)(\d{{1,2}})([-/.])(\d{{1,2}})\2{_YEAR}(?!\d)")
_SOLAR_NAMED = re.compile(rf"(?<!\d)(\d{{1,2}})\s*([^\W\d_]+)\s*,?\s*{_YEAR}(?!\d)")
# a zone written at the end of a date: "Z", an offset, or a short name ("GMT", "AFT"), but not a
# month's ("30 Nov"), a weekday's or a clock's ("10:30 p.m.")
_ZONED = re.compile(r"(?:\d[zZ]|[+-]\d\d(?::?\d\d)?|(?<![A-Za-z.])(?P<word>[A-Za-z]{1,5}))\.?\s*$")
_NOT_ZONES = frozenset(
    {"am", "pm", "m", "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
     "march", "april", "june", "july", "sept", *(k for k in _MONTHS if k.isascii() and len(k) <= 5)}
)  # fmt: skip
_NUMBERS = re.compile(r"\d+")
_MONTH_WORD = re.compile(r"(?<![A-Za-z])(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)", re.I)
_YEAR_WRITTEN = re.compile(r"(?<!\d)\d{4}(?!\d)|\d{6,}")
_MAY_BE_SOLAR = re.compile("(?<![0-9۰-۹٠-٩])[1۱١][3۳٣4۴٤][0-9۰-۹٠-٩]{2}(?![0-9۰-۹٠-٩])")  # a year
_CLOCK = re.compile(r"(?<!\d)(\d{1,2}):(\d\d)(?::(\d\d))?(?!\d)")
_END_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)\s*$")


def _solar_hijri(text: str) -> datetime | None:
    """A date written in the Solar Hijri calendar ("۱۴۰۵/۰۹/۱۰ ۱۲:۳۰", "۱۰ قوس ۱۴۰۵",
    "1405-09-10T12:30:00+04:30"), in UTC, its clock time UTC where it names no zone as any
    date's is; None for a date of any other calendar."""
    if _MAY_BE_SOLAR.search(text) is None:
        return None
    text = _named_zone(text.translate(_DIGITS).translate(PERSIAN_LETTERS).strip())
    found = _solar_day(text)
    if found is None:
        return None
    day, where = found
    clock = _CLOCK.search(text, where.end()) or _CLOCK.search(text, 0, where.start())
    if clock is None:
        return datetime.combine(day, dtime(), UTC)
    offset = _END_OFFSET.search(text)
    minutes = int(offset[2]) * 60 + int(offset[3]) if offset else 0
    try:
        zone = timezone(timedelta(minutes=-minutes if offset and offset[1] == "-" else minutes))
        at = dtime(int(clock[1]), int(clock[2]), int(clock[3] or 0), tzinfo=zone)
    except ValueError:  # 25:00, an offset of a day
        return None
    return datetime.combine(day, at).astimezone(UTC)


def _solar_day(text: str) -> tuple[date, re.Match[str]] | None:
    """The Gregorian day of a Solar Hijri date in `text` (year, month, day; day, month, year;
    or day, month's name, year), and where it was written."""
    if (found := _SOLAR_YMD.search(text)) is not None:
        year, month, day = int(found[1]), int(found[3]), int(found[4])
    elif (found := _SOLAR_DMY.search(text)) is not None:
        day, month, year = int(found[1]), int(found[3]), int(found[4])
    elif (found := _SOLAR_NAMED.search(text)) is not None and found[2].lower() in SOLAR_MONTHS:
        day, month, year = int(found[1]), SOLAR_MONTHS[found[2].lower()], int(found[3])
    else:
        return None
    gregorian = from_solar_hijri(year, month, day)
    return (gregorian, found) if gregorian else None


def from_struct_time(parsed: time.struct_time | None) -> datetime | None:
    """feedparser's parsed UTC date as an aware datetime; None when absent or out of range."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _zone(name: str | None, offset: int | None) -> int | None:
    """The offset (seconds east of UTC) of a zone dateutil found: as written, else a name
    feedparser or `_ZONES` knows, else UTC, as feedparser reads a name it does not know; None
    when the date names no zone. Unasked, dateutil warned on stderr about every name it did not
    know (a cron mail for each), and says that it will raise instead; and this machine's own
    zone no longer matters."""
    if offset is not None:
        return offset
    if name is None:
        return None
    return 60 * (_minutes_of(name.lower()) or 0)


def parse_date(
    text: str | None, zone: tzinfo = UTC, now: datetime | None = None
) -> datetime | None:
    """A date string as UTC, its clock time in `zone` where it names no zone (a listing page
    shows its site's local time); None when nothing can read it. A relative time ("2 hours
    ago", "yesterday 10:30") is read back from `now`, the moment the page was fetched, and
    is None without it."""
    if not text or not text.strip() or len(text) > 200:
        return None
    plain = text.translate(_DIGITS)
    ago = time_ago(plain)
    if ago is not None:
        try:
            return now - ago if now else None
        except OverflowError:  # "99999 years ago"
            return None
    day = days_back(plain)
    if day is not None:
        return _on_day(*day, now, zone) if now else None
    moment = _absolute(text, zone, now)
    for part in _date_parts(text) if moment is None else ():
        if (moment := _absolute(part, zone, now)) is not None:
            break
    return moment


def _absolute(text: str, zone: tzinfo, now: datetime | None) -> datetime | None:
    """A date that names its day (not "2 hours ago") as UTC, read as `parse_date` says."""
    plain = text.translate(_DIGITS)
    normalized = normalize(text)
    if not _says_a_day(normalized):
        return None
    today = datetime.combine(now.astimezone(zone).date(), dtime()) if now else None
    moment = _solar_hijri(text) or _read(normalized, today)
    if moment is None:
        return None
    try:
        if zone is not UTC and not _names_zone(plain):
            moment = moment.replace(tzinfo=zone).astimezone(UTC)
        if now and moment > now + timedelta(days=2) and not _YEAR_WRITTEN.search(normalized):
            moment = moment.replace(year=moment.year - 1)  # "Dec 31" on 2 January: last year's
    except (OverflowError, ValueError):
        return None
    return moment


# what separates a date from the words beside it on a page: "By Ahmad | Nov 30", "Nov 30 · 5 min"
_PART_SEPARATOR = re.compile(r"\s*[|·•]\s*|\s+[–—-]\s+")
_ENGLISH_MONTHS = frozenset(
    name.lower()[:length]
    for name in calendar.month_name[1:]
    for length in (3, len(name))
) | {"sept"}  # fmt: skip


def _date_parts(text: str) -> list[str]:
    """The date within the words a page writes around it, to read when the whole is no date:
    each part between separators, without the words before its first number or month
    ("Published on", "Updated:") and after its last number, month, a.m./p.m. or zone ("Kabul");
    a part must name a month, a year or a clock."""
    parts = []
    for part in [text, *_PART_SEPARATOR.split(text)]:
        words = part.split()
        first = next((i for i, word in enumerate(words) if _dateish(word, False)), len(words))
        last = next((i for i in range(len(words), first, -1) if _dateish(words[i - 1], True)), 0)
        trimmed = " ".join(words[first:last])
        if trimmed != text and trimmed not in parts and _names_a_date(normalize(trimmed)):
            parts.append(trimmed)
    return parts


def _names_a_date(normalized: str) -> bool:
    """Whether words trimmed down to numbers are still a date: a month, a year or a clock in
    them ("2 of 9 · 3" is a page's count, not 8 February)."""
    return any(found.search(normalized) for found in (_MONTH_WORD, _YEAR_WRITTEN, _CLOCK))


def _dateish(word: str, closing: bool) -> bool:
    """Whether a word can be part of a date: a number, a month's name (in any language
    `normalize` knows); at a date's end also a.m./p.m. or a zone's name."""
    bare = word.strip(".,:;()[]")
    if any(char.isdigit() for char in bare):
        return True
    if normalize(bare).rstrip(".").lower() in _ENGLISH_MONTHS:
        return True
    return closing and bool(
        _PM.fullmatch(bare) or _AM.fullmatch(bare) or _minutes_of(bare.lower()) is not None
    )


def _says_a_day(normalized: str) -> bool:
    """Whether a text can name a day: two numbers or more ("30/11", "10:30"), a number and a
    month ("Nov 30"), or a compact date ("20261130"). A word or a number alone ("Monday",
    "May", "2026", "3") was read as the next such day, the first of that month, or year."""
    numbers = _NUMBERS.findall(normalized)
    if len(numbers) >= 2 or any(len(number) >= 6 for number in numbers):
        return True
    return bool(numbers) and _MONTH_WORD.search(normalized) is not None


def _names_zone(text: str) -> bool:
    """Whether a date ends in a zone: an offset, "Z" or a zone's short name (not a month's)."""
    found = _ZONED.search(text)
    return found is not None and (found["word"] or "").lower() not in _NOT_ZONES


_PM = re.compile(r"(?<!\w)(?:p\.?m\.?|ب\.?\s?ظ|بعد از ظهر|عصر)(?!\w)", re.IGNORECASE)
_AM = re.compile(r"(?<!\w)(?:a\.?m\.?|ق\.?\s?ظ|صبح)(?!\w)", re.IGNORECASE)


def _on_day(days: int, rest: str, now: datetime, zone: tzinfo) -> datetime | None:
    """`days` before the fetch's local day, at the clock time `rest` names ("10:30 PM"), else
    as long before the fetch (yesterday: a day before it)."""
    clock = _CLOCK.search(rest)
    if clock is None:
        return now - timedelta(days=days)
    hour, minute = int(clock[1]), int(clock[2])
    if _PM.search(rest) and hour < 12:
        hour += 12
    elif _AM.search(rest) and hour == 12:
        hour = 0
    day = now.astimezone(zone).date() - timedelta(days=days)
    try:
        return datetime.combine(day, dtime(hour, minute), zone).astimezone(UTC)
    except ValueError:  # 25:70
        return None


def _read(normalized: str, today: datetime | None = None) -> datetime | None:
    """A normalized date as UTC (one that names no zone in UTC), by feedparser, else dateutil;
    what it leaves out (a year, a day) taken from `today` (default: this machine's). A date
    without its year, or with a.m. or p.m., goes to dateutil alone: feedparser takes this
    machine's day for a clock time alone, and reads "10:30 pm" as 10:30."""
    feedparser_reads = (today is None or _YEAR_WRITTEN.search(normalized)) and not (
        _HALF_DAY.search(normalized)
    )
    parsed = feedparser_date(normalized) if feedparser_reads else None
    if parsed:
        return from_struct_time(parsed)
    try:
        moment = dateutil_parser.parse(normalized, tzinfos=_zone, default=today)
        return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(UTC)
    except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
        return None  # unreadable, or out of range once in UTC (31 Dec 9999, 12 h behind)


_HALF_DAY = re.compile(r"\d\s?[AaPp]\.?\s?[Mm](?![^\W\d_])")  # "10:30 PM", "9pm", "9 p. m."


def feed_date(text: str) -> datetime | None:
    """A date element's text as the feedparser path reads it: feedparser's own reading of it
    first, then `parse_date`'s (rss.py gives what parse.py gives)."""
    if not text:
        return None
    if len(text) <= 200 and (solar := _solar_hijri(text)) is not None:
        return solar
    if _HALF_DAY.search(text):  # feedparser reads "10:30 PM" as 10:30
        return parse_date(text)
    return from_struct_time(feedparser_date(_numeric_zone(text.strip()))) or parse_date(text)
