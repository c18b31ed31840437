"""Dates as Afghan readers write them: the Solar Hijri calendar with Afghanistan's month names
(Hamal, Sawr, ... not Iran's Farvardin, Ordibehesht, ...), in Persian digits."""

from __future__ import annotations

from datetime import date

import jdatetime

DARI_MONTHS = (
    "حمل", "ثور", "جوزا", "سرطان", "اسد", "سنبله", "میزان", "عقرب", "قوس", "جدی", "دلو", "حوت",
)  # fmt: skip
PASHTO_MONTHS = (
    "وری", "غویی", "غبرګولی", "چنګاښ", "زمری", "وږی", "تله", "لړم", "لیندۍ", "مرغومی", "سلواغه",
    "کب",
)  # fmt: skip
IRANIAN_MONTHS = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن",
    "اسفند",
)  # fmt: skip
# each month's names as sites write them: Afghanistan's and Iran's, in their script and in
# Latin letters (with the spellings seen most), by the month's number
SOLAR_MONTHS = {
    name: number
    for names in (
        DARI_MONTHS, PASHTO_MONTHS, IRANIAN_MONTHS,
        ("hamal", "sawr", "jawza", "saratan", "asad", "sunbula", "mizan", "aqrab", "qaws", "jadi",
         "dalw", "hut"),
        ("hamal", "saur", "jauza", "saratan", "asad", "sonbola", "meezan", "aqrab", "qaus", "jaddi",
         "dalv", "hoot"),
        ("farvardin", "ordibehesht", "khordad", "tir", "mordad", "shahrivar", "mehr", "aban",
         "azar", "dey", "bahman", "esfand"),
    )
    for number, name in enumerate(names, 1)
}  # fmt: skip
SOLAR_MONTHS |= {"مرغومۍ": 10, "غویي": 2, "امرداد": 5, "dei": 10, "amordad": 5}  # other spellings
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Arabic yeh and kaf as Persian ones: Afghan sites type both, in month names, dates and words
PERSIAN_LETTERS = str.maketrans("يك", "یک")


def persian_digits(text: str) -> str:
    """ASCII digits written as Persian ones (۰-۹), as Dari and Pashto text uses them."""
    return text.translate(_PERSIAN_DIGITS)


def solar_hijri(day: date, language: str = "fa") -> str:
    """`day` in the Solar Hijri calendar, e.g. "۷ قوس ۱۴۰۵" (Pashto month names for `ps`)."""
    converted = jdatetime.date.fromgregorian(date=day)
    months = PASHTO_MONTHS if language.split("-")[0] == "ps" else DARI_MONTHS
    return persian_digits(f"{converted.day} {months[converted.month - 1]} {converted.year}")


def from_solar_hijri(year: int, month: int, day: int) -> date | None:
    """The Gregorian day of a Solar Hijri one; None when there is no such day (30 Esfand of a
    common year, month 13)."""
    try:
        return jdatetime.date(year, month, day).togregorian()
    except ValueError:
        return None
