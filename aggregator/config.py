"""Load `feeds.yaml` (YAML 1.2, ruamel.yaml) into validated pydantic models; every problem of a
file is reported at once as `file:line:column: message`, with a suggestion where one is close."""

from __future__ import annotations

import codecs
import difflib
import hashlib
import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cssselect import GenericTranslator, SelectorError
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.parser import Parser
from ruamel.yaml.reader import ReaderError

from aggregator.languages import language_suggestion, language_tag
from aggregator.normalize import feed_key, url_host

MIN_REFRESH_MINUTES = 30
MAX_REFRESH_MINUTES = 7 * 24 * 60  # a week, the longest wait anything may set
MAX_CONCURRENCY = 128  # fetch threads: past this, the requests' own CPU time is the limit


@dataclass(frozen=True)
class Problem:
    """One problem in the configuration file, where the editor has to look (1-based)."""

    line: int | None
    column: int | None
    message: str

    def located(self, path: str) -> str:
        where = ":".join(str(n) for n in (self.line, self.column) if n)
        return f"{path}:{where}: {self.message}" if where else f"{path}: {self.message}"


class ConfigError(Exception):
    """The problems of a configuration file, each located to a line and column where possible."""

    def __init__(
        self, path: Path | str, line: int | None, message: str, column: int | None = None
    ) -> None:
        self.path = str(path)
        self.problems = [Problem(line, column, message)]
        super().__init__()

    @classmethod
    def of(cls, path: Path | str, problems: Iterable[Problem]) -> ConfigError:
        listed = sorted(problems, key=lambda p: (p.line or 0, p.column or 0))
        error = cls(path, listed[0].line, listed[0].message, listed[0].column)
        error.problems = listed
        return error

    @property
    def line(self) -> int | None:
        return self.problems[0].line

    @property
    def message(self) -> str:
        return self.problems[0].message

    def __str__(self) -> str:
        return "\n".join(p.located(self.path) for p in self.problems)


_FEED_SCHEME = re.compile(r"(?:feed|itpc|pcast|podcast):(?://)?", re.IGNORECASE)


def feed_scheme_url(value: str) -> str | None:
    """The http(s) URL behind a subscribe button's feed: URL (`feed://host/rss`,
    `feed:https://host/rss`; itpc: and pcast: for podcasts), or None for any other."""
    scheme = _FEED_SCHEME.match(value)
    if scheme is None:
        return None
    rest = value[scheme.end() :]
    return rest if rest.lower().startswith(("http://", "https://")) else f"http://{rest}"


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError as exc:
        raise ValueError(f"is not a URL that can be fetched ({exc}): {value!r}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        meant = feed_scheme_url(value)
        hint = f" (a subscribe button's link: write {meant!r})" if meant else ""
        raise ValueError(f"must be an http or https URL, got {value!r}{hint}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _one_line(value: str) -> str:
    """A name or title shown on pages and in feeds: no control character (a tab, a line feed,
    a U+0001 that no HTML page may carry)."""
    for at, char in enumerate(value):
        if unicodedata.category(char) == "Cc":
            raise ValueError(f"must be one line of text, without U+{ord(char):04X} (at {at + 1})")
    return value


Text = Annotated[str, AfterValidator(_one_line)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for the closest of `choices`, or nothing when none is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _bcp47(value: str) -> str:
    tag = language_tag(value)
    if tag is None:
        hint = language_suggestion(value)
        raise ValueError(
            f"must be a BCP 47 language tag such as en, fa or ps, got {value!r}"
            + (f"; did you mean {hint!r}?" if hint else "")
        )
    return tag


LanguageTag = Annotated[str, AfterValidator(_bcp47)]


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _header_value(value: str) -> str:
    """A value an HTTP header can carry: printable ASCII on one line, 1 to 500 characters."""
    if not value.strip() or len(value) > 500 or not (value.isascii() and value.isprintable()):
        raise ValueError(f"must be printable ASCII, 1 to 500 characters, got {value!r}")
    return value.strip()


def known_zone(value: str) -> str:
    """An IANA time zone's name, checked: feeds.yaml's error names the closest if it is not."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        hint = _did_you_mean(value, _zones())
        raise ValueError(f"unknown time zone {value!r}{hint}") from exc
    return value


class Site(_Strict):
    """The published site: titles, links, time zone of the daily edition."""

    title: Text = "AOP News - Daily Digest"
    link: HttpUrl = "https://www.aopnews.com/"
    description: Text = "Afghan news from AOP News and the outlets it follows, merged daily."
    language: LanguageTag = "en"
    timezone: str = "Asia/Kabul"
    publish_at: str = "06:00"
    feed_items: int = Field(200, ge=1, le=5000)
    status_dir: str | None = None  # status.html/json elsewhere than the public output folder
    feed_url: HttpUrl | None = None  # where output/ is served (default: link); self links

    def published_url(self, name: str) -> str:
        """The public URL of an output file, for feeds' self links and JSON Feed's feed_url."""
        base = self.feed_url or self.link
        return urljoin(base if base.endswith("/") else base + "/", name)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("publish_at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"must be a time as HH:MM, got {value!r}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Defaults(_Strict):
    """Settings that apply to every source unless the source overrides them."""

    timeout: float = Field(20, gt=0, le=300)
    refresh: int = Field(60, ge=MIN_REFRESH_MINUTES, le=MAX_REFRESH_MINUTES)
    concurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)  # None: by the number of hosts
    max_items: int = Field(50, ge=1, le=1000)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=1024**3)  # a feed past 1 GB is none


def _css(value: str) -> str:
    try:
        GenericTranslator().css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


CssSelector = Annotated[str, AfterValidator(_css)]


def _rule(value: str) -> str:
    if len(value) > 2 and value.startswith("/") and value.endswith("/"):
        try:
            re.compile(value[1:-1])
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    elif not value.strip():
        raise ValueError("an empty rule would match everything")
    return value


Rule = Annotated[str, AfterValidator(_rule)]  # a keyword, or /regex/


class Selectors(_Strict):
    """Where the entries are on a listing page without a feed (`type: html`); all but `item` are
    looked for inside each item."""

    item: CssSelector
    title: CssSelector
    link: CssSelector  # an <a href>, or an element holding one
    date: CssSelector | None = None  # a <time datetime> or text that reads as a date
    summary: CssSelector | None = None
    image: CssSelector | None = None  # an <img>, or an element holding one


class Source(_Strict):
    """One feed (or, with `type: html`, one listing page) the aggregator follows."""

    name: Text = Field(min_length=1)
    url: HttpUrl
    type: Literal["feed", "html"] = "feed"
    selectors: Selectors | None = None
    homepage: HttpUrl | None = None
    language: LanguageTag = "en"
    category: Text = "News"
    own: bool = False
    priority: int = 0
    include: list[Rule] = []
    exclude: list[Rule] = []
    max_items: int | None = Field(None, ge=1, le=1000)
    refresh: int | None = Field(None, ge=MIN_REFRESH_MINUTES, le=MAX_REFRESH_MINUTES)
    # a site whose certificate has expired (or is self-signed, or another host's) is read all
    # the same, over TLS that is then not verified, as Miniflux's per-feed option allows
    accept_invalid_certificate: bool = False
    # a server that answers 304 Not Modified though its feed changed (a cache that keeps one
    # ETag): no ETag or Last-Modified is sent back, as Miniflux's per-feed option does
    ignore_http_cache: bool = False
    # a site whose firewall turns away what is not a browser: the User-Agent to send it
    user_agent: Annotated[str, AfterValidator(_header_value)] | None = None
    # an html source's dates that name no zone are its page's local time: in this zone
    # (default: site.timezone)
    timezone: Annotated[str, AfterValidator(known_zone)] | None = None

    @property
    def given_language(self) -> str | None:
        """The language the editor gave the source, which wins over one its feed declares
        for another language; None when feeds.yaml says none (then `language` is `en`)."""
        return self.language if "language" in self.model_fields_set else None

    @model_validator(mode="after")
    def _selectors_for_html(self) -> Source:
        if self.type == "html" and self.selectors is None:
            raise ValueError("type: html needs selectors (item, title, link)")
        if self.type == "feed" and self.selectors is not None:
            raise ValueError("selectors are for type: html sources")
        if self.type == "feed" and self.timezone is not None:
            raise ValueError("timezone is for type: html sources (a feed's dates name theirs)")
        return self


class Dedupe(_Strict):
    """Thresholds of near-duplicate story matching (see README, "dedupe")."""

    window_hours: int = Field(72, ge=1, le=24 * 30)
    title_threshold: float = Field(0.6, gt=0, le=1)
    lede_threshold: float = Field(0.55, gt=0, le=1)
    combined_threshold: float = Field(0.45, gt=0, le=1)
    link_threshold: float = Field(0.1, ge=0, le=1)
    number_threshold: float = Field(0.3, gt=0, le=1)
    lede_words: int = Field(40, ge=5, le=500)
    block_words: int = Field(5, ge=1, le=50)
    block_max_postings: int = Field(100, ge=10, le=100_000)
    block_candidates: int = Field(10, ge=1, le=10_000)
    # lexical: word overlap only; semantic: also meaning vectors (the `semantic` extra), which
    # join reworded reports of one language and link reports of one event across languages
    matcher: Literal["lexical", "semantic"] = "lexical"
    meaning_threshold: float = Field(0.92, gt=0, le=1)  # cosine, with the guards and...
    meaning_lexical: float = Field(0.1, ge=0, le=1)  # ...this much title+lede overlap
    cross_language_threshold: float = Field(0.86, gt=0, le=1)  # cosine for a link, with guards


class Retention(_Strict):
    """How long stored state is kept (README, "Retention"); archive pages are never deleted."""

    content_days: int = Field(90, ge=1, le=36500)  # full HTML of entries
    identity_days: int = Field(730, ge=1, le=36500)  # source, guid, URL, story id, first seen
    runs_days: int = Field(30, ge=1, le=36500)  # run history

    @field_validator("identity_days")
    @classmethod
    def _identity_outlives_content(cls, value: int, info: ValidationInfo) -> int:
        content = info.data.get("content_days")
        if content is not None and value < content:
            raise ValueError(f"must be at least content_days ({content}), got {value}")
        return value


class Config(_Strict):
    """The whole `feeds.yaml`."""

    site: Site = Site()
    defaults: Defaults = Defaults()
    dedupe: Dedupe = Dedupe()
    retention: Retention = Retention()
    include: list[Rule] = []  # applied to every source, before its own rules
    exclude: list[Rule] = []
    sources: list[Source] = []  # none yet: a desk's start, before its first `add`

    _lines: dict[tuple[Hashable, ...], int] = PrivateAttr(default_factory=dict)
    _base: Path | None = PrivateAttr(default=None)  # the folder of feeds.yaml
    _positions: tuple[object, dict[str, int]] | None = PrivateAttr(default=None)

    @field_validator("sources", mode="before")
    @classmethod
    def _nothing_is_none(cls, value: object) -> object:
        """`sources:` with nothing under it (what `remove` leaves of the last one): none yet."""
        return [] if value is None else value

    @property
    def status_folder(self) -> Path | None:
        """Where status.html and status.json go when `site.status_dir` is set (a relative path
        is taken from the folder of feeds.yaml); None: the output folder."""
        if not self.site.status_dir:
            return None
        folder = Path(self.site.status_dir).expanduser()
        return folder if folder.is_absolute() else (self._base or Path(".")) / folder

    @property
    def concurrency(self) -> int:
        """Requests in flight at once: as configured, else as many as the limit of 2 a host
        lets go out (two per distinct host), at least 8 and at most `MAX_CONCURRENCY`, so a
        few dozen sources and a few thousand on hundreds of hosts are both served well."""
        if self.defaults.concurrency:
            return self.defaults.concurrency
        hosts = {url_host(s.url) for s in self.sources}
        return min(MAX_CONCURRENCY, max(8, 2 * len(hosts)))

    def _index_of(self, name: str) -> int | None:
        """Where a source is in `sources`: a map built once, since runs and the status page
        ask for every source (a scan each would grow with the square of their number). Read
        from the private attributes' dict: pydantic's __getattr__ takes 2 us a read."""
        private = self.__pydantic_private__
        found = private["_positions"]
        if found is None or found[0] is not self.sources:
            positions: dict[str, int] = {}
            for i, s in enumerate(self.sources):
                positions.setdefault(s.name, i)
            found = private["_positions"] = (self.sources, positions)
        return found[1].get(name)

    def listing_zone(self, source: Source) -> ZoneInfo:
        """The zone of an html source's dates that name none: its own, else the site's."""
        return ZoneInfo(source.timezone or self.site.timezone)

    def source(self, name: str) -> Source:
        """The configured source of this name (KeyError if there is none)."""
        index = self._index_of(name)
        if index is None:
            raise KeyError(f"no source named {name!r} in feeds.yaml")
        return self.sources[index]

    def line_of(self, name: str, key: str) -> int | None:
        """The feeds.yaml line of a source's key, for messages that tell an editor what to edit."""
        index = self._index_of(name)
        lines = self.__pydantic_private__["_lines"]  # as in `_index_of`
        return lines.get(("sources", index, key)) if index is not None else None


KeyPath = tuple[Hashable, ...]
Position = tuple[int, int]  # line, column (1-based)


MAX_VALUES = 200_000  # YAML values after aliases are expanded: far above any real feeds.yaml
MAX_DEPTH = 50


@dataclass
class Positions:
    """Where each key and each value of the document starts, by its path of keys and indexes."""

    keys: dict[KeyPath, Position]
    values: dict[KeyPath, Position]

    def key(self, path: KeyPath) -> Position | None:
        return self.keys.get(path) or self.value(path)

    def value(self, path: KeyPath) -> Position | None:
        """The position of the value at `path`, or of the nearest value that contains it."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.values:
                return self.values[path[:end]]
        return None


def _at(node: Node | CollectionStartEvent) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


_MERGE = "tag:yaml.org,2002:merge"


class _Builder:
    """Builds plain Python data from YAML nodes, recording each key's and value's position.

    Aliases are expanded here, so a recursive alias or one that expands past MAX_VALUES
    (a "billion laughs" document) is a ConfigError at its line, found in well under a second."""

    def __init__(self, yaml: YAML, file: Path) -> None:
        self.yaml, self.file = yaml, file
        self.positions = Positions({}, {})
        self.values = 0
        self.open: set[int] = set()

    def fail(self, position: Position | None, message: str) -> ConfigError:
        line, column = position or (None, None)
        return ConfigError(self.file, line, message, column)

    def build(self, node: Node, path: KeyPath = ()) -> object:
        self.values += 1
        if self.values > MAX_VALUES:
            where = self.positions.keys.get(path[:1]) or _at(node)  # the top-level key
            raise self.fail(where, f"YAML aliases expand to more than {MAX_VALUES} values")
        if len(path) > MAX_DEPTH:
            raise self.fail(_at(node), f"nested more than {MAX_DEPTH} levels deep")
        self.positions.values.setdefault(path, _at(node))
        if not isinstance(node, MappingNode | SequenceNode):
            return self.yaml.constructor.construct_object(node, deep=True)
        if id(node) in self.open:  # where the alias is used, not where it points
            message = "a YAML alias refers to the value that contains it"
            raise self.fail(self.positions.keys.get(path) or _at(node), message)
        self.open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            out: dict[Hashable, object] = {}
            merged: dict[Hashable, object] = {}  # `<<: *defaults`: keys written here win
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    self._merge(value_node, path, _at(key_node), merged)
                    continue
                key = (
                    self.yaml.constructor.construct_object(key_node, deep=True)
                    if isinstance(key_node, ScalarNode)
                    else None
                )
                if key is None or not isinstance(key, Hashable):
                    raise self.fail(_at(key_node), "a mapping key must be a plain value")
                if key in out:
                    raise self.fail(_at(key_node), f"duplicate key {key!r}")
                self.positions.keys[path + (key,)] = _at(key_node)
                out[key] = self.build(value_node, path + (key,))
            for key, value in merged.items():
                out.setdefault(key, value)
            return out
        finally:
            self.open.discard(id(node))

    def _merge(
        self, node: Node, path: KeyPath, at: Position, merged: dict[Hashable, object]
    ) -> None:
        """Take the keys of a YAML merge (`<<: *a` or `<<: [*a, *b]`, the first one's keys
        first) that `merged` does not have yet; a merged key is found at its `<<`."""
        value = self.build(node, path)
        for mapping in value if isinstance(value, list) else [value]:
            if not isinstance(mapping, dict):
                raise self.fail(at, "a YAML merge (<<) takes keys and values, or a list of them")
            for key, item in mapping.items():
                if key not in merged:
                    merged[key] = item
                    self.positions.keys.setdefault(path + (key,), at)
                    self.positions.values.setdefault(path + (key,), at)


class _TooDeep(Exception):
    """Nesting past MAX_DEPTH, at the event that went one level too deep."""

    def __init__(self, event: CollectionStartEvent) -> None:
        self.event = event


class _ShallowParser(Parser):
    """ruamel's parser, refusing nesting past MAX_DEPTH as the composer (which recurses once a
    level) takes each event: one pass over the file, stopped at the first level too deep."""

    depth = 0

    def get_event(self) -> Any:
        event = super().get_event()
        if isinstance(event, CollectionStartEvent):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise _TooDeep(event)
        elif isinstance(event, CollectionEndEvent):
            self.depth -= 1
        return event


# What libyaml reads otherwise than ruamel's pure parser: YAML 1.1's line breaks, the tab that
# it takes for a space, and directives (`%YAML 1.1` changes what the pure one resolves)
_PURE_ONLY = re.compile("[\x85\u2028\u2029\t]|^%", re.MULTILINE)


def _load_fast(text: str, file: Path) -> tuple[object, Positions] | None:
    """The document read with ruamel's C parser (libyaml; ten times faster on thousands of
    sources), with the same resolver; None where only the pure parser is sure to read it as it
    always has: no C parser installed, an anchor or alias, nesting past MAX_DEPTH (the C
    composer recurses without a bound), an empty value or a block scalar, `_PURE_ONLY` text,
    or any error at all (which the pure parser then reports in its own words)."""
    yaml = YAML(typ="safe")
    if issubclass(yaml.Parser, Parser) or _PURE_ONLY.search(text):
        return None
    try:
        depth = 0
        for event in yaml.parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                return None
            if isinstance(event, ScalarEvent) and (
                event.style in ("|", ">") or (not event.style and not event.value)
            ):  # libyaml places an empty value elsewhere, and is lax in block scalar headers
                return None
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return None
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
        yaml = YAML(typ="safe")
        node = yaml.compose(text)
        if node is None:
            return None
        builder = _Builder(yaml, file)
        return builder.build(node), builder.positions
    except Exception:
        return None


def load_yaml(text: str, file: Path) -> tuple[object, Positions]:
    """The document as plain data (YAML 1.2: `18:30` and `no` are strings) and its positions."""
    return _load_fast(text, file) or _load_pure(text, file)


def _load_pure(text: str, file: Path) -> tuple[object, Positions]:
    """The document read by ruamel's own Python parser, which also explains every error."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Parser = _ShallowParser
    builder = _Builder(yaml, file)
    try:
        node = yaml.compose(text)
        if node is None:
            raise ConfigError(file, 1, "the file is empty")
        return builder.build(node), builder.positions
    except _TooDeep as exc:
        raise builder.fail(_at(exc.event), f"nested more than {MAX_DEPTH} levels deep") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line + 1, mark.column + 1) if mark else None
        problem = str(exc.problem or exc)
        if "'\\t'" in problem or "tab character" in problem:
            problem = "a tab, which YAML does not read there: indent and separate with spaces"
        raise builder.fail(position, f"YAML syntax: {problem}") from exc
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a character"
        message = f"{character}, a control character that a YAML file cannot hold"
        raise ConfigError(file, line, message, column) from None
    except YAMLError as exc:
        raise ConfigError(file, None, f"YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(file, None, f"nested more than {MAX_DEPTH} levels deep") from None


def _dotted(loc: KeyPath) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, get_args(annotation))), None)


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The settings model whose keys are allowed at `loc` (Source under sources[i], ...)."""
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field else None
    return model


# pydantic's words for a value of the wrong kind, said as an editor of YAML would: "Input
# should be a valid dictionary or instance of Source" is "should be keys and values"
_PLAIN = {
    "list_type": "should be a list (each item on a line of its own, after '- ')",
    "dict_type": "should be keys and values (key: value), one a line",
    "model_type": "should be keys and values (key: value), one a line",
    "model_attributes_type": "should be keys and values (key: value), one a line",
    "int_parsing": "should be a whole number",
    "int_type": "should be a whole number",
    "int_from_float": "should be a whole number",
    "float_parsing": "should be a number",
    "float_type": "should be a number",
    "finite_number": "should be a finite number",
    "bool_parsing": "should be true or false",
    "bool_type": "should be true or false",
    "string_type": "should be text",
    "string_too_short": "should not be empty",
    "greater_than_equal": "should be at least {ge}",
    "greater_than": "should be more than {gt}",
    "less_than_equal": "should be at most {le}",
    "less_than": "should be less than {lt}",
}


def _plainly(err: Mapping[str, Any]) -> str | None:
    """An error of pydantic's in plain words, with what the file has; None for others."""
    words = _PLAIN.get(err["type"])
    if words is None:
        return None
    value = err.get("input")
    if isinstance(value, list):
        shown = "a list"
    elif isinstance(value, dict):
        shown = "keys and values"
    elif isinstance(value, bool):
        shown = str(value).lower()
    elif isinstance(value, str):
        shown = repr(value)
    else:  # as YAML wrote it: 2026-01-01, inf, 3.5
        shown = "nothing" if value is None else str(value)
    limits = {k: f"{v:g}" if isinstance(v, float) else v for k, v in err.get("ctx", {}).items()}
    said = words.format(**limits)
    return said if err["type"] == "string_too_short" else f"{said}, not {shown[:80]}"


def _problems(exc: ValidationError, positions: Positions) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = _plainly(err) or err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
            if len(loc) > 1:
                message += f" in {_dotted(loc[:-1])}"
            model = _model_at(loc[:-1])
            if model is not None:
                message += _did_you_mean(str(loc[-1]), model.model_fields)
            position = positions.key(loc)
        elif err["type"] == "missing":
            message = f"missing required key {_dotted(loc)!r}"
            position = positions.value(loc)
        else:
            if err["type"] == "literal_error":
                expected = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
                message += _did_you_mean(str(err.get("input")), expected)
            message = f"{_dotted(loc)}: {message}"
            position = positions.value(loc)
        line, column = position or (None, None)
        problems.append(Problem(line, column, message))
    return problems


def category_slug(name: str) -> str:
    """A category's file name in the published site: ASCII words joined by hyphens; a name with
    no ASCII words (Dari, Pashto) gets a short stable hash instead."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    if words:
        return "-".join(words)
    return "c-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:10]


def _duplicates(data: dict[Hashable, object], positions: Positions) -> list[Problem]:
    """Two sources with one name, or following one feed (compared as canonical URLs); two
    categories whose feeds would have one file name."""
    problems = _category_clashes(data, positions)
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    sources = data.get("sources")
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        if not isinstance(source, dict):
            continue
        for key, seen in (("name", names), ("url", urls)):
            value = source.get(key)
            if not isinstance(value, str) or not value:
                continue
            known = feed_key(value) if key == "url" else value
            if known in seen:
                line, column = positions.value(("sources", i, key)) or (None, None)
                what = "source name" if key == "name" else "feed URL"
                first = seen[known]
                problems.append(
                    Problem(line, column, f"duplicate {what} {value!r} (first in sources[{first}])")
                )
            else:
                seen[known] = i
    return problems


def _category_clashes(data: dict[Hashable, object], positions: Positions) -> list[Problem]:
    """Categories spelt apart only by case or punctuation ("Afghan media", "Afghan-Media"): two
    groups on the pages, one feed file, written by the one and then by the other."""
    problems = []
    seen: dict[str, str] = {}
    sources = data.get("sources")
    default = Source.model_fields["category"].default
    for i, source in enumerate(sources if isinstance(sources, list) else []):
        name = source.get("category", default) if isinstance(source, dict) else None
        if not isinstance(name, str) or not name:
            continue
        slug = category_slug(name)
        first = seen.setdefault(slug, name)
        if first != name:
            line, column = positions.value(("sources", i, "category")) or (None, None)
            clash = (
                f"category {name!r} is spelt apart from {first!r} only by case or punctuation: "
                f"both would publish category/{slug}.xml; spell them alike"
            )
            problems.append(Problem(line, column, clash))
    return problems


def parse_config(text: str, file: Path | str = "feeds.yaml") -> Config:
    """Validate configuration text; raise ConfigError listing every problem, each located."""
    file = Path(file)
    data, positions = load_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError(
            file, 1, "the top level must be a mapping with site, defaults, sources", 1
        )
    problems = _duplicates(data, positions)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.of(file, problems + _problems(exc, positions)) from None
    if problems:
        raise ConfigError.of(file, problems)
    config._lines = {path: line for path, (line, _) in positions.keys.items()}
    return config


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)  # UTF-32 LE first: its BOM begins with UTF-16 LE's


def read_config_text(path: Path | str) -> str:
    """The text of a `feeds.yaml` file, which must be UTF-8 (a BOM allowed): any other file, or
    none, is a ConfigError that says what to do, at the line and column of a byte that is not
    UTF-8 (an editor that saved in Latin-1 or cp1256 needs to find the word)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        where = path.absolute().parent
        hint = (
            "give --config PATH, or start one with `aggregator add URL` "
            "(`aggregator demo` writes an example)"
        )
        raise ConfigError(path, None, f"not found in {where}: {hint}") from None
    except IsADirectoryError:
        raise ConfigError(path, None, "is a folder, not a feeds.yaml file") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror or exc}") from None
    for bom, encoding in _WIDE_BOMS:
        if data.startswith(bom):
            raise ConfigError(path, 1, f"the file is {encoding}: save it as UTF-8", 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, start) + 1
        column = len(data[start : exc.start].decode("utf-8", "replace")) + 1
        message = f"byte 0x{data[exc.start]:02x} is not UTF-8: save the file as UTF-8"
        raise ConfigError(path, line, message, column) from None


def load_config(path: Path | str) -> Config:
    """Read and validate a `feeds.yaml` file."""
    path = Path(path)
    config = parse_config(read_config_text(path), path)
    config._base = path.parent
    return config
