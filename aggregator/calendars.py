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
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def persian_digits(text: str) -> str:
    """ASCII digits written as Persian ones (۰-۹), as Dari and Pashto text uses them."""
    return text.translate(_PERSIAN_DIGITS)


def solar_hijri(day: date, language: str = "fa") -> str:
    """`day` in the Solar Hijri calendar, e.g. "۷ قوس ۱۴۰۵" (Pashto month names for `ps`)."""
    converted = jdatetime.date.fromgregorian(date=day)
    months = PASHTO_MONTHS if language.split("-")[0] == "ps" else DARI_MONTHS
    return persian_digits(f"{converted.day} {months[converted.month - 1]} {converted.year}")
