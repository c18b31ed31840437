"""Shared fixtures: a real HTTP feed server on 127.0.0.1 and a temporary workspace."""

from __future__ import annotations

import contextlib
import functools
import gzip
import itertools
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
import yaml

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
VALIDATOR = Path(__file__).resolve().parents[2] / "shared" / "tools" / "validate-feed"


def validate_feeds(*files: Path | str) -> str:
    """The W3C Feed Validator's report on RSS and Atom files, asserting it ran and found no
    error in any of them."""
    env = {**os.environ, "FV_PY": sys.executable}
    done = subprocess.run(
        ["bash", str(VALIDATOR), *map(str, files)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": 0 error(s)") == len(files), done.stdout
    return done.stdout


def data_file(name: str) -> bytes:
    return (DATA / name).read_bytes()


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (timeouts, size caps, kept-alive sockets) are expected here."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    hang: float = 0.0
    trickle: float = 0.0  # seconds between body bytes
    trickle_headers: float = 0.0  # seconds between the bytes of the status line and headers
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    endless: bool = False  # chunked: the body sent again and again until the server stops
    also_valid: tuple[str, ...] = ()  # older ETags still answered with a 304 (and the new ETag)
    raw: bytes | None = None  # the whole answer, written as it is (status line and all)
    cookie: str = ""  # "name=value": without it, a 302 to the same path that sets it


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]
    port: int = 0  # the client's: one a connection


class FeedServer:
    """A threaded HTTP server with scripted routes and a log of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[Seen] = []
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.in_flight = 0
        self.max_in_flight = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.log.append(
                        Seen(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            self.client_address[1],
                        )
                    )
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server._arrived.notify_all()
                try:
                    self._answer()
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self) -> None:
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>")
                    return
                if route.raw is not None:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(route.raw)
                    self.close_connection = True
                    return
                if route.cookie and route.cookie not in self.headers.get("Cookie", ""):
                    headers = {"Set-Cookie": f"{route.cookie}; Path=/", "Location": self.path}
                    self._send(302, headers, b"")
                    return
                if route.hang:
                    server.release.wait(route.hang)
                validators = {}
                if route.etag:
                    validators["ETag"] = route.etag
                if route.last_modified:
                    validators["Last-Modified"] = route.last_modified
                inm = self.headers.get("If-None-Match")
                ims = self.headers.get("If-Modified-Since")
                if (route.etag and inm in (route.etag, *route.also_valid)) or (
                    route.last_modified and not route.etag and ims == route.last_modified
                ):
                    self._send(304, validators, b"")
                    return
                if route.trickle_headers:
                    self._trickle_headers(route)
                    return
                if route.trickle:
                    self._trickle(route)
                    return
                if route.chunked:
                    self._chunked(route)
                    return
                self._send(route.status, {**route.headers, **validators}, route.body)

            def _chunked(self, route: Route) -> None:
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    pieces = [route.body[at : at + 1000] for at in range(0, len(route.body), 1000)]
                    for piece in itertools.cycle(pieces) if route.endless else pieces:
                        if server.release.is_set():
                            break
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")

            def _trickle_headers(self, route: Route) -> None:
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(route.body)}\r\n"
                head += "X-Padding: " + "x" * 200 + "\r\n\r\n"
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for byte in head.encode() + route.body:
                        if server.release.wait(route.trickle_headers):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                self.close_connection = True

            def _trickle(self, route: Route) -> None:
                self.send_response(route.status)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for byte in route.body:
                        if server.release.wait(route.trickle):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes = b"", **kwargs: object) -> str:
        """Serve `body` at `path`; returns the full URL."""
        self.routes[path] = Route(body=body, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def feed(self, path: str, name: str, content_type: str = "application/rss+xml", **kw) -> str:
        """Serve a fixture file from tests/data."""
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        return self.add(path, data_file(name), headers=headers, **kw)

    def redirect(self, path: str, location: str, status: int = 301) -> str:
        return self.add(path, status=status, headers={"Location": location})

    def wait_for_request(self, path: str, timeout: float = 60) -> None:
        """Return once a request for `path` has arrived (it may still be being answered)."""
        with self._arrived:
            found = self._arrived.wait_for(lambda: any(s.path == path for s in self.log), timeout)
        assert found, f"no request for {path} within {timeout} s"

    def requests_to(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.log if seen.path == path]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if self.release.is_set():
            return
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    yield server
    server.stop()


@functools.cache
def gzip_bomb(decompressed_mb: int = 64) -> bytes:
    """A small gzip body that inflates to `decompressed_mb` MB of zeros."""
    return gzip.compress(b"\0" * (decompressed_mb * 1024 * 1024), compresslevel=9)


class Workspace:
    """A temporary project folder: feeds.yaml, database and output folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "feeds.yaml"
        self.db = root / "aggregator.db"
        self.output = root / "output"

    def write_config(self, sources: list[dict], **sections: dict) -> Path:
        document: dict[str, object] = {
            "site": {
                "title": "Test Digest",
                "link": "https://www.aopnews.com/",
                **sections.pop("site", {}),
            },
            "defaults": {"timeout": 2, "concurrency": 4, **sections.pop("defaults", {})},
            "sources": sources,
            **sections,
        }
        self.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        return self.config

    def args(self, command: str, *extra: str) -> list[str]:
        return [
            command,
            "--config",
            str(self.config),
            "--db",
            str(self.db),
            "--output",
            str(self.output),
            *extra,
        ]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


GOOD_SOURCES = 6  # sources in `serve_sources` that publish entries
URLS = 13  # distinct canonical URLs among their entries
STORIES = 12  # stories: Khaama's highway report joins AOP's (TOLOnews links AOP's URL too)


def serve_sources(server: FeedServer) -> list[dict]:
    """Fixture versions of the real sources, plus every kind of failure, served by `server`."""
    lm = "Sat, 28 Nov 2026 05:12:44 GMT"
    server.feed("/khaama/feed/", "khaama_wordpress.xml", etag='"kh-7"')
    server.redirect("/khaama/old-feed", "/khaama/feed/", status=301)
    return [
        {
            "name": "AOP News",
            "url": server.feed(
                "/aop/feed/", "aop_wordpress.xml", etag='W/"aop-1"', last_modified=lm
            ),
            "homepage": "https://www.aopnews.com/",
            "own": True,
            "category": "AOP News",
            "priority": 10,
        },
        {
            "name": "TOLOnews",
            "url": server.feed(
                "/tolo/rss.xml", "tolonews_atom.xml", "application/atom+xml", last_modified=lm
            ),
            "homepage": "https://tolonews.com/",
            "category": "Afghan media",
        },
        {
            "name": "TOLOnews Dari",
            "url": server.feed(
                "/tolo/fa/rss.xml",
                "tolonews_dari_cp1256.xml",
                "application/rss+xml; charset=windows-1256",
                etag='"fa-3"',
            ),
            "homepage": "https://tolonews.com/fa",
            "language": "fa",
            "category": "Dari",
        },
        {
            "name": "Zan Times",
            "url": server.feed("/zan/feed", "feedburner.xml", etag='"zan"'),
            "homepage": "https://zantimes.com/",
            "category": "Afghan media",
        },
        {
            "name": "Pajhwok",
            "url": server.feed("/pajhwok/feed/", "malformed.xml", "text/xml"),
            "homepage": "https://pajhwok.com/",
            "category": "Afghan media",
        },
        {
            "name": "Khaama Press",
            "url": server.url("/khaama/old-feed"),
            "homepage": "https://www.khaama.com/",
            "category": "Afghan media",
        },
        {
            "name": "Ariana News",
            "url": server.feed("/ariana/feed/", "page.html", "text/html; charset=utf-8"),
            "category": "Afghan media",
        },
        {"name": "Gone", "url": server.url("/gone/feed/"), "category": "Afghan media"},
        {
            "name": "Slow",
            "url": server.add("/slow/feed/", b"<rss/>", hang=30),
            "category": "Afghan media",
        },
        {
            "name": "Bomb",
            "url": server.add("/bomb/feed/", gzip_bomb(), headers={"Content-Encoding": "gzip"}),
            "category": "Afghan media",
        },
    ]


@pytest.fixture
def sources(feed_server: FeedServer, workspace: Workspace) -> list[dict]:
    """The fixture sources written into the workspace's feeds.yaml (timeout 1 s)."""
    entries = serve_sources(feed_server)
    workspace.write_config(entries, defaults={"timeout": 1, "concurrency": 4})
    return entries


def make_rss(
    title: str,
    items: list[dict[str, str]],
    ttl: str | None = None,
    language: str = "en",
) -> bytes:
    """A small RSS 2.0 document; each item gives title, link, guid, date (RFC 822) and body."""
    from xml.sax.saxutils import escape

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
        f"<title>{escape(title)}</title><link>https://example.af/</link>",
        f"<description>{escape(title)}</description><language>{language}</language>",
    ]
    if ttl is not None:
        parts.append(f"<ttl>{escape(ttl)}</ttl>")
    for item in items:
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{escape(item.get("guid", item["link"]))}</guid>'
            f"<pubDate>{item['date']}</pubDate>"
            f"<description>{escape(item.get('summary', item['title']))}</description>"
            f"<content:encoded><![CDATA[{item.get('body', '<p>' + item['title'] + '</p>')}]]>"
            "</content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


TLS_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


class _FeedOverTLS(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(TLS_FEED)))
        self.end_headers()
        self.wfile.write(TLS_FEED)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_feed(tmp_path, monkeypatch):
    """Serve TLS_FEED over TLS with a certificate `cert(ca, intermediate)` makes, this test's CA
    trusted as a system's would be: `tls_feed(cert, chain=False)` leaves the chain out."""
    ca = trustme.CA()
    ca.cert_pem.write_to_path(tmp_path / "ca.pem")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    servers = []

    def serve(make, chain: bool = True, host: str = "127.0.0.1") -> str:
        leaf = make(ca, ca.create_child_ca())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pems = leaf.cert_chain_pems if chain else leaf.cert_chain_pems[:1]
        (tmp_path / "chain.pem").write_bytes(b"".join(pem.bytes() for pem in pems))
        leaf.private_key_pem.write_to_path(tmp_path / "key.pem")
        context.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
        server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedOverTLS)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"https://{host}:{server.server_address[1]}/feed"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
