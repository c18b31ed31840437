"""Fetch feeds over HTTP: concurrent, conditional, bounded in size, redirects and schemes."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import itertools
import os
import queue
import re
import socket
import ssl
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.models import REDIRECT_STATI
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from aggregator.blocks import BLOCKING_STATUSES, described, walls
from aggregator.charsets import BOM_STARTS
from aggregator.deadlines import Deadline, watched
from aggregator.errors import exception_line, one_line
from aggregator.models import FetchRequest, FetchResult, FetchStatus
from aggregator.normalize import url_host

MAX_REDIRECTS = 5
PER_HOST = 2
IDLE_AFTER = 0.05  # seconds without a result before `fetch_all` calls `idle`
POOLS_PER_THREAD = 2  # hosts whose pools (and idle connections, PER_HOST at most) are kept
MAX_VALIDATOR = 1024  # characters of an ETag or Last-Modified kept to send back
ERROR_SAMPLE = 64 * 1024  # bytes of an error page read to recognise a firewall
CHUNK = 64 * 1024
T = TypeVar("T")
TOO_SLOW = "the server answered too slowly (total deadline exceeded)"
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
    resolve: Callable[[str], list[str]] | None = None  # host -> addresses; tests inject one

    @property
    def deadline(self) -> float:
        """Total seconds one request may take, so a trickling server cannot hold a worker."""
        return self.total_timeout or self.timeout * 3


_local = threading.local()


MAX_INFORMATIONAL = 20  # 1xx answers read before the final one


class _Response(http.client.HTTPResponse):
    """http.client's response, past every informational (1xx) answer before the final one, as
    RFC 9110 asks of a client: http.client skips 100 Continue alone, and took a 103 Early
    Hints (which Node's writeEarlyHints sends over HTTP/1.1) for the answer, an error."""

    def _read_status(self) -> tuple[str, int, str]:
        for _ in range(MAX_INFORMATIONAL):
            version, status, reason = super()._read_status()
            if not 102 <= status < 200:  # 100: begin skips it; 101: switching protocols
                return version, status, reason
            http.client.parse_headers(self.fp)  # the hints' headers: not the answer's
        raise _EndlessInformational


class _EndlessInformational(http.client.HTTPException):
    """More informational answers than `MAX_INFORMATIONAL`, and no final one among them."""


class _Connection(HTTPConnection):
    response_class = _Response

    def getresponse(self):  # type: ignore[no-untyped-def]  # noqa: ANN201
        watched(self.sock)
        return super().getresponse()


class _TLSConnection(HTTPSConnection):
    response_class = _Response

    def getresponse(self):  # type: ignore[no-untyped-def]  # noqa: ANN201
        watched(self.sock)
        return super().getresponse()


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Connection


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConnection


class _Adapter(HTTPAdapter):
    """requests' adapter with connections that report their socket to the Deadline."""

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}

    def proxy_manager_for(self, proxy: str, **kwargs: object):  # type: ignore[no-untyped-def]  # noqa: ANN201
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = {"http": _Pool, "https": _TLSPool}
        return manager


class _Environment:
    """What requests reads from the environment for a request (proxies, a netrc login, a CA
    bundle), read once a run and once a host: requests reads the whole environment again for
    every request, a sixth of a 304's CPU time."""

    def __init__(self) -> None:
        self.verify: str | bool = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self._hosts: dict[str, tuple[dict[str, str], tuple[str, str] | None]] = {}

    def settings(self, url: str) -> tuple[dict[str, str], tuple[str, str] | None]:
        """The proxies and the netrc login for a URL's scheme, host and port (none for a URL
        too broken to split: requests says what is wrong with it)."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return {}, None
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._hosts.get(origin)
        if found is None:
            found = self._hosts[origin] = (
                requests.utils.get_environ_proxies(origin),
                requests.utils.get_netrc_auth(origin),
            )
        return found


# a source whose certificate the editor accepts as it is (`accept_invalid_certificate`) is
# fetched unverified by choice: urllib3 would warn on stderr at every request
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
_PREPARED_HERE = frozenset({"headers", "stream", "allow_redirects", "timeout", "verify"})


class _Session(requests.Session):
    """A Session that leaves redirects to `fetch_one`, which checks each hop's Location, and
    takes the environment's settings from an `_Environment` instead of reading them itself."""

    def __init__(self, environment: _Environment) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = environment.verify
        self.environment = environment

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """As requests' own, but a request with no more than headers (none of them None,
        which requests takes to remove a session's header), a timeout, stream and
        allow_redirects is prepared from the session's headers, cookies and hooks as they
        are: requests would first copy the cookie jar and merge every setting through
        generic checks, a fifth of a 304's CPU time."""
        text = url if isinstance(url, str) else url.decode()
        proxies, auth = self.environment.settings(text)
        if kwargs.get("params", "") is None:  # as `get` passes it
            del kwargs["params"]
        if kwargs.get("verify") is True:  # as the session verifies: with the environment's CA
            del kwargs["verify"]
        asked = kwargs.get("headers") or {}
        if args or not _PREPARED_HERE.issuperset(kwargs) or None in asked.values():
            kwargs.setdefault("proxies", proxies)
            kwargs.setdefault("auth", auth)
            return super().request(method, url, *args, **kwargs)
        headers = CaseInsensitiveDict(self.headers)
        headers.update(asked)
        kwargs.pop("headers", None)
        prepared = requests.PreparedRequest()
        prepared.prepare(
            method=method if isinstance(method, str) else method.decode(),
            url=text,
            headers=headers,
            cookies=self.cookies,
            auth=auth,
            hooks=self.hooks,
        )
        verify = kwargs.pop("verify", self.verify)
        return self.send(prepared, proxies=proxies, verify=verify, cert=self.cert, **kwargs)

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def new_session(
    options: FetchOptions,
    environment: _Environment | None = None,
    adapter: HTTPAdapter | None = None,
) -> requests.Session:
    """A requests Session that identifies the aggregator and asks only for encodings it
    decodes (`environment`: settings already read, `adapter`: connection pools, both shared
    by a run's sessions)."""
    session = _Session(environment or _Environment())
    adapter = adapter or _Adapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"User-Agent": options.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    )
    return session


def _addresses(host: str, resolve: Callable[[str], list[str]] | None) -> list[str]:
    """The addresses a host name stands for (empty when it does not resolve)."""
    if resolve is not None:
        return resolve(host)
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        return []
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_global
    except ValueError:
        return False


def check_redirect(origin: str, target: str, resolve: Callable[[str], list[str]] | None) -> None:
    """Refuse a redirect from a public address to a loopback, private or link-local one.

    A feed URL an editor wrote down may point anywhere; a server on the internet may not send
    the aggregator into the network it runs in."""
    origin_host, target_host = urlsplit(origin).hostname, urlsplit(target).hostname
    if not origin_host or not target_host or origin_host == target_host:
        return
    origin_addresses = _addresses(origin_host, resolve)
    if not origin_addresses or not all(map(_is_public, origin_addresses)):
        return
    inside = [a for a in _addresses(target_host, resolve) if not _is_public(a)]
    if inside:
        raise FetchError(
            f"refused a redirect from a public address to a private one ({target_host} is "
            f"{inside[0]})"
        )


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number from 0 to 65535)
    except ValueError as exc:
        raise FetchError(f"refused to fetch {url!r}: it is not a URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(f"refused to fetch {url!r}: only http and https URLs are fetched")
    if not parts.hostname:
        raise FetchError(f"refused to fetch {url!r}: it names no host")


GZIP_MAGIC = b"\x1f\x8b"
_TEXT_START = (b"<", b"{", b"[", *BOM_STARTS)  # markup, JSON, BOMs
COMPRESSED = frozenset({"gzip", "x-gzip", "deflate"})
# gzip layers undone that no header declared: a cache plugin's gzip under the server's, or a
# body gzipped without a Content-Encoding. No feed begins with the gzip magic (\x1f is no
# character of XML or JSON); browsers show such a body as garbage, and readers fail on it.
UNDECLARED_GZIP = 2


def _too_large(max_bytes: int) -> FetchError:
    return FetchError(f"feed is larger than {max_bytes / (1024 * 1024):g} MB (after decompression)")


class BodyDecoder:
    """Decode a response body as a browser does, within a size cap.

    gzip, zlib deflate and raw deflate (as IIS sends it) are told apart by their first bytes, not
    trusted from the label; a body labelled compressed that is plainly text is used as it is; a
    stream that breaks off midway is a FetchError naming the encoding.
    """

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        self.label = content_encoding.strip().lower() or "identity"
        self.max_bytes = max_bytes
        self.mode: str | None = None if self.label in COMPRESSED else "identity"
        self.head = b""
        self.raw = 0
        self.out = bytearray()
        self.inflater: zlib._Decompress | None = None
        self.done = False
        if self.label not in COMPRESSED and self.label != "identity":
            self.mode = None  # unknown coding: only a body that is plainly text is usable

    def _sniff(self, head: bytes) -> str:
        if head.startswith(GZIP_MAGIC):
            return "gzip"
        if len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0:
            return "zlib"
        if head.lstrip(b" \t\r\n").startswith(_TEXT_START) or not head:
            return "identity"
        if self.label == "deflate":
            return "raw"
        if self.label in COMPRESSED:
            return "identity"  # not compressed after all: the parser decides if it is a feed
        raise FetchError(f"unsupported Content-Encoding {self.label!r}")

    def _start(self, mode: str) -> None:
        self.mode = mode
        bits = {"gzip": 16 + zlib.MAX_WBITS, "zlib": zlib.MAX_WBITS, "raw": -zlib.MAX_WBITS}
        self.inflater = zlib.decompressobj(bits[mode]) if mode in bits else None

    def feed(self, data: bytes) -> None:
        """Take the next raw bytes of the body."""
        self.raw += len(data)
        if self.raw > self.max_bytes:
            raise _too_large(self.max_bytes)
        if self.mode is None or (self.mode != "identity" and self.inflater is None):
            self.head += data
            if len(self.head) < 2:
                return
            data, self.head = self.head, b""
            self._start(self._sniff(data))
        self._push(data)

    def _push(self, data: bytes) -> None:
        if self.inflater is None:
            self.out += data
        while data and not self.done and self.inflater is not None:
            try:
                self.out += self.inflater.decompress(data, self.max_bytes + 1 - len(self.out))
            except zlib.error as exc:
                raise self._corrupt(exc) from None
            data = self.inflater.unconsumed_tail
            if self.inflater.eof:
                rest = self.inflater.unused_data
                if self.mode == "gzip" and rest.startswith(GZIP_MAGIC):
                    self._start("gzip")  # another gzip member follows
                    data = rest
                else:
                    self.done = True  # trailing bytes after the stream are ignored
            if len(self.out) > self.max_bytes:
                raise _too_large(self.max_bytes)
        if len(self.out) > self.max_bytes:
            raise _too_large(self.max_bytes)

    def _corrupt(self, exc: zlib.error) -> FetchError:
        return FetchError(f"corrupt {self.mode} body (Content-Encoding: {self.label}): {exc}")

    def finish(self) -> bytes:
        """The whole decoded body; a stream cut short gives what it held."""
        if self.head or self.mode is None:
            head, self.head = self.head, b""
            self._start(self._sniff(head))
            self._push(head)
        if self.inflater is not None and not self.done:
            try:
                self.out += self.inflater.flush()
            except zlib.error as exc:
                raise self._corrupt(exc) from None
            if len(self.out) > self.max_bytes:
                raise _too_large(self.max_bytes)
        return bytes(self.out)


def _decoded(body: bytes, coding: str, max_bytes: int) -> bytes:
    decoder = BodyDecoder(coding, max_bytes)
    decoder.feed(body)
    return decoder.finish()


def read_capped(
    chunks: Iterable[bytes], content_encoding: str, max_bytes: int, deadline: float
) -> bytes:
    """Join and decode a body, stopping as soon as it exceeds `max_bytes` decoded bytes."""
    codings = [c for c in content_encoding.split(",") if c.strip()] or ["identity"]
    decoder = BodyDecoder(codings.pop(), max_bytes)
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise FetchError("the server sent the feed too slowly (total deadline exceeded)")
        decoder.feed(chunk)
    body = decoder.finish()
    while codings:  # "gzip, gzip": the codings were applied in order, so undo them backwards
        body = _decoded(body, codings.pop(), max_bytes)
    for _ in range(UNDECLARED_GZIP):
        if not body.startswith(GZIP_MAGIC):
            break
        body = _decoded(body, "gzip", max_bytes)
    return body


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """An exception and those behind it: its cause or context, else one it carries as an
    argument (urllib3's ProtocolError and requests' ConnectionError wrap http.client's so)."""
    for _ in range(8):
        yield exc
        behind = exc.__cause__ or exc.__context__
        if behind is None:
            behind = next((a for a in exc.args if isinstance(a, BaseException)), None)
        if behind is None:
            return
        exc = behind


_INVALID_HEADER = (urllib3.exceptions.InvalidHeader, requests.exceptions.InvalidHeader)


def _broken_response(exc: Exception) -> str | None:
    """What was wrong with a response that http.client could not read, said for an editor."""
    causes = list(_causes(exc))
    if any(isinstance(c, ValueError) and "base 16" in str(c) for c in causes):
        return "the server broke its chunked body (a chunk size that is not a number)"
    for cause in causes:
        if isinstance(cause, http.client.RemoteDisconnected):  # a BadStatusLine too
            return "the server closed the connection without answering"
        if isinstance(cause, http.client.BadStatusLine):
            return f"the server did not answer in HTTP (its answer began {str(cause)[:60]!r})"
        if isinstance(cause, http.client.UnknownProtocol):  # HTTP/2 to an HTTP/1.1 request
            return f"the server answered in a version of HTTP we cannot read ({str(cause)[:30]!r})"
        if isinstance(cause, http.client.LineTooLong):
            return "the server sent a header line longer than http.client reads (64 KB)"
        if isinstance(cause, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead):
            return "the connection closed before the body ended"
        if isinstance(cause, http.client.HTTPException) and "headers" in str(cause):
            return f"the server sent too many headers ({cause})"
        if isinstance(cause, ConnectionResetError):
            return "the server reset the connection"
        if isinstance(cause, _EndlessInformational):
            return f"the server sent more than {MAX_INFORMATIONAL} informational (1xx) answers"
        if isinstance(cause, _INVALID_HEADER) and "Content-Length" in str(cause):
            return f"the server sent two Content-Length values, which browsers refuse too ({cause})"
    return None


# why a certificate was refused, by OpenSSL's verify code, said for an editor
_UNTRUSTED = {
    9: "the site's certificate is not valid yet (or this machine's clock is behind)",
    10: "the site's certificate has expired",
    18: "the site's certificate is self-signed",
    19: "the site's certificate chain ends in a self-signed certificate we do not trust",
    20: "the site's certificate is not signed by an authority we trust (or the server leaves "
    "out its intermediate certificate, which browsers fetch for themselves)",
    21: "the site's certificate cannot be verified (the server leaves out its intermediate "
    "certificate, which browsers fetch for themselves)",
    62: "the site's certificate is for another host name",
    64: "the site's certificate is for another address",
}
# why a handshake failed, by OpenSSL's reason
_HANDSHAKE = {
    "WRONG_VERSION_NUMBER": "the server did not answer in TLS (is the site http:// only?)",
    "UNSUPPORTED_PROTOCOL": "the server offers only a TLS version too old to be safe",
    "TLSV1_ALERT_PROTOCOL_VERSION": "the server offers only a TLS version too old to be safe",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "the server and we have no cipher in common",
    "UNEXPECTED_EOF_WHILE_READING": "the server closed the connection during the handshake",
}


def _tls_problem(exc: Exception) -> str:
    """What went wrong in a TLS handshake, said for an editor: which check the certificate
    failed (expired, self-signed, another host's) or why no handshake was made."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            refused = f"the site's certificate was refused ({cause.verify_message})"
            return "TLS: " + _UNTRUSTED.get(cause.verify_code, refused)
        if isinstance(cause, ssl.SSLError) and cause.reason:
            return "TLS: " + _HANDSHAKE.get(cause.reason, f"the handshake failed ({cause.reason})")
    return f"TLS: the handshake failed ({exception_line(exc, 80)})"


def _unreachable(exc: Exception) -> bool:
    """Whether no server was reached at all (a name not resolved, a connection refused or timed
    out, no route), rather than one that answered badly (TLS, a broken response)."""
    if isinstance(exc, requests.exceptions.SSLError) or _broken_response(exc):
        return False
    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.TimeoutError
        | ConnectionError
        | TimeoutError
        | socket.gaierror,
    )


def _describe(exc: Exception, timeout: float) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        return _tls_problem(exc)
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
        return f"timed out after {timeout:g} s"
    if "Name or service not known" in text or "NameResolutionError" in text:
        return "DNS: host not found"
    if "Connection refused" in text:
        return "connection refused"
    causes = list(_causes(exc))
    if any(isinstance(c, urllib3.exceptions.LocationParseError) for c in causes):
        return f"the URL's host name cannot be read ({exception_line(causes[-1], 80)})"
    broken = _broken_response(exc)
    if broken:
        return broken
    if isinstance(exc, requests.exceptions.ConnectionError | urllib3.exceptions.HTTPError):
        return "connection failed"
    return f"{type(exc).__name__}: {text}"


# a 304 to a request that sent no validator: a cache that stored a 304 and answers everyone
# with it. Taken for "not modified", the source showed as fine and never brought an entry.
UNASKED_304 = (
    "HTTP 304 Not Modified to a request that had nothing to compare (no ETag or "
    "Last-Modified was sent): the server's cache is misconfigured"
)


def _request_headers(request: FetchRequest) -> dict[str, str]:
    """A request's own headers: its validators, and the User-Agent its source asks for."""
    headers = {"User-Agent": request.user_agent} if request.user_agent else {}
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
        host = url_host(url)
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            yield


_REALM = re.compile(r'realm\s*=\s*"([^"]*)"', re.IGNORECASE)


def _login_asked(challenge: str, login: bool) -> str:
    """What a 401's WWW-Authenticate asks of an editor (`login`: the URL gave one)."""
    scheme = challenge.split(None, 1)[0] if challenge.strip() else ""
    realm = _REALM.search(challenge)
    shown = one_line(realm[1], 40) if realm else ""
    named = f" for {shown!r}" if shown else ""
    if scheme and scheme.lower() != "basic":
        return f"the site asks for {one_line(scheme, 20)} authentication{named}, which is not sent"
    if login:
        return f"the site refused the user and password in the URL{named}"
    return f"the feed asks for a login{named}: put user:password@ before the host in its url"


def diagnose_http_error(
    status: int, reason: str, headers: dict[str, str], body: bytes, login: bool = False
) -> str:
    """A reason an editor can act on for an HTTP error status (`login`: the URL gave one)."""
    with contextlib.suppress(UnicodeError):  # as a browser shows it (http.client read Latin-1)
        reason = reason.encode("latin-1").decode("utf-8")
    text = one_line(f"HTTP {status} {reason}", 200)
    challenge = {k.lower(): v for k, v in headers.items()}.get("www-authenticate")
    if status == 401 and challenge is not None:
        return f"{text} ({_login_asked(challenge, login)})"
    if status in BLOCKING_STATUSES:
        names = walls(headers, body, error=True)
        if names:
            return f"{text} ({described(names)})"
    if status == 410:
        return f"{text} (the feed was removed)"
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

    def failed(reason: str, unreachable: bool = False) -> FetchResult:
        return FetchResult(
            request,
            FetchStatus.ERROR,
            url,
            http_status=http_status,
            error=reason,
            elapsed=time.monotonic() - started,
            unreachable=unreachable and http_status is None,
        )

    watchdog = Deadline(options.deadline)
    try:
        with watchdog:
            visited = {url}
            for _hop in range(MAX_REDIRECTS + 1):
                _check_scheme(url)
                with limiter.slot(url):
                    response = session.get(
                        url,
                        headers=_request_headers(request),
                        stream=True,
                        allow_redirects=False,
                        timeout=(options.timeout, options.timeout),
                        verify=request.verify,
                    )
                    with response:
                        http_status = response.status_code
                        if http_status not in REDIRECT_STATI:
                            moved = url if permanent and url != request.url else None
                            done = _finish(
                                request, response, url, moved, options, deadline, started
                            )
                            if watchdog.expired:
                                raise FetchError(TOO_SLOW)
                            return done
                        permanent = permanent and http_status in (301, 308)
                        target = _location(url, response.headers.get("location", ""))
                        # a cookie check: a cookie set, then the same URL again, which
                        # browsers (and requests' own redirects) follow with the cookie
                        again = "set-cookie" in response.headers
                check_redirect(url, target, options.resolve)
                url = credentials_kept(url, target)
                if url in visited and not again:
                    raise FetchError(f"redirect loop at {url}")
                visited.add(url)
            raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})")
    except FetchError as exc:
        return failed(str(exc))
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        if watchdog.expired:
            return failed(TOO_SLOW, unreachable=True)
        return failed(_describe(exc, options.timeout), unreachable=_unreachable(exc))
    except Exception as exc:  # whatever a hostile server provokes is this source's error
        return failed(f"fetch failed: {exception_line(exc, 250)}")


def _location(url: str, location: str) -> str:
    """The absolute URL a redirect points to; a Location that is no URL is a FetchError. Its
    bytes are read as UTF-8 where they are (http.client reads headers as Latin-1): what
    browsers do with a Dari slug a server wrote unescaped."""
    text = location.strip()
    with contextlib.suppress(UnicodeError):
        text = text.encode("latin-1").decode("utf-8")
    try:
        target = urljoin(url, text)
        urlsplit(target).port  # noqa: B018  (raises on an impossible port)
    except ValueError as exc:
        raise FetchError(f"the redirect's Location is not a URL ({text[:100]!r}: {exc})") from None
    if not text:
        raise FetchError("a redirect without a Location")
    return target


def credentials_kept(origin: str, target: str) -> str:
    """A redirect's target with the user and password of the URL it came from, when it stays
    on the site (the same host, scheme and port, or http to https on their default ports), as
    requests and browsers keep a login: a feed behind HTTP auth whose server adds a slash or
    moves to https (WordPress writes an absolute Location) was asked again without it, 401,
    and a permanent move was stored without it. Another host never gets them."""
    old, new = urlsplit(origin), urlsplit(target)
    if old.username is None or new.username is not None or old.hostname != new.hostname:
        return target
    same = (old.scheme, old.port) == (new.scheme, new.port)
    upgrade = (old.scheme, new.scheme) == ("http", "https") and old.port in (None, 80)
    if not same and not (upgrade and new.port in (None, 443)):
        return target
    login = old.netloc.rpartition("@")[0]
    return urlunsplit(new._replace(netloc=f"{login}@{new.netloc}"))


def _validator(value: str | None) -> str | None:
    """An ETag or Last-Modified worth sending back: one that is a valid header value. A value
    that requests would refuse to send would otherwise fail the source on every fetch."""
    if not value or len(value) > MAX_VALIDATOR or value != value.strip():
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F or ord(c) > 0xFF for c in value):
        return None
    return value


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
    if status == 304 and not (request.etag or request.last_modified):
        raise FetchError(UNASKED_304)
    if status == 304:
        # a 304 has no body: reading its end (http.client reads no byte of it) puts the
        # connection back in its pool, where closing the response unread would close it; not
        # one announced in chunks all the same, which may never end (closed unread)
        if not response.raw.chunked:
            response.raw.read(1, decode_content=False)
        return result(
            FetchStatus.NOT_MODIFIED,
            etag=_validator(headers.get("etag")) or request.etag,
            last_modified=_validator(headers.get("last-modified")) or request.last_modified,
            elapsed=time.monotonic() - started,
        )
    if not 200 <= status < 300:
        try:
            sample = read_capped(chunks, encoding, ERROR_SAMPLE, deadline)
        except FetchError:
            sample = b""
        login = urlsplit(url).username is not None
        reason = diagnose_http_error(status, response.reason or "", headers, sample, login)
        return result(FetchStatus.ERROR, error=reason, elapsed=time.monotonic() - started)
    body = read_capped(chunks, encoding, options.max_bytes, deadline)
    return result(
        FetchStatus.OK,
        body=body,
        etag=_validator(headers.get("etag")),
        last_modified=_validator(headers.get("last-modified")),
        elapsed=time.monotonic() - started,
    )


def _in_turns(requests_: list[FetchRequest]) -> list[FetchRequest]:
    """The requests taken a host at a time in turns (each host's in their order), so that
    threads do not queue behind one host's limit while other hosts wait: feeds.yaml often
    lists one site's feeds together."""
    by_host: dict[str, list[FetchRequest]] = {}
    for request in requests_:
        by_host.setdefault(url_host(request.url), []).append(request)
    turns = itertools.zip_longest(*by_host.values())
    return [request for turn in turns for request in turn if request is not None]


def fetch_all(
    requests_: list[FetchRequest],
    options: FetchOptions,
    then: Callable[[FetchResult], T] = lambda result: result,  # type: ignore[assignment,return-value]
    idle: Callable[[], None] | None = None,
) -> Iterator[T]:
    """Fetch on a thread pool, yielding results as they complete.

    `then` runs on the worker thread right after each fetch, so slow follow-up work (handing a
    body to a parser process) overlaps with the other fetches. `idle` is called when no
    result has come for `IDLE_AFTER` seconds and the caller is about to wait longer (not
    whenever none is ready at once: a run's store committed for most sources then).
    Requests go out a host at a time in turns, and are handed to the pool at most twice its
    threads ahead of the results taken, so a caller slower than the network holds a bounded
    number of results (at 64 threads, thousands of parsed feeds had waited).
    """
    if not requests_:
        return
    sessions: list[requests.Session] = []
    limiter = HostLimiter(options.per_host)
    environment = _Environment()
    # one pool a host for every thread (urllib3's pools are thread-safe), not one a thread:
    # a host's pool is made once, not for most requests, and a connection a host's server
    # kept open serves the next request there; the most recently used hosts' pools are kept
    pools = _Adapter(pool_connections=POOLS_PER_THREAD * options.concurrency,
                     pool_maxsize=options.per_host)  # fmt: skip

    def start_worker() -> None:
        _local.session = new_session(options, environment, pools)
        sessions.append(_local.session)

    def job(request: FetchRequest) -> T:
        return then(fetch_one(request, options, limiter=limiter))

    workers = min(options.concurrency, len(requests_))
    waiting = iter(_in_turns(requests_))
    try:
        with ThreadPoolExecutor(workers, "fetch", initializer=start_worker) as pool:
            finished: queue.SimpleQueue[Future[T]] = queue.SimpleQueue()

            def hand_over(count: int) -> None:
                for request in itertools.islice(waiting, count):
                    pool.submit(job, request).add_done_callback(finished.put)

            hand_over(2 * workers)
            for _ in requests_:
                try:
                    future = finished.get(timeout=IDLE_AFTER if idle is not None else None)
                except queue.Empty:
                    if idle is not None:
                        idle()
                    future = finished.get()
                hand_over(1)
                yield future.result()
    finally:
        for session in sessions:
            session.close()
