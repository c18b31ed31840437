"""Benchmark a full `run` over N local feeds served with fixed latency.

Prints wall time, peak memory of this process (the parser worker processes, started from a
forkserver, are not counted) and the ratio to the time floor N x latency / parallel requests,
where parallel = min(concurrency, 2 x hosts) since the fetcher sends at most 2 requests to a
host. The feed servers run in their own process so their memory and CPU are not counted as ours.

    python bench/fetch_bench.py [--feeds 500] [--items 30] [--latency 0.1] [--concurrency 8]
                                [--hosts 50]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import yaml
from loopback import serve_on_loopback

from aggregator.config import load_config
from aggregator.pipeline import run
from aggregator.store import Store


def feed_xml(feed: int, items: int) -> bytes:
    start = datetime(2026, 11, 28, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example/</link>"
        "<description>bench</description>"
    ]
    for i in range(items):
        when = format_datetime(start - timedelta(minutes=feed + 7 * i))
        parts.append(
            f"<item><title>Outlet {feed} story {i}: officials in province {i % 34} said</title>"
            f"<link>https://outlet{feed}.example/{i}?utm_source=rss</link>"
            f"<guid>https://outlet{feed}.example/?p={i}</guid><pubDate>{when}</pubDate>"
            f"<description>Summary of story {i} from outlet {feed}.</description>"
            f"<content:encoded><![CDATA[<p>Body of story {i}.</p>"
            f"<script>x()</script><p>{'Lorem ipsum dolor sit amet. ' * 20}</p>]]>"
            "</content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(
    port_queue: multiprocessing.Queue, feeds: int, items: int, latency: float, hosts: int
) -> None:
    """Serve the feeds from `hosts` loopback addresses (127.0.0.1, .2, ...), one server each, as
    real sources live on many hosts and the fetcher allows only 2 requests per host."""
    bodies = {f"/feed/{n}": feed_xml(n, items) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)  # the simulated network latency being measured against
            body = bodies.get(self.path)
            if self.headers.get("If-None-Match") == f'"{self.path}"':
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", f'"{self.path}"')
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    port_queue.put(serve_on_loopback(Handler, hosts, backlog=256))
    threading.Event().wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hosts", type=int, default=50, help="loopback addresses serving feeds")
    args = parser.parse_args()

    ports: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(ports, args.feeds, args.items, args.latency, args.hosts), daemon=True
    )
    server.start()
    addresses = ports.get(timeout=60)
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            sources = [
                {
                    "name": f"Outlet {n}",
                    "url": "http://{}:{}/feed/{}".format(*addresses[n % len(addresses)], n),
                }
                for n in range(args.feeds)
            ]
            document = {
                "site": {"link": "https://www.aopnews.com/"},
                "defaults": {"timeout": 30, "concurrency": args.concurrency},
                "sources": sources,
            }
            (root / "feeds.yaml").write_text(yaml.safe_dump(document))
            config = load_config(root / "feeds.yaml")
            parallel = min(args.concurrency, 2 * args.hosts)  # at most 2 requests per host
            floor = args.feeds * args.latency / parallel
            print(
                f"feeds={args.feeds} items={args.items} latency={args.latency * 1000:.0f}ms "
                f"concurrency={args.concurrency} hosts={args.hosts} floor={floor:.2f}s"
            )
            for label in ("first run (200s)", "second run (304s)"):
                started = time.perf_counter()
                with Store(root / "aggregator.db") as store:
                    report = run(config, store, root / "output", force=True)
                wall = time.perf_counter() - started
                peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                print(
                    f"{label}: wall={wall:.2f}s ratio_to_floor={wall / floor:.2f} "
                    f"peak_rss={peak_mb:.0f}MB ok={report.sources_ok} "
                    f"failed={report.sources_failed} new_entries={report.new_entries} "
                    f"published={report.stories_published}"
                )
                if report.sources_failed:
                    failures = [r for r in report.results if r.failed][:3]
                    print("failures:", [(r.source, r.error) for r in failures], file=sys.stderr)
    finally:
        server.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
