"""The typed vocabulary passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

DIGEST_SIZE = 8  # bytes of an item's digest (`normalize.raw_digest`), kept per source by the store


@dataclass(frozen=True)
class FetchRequest:
    """What to fetch for one source, with the validators stored from its last response."""

    source: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    verify: bool = True  # False: a certificate that fails its checks is accepted (feeds.yaml)
    user_agent: str | None = None  # the source's own (feeds.yaml); None: the run's


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
    # no server answered: its name unknown, the connection refused or timed out, the network
    # unreachable; what every source gives when this machine's own network is down
    unreachable: bool = False


@dataclass(frozen=True)
class Media:
    """A file an entry carries: an enclosure (a podcast's audio), a media:content, a thumbnail."""

    url: str
    type: str | None = None  # MIME type
    length: int | None = None  # bytes
    medium: str | None = None  # "image", "audio", "video"
    role: str = "enclosure"  # "enclosure", "content" or "thumbnail"

    @property
    def is_image(self) -> bool:
        return self.medium == "image" or (self.type or "").startswith("image/")


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
    media: tuple[Media, ...] = ()
    date_text: str | None = None  # the feed's date as written, when it could not be read
    base: str | None = None  # what relative URLs in its HTML are relative to (xml:base, feed URL)


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document: its own metadata and its entries."""

    title: str
    link: str | None
    language: str | None
    entries: list[RawEntry]
    warning: str | None = None
    ttl: int | None = None  # RSS <ttl>: minutes the feed asks readers to wait
    unreadable: int = 0  # entries feedparser gave in a shape we could not read


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
    media: tuple[Media, ...] = ()
    dated: bool = True  # False: the feed gave no usable date and `published` is when first seen
    date_text: str | None = None  # the feed's date as written, when it was not usable
    words: str | None = None  # its matching word sets (dedupe.EntryFeatures.dump), made on a worker
    vector: bytes | None = None  # its meaning vector (semantic.embed): semantic matcher only


@dataclass(frozen=True)
class Mention:
    """Another outlet that carried a story: shown as "Also reported by"."""

    source_name: str
    url: str
    title: str = ""  # the outlet's own headline
    language: str = ""


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
    source_feed: str | None = None  # the outlet's own feed URL, for RSS <source url>
    translations: tuple[Mention, ...] = ()  # the same event's stories in other languages


class OverrideKind(StrEnum):
    """An editor's correction of story matching."""

    SPLIT = "split"  # the entry at `url` stands alone, whatever it resembles
    MERGE = "merge"  # the entries at `url` and `other_url` share one story


@dataclass(frozen=True)
class Override:
    """One correction, kept in the database and applied on every later run."""

    kind: OverrideKind
    url: str
    other_url: str  # "" for a split
    from_story: str | None  # the entry's story before the correction, for --undo
    created: datetime


class Route(StrEnum):
    """How a new entry found its story, as clustering decides it (`matching.Decision`)."""

    FORCED = "forced"  # an editor's override decides
    URL = "url"  # another outlet's entry at the same URL
    OWN = "own"  # this outlet's earlier item at the same URL, with text that agrees
    MATCH = "match"  # the clusterer's match in the window, or a new story


class Outcome(StrEnum):
    """What happened to one source in a run."""

    OK = "ok"
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    NOT_DUE = "not_due"
    DISABLED = "disabled"


@dataclass
class SourceResult:
    """What happened to one source during a run, for the report and the runs table."""

    source: str
    outcome: Outcome
    http_status: int | None = None
    entries_seen: int = 0
    new_entries: int = 0
    error: str | None = None
    warning: str | None = None
    elapsed: float = 0.0
    next_check: datetime | None = None
    skipped: dict[str, int] = field(default_factory=dict)  # entries dropped, by reason
    uncounted: bool = False  # failed when no source could be reached: no backoff for it

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    @property
    def fetched(self) -> bool:
        return self.outcome not in (Outcome.NOT_DUE, Outcome.DISABLED)

    @property
    def skipped_text(self) -> str | None:
        """'2 entries skipped: link has an invalid port' (reasons joined), or None."""
        if not self.skipped:
            return None
        total = sum(self.skipped.values())
        reasons = "; ".join(
            reason if len(self.skipped) == 1 else f"{count} {reason}"
            for reason, count in sorted(self.skipped.items(), key=lambda kv: -kv[1])
        )
        return f"{total} {'entry' if total == 1 else 'entries'} skipped: {reasons}"


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, on a dry run, would remove)."""

    contents_cleared: int
    entries_deleted: int
    stories_deleted: int
    runs_deleted: int
    bytes_before: int
    bytes_after: int
    dry_run: bool = False

    @property
    def removed(self) -> int:
        """Rows changed or removed, all kinds together."""
        return (
            self.contents_cleared + self.entries_deleted + self.stories_deleted + self.runs_deleted
        )


@dataclass
class RunReport:
    """The whole run: per-source results, what was published, and when."""

    started: datetime
    results: list[SourceResult] = field(default_factory=list)
    stories_published: int = 0
    publish_error: str | None = None
    finished: datetime | None = None
    problems: list[str] = field(default_factory=list)  # entries or stories skipped after storing
    pruned: PruneReport | None = None  # when this run pruned
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage, for benchmarks

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

    @property
    def offline(self) -> bool:
        """No source could be reached: this machine's network looks down."""
        return any(r.uncounted for r in self.results)


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about fetching one source."""

    name: str
    url: str  # where it is fetched from: feeds.yaml's URL, or where it permanently moved
    config_url: str
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    last_fetch: datetime | None
    last_success: datetime | None
    last_status: int | None
    last_error: str | None
    failures: int
    failing_since: datetime | None
    next_check: datetime | None
    not_before: datetime | None  # a server's Retry-After: not even --force fetches before it
    disabled: str | None
    ttl: int | None
    added: datetime | None
    last_skipped: str | None = None  # entries the last parsed body had that were dropped

    @property
    def moved(self) -> bool:
        return self.url != self.config_url


@dataclass(frozen=True)
class StoredEntry:
    """An entry as stored, with its story and when it was first seen."""

    id: int
    story_id: str
    story_first_seen: datetime
    first_seen: datetime
    entry: Entry
    match: str | None = None
    match_order: int | None = None  # when it was clustered: explain compares with what came before


class WindowEntry(NamedTuple):
    """A clustered entry of the matching window, as matching reads it: a plain row, since a
    run loads every entry of the window (hundreds of thousands on a big desk)."""

    id: int
    url: str
    source: str
    language: str
    published: str  # stored UTC ISO text
    words: str | None  # the stored word sets (dedupe.EntryFeatures.dump)
    links: str  # JSON list
    vector: bytes | None
    match_order: int | None
