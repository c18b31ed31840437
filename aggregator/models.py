"""The typed vocabulary passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch for one source, with the validators stored from its last response."""

    source: str
    url: str
    etag: str | None = None
    last_modified: str | None = None


class FetchStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    ERROR = "error"


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one HTTP fetch: a body, 'not modified', or an error with its reason."""

    request: FetchRequest
    status: FetchStatus
    final_url: str
    http_status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    moved_to: str | None = None  # the new URL when every redirect on the way was permanent


@dataclass(frozen=True)
class RawEntry:
    """One feed entry as feedparser gave it, before any cleaning."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    author: str | None = None
    categories: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document: its own metadata and its entries."""

    title: str
    link: str | None
    language: str | None
    entries: list[RawEntry]
    warning: str | None = None
    ttl: int | None = None  # RSS <ttl>: minutes the feed asks readers to wait


@dataclass(frozen=True)
class Entry:
    """A cleaned, trusted entry: canonical URL, plain title, sanitized HTML, UTC dates."""

    source: str
    guid: str
    url: str
    title: str
    summary_html: str
    content_html: str
    excerpt: str
    published: datetime
    updated: datetime | None
    language: str
    author: str | None = None
    categories: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # canonical http(s) links in the content, for link-out matching


@dataclass(frozen=True)
class Mention:
    """Another outlet that carried a story: shown as "Also reported by"."""

    source_name: str
    url: str


@dataclass(frozen=True)
class Story:
    """One published item: a story with the entry chosen to represent it."""

    id: str
    first_seen: datetime
    entry: Entry
    source_name: str
    source_home: str | None
    category: str
    also: tuple[Mention, ...] = ()


@dataclass
class SourceResult:
    """What happened to one source during a run, for the report and the runs table."""

    source: str
    outcome: str  # "ok", "not_modified", "unchanged", "failed", "not_due" or "disabled"
    http_status: int | None = None
    entries_seen: int = 0
    new_entries: int = 0
    error: str | None = None
    warning: str | None = None
    elapsed: float = 0.0
    next_check: datetime | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def fetched(self) -> bool:
        return self.outcome not in ("not_due", "disabled")


@dataclass
class RunReport:
    """The whole run: per-source results, what was published, and when."""

    started: datetime
    results: list[SourceResult] = field(default_factory=list)
    stories_published: int = 0
    publish_error: str | None = None
    finished: datetime | None = None

    @property
    def sources_ok(self) -> int:
        return sum(1 for r in self.results if r.fetched and not r.failed)

    @property
    def sources_skipped(self) -> int:
        return sum(1 for r in self.results if not r.fetched)

    @property
    def sources_failed(self) -> int:
        return sum(1 for r in self.results if r.failed)

    @property
    def new_entries(self) -> int:
        return sum(r.new_entries for r in self.results)
