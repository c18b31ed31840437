import random
from datetime import timedelta

import pytest

from aggregator import pacing
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
