"""Source health for editors: what state each source is in and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.config import Config
from aggregator.normalize import without_credentials
from aggregator.store import Store

SILENT_AFTER = timedelta(days=14)
STRIP_DAYS = 14  # the status page's picture of each source: new entries a day


@dataclass(frozen=True)
class SourceHealth:
    """One row of the status table, page and JSON."""

    name: str
    url: str
    state: str  # "ok", "failing", "disabled", "retry after", "new"
    state_text: str
    last_success: datetime | None
    last_error: str | None
    failures: int
    entries_7d: int
    next_check: datetime | None
    silent: bool
    last_new_entry: datetime | None
    moved_to: str | None
    config_line: int | None
    skipped: str | None = None  # "2 entries skipped: link has an invalid port"
    config_url: str | None = None  # the URL in feeds.yaml (the old one when the feed moved)
    daily: tuple[int, ...] = ()  # new entries on each of the last STRIP_DAYS days, oldest first
    # silent while its server answers 304 Not Modified: a cache that keeps one ETag may be why
    # (`ignore_http_cache`), which editors are told
    stale_cache: bool = False

    def as_json(self) -> dict[str, object]:
        """Its fields by name, times as ISO 8601 text: read one level deep, not copied through
        as `asdict` would (a status page's thousands of rows)."""
        data = {name: getattr(self, name) for name in _FIELDS}
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        return data


_FIELDS = tuple(item.name for item in fields(SourceHealth))


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    """A moment in the site's time zone, as editors read every other time."""
    return (
        f"{moment.astimezone(zone):%d %b %Y, %H:%M} {zone_label(zone.key)}" if moment else "never"
    )


def zone_label(timezone: str) -> str:
    """How editors and readers are told the time zone: "Kabul time", not "Asia/Kabul"."""
    return f"{timezone.rsplit('/', 1)[-1].replace('_', ' ')} time"


def source_health(store: Store, config: Config, now: datetime) -> list[SourceHealth]:
    """Health of every configured source, in feeds.yaml order."""
    zone = config.site.zone
    states = {s.name: s for s in store.source_states()}
    recent = store.entries_since(now - timedelta(days=7))
    newest = store.last_new_entry()
    first_day = (now - timedelta(days=STRIP_DAYS - 1)).date()
    days = [(first_day + timedelta(days=n)).isoformat() for n in range(STRIP_DAYS)]
    per_day = store.daily_counts(datetime.combine(first_day, datetime.min.time(), now.tzinfo))
    rows = []
    for source in config.sources:
        state = states.get(source.name)
        last_new = newest.get(source.name)
        if state is None:
            rows.append(
                SourceHealth(
                    source.name,
                    without_credentials(source.url),
                    "new",
                    "not fetched yet",
                    None,
                    None,
                    0,
                    0,
                    None,
                    False,
                    None,
                    None,
                    None,
                )  # fmt: skip
            )
            continue
        if state.disabled:
            kind, text = "disabled", f"disabled: {state.disabled}"
        elif state.not_before and state.not_before > now:
            kind, text = "retry after", f"retry after {_when(state.not_before, zone)}"
        elif state.failures or state.failing_since:  # not counted: `pacing.network_down`
            kind, text = "failing", f"failing since {_when(state.failing_since, zone)}"
        elif state.last_success:
            kind, text = "ok", "ok"
        else:
            kind, text = "new", "not fetched yet"
        followed_since = state.added or state.last_success or now
        silent = (last_new or followed_since) < now - SILENT_AFTER
        rows.append(
            SourceHealth(
                name=source.name,
                url=without_credentials(state.url),
                state=kind,
                state_text=without_credentials(text),
                last_success=state.last_success,
                last_error=state.last_error and without_credentials(state.last_error),
                failures=state.failures,
                entries_7d=recent.get(source.name, 0),
                next_check=None if state.disabled else state.next_check,
                silent=silent,
                last_new_entry=last_new,
                moved_to=without_credentials(state.url) if state.moved else None,
                config_line=config.line_of(source.name, "url"),
                skipped=state.last_skipped,
                config_url=without_credentials(source.url),
                daily=tuple(per_day.get(source.name, {}).get(day, 0) for day in days),
                stale_cache=silent and state.last_status == 304,
            )
        )
    return rows
