"""Fetch feeds over HTTP: concurrent, conditional, bounded in size, redirects and schemes."""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions

from aggregator.models import FetchRequest, FetchResult, FetchStatus

MAX_REDIRECTS = 5
PER_HOST = 2
ERROR_SAMPLE = 64 * 1024  # bytes of an error page read to recognise a firewall
CHUNK = 64 * 1024
T = TypeVar("T")
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


class FetchError(Exception):
    """A fetch failed for a reason worth telling an editor."""


@dataclass(frozen=True)
class FetchOptions:
    """Limits and identity shared by every request of a run."""

    user_agent: str
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 8
    total_timeout: float | None = None
    per_host: int = PER_HOST

    @property
    def deadline(self) -> float:
        """Total seconds one request may take, so a trickling server cannot hold a worker."""
        return self.total_timeout or self.timeout * 3


_local = threading.local()


def new_session(options: FetchOptions) -> requests.Session:
    """A requests Session that identifies the aggregator and asks only for encodings it decodes."""
    session = requests.Session()
    session.headers.update(
        {"User-Agent": options.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    )
    return session


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"refused to fetch {url!r}: only http and https URLs are fetched")


def _decoder(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(zlib.MAX_WBITS)
    raise FetchError(f"unsupported Content-Encoding {encoding!r}")


def read_capped(
    chunks: Iterable[bytes], content_encoding: str, max_bytes: int, deadline: float
) -> bytes:
    """Join and decompress a body, stopping as soon as it exceeds `max_bytes` decoded bytes."""
    decoder = _decoder(content_encoding)
    out = bytearray()
    limit_mb = max_bytes / (1024 * 1024)
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise FetchError("the server sent the feed too slowly (total deadline exceeded)")
        data = chunk
        while data:
            if decoder is None:
                out += data
                data = b""
            else:
                out += decoder.decompress(data, max_bytes + 1 - len(out))
                data = decoder.unconsumed_tail
            if len(out) > max_bytes:
                raise FetchError(f"feed is larger than {limit_mb:g} MB (after decompression)")
    if decoder is not None:
        out += decoder.flush()
        if len(out) > max_bytes:
            raise FetchError(f"feed is larger than {limit_mb:g} MB (after decompression)")
    return bytes(out)


def _describe(exc: Exception, timeout: float) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS certificate error"
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
        return f"timed out after {timeout:g} s"
    if "Name or service not known" in text or "NameResolutionError" in text:
        return "DNS: host not found"
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, requests.exceptions.ConnectionError | urllib3.exceptions.HTTPError):
        return "connection failed"
    return f"{type(exc).__name__}: {text}"


def _conditional_headers(request: FetchRequest) -> dict[str, str]:
    headers = {}
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    return headers


class HostLimiter:
    """At most `per_host` requests in flight to one host, across the worker threads."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    @contextlib.contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            yield


FIREWALL_MARKS = (
    (b"cloudflare", "Cloudflare"),
    (b"cf-chl", "Cloudflare"),
    (b"sucuri", "Sucuri"),
    (b"captcha", "a captcha"),
    (b"access denied", "an access-denied page"),
    (b"just a moment", "Cloudflare"),
)


def diagnose_http_error(status: int, reason: str, headers: dict[str, str], body: bytes) -> str:
    """A reason an editor can act on for an HTTP error status."""
    text = f"HTTP {status} {reason}".strip()
    if status in (401, 403, 429, 503):
        seen = " ".join(f"{k}: {v}" for k, v in headers.items()).lower().encode() + body.lower()
        blockers = dict.fromkeys(name for mark, name in FIREWALL_MARKS if mark in seen)
        if "cf-ray" in headers or "cf-mitigated" in headers:
            blockers = dict.fromkeys(["Cloudflare", *blockers])
        if blockers:
            return f"{text} (looks like a firewall or bot block: {'/'.join(blockers)} page)"
    if status == 410:
        return f"{text} (the feed was removed: source disabled until an editor resets it)"
    if status == 429:
        return f"{text} (rate limited by the server)"
    return text


def fetch_one(
    request: FetchRequest,
    options: FetchOptions,
    session: requests.Session | None = None,
    limiter: HostLimiter | None = None,
) -> FetchResult:
    """Fetch one feed; every failure becomes a FetchResult with a readable reason."""
    session = session or getattr(_local, "session", None) or new_session(options)
    limiter = limiter or HostLimiter(options.per_host)
    started = time.monotonic()
    deadline = started + options.deadline
    url = request.url
    http_status = None
    permanent = True

    def failed(reason: str) -> FetchResult:
        return FetchResult(
            request,
            FetchStatus.ERROR,
            url,
            http_status=http_status,
            error=reason,
            elapsed=time.monotonic() - started,
        )

    try:
        visited = {url}
        for _hop in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            with limiter.slot(url):
                response = session.get(
                    url,
                    headers=_conditional_headers(request),
                    stream=True,
                    allow_redirects=False,
                    timeout=(options.timeout, options.timeout),
                )
                with response:
                    http_status = response.status_code
                    if not response.is_redirect:
                        moved = url if permanent and url != request.url else None
                        return _finish(request, response, url, moved, options, deadline, started)
                    permanent = permanent and http_status in (301, 308)
                    url = urljoin(url, response.headers["location"])
            if url in visited:
                raise FetchError(f"redirect loop at {url}")
            visited.add(url)
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")
    except FetchError as exc:
        return failed(str(exc))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return failed(_describe(exc, options.timeout))


def _finish(
    request: FetchRequest,
    response: requests.Response,
    url: str,
    moved_to: str | None,
    options: FetchOptions,
    deadline: float,
    started: float,
) -> FetchResult:
    headers = {k.lower(): v for k, v in response.headers.items()}
    status = response.status_code
    chunks = iter(lambda: response.raw.read1(CHUNK, decode_content=False), b"")
    encoding = headers.get("content-encoding", "")
    result = partial(
        FetchResult,
        request,
        final_url=url,
        http_status=status,
        headers=headers,
        moved_to=moved_to,
    )
    if status == 304:
        return result(
            FetchStatus.NOT_MODIFIED,
            etag=headers.get("etag") or request.etag,
            last_modified=headers.get("last-modified") or request.last_modified,
            elapsed=time.monotonic() - started,
        )
    if not 200 <= status < 300:
        try:
            sample = read_capped(chunks, encoding, ERROR_SAMPLE, deadline)
        except FetchError:
            sample = b""
        reason = diagnose_http_error(status, response.reason or "", headers, sample)
        return result(FetchStatus.ERROR, error=reason, elapsed=time.monotonic() - started)
    body = read_capped(chunks, encoding, options.max_bytes, deadline)
    return result(
        FetchStatus.OK,
        body=body,
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        elapsed=time.monotonic() - started,
    )


def fetch_all(
    requests_: list[FetchRequest],
    options: FetchOptions,
    then: Callable[[FetchResult], T] = lambda result: result,  # type: ignore[assignment,return-value]
) -> Iterator[T]:
    """Fetch on a thread pool, yielding results as they complete.

    `then` runs on the worker thread right after each fetch, so slow follow-up work (handing a
    body to a parser process) overlaps with the other fetches.
    """
    if not requests_:
        return
    sessions: list[requests.Session] = []
    limiter = HostLimiter(options.per_host)

    def start_worker() -> None:
        _local.session = new_session(options)
        sessions.append(_local.session)

    def job(request: FetchRequest) -> T:
        return then(fetch_one(request, options, limiter=limiter))

    workers = min(options.concurrency, len(requests_))
    try:
        with ThreadPoolExecutor(workers, "fetch", initializer=start_worker) as pool:
            futures = [pool.submit(job, r) for r in requests_]
            for future in as_completed(futures):
                yield future.result()
    finally:
        for session in sessions:
            session.close()
