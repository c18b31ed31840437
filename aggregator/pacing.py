"""When to fetch a source next: its refresh interval, what the server asked for, and backoff.

Pure functions of the response and a clock, so the rules are tested without waiting. Every
number that comes from the network is clamped to `MAX_WAIT` before it becomes a duration, so no
header value, however large or strange, can overflow a `timedelta` or a `datetime`.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from aggregator.models import FetchResult

MIN_INTERVAL = timedelta(minutes=30)
FIRST_BACKOFF = timedelta(hours=1)
MAX_BACKOFF = timedelta(hours=24)
MAX_WAIT = timedelta(days=7)  # the longest any server may make us wait (Retry-After)
# the longest a feed's freshness (max-age, Expires, <ttl>) delays its next check: a static
# file's year-long max-age (an "expires max" rule) silenced a news source for the week; as
# Miniflux's SCHEDULER_ROUND_ROBIN_MAX_INTERVAL (24 h)
MAX_FRESH = timedelta(hours=24)
JITTER = 0.1  # up to 10% later, so sources failing together do not retry together
_MAX_WAIT_S = int(MAX_WAIT.total_seconds())
_SECONDS = re.compile(r"\s*([0-9]+)\s*", re.ASCII)
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?([0-9]+)", re.IGNORECASE | re.ASCII)


def seconds(text: str, limit: int = _MAX_WAIT_S) -> int | None:
    """A count (of seconds, or of `<ttl>` minutes) in ASCII digits, clamped to [0, limit];
    None if it is not one."""
    match = _SECONDS.fullmatch(text)
    if not match:
        return None
    digits = match[1].lstrip("0") or "0"
    return limit if len(digits) > len(str(limit)) else min(int(digits), limit)


def clamp(moment: datetime, now: datetime, longest: timedelta = MAX_WAIT) -> datetime:
    """A moment brought into [now, now + longest]."""
    return max(now, min(moment, now + longest))


def _http_date(value: str, now: datetime) -> datetime | None:
    """An HTTP date as an aware moment within MAX_WAIT of now (past dates stay in the past)."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    try:
        delta = moment - now
    except OverflowError:
        return None
    return now + max(-MAX_WAIT, min(delta, MAX_WAIT))


def retry_after(headers: dict[str, str], now: datetime) -> datetime | None:
    """The moment a `Retry-After` header (delay in seconds, or an HTTP date) allows again."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    delay = seconds(value)
    if delay is not None:
        return now + timedelta(seconds=delay)
    moment = _http_date(value, now)
    return clamp(moment, now) if moment else None


def fresh_until(headers: dict[str, str], now: datetime) -> datetime | None:
    """How long the server says the feed stays fresh: `Cache-Control: max-age`, else `Expires`."""
    cache_control = headers.get("cache-control", "").lower()
    if "no-store" in cache_control or "no-cache" in cache_control:
        return None
    match = _MAX_AGE.search(cache_control)
    if match:
        return now + timedelta(seconds=seconds(match[1]) or 0)
    expires = _http_date(headers.get("expires", ""), now)
    return expires if expires and expires > now else None


def ttl_delay(ttl_minutes: int | None) -> timedelta:
    """An RSS `<ttl>` as a delay, clamped to [0, MAX_WAIT]."""
    if not ttl_minutes or ttl_minutes < 0:
        return timedelta(0)
    return min(timedelta(minutes=min(ttl_minutes, _MAX_WAIT_S // 60)), MAX_WAIT)


def after_success(
    now: datetime,
    refresh: timedelta,
    headers: dict[str, str],
    ttl_minutes: int | None = None,
) -> datetime:
    """Next check after a good fetch: the refresh interval, raised (never lowered) by the
    server's freshness and the feed's `<ttl>` up to a day (`MAX_FRESH`), never sooner than 30
    minutes nor past MAX_WAIT."""
    due = now + max(min(refresh, MAX_WAIT), MIN_INTERVAL)
    hinted = max(fresh_until(headers, now) or now, now + ttl_delay(ttl_minutes))
    return clamp(max(due, min(hinted, now + MAX_FRESH)), now)


def backoff(failures: int, rng: random.Random | None = None) -> timedelta:
    """Delay after the n-th failure in a row: 1 h, 2 h, 4 h, ... capped at 24 h, plus jitter.

    The exponent is capped before the multiplication, so any number of failures is safe."""
    doublings = min(max(failures - 1, 0), 16)
    base = min(FIRST_BACKOFF * 2**doublings, MAX_BACKOFF)
    return base * (1 + JITTER * (rng or random).random())


def after_failure(
    now: datetime,
    failures: int,
    refresh: timedelta,
    headers: dict[str, str],
    rng: random.Random | None = None,
) -> tuple[datetime, datetime | None]:
    """(next check, not before): backoff after failures, raised by a `Retry-After`."""
    due = now + max(backoff(failures, rng), min(refresh, MAX_WAIT), MIN_INTERVAL)
    not_before = retry_after(headers, now)
    if not_before and not_before > due:
        due = not_before
    return clamp(due, now), not_before


NETWORK_DOWN = (
    "no source could be reached: this machine's network looks down "
    "(the failures are not counted against the sources)"
)


def network_down(failures: list[FetchResult], down_before: bool = False) -> bool:
    """Whether a whole run's failures, when no source answered, say that this machine's network
    is down rather than the sources: none reached, of at least two sources on two hosts, or of
    any when it was found down before and no source has answered since (a daemon's cycle may
    fetch one due source). Counted against each source, an outage of a day would back them all
    off for up to 24 hours after it (Miniflux stops polling such feeds; CommaFeed stopped
    backing off for it)."""
    if not failures or not all(f.unreachable for f in failures):
        return False
    hosts = {urlsplit(f.request.url).hostname for f in failures}
    return down_before or (len(failures) >= 2 and len(hosts) >= 2)


MAX_TTL_MINUTES = 7 * 24 * 60  # a longer <ttl> is read as a week


def feed_ttl(value: object) -> int | None:
    """RSS `<ttl>` minutes in ASCII digits, clamped to a week; None when absent or not a number."""
    return seconds(str(value or ""), MAX_TTL_MINUTES)  # the same clamped reading as headers
