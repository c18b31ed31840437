from datetime import date

import pytest

from aggregator.calendars import solar_hijri


@pytest.mark.parametrize(
    ("day", "language", "text"),
    [
        (date(2026, 11, 28), "fa", "۷ قوس ۱۴۰۵"),
        (date(2026, 3, 21), "fa", "۱ حمل ۱۴۰۵"),  # Nowruz: the year starts
        (date(2026, 3, 20), "fa", "۲۹ حوت ۱۴۰۴"),
        (date(2026, 3, 21), "ps", "۱ وری ۱۴۰۵"),
        (date(2026, 11, 28), "fa-AF", "۷ قوس ۱۴۰۵"),
    ],
)
def test_solar_hijri_with_afghan_month_names_in_persian_digits(day, language, text):
    assert solar_hijri(day, language) == text


def test_no_iranian_month_names():
    months = {solar_hijri(date(2026, m, 15)).split()[1] for m in range(1, 13)}
    assert len(months) == 12
    assert not months & {"فروردین", "اردیبهشت", "خرداد", "آذر", "دی", "بهمن", "اسفند"}
