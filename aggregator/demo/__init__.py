"""`aggregator demo`: sample English, Dari and Pashto outlets served on a loopback server and run
through the real pipeline into a folder, so a newcomer sees the whole product without network.

The stories (`stories.yaml`) are dated relative to the moment the demo runs. Pictures are copied
into the output and their URLs point at `http://127.0.0.1:PORT/images/`, the address
`aggregator serve` previews the folder at (port 8000 unless it is taken).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ruamel.yaml import YAML

PREVIEW_PORT = 8000
HERE = resources.files(__package__)


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    format: str  # "rss", "atom" or "json"
    language: str
    category: str
    own: bool = False
    priority: int = 0


def _sample() -> tuple[list[Outlet], list[dict[str, Any]]]:
    data = YAML(typ="safe", pure=True).load((HERE / "stories.yaml").read_text(encoding="utf-8"))
    return [Outlet(**o) for o in data["outlets"]], data["items"]


def _link(outlet: str, slug: str) -> str:
    return f"https://{outlet}.example/news/{slug}"


def _item_fields(item: dict[str, Any], now: datetime, images: str) -> dict[str, Any]:
    summary = escape(item["summary"])
    body = f"<p>{summary}</p>"
    if "links_to" in item:
        target = item["links_to"]
        body += f'<p><a href="{_link(target["outlet"], target["slug"])}">Read the original</a></p>'
    return {
        "title": item["title"],
        "link": _link(item["outlet"], item["slug"]),
        "date": None if item.get("undated") else now - timedelta(hours=item["hours"]),
        "summary": item["summary"],
        "body": body,
        "image": f"{images}{item['image']}" if item.get("image") else None,
    }


def _rss(outlet: Outlet, items: list[dict[str, Any]]) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/"><channel>',
        f"<title>{escape(outlet.name)}</title><link>https://{outlet.slug}.example/</link>",
        f"<description>{escape(outlet.name)}</description><language>{outlet.language}</language>",
    ]
    for item in items:
        date = f"<pubDate>{format_datetime(item['date'])}</pubDate>" if item["date"] else ""
        image = (
            f'<media:content url={quoteattr(item["image"])} medium="image"/>'
            if item["image"]
            else ""
        )
        parts.append(
            f"<item><title>{escape(item['title'])}</title><link>{item['link']}</link>"
            f'<guid isPermaLink="true">{item["link"]}</guid>{date}'
            f"<description>{escape(item['summary'])}</description>"
            f"<content:encoded><![CDATA[{item['body']}]]></content:encoded>"
            f"{image}</item>"
        )
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def _atom(outlet: Outlet, items: list[dict[str, Any]], now: datetime) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">',
        f"<title>{escape(outlet.name)}</title><id>https://{outlet.slug}.example/</id>",
        f'<updated>{now.isoformat()}</updated><link href="https://{outlet.slug}.example/"/>',
    ]
    for item in items:
        date = item["date"] or now
        dated = f"<published>{date.isoformat()}</published>" if item["date"] else ""
        enclosure = (
            f'<link rel="enclosure" type="image/svg+xml" href={quoteattr(item["image"])}/>'
            if item["image"]
            else ""
        )
        parts.append(
            f"<entry><title>{escape(item['title'])}</title><id>{item['link']}</id>"
            f'<link rel="alternate" href="{item["link"]}"/>{enclosure}'
            f"{dated}<updated>{date.isoformat()}</updated>"
            f"<summary>{escape(item['summary'])}</summary>"
            f'<content type="html">{escape(item["body"])}</content></entry>'
        )
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


def _json(outlet: Outlet, items: list[dict[str, Any]]) -> bytes:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": outlet.name,
        "home_page_url": f"https://{outlet.slug}.example/",
        "language": outlet.language,
        "items": [
            {
                "id": item["link"],
                "url": item["link"],
                "title": item["title"],
                "summary": item["summary"],
                "content_html": item["body"],
                **({"date_published": item["date"].isoformat()} if item["date"] else {}),
                **({"image": item["image"]} if item["image"] else {}),
            }
            for item in items
        ],
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


KINDS = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "json": "application/feed+json",
}


def sample_feeds(
    now: datetime, images: str, as_of: datetime | None = None
) -> dict[str, tuple[bytes, str]]:
    """Each outlet's feed as (body, Content-Type), by path, dated relative to `now`, as it read
    at `as_of` (default `now`): without the items published later (undated ones come last)."""
    outlets, items = _sample()
    as_of = as_of or now
    fields = [_item_fields(i, now, images) | {"outlet": i["outlet"]} for i in items]
    shown = [f for f in fields if (f["date"] or now) <= as_of]
    feeds = {}
    for outlet in outlets:
        mine = [f for f in shown if f["outlet"] == outlet.slug]
        if outlet.format == "atom":
            body = _atom(outlet, mine, now)
        elif outlet.format == "json":
            body = _json(outlet, mine)
        else:
            body = _rss(outlet, mine)
        feeds[f"/feeds/{outlet.slug}"] = (body, KINDS[outlet.format])
    return feeds


def config_text(base_url: str) -> str:
    """The demo's feeds.yaml: the sample outlets at the loopback server."""
    outlets, _ = _sample()
    sources = [
        {
            "name": o.name,
            "url": f"{base_url}feeds/{o.slug}",
            "homepage": f"https://{o.slug}.example/",
            "language": o.language,
            "category": o.category,
            **({"own": True} if o.own else {}),
            **({"priority": o.priority} if o.priority else {}),
        }
        for o in outlets
    ]
    document = {
        "site": {
            "title": "AOP News - Daily Digest (demo)",
            "link": "https://www.aopnews.com/",
            "feed_url": base_url,
        },
        "sources": sources,
    }
    header = "# Written by `aggregator demo`: sample outlets served on a loopback server.\n"
    out = io.StringIO()
    YAML().dump(document, out)  # round-trip dumper: key order and Unicode kept
    return header + out.getvalue()


def free_port(preferred: int = PREVIEW_PORT) -> int:
    """`preferred` if nothing listens on it, else a port the system picks."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files from a folder without a log line per request."""

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(routes: dict[str, tuple[bytes, str]], folder: Path, port: int):  # noqa: ANN201
    """A loopback server answering `routes` and, for any other path, files under `folder`."""

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path in routes:
                body, kind = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def prepare(folder: Path, port: int) -> tuple[Path, str]:
    """Write the demo's feeds.yaml and copy its pictures into the output; (config, base URL)."""
    base = f"http://127.0.0.1:{port}/"
    folder.mkdir(parents=True, exist_ok=True)
    images = folder / "output" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for picture in (HERE / "images").iterdir():
        with resources.as_file(picture) as path:
            shutil.copyfile(path, images / picture.name)
    config = folder / "feeds.yaml"
    config.write_text(config_text(base), encoding="utf-8")
    return config, base
