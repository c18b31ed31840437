"""Reading the dates feeds write: every result is an aware UTC datetime or None, never an error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.dates import feed_date, parse_date

PIECES = st.sampled_from(
    ["Mon, ", "31 ", "Dec ", "9999 ", "0001 ", "1970-01-01", "T", "23:59:59", " +1400", " -1200",
     "Z", " GMT", " EST", "00", "-", ":", "۳۰", "نوامبر", "Lun.", "99999999999", "W48", " ", ".",
     " IST", " W", " AFT", " AM", "30/11/2026 ", "November 30, 2026 "]
)  # fmt: skip


@pytest.mark.filterwarnings("error")  # a library's warning is a line in every cron mail
@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(PIECES, max_size=8).map("".join), st.text(max_size=40)))
def test_any_text_reads_as_a_utc_date_or_none(text):
    for read in (parse_date, feed_date):
        moment = read(text)
        assert moment is None or moment.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "text",
    ["Fri, 31 Dec 9999 23:59:59 -1200", "Fri, 31 Dec 9999 23:00 -0130", "0000-00-00 00:00:00"],
)
def test_a_date_out_of_range_in_utc_is_unreadable_not_an_error(text):
    """One item's date must not fail its whole feed (it did: an OverflowError in the parse)."""
    assert parse_date(text) is None
    assert feed_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon, 30 Nov 2026 10:00:00 +0430", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("۳۰ نوامبر ۲۰۲۶ 10:00", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("Lun, 30 Nov 2026 10:00:00 +0100", datetime(2026, 11, 30, 9, 0, tzinfo=UTC)),
        ("2026-11-30T10:00:00Z", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        # zones feedparser misreads: a name it does not know is not UTC, and "GMT+4:30" is not
        # 42.5 hours off
        ("Mon, 30 Nov 2026 10:00:00 AFT", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 IRST", datetime(2026, 11, 30, 6, 30, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 pkt", datetime(2026, 11, 30, 5, 0, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 GMT+4:30", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00 UTC+4", datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 GMT-0330", datetime(2026, 11, 30, 13, 30, tzinfo=UTC)),
        ("Monday, November 30, 2026 - 10:00 AFT", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 EST", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 XYZ", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        # ISO 8601 with an offset without a colon: feedparser took +0430 for four hours
        ("2026-11-30T10:00:00+0430", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("2026-11-30 10:00:00 +0430", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("2026-11-30 10:00 +0430", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("2026-11-30T10:00:00.25-0330", datetime(2026, 11, 30, 13, 30, tzinfo=UTC)),
        ("2026-11-30T10:00:00+0545", datetime(2026, 11, 30, 4, 15, tzinfo=UTC)),
        ("2026-11-30 10:00:00 GMT+0430", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("2026-11-30 10:00:00 AFT", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        # ISO 8601 with a zone's name: feedparser read the day alone, midnight
        ("2026-11-30 10:00:00 UTC", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("2026-11-30 10:00 EST", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),
        # the Solar Hijri calendar, as an html source's Dari listing or a CMS's Jalali plugin
        # writes it: read as year 1405 AD, it was thrown away as broken
        ("۱۴۰۵/۰۹/۱۰ ۱۲:۳۰", datetime(2026, 12, 1, 12, 30, tzinfo=UTC)),
        ("1405-09-10T12:30:00+04:30", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("1405-09-10 12:30:00 +0330", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("1405-09-10 12:30 AFT", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("١٤٠٥/٠٩/١٠", datetime(2026, 12, 1, tzinfo=UTC)),
        ("10/09/1405", datetime(2026, 12, 1, tzinfo=UTC)),
        # Afghanistan's month names in Dari and Pashto, Iran's, and in Latin letters
        ("دوشنبه ۱۰ قوس ۱۴۰۵", datetime(2026, 12, 1, tzinfo=UTC)),
        ("۱۰ لیندۍ ۱۴۰۵", datetime(2026, 12, 1, tzinfo=UTC)),
        ("۱۰ آذر ۱۴۰۵ - ۱۲:۳۰", datetime(2026, 12, 1, 12, 30, tzinfo=UTC)),
        ("ساعت ۱۴:۲۰ - ۱۰ قوس ۱۴۰۵", datetime(2026, 12, 1, 14, 20, tzinfo=UTC)),
        ("10 Qaws 1405", datetime(2026, 12, 1, tzinfo=UTC)),
        ("1 Hamal 1405", datetime(2026, 3, 21, tzinfo=UTC)),
        ("30 اسفند 1403", datetime(2025, 3, 20, tzinfo=UTC)),  # a leap year's last day
        ("31 شهريور 1405", datetime(2026, 9, 22, tzinfo=UTC)),  # Arabic yeh, a 31st
        # shapes only dateutil reads: zone names as feedparser reads them (an unknown one as
        # UTC), without the warning dateutil printed for each
        ("30/11/2026 10:00 PST", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("30/11/2026 10:00 AFT", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("November 30, 2026 10:00 AM IST", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        # a.m. and p.m.: feedparser read "10:30 PM" as 10:30, twelve hours early
        ("Mon, 30 Nov 2026 10:30 PM +0000", datetime(2026, 11, 30, 22, 30, tzinfo=UTC)),
        ("30 Nov 2026 10:30PM GMT", datetime(2026, 11, 30, 22, 30, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 12:15 AM +0430", datetime(2026, 11, 29, 19, 45, tzinfo=UTC)),
        ("11/30/2026 10:30:00 PM", datetime(2026, 11, 30, 22, 30, tzinfo=UTC)),
    ],
)
@pytest.mark.filterwarnings("error")
def test_dates_in_the_shapes_feeds_write(text, expected):
    assert parse_date(text) == feed_date(text) == expected


@pytest.mark.parametrize(
    "text",
    ["30 اسفند 1404", "۱۴۰۵/۱۳/۰۱", "10 Nov 1405", "1447/05/10", "10 محرم 1447"],
)
def test_what_is_no_solar_hijri_day_is_not_read_as_one(text):
    """No 30 Esfand in a common year, no thirteenth month; a Gregorian month's name, or a
    Lunar Hijri year (1447), is no Solar Hijri date."""
    moment = feed_date(text)
    assert moment is None or moment.year < 1995


KABUL = ZoneInfo("Asia/Kabul")
FETCHED = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 07:30 in Kabul


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30 10:00", datetime(2026, 11, 30, 5, 30, tzinfo=UTC)),
        ("Nov 30, 2026 10:30 PM", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("30 November 2026", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("۱۰ قوس ۱۴۰۵ - ۱۲:۳۰", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        # a zone written is the zone
        ("2026-11-30T10:00:00Z", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("Mon, 30 Nov 2026 10:00:00 +0000", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("2026-11-30 10:00 GMT", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("2026-11-30 10:00 PST", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("1405-09-10 12:30 +03:30", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        # today and yesterday are the site's days: at 03:00 UTC it is 1 December in Kabul
        ("today 10:30", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("Today, 10:30 PM", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
        ("yesterday at 11:45 pm", datetime(2026, 11, 30, 19, 15, tzinfo=UTC)),
        ("دیروز ساعت ۱۴:۳۰", datetime(2026, 11, 30, 10, 0, tzinfo=UTC)),
        ("امروز ۰۹:۱۵", datetime(2026, 12, 1, 4, 45, tzinfo=UTC)),
        ("نن ۱۰:۰۰ بجې", datetime(2026, 12, 1, 5, 30, tzinfo=UTC)),
        # a month's name last is no zone's; a clock alone (10:30 p.m.) is the site's today
        ("30 Nov", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("Sunday 29 Nov", datetime(2026, 11, 28, 19, 30, tzinfo=UTC)),
        ("10:30 p.m.", datetime(2026, 12, 1, 18, 0, tzinfo=UTC)),
        ("Nov 30, 9:05 a. m.", datetime(2026, 11, 30, 4, 35, tzinfo=UTC)),
        ("10:30", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        # a.m. and p.m. in any order with a year (feedparser read "10:30 PM" as 10:30)
        ("30 Nov 2026 10:30 PM", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("2026-11-30 10:30 p.m.", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("10:30 p.m. Nov. 30, 2026", datetime(2026, 11, 30, 18, 0, tzinfo=UTC)),
        ("Nov. 30, 2026 12:15 a.m.", datetime(2026, 11, 29, 19, 45, tzinfo=UTC)),
    ],
)
def test_a_date_that_names_no_zone_is_read_in_the_zone_given(text, expected):
    """A listing page shows its site's local time: "10:00" on a Kabul site is 05:30 UTC."""
    assert parse_date(text, KABUL, FETCHED) == expected


@pytest.mark.parametrize(
    ("text", "before"),
    [
        ("2 hours ago", {"hours": 2}), ("Updated 5 mins ago", {"minutes": 5}),
        ("an hour ago", {"hours": 1}), ("Posted 1 week ago by Desk", {"weeks": 1}),
        ("just now", {}), ("۲ ساعت پیش", {"hours": 2}), ("۳ روز قبل", {"days": 3}),
        ("يک ساعت پيش", {"hours": 1}), ("۱۰ دقیقه پیش", {"minutes": 10}),
        ("لحظاتی پیش", {}), ("۲ ساعته مخکې", {"hours": 2}), ("۳ ورځې مخکې", {"days": 3}),
        ("منذ ساعتين", {"hours": 2}), ("منذ ٣ أيام", {"days": 3}), ("منذ ساعة", {"hours": 1}),
        ("yesterday", {"days": 1}), ("دیروز", {"days": 1}), ("پرون", {"days": 1}),
        # counts written as words
        ("two days ago", {"days": 2}), ("Ten minutes ago", {"minutes": 10}),
        ("دو روز پیش", {"days": 2}), ("سه ساعت قبل", {"hours": 3}),
        ("دوه ورځې مخکې", {"days": 2}), ("یوه ورځ مخکې", {"days": 1}),
        ("لس دقیقې مخکې", {"minutes": 10}),
    ],
)  # fmt: skip
def test_a_relative_time_is_counted_back_from_the_fetch(text, before):
    """Listing pages show "2 hours ago": it was read as a date of its own ("ago" is Spanish
    for August: 1 August, 02:00). Without the fetch's time it is no date at all."""
    assert parse_date(text, KABUL, FETCHED) == FETCHED - timedelta(**before)
    assert parse_date(text, KABUL) is None
    assert feed_date(text) is None


def test_what_only_looks_relative_is_not_counted_back():
    """Spanish and Portuguese "ago" before a year is August; an impossible clock or span is no
    date (it was one, or an OverflowError)."""
    august = datetime(2026, 8, 12, tzinfo=UTC)
    assert parse_date("12 ago 2026", UTC, FETCHED) == parse_date("12 ago 2026") == august
    assert parse_date("today 99:99", UTC, FETCHED) is None
    assert parse_date("99999999 years ago", UTC, FETCHED) is None


@pytest.mark.parametrize("text", ["Monday", "Updated Monday", "May", "Dec", "2026", "3", "2nd",
                                  "ago", "set", "۹ قوس"])  # fmt: skip
def test_a_word_or_a_number_alone_names_no_day(text):
    """A listing's date selector that catches "Monday" or "May" read as the next Monday or
    1 May; "ago" (Spanish for August) as 1 August."""
    assert parse_date(text, KABUL, FETCHED) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Published: Nov 30, 2026", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("Posted on 30 Nov 2026, 14:20", datetime(2026, 11, 30, 9, 50, tzinfo=UTC)),
        ("Updated: 11:05 p.m. Nov 30, 2026", datetime(2026, 11, 30, 18, 35, tzinfo=UTC)),
        ("By Ahmad Shah | Nov 29, 2026", datetime(2026, 11, 28, 19, 30, tzinfo=UTC)),
        ("Nov 29 · 5 min read", datetime(2026, 11, 28, 19, 30, tzinfo=UTC)),
        ("12 comments | 29 November 2026", datetime(2026, 11, 28, 19, 30, tzinfo=UTC)),
        ("November 30, 2026 — Kabul", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("Kabul, Nov 30 (Pajhwok)", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("تاریخ نشر: ۳۰ نوامبر ۲۰۲۶", datetime(2026, 11, 29, 19, 30, tzinfo=UTC)),
        ("Nov 30, 2026 at 10:30 p.m. EST", datetime(2026, 12, 1, 3, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_the_words_a_listing_writes_around_a_date_are_passed_over(text, expected):
    """A listing's date element often says more than the date ("Published:", the author, "5
    min read", the city): the whole was no date, and a first run dated every item when seen."""
    assert parse_date(text, KABUL, FETCHED) == expected


@pytest.mark.parametrize("text", ["Episode 12 | 45 comments", "Issue 4", "Page 2 of 9 · 3 min"])
def test_numbers_beside_words_are_no_date(text):
    assert parse_date(text, KABUL, FETCHED) is None


NEW_YEAR = datetime(2027, 1, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fetched", "text", "expected"),
    [
        (NEW_YEAR, "Dec 31", datetime(2026, 12, 30, 19, 30, tzinfo=UTC)),
        (NEW_YEAR, "31 دسامبر 10:00", datetime(2026, 12, 31, 5, 30, tzinfo=UTC)),
        (FETCHED, "Dec 2", datetime(2026, 12, 1, 19, 30, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_a_date_without_its_year_is_the_latest_such_day_not_one_ahead(fetched, text, expected):
    """A listing shows "Dec 31" without the year: on 2 January it is last year's, not a date
    a year ahead. A day or two ahead is a clock's difference, and stays."""
    assert parse_date(text, KABUL, fetched) == expected
