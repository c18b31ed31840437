"""When to fetch a source next: its refresh interval, what the server asked for, and backoff.

Pure functions of the response and a clock, so the rules are tested without waiting.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MIN_INTERVAL = timedelta(minutes=30)
FIRST_BACKOFF = timedelta(hours=1)
MAX_BACKOFF = timedelta(hours=24)
JITTER = 0.1  # up to 10% later, so sources failing together do not retry together
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else None


def retry_after(headers: dict[str, str], now: datetime) -> datetime | None:
    """The moment a `Retry-After` header (delay in seconds, or an HTTP date) allows again."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), int(MAX_BACKOFF.total_seconds()) * 7))
    return _http_date(value)


def fresh_until(headers: dict[str, str], now: datetime) -> datetime | None:
    """How long the server says the feed stays fresh: `Cache-Control: max-age`, else `Expires`."""
    cache_control = headers.get("cache-control", "")
    if "no-store" in cache_control.lower() or "no-cache" in cache_control.lower():
        return None
    match = _MAX_AGE.search(cache_control)
    if match:
        return now + timedelta(seconds=int(match[1]))
    expires = _http_date(headers.get("expires", ""))
    return expires if expires and expires > now else None


def after_success(
    now: datetime,
    refresh: timedelta,
    headers: dict[str, str],
    ttl_minutes: int | None = None,
) -> datetime:
    """Next check after a good fetch: the refresh interval, raised (never lowered) by the
    server's freshness and the feed's `<ttl>`, and never sooner than 30 minutes."""
    due = now + max(refresh, MIN_INTERVAL)
    fresh = fresh_until(headers, now)
    if fresh and fresh > due:
        due = fresh
    if ttl_minutes and now + timedelta(minutes=ttl_minutes) > due:
        due = now + timedelta(minutes=ttl_minutes)
    return min(due, now + 7 * MAX_BACKOFF)


def backoff(failures: int, rng: random.Random | None = None) -> timedelta:
    """Delay after the n-th failure in a row: 1 h, 2 h, 4 h, ... capped at 24 h, plus jitter."""
    base = min(FIRST_BACKOFF * 2 ** max(failures - 1, 0), MAX_BACKOFF)
    return base * (1 + JITTER * (rng or random).random())


def after_failure(
    now: datetime,
    failures: int,
    refresh: timedelta,
    headers: dict[str, str],
    rng: random.Random | None = None,
) -> tuple[datetime, datetime | None]:
    """(next check, not before): backoff after failures, raised by a `Retry-After`."""
    due = now + max(backoff(failures, rng), refresh, MIN_INTERVAL)
    not_before = retry_after(headers, now)
    if not_before and not_before > due:
        due = not_before
    return due, not_before
