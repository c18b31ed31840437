"""Serve a benchmark's synthetic feeds from many loopback addresses, as many real sites would be."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve_on_loopback(
    handler: type[BaseHTTPRequestHandler], hosts: int, backlog: int
) -> list[tuple[str, int]]:
    """One threaded HTTP server on each of 127.0.0.1 .. 127.0.0.`hosts`, serving in daemon
    threads; their (address, port) pairs. The per-host request limit then works as on the web."""
    ThreadingHTTPServer.request_queue_size = backlog
    servers = [ThreadingHTTPServer((f"127.0.0.{h + 1}", 0), handler) for h in range(hosts)]
    for httpd in servers:
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return [(str(httpd.server_address[0]), int(httpd.server_address[1])) for httpd in servers]
