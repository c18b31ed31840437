import random
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator import pacing
from aggregator.models import FetchRequest, FetchResult, FetchStatus
from tests.conftest import NOW

HOUR = timedelta(hours=1)


def test_retry_after_in_seconds_and_as_http_date():
    assert pacing.retry_after({"retry-after": "7200"}, NOW) == NOW + 2 * HOUR
    date = "Sat, 28 Nov 2026 09:30:00 GMT"
    assert pacing.retry_after({"retry-after": date}, NOW) == NOW + timedelta(hours=3, minutes=30)
    assert pacing.retry_after({"retry-after": "soon"}, NOW) is None
    assert pacing.retry_after({}, NOW) is None


def test_freshness_from_cache_control_and_expires():
    assert pacing.fresh_until({"cache-control": "public, max-age=10800"}, NOW) == NOW + 3 * HOUR
    assert pacing.fresh_until({"cache-control": "s-maxage=600"}, NOW) is None  # for proxies
    expires = {"expires": "Sat, 28 Nov 2026 08:00:00 GMT"}
    assert pacing.fresh_until(expires, NOW) == NOW + 2 * HOUR
    assert pacing.fresh_until({"cache-control": "no-cache, max-age=999"}, NOW) is None
    assert pacing.fresh_until({"expires": "0"}, NOW) is None


def test_next_check_after_success_is_raised_never_lowered():
    refresh = timedelta(minutes=60)
    assert pacing.after_success(NOW, refresh, {}) == NOW + HOUR
    assert pacing.after_success(NOW, refresh, {"cache-control": "max-age=10800"}) == NOW + 3 * HOUR
    assert pacing.after_success(NOW, refresh, {"cache-control": "max-age=60"}) == NOW + HOUR
    assert pacing.after_success(NOW, refresh, {}, ttl_minutes=240) == NOW + 4 * HOUR
    assert pacing.after_success(NOW, refresh, {}, ttl_minutes=5) == NOW + HOUR
    assert pacing.after_success(NOW, timedelta(minutes=5), {}) == NOW + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        ({"cache-control": "public, max-age=31536000"}, None),  # a static file's "expires max"
        ({"expires": "Sat, 05 Dec 2026 09:00:00 GMT"}, None),
        ({}, 10080),  # <ttl> a week
    ],
)
def test_a_feeds_freshness_delays_its_next_check_a_day_at_most(headers, ttl):
    """A news source silent for a week because its server calls the file fresh for a year:
    the freshness raises the next check up to a day (as Miniflux's 24 h); an editor's own
    `refresh` and a Retry-After still go further."""
    assert pacing.after_success(NOW, HOUR, headers, ttl) == NOW + pacing.MAX_FRESH
    assert (
        pacing.after_success(NOW, 3 * pacing.MAX_FRESH, headers, ttl) == NOW + 3 * pacing.MAX_FRESH
    )
    due, _ = pacing.after_failure(NOW, 1, HOUR, {"retry-after": str(3 * 86400)})
    assert due == NOW + timedelta(days=3)


@pytest.mark.parametrize(
    ("failures", "hours"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 24), (9, 24)]
)
def test_backoff_doubles_with_jitter_and_caps_at_a_day(failures, hours):
    delays = {pacing.backoff(failures, random.Random(seed)) for seed in range(20)}
    assert all(hours * HOUR <= d <= hours * HOUR * 1.1 for d in delays)
    assert len(delays) > 1  # jittered


def test_retry_after_raises_the_backoff_and_sets_not_before():
    rng = random.Random(1)
    due, not_before = pacing.after_failure(NOW, 1, HOUR, {"retry-after": "18000"}, rng)
    assert due == not_before == NOW + 5 * HOUR
    due, not_before = pacing.after_failure(NOW, 1, HOUR, {"retry-after": "60"}, rng)
    assert not_before == NOW + timedelta(seconds=60)
    assert HOUR <= due - NOW <= 1.1 * HOUR


HEADER_VALUES = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"\s*[0-9²٣]{1,400}\s*", fullmatch=True),
    st.sampled_from(
        ["max-age=99999999999999999999999", "Sat, 28 Nov 9999 09:00:00 GMT", "Thu, 01 Jan 0001 "
         "00:00:00 GMT", "Mon, 99 Foo 2026 99:99:99 GMT", "-1", "1e308", "Sat, 28 Nov 2026 09:00:00"
         " -0000", "public, max-age=\"7\"", "²"]
    ),
)  # fmt: skip
HEADERS = st.dictionaries(
    st.sampled_from(["retry-after", "cache-control", "expires"]), HEADER_VALUES, max_size=3
)


@settings(max_examples=300, deadline=None)
@given(
    HEADERS,
    st.integers(min_value=-(10**6), max_value=10**12) | st.none(),
    st.integers(min_value=-5, max_value=10**9),
)
def test_header_rules_never_raise_and_stay_in_range(headers, ttl, failures):
    week = pacing.MAX_WAIT
    until = pacing.retry_after(headers, NOW)
    assert until is None or NOW <= until <= NOW + week
    fresh = pacing.fresh_until(headers, NOW)
    assert fresh is None or NOW < fresh <= NOW + week
    due = pacing.after_success(NOW, timedelta(days=10**4), headers, ttl)
    assert NOW + pacing.MIN_INTERVAL <= due <= NOW + week
    due, not_before = pacing.after_failure(NOW, failures, HOUR, headers, random.Random(1))
    assert NOW + pacing.MIN_INTERVAL <= due <= NOW + week
    assert not_before is None or not_before <= due
    assert timedelta(0) < pacing.backoff(failures) <= pacing.MAX_BACKOFF * (1 + pacing.JITTER)


@settings(max_examples=300, deadline=None)
@given(HEADER_VALUES)
def test_feed_ttl_never_raises_and_stays_in_range(value):
    from aggregator.pacing import MAX_TTL_MINUTES, feed_ttl

    ttl = feed_ttl(value)
    assert ttl is None or 0 <= ttl <= MAX_TTL_MINUTES


def test_a_month_of_failures_and_absurd_headers_do_not_overflow():
    due, _ = pacing.after_failure(NOW, 36, HOUR, {"retry-after": "9" * 5000})
    assert due == NOW + pacing.MAX_WAIT
    assert pacing.retry_after({"retry-after": "²"}, NOW) is None
    assert pacing.after_success(NOW, HOUR, {"cache-control": "max-age=" + "9" * 30}, 10**12) == (
        NOW + pacing.MAX_FRESH
    )


def _failed(url: str, unreachable: bool = True) -> FetchResult:
    return FetchResult(FetchRequest(url, url), FetchStatus.ERROR, url, unreachable=unreachable)


def test_the_network_is_down_when_no_source_on_two_hosts_is_reached():
    a, b, a2 = "https://a.af/feed", "https://b.af/feed", "https://a.af/other"
    assert pacing.network_down([_failed(a), _failed(b)])
    assert not pacing.network_down([_failed(a)])  # one source: its own fault, or ours
    assert not pacing.network_down([_failed(a), _failed(a2)])  # one host
    assert not pacing.network_down([_failed(a), _failed(b, unreachable=False)])  # b answered
    assert pacing.network_down([_failed(a)], down_before=True)  # none has answered since
    assert not pacing.network_down([], down_before=True)
