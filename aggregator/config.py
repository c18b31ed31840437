"""Load `feeds.yaml` into validated pydantic models, with errors that name the file and line."""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Annotated
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from aggregator.languages import language_tag

MIN_REFRESH_MINUTES = 30
MAX_REFRESH_MINUTES = 7 * 24 * 60  # a week, the longest wait anything may set


class ConfigError(Exception):
    """A problem in the configuration file, located to a line where possible."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http or https URL, got {value!r}")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _bcp47(value: str) -> str:
    tag = language_tag(value)
    if tag is None:
        raise ValueError(f"must be a language tag such as en, fa or ps, got {value!r}")
    return tag


LanguageTag = Annotated[str, AfterValidator(_bcp47)]


class Site(_Strict):
    """The published site: titles, links, time zone of the daily edition."""

    title: str = "AOP News - Daily Digest"
    link: HttpUrl = "https://www.aopnews.com/"
    description: str = "Afghan news from AOP News and the outlets it follows, merged daily."
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
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

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
    concurrency: int = Field(8, ge=1, le=64)
    max_items: int = Field(50, ge=1, le=1000)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)


class Source(_Strict):
    """One feed the aggregator follows."""

    name: str = Field(min_length=1)
    url: HttpUrl
    homepage: HttpUrl | None = None
    language: LanguageTag = "en"
    category: str = "News"
    own: bool = False
    priority: int = 0
    include: list[str] = []
    exclude: list[str] = []
    max_items: int | None = Field(None, ge=1, le=1000)
    refresh: int | None = Field(None, ge=MIN_REFRESH_MINUTES, le=MAX_REFRESH_MINUTES)

    @field_validator("include", "exclude")
    @classmethod
    def _valid_patterns(cls, rules: list[str]) -> list[str]:
        for rule in rules:
            if len(rule) > 2 and rule.startswith("/") and rule.endswith("/"):
                try:
                    re.compile(rule[1:-1])
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {rule!r}: {exc}") from exc
        return rules


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
    sources: list[Source] = Field(min_length=1)

    _lines: dict[tuple[Hashable, ...], int] = PrivateAttr(default_factory=dict)
    _base: Path | None = PrivateAttr(default=None)  # the folder of feeds.yaml

    @property
    def status_folder(self) -> Path | None:
        """Where status.html and status.json go when `site.status_dir` is set (a relative path
        is taken from the folder of feeds.yaml); None: the output folder."""
        if not self.site.status_dir:
            return None
        folder = Path(self.site.status_dir).expanduser()
        return folder if folder.is_absolute() else (self._base or Path(".")) / folder

    def source(self, name: str) -> Source:
        return next(s for s in self.sources if s.name == name)

    def line_of(self, name: str, key: str) -> int | None:
        """The feeds.yaml line of a source's key, for messages that tell an editor what to edit."""
        index = next((i for i, s in enumerate(self.sources) if s.name == name), None)
        return self._lines.get(("sources", index, key)) if index is not None else None


KeyPath = tuple[Hashable, ...]


MAX_VALUES = 200_000  # YAML values after aliases are expanded: far above any real feeds.yaml
MAX_DEPTH = 50


class _Budget:
    """Counts the values an alias-laden document expands to, and the mappings being built."""

    def __init__(self) -> None:
        self.values = 0
        self.open: set[int] = set()


def _construct(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    loader: yaml.SafeLoader,
    file: Path,
    budget: _Budget,
) -> object:
    """Build plain Python data from a YAML node, recording each key's line.

    Aliases are expanded here, so a recursive alias or one that expands past MAX_VALUES
    (a "billion laughs" document) is a ConfigError at its line, found in well under a second."""
    line = node.start_mark.line + 1
    budget.values += 1
    if budget.values > MAX_VALUES:
        where = lines.get(path[:1], line)  # the top-level key whose value blew up
        raise ConfigError(file, where, f"YAML aliases expand to more than {MAX_VALUES} values")
    if len(path) > MAX_DEPTH:
        raise ConfigError(file, line, f"nested more than {MAX_DEPTH} levels deep")
    lines.setdefault(path, line)
    if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        return loader.construct_object(node, deep=True)
    if id(node) in budget.open:
        where = lines.get(path, line)  # where the alias is used, not where it points
        raise ConfigError(file, where, "a YAML alias refers to the value that contains it")
    budget.open.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            return [
                _construct(item, path + (i,), lines, loader, file, budget)
                for i, item in enumerate(node.value)
            ]
        out: dict[Hashable, object] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(file, key_line, "a mapping key must be a plain value")
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                raise ConfigError(file, key_line, "a mapping key must be a plain value")
            if key in out:
                raise ConfigError(file, key_line, f"duplicate key {key!r}")
            lines[path + (key,)] = key_line
            out[key] = _construct(value_node, path + (key,), lines, loader, file, budget)
        return out
    finally:
        budget.open.discard(id(node))


def _load_yaml(text: str, file: Path) -> tuple[object, dict[KeyPath, int]]:
    loader = yaml.SafeLoader(text)
    lines: dict[KeyPath, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(file, 1, "the file is empty")
        return _construct(node, (), lines, loader, file, _Budget()), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(file, line, f"YAML syntax: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(file, None, f"YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(file, None, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def _dotted(loc: KeyPath) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_for(loc: KeyPath, lines: dict[KeyPath, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _first_error(exc: ValidationError, lines: dict[KeyPath, int], file: Path) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        if len(loc) > 1:
            message += f" in {_dotted(loc[:-1])}"
    elif err["type"] == "missing":
        message = f"missing required key {_dotted(loc)!r}"
    else:
        message = f"{_dotted(loc)}: {message}"
    return ConfigError(file, _line_for(loc, lines), message)


def parse_config(text: str, file: Path | str = "feeds.yaml") -> Config:
    """Validate configuration text; raise ConfigError naming `file:line` on the first problem."""
    file = Path(file)
    data, lines = _load_yaml(text, file)
    if not isinstance(data, dict):
        raise ConfigError(file, 1, "the top level must be a mapping with site, defaults, sources")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, lines, file) from None
    config._lines = lines
    seen: set[str] = set()
    for i, source in enumerate(config.sources):
        if source.name in seen:
            line = lines.get(("sources", i, "name"))
            raise ConfigError(file, line, f"duplicate source name {source.name!r}")
        seen.add(source.name)
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate a `feeds.yaml` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read: {exc}") from exc
    config = parse_config(text, path)
    config._base = path.parent
    return config
