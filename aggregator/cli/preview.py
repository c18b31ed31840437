"""`demo` and `serve`: the whole product offline on sample feeds, and a local preview."""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import timedelta
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

from aggregator import demo, pipeline
from aggregator.cli.common import EXIT_FAILED, EXIT_OK, bounded, error
from aggregator.cli.cycle import print_result, summary
from aggregator.config import Config, load_config
from aggregator.lock import exclusive
from aggregator.store import Store


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    demo_p = commands.add_parser(
        "demo", help="sample feeds through the real pipeline, offline, into a folder"
    )
    demo_p.add_argument(
        "folder", nargs="?", type=Path, default=Path("aggregator-demo"),
        help="where the demo's feeds.yaml, database and output go (aggregator-demo)",
    )  # fmt: skip
    demo_p.set_defaults(handler=demo_command, needs_config=False)
    serve_p = commands.add_parser("serve", help="preview an output folder on 127.0.0.1")
    serve_p.add_argument("folder", nargs="?", type=Path, default=Path("output"))
    serve_p.add_argument(
        "--port",
        type=bounded(int, "a port number", 0, 65535),
        default=demo.PREVIEW_PORT,
        help="(8000; 0: any free one)",
    )
    serve_p.set_defaults(handler=serve_command, needs_config=False)


def demo_command(args: argparse.Namespace, _config: Config | None) -> int:
    folder: Path = args.folder
    port = demo.free_port()
    config_path, base = demo.prepare(folder, port)
    output, db = folder / "output", folder / "aggregator.db"
    now = pipeline.utcnow()
    yesterday = now - timedelta(days=1)
    routes = demo.sample_feeds(now, f"{base}images/", as_of=yesterday)
    config = load_config(config_path)
    with demo.serving(routes, output, port), exclusive(db, 60), Store(db) as store:
        pipeline.run(config, store, output, now=yesterday, force=True)  # yesterday's edition
        routes.update(demo.sample_feeds(now, f"{base}images/"))
        report = pipeline.run(config, store, output, now=now, on_result=print_result, force=True)
    print(summary(report, output))
    if report.publish_error:
        error(report.publish_error)
        return EXIT_FAILED
    print(f"\nopen {(output / 'index.html').resolve()}")
    print(f"or preview it as a site: aggregator serve {output} --port {port}  ->  {base}")
    return EXIT_OK


def serve_command(args: argparse.Namespace, _config: Config | None) -> int:
    folder: Path = args.folder
    if not (folder / "index.html").is_file():
        error(f"{folder} has no index.html: run `aggregator run` (or `aggregator demo`) first")
        return EXIT_FAILED
    handler = partial(demo.QuietHandler, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except OSError as exc:
        error(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}")
        return EXIT_FAILED
    server.daemon_threads = True

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    port = server.server_address[1]
    print(f"serving {folder} at http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("stopped", file=sys.stderr)
    return EXIT_OK
