"""Scale benchmark: aggregator and lemon24/reader on the same N synthetic sources, in one run.

    pip install reader          # once; the comparison is skipped (and said so) without it
    python bench/scale.py [--sources 5000] [--latency 0.1] [--hosts 50] [--concurrency 32]
                          [--ours-concurrency N] [--no-reader] [--write-results]

N WordPress-like sources (30 to 50 items of ~2 KB HTML written from a 20,000-word vocabulary
with news-like (Zipf) word frequencies; 10% of items are near-duplicate wire stories carried by
several sources; all inside the matching window) are served from a separate
process on `--hosts` loopback addresses with a fixed latency and ETags. Each program runs in
its own child process, three times on one database: cold (all 200), warm (all 304) and after
10% of the sources changed. For each run it prints wall time, CPU of the child and its workers,
the memory of the whole process tree at its peak (the sum of PSS, so pages the workers share
are counted once; sampled every 50 ms), the requests the server answered, the ratio to the floor
and, for ours, the time per stage. The floor is the network floor (N x latency /
min(concurrency, 2 x hosts): we send at most 2 requests to a host at once; reader has no such
limit, which only helps it) plus an lxml parse of the same bodies on all cores, each program at
its own concurrency. `--concurrency` is reader's workers, and ours too unless
`--ours-concurrency` gives ours another (0: its own default for these sources, by their hosts).
`--write-results` replaces the table in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import itertools
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from loopback import serve_on_loopback

HERE = Path(__file__).resolve().parent
SYLLABLES = [a + b for a in "bdfghklmnprstvz" for b in ("a", "e", "i", "o", "u", "ar", "an")]


def _vocabulary(size: int = 20_000) -> tuple[list[str], list[float]]:
    """Pseudo-words drawn as news words are: a Zipf distribution over a 20,000-word vocabulary."""
    rng = random.Random(3)
    words = sorted(
        {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(size)}
    )
    rng.shuffle(words)
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    cumulative, total = [], 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    return words, cumulative


WORDS, CUMULATIVE = _vocabulary()


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(WORDS, cum_weights=CUMULATIVE, k=count))


def _paragraphs() -> list[str]:
    rng = random.Random(7)
    return [_words(rng, 60) for _ in range(400)]


PARAGRAPHS = _paragraphs()
START = datetime.now(UTC).replace(microsecond=0)


def items_of(
    feed: int, version: int, steady: bool = False
) -> list[tuple[str, str, str, str, datetime]]:
    """(guid, link, title, html, published) of one source's items at one version. A changed
    source rewrites every item it had, unless `steady`: then it only adds its new items."""
    if steady and version:
        return items_of(feed, version)[: 3 * version] + items_of(feed, 0)
    rng = random.Random(feed * 1000 + version)
    count = 30 + feed % 21
    items = []
    for i in range(count + 3 * version):  # a changed source gains 3 items per version
        n = i - 3 * version  # new items get negative numbers: the newest first
        published = START - timedelta(minutes=(n + 3 * version) * 47 + feed % 60)
        if n % 10 == 0:  # a wire story, carried by ~10% of items across the sources
            wire = random.Random((feed // 7) * 31 + n)  # shared by 7 neighbouring sources
            title = f"{_words(wire, 7)} {rng.choice(['says', 'reports', 'confirms'])}"
            lede = _words(wire, 40)
        else:
            title = _words(rng, 8)
            lede = _words(rng, 40)
        body = "".join(f"<p>{PARAGRAPHS[(feed + n * 3 + k) % 400]}</p>" for k in range(4))
        link = f"https://outlet{feed}.example/{n}/"
        items.append((f"{link}?p", link, title, f"<p>{lede}</p>{body}", published))
    return items


def feed_xml(feed: int, version: int, steady: bool = False) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Outlet {feed}</title><link>https://outlet{feed}.example/</link>"
        "<description>scale bench</description><language>en</language>"
    ]
    for guid, link, title, html, published in items_of(feed, version, steady):
        parts.append(
            f"<item><title>{title}</title><link>{link}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{guid}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<description><![CDATA[{html[:300]}]]></description>"
            f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(
    ready: multiprocessing.Queue, sources: int, latency: float, hosts: int, steady: bool = False
) -> None:
    """Serve every source from `hosts` loopback addresses; `/__change` moves 10% of the
    sources to their next version (new items, new ETag; `steady`: the others as they were)."""
    versions = [0] * sources
    answered = [0, 0]  # 200s, 304s
    bodies: dict[int, bytes] = {n: feed_xml(n, 0) for n in range(sources)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/__count":
                body = json.dumps(answered).encode()
                answered[:] = [0, 0]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path == "/__change":
                for n in range(0, sources, 10):
                    versions[n] += 1
                    bodies[n] = feed_xml(n, versions[n], steady)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            time.sleep(latency)
            n = int(self.path.rsplit("/", 1)[1])
            etag = f'"{n}-{versions[n]}"'
            if self.headers.get("If-None-Match") == etag:
                answered[1] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = bodies[n]
            answered[0] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ready.put(serve_on_loopback(Handler, hosts, backlog=512))
    threading.Event().wait()


def urls(addresses: list[tuple[str, int]], sources: int) -> list[str]:
    return [
        "http://{}:{}/feed/{}".format(*addresses[n % len(addresses)], n) for n in range(sources)
    ]


# children: one program, one run, on a database that persists between runs


def child_ours(folder: Path, feed_urls: list[str], concurrency: int) -> dict:
    from aggregator.config import load_config
    from aggregator.pipeline import run
    from aggregator.store import Store

    config_path = folder / "feeds.yaml"
    if not config_path.exists():  # the cold run writes it: PyYAML is the bench's, not ours
        import yaml

        document = {
            "site": {"link": "https://www.aopnews.com/"},
            "defaults": {"timeout": 60, "max_items": 50}
            | ({"concurrency": concurrency} if concurrency else {}),
            "sources": [{"name": f"Outlet {n}", "url": u} for n, u in enumerate(feed_urls)],
        }
        config_path.write_text(yaml.safe_dump(document))
    config = load_config(config_path)
    with Store(folder / "aggregator.db") as store:
        report = run(config, store, folder / "output", force=True)
    return {
        "ok": report.sources_ok,
        "failed": report.sources_failed,
        "new": report.new_entries,
        "stages": report.stages,
        "errors": [r.error for r in report.results if r.failed][:3],
        "concurrency": config.concurrency,
    }


def child_reader(folder: Path, feed_urls: list[str], concurrency: int) -> dict:
    from reader import make_reader

    reader = make_reader(str(folder / "reader.sqlite"))
    for url in feed_urls:
        reader.add_feed(url, exist_ok=True)
    reader.update_feeds(workers=concurrency, scheduled=False)  # every feed, as ours with force
    counts = reader.get_entry_counts()
    errors = sum(1 for f in reader.get_feeds() if f.last_exception)
    reader.close()
    return {"entries": counts.total, "failed": errors, "concurrency": concurrency}


def measure(program: str, folder: Path, addresses: str, sources: int, concurrency: int) -> dict:
    """Run one child and measure wall, CPU of it and its workers, and the tree's peak RSS."""
    command = [sys.executable, __file__, "--child", program, str(folder), addresses,
               str(sources), str(concurrency)]  # fmt: skip
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0
    spent: dict[int, float] = {}  # CPU seconds of each descendant, as last seen
    done = threading.Event()

    def sample() -> None:
        """Every 50 ms each descendant's CPU (a worker's last figure before it exits), every
        250 ms the tree's memory: reading a large process's smaps_rollup takes milliseconds,
        and at every 50 ms the sampler took 6% of the two cores from the run it measured."""
        nonlocal peak
        for tick in itertools.count():
            if done.wait(0.05):
                break
            tree = descendants(child.pid)
            if tick % 5 == 0:
                peak = max(peak, sum(map(_pss, tree)))
            for pid in tree[1:]:
                spent[pid] = max(spent.get(pid, 0.0), _cpu(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = child.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise SystemExit(f"{program} failed (exit {child.returncode}); its output is above")
    result = json.loads(out.strip().splitlines()[-1])
    # the child's own CPU, as it reported it, and its workers' as sampled: the parser workers
    # are forked by a fork server, which does not wait for them, so RUSAGE_CHILDREN misses them
    cpu = result.pop("cpu_self") + sum(spent.values())
    return {"wall": wall, "cpu": cpu, "rss_mb": peak / 1024, **result}


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, parent, ...)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def _cpu(pid: int) -> float:
    """User and system CPU seconds a process has used so far, from /proc (0 if it is gone)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pss(pid: int) -> int:
    """Proportional set size in KB: resident memory with pages shared between processes (the
    workers forked from one server) divided among them, so the tree's sum counts each once."""
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/smaps_rollup") as rollup:
        for text in rollup:
            if text.startswith("Pss:"):
                return int(text.split()[1])
    return 0


def descendants(root: int) -> list[int]:
    """A process and all its descendants, the process first, from the kernel's lists of each
    thread's children (not a reading of every process in /proc)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(_children(pid))
    return found


def _children(pid: int) -> list[int]:
    """The processes that the threads of `pid` started (none if it is gone)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for thread in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{thread}/children") as f:
                kids += map(int, f.read().split())
    return kids


def _parse(body: bytes) -> int:
    from lxml import etree

    return len(etree.fromstring(body))


def parse_floor(sources: int) -> float:
    """An lxml parse of every body, on all cores."""
    bodies = [feed_xml(n, 0) for n in range(sources)]
    started = time.perf_counter()
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        pool.map(_parse, bodies, chunksize=16)
    return time.perf_counter() - started


def bench(sources: int, args: argparse.Namespace, with_reader: bool) -> list[dict]:
    ready: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(ready, sources, args.latency, args.hosts, args.steady), daemon=True
    )
    server.start()
    addresses = ready.get(timeout=600)
    encoded = json.dumps(addresses)
    parsing = parse_floor(sources)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
            programs = [("aggregator", Path(ours))]
            if with_reader:
                programs.insert(0, ("reader", Path(theirs)))
            control = "http://{}:{}/".format(*addresses[0])
            changed = "10% changed, 3 new" if args.steady else "10% changed"
            for phase in ("cold", "warm", changed):
                if phase == changed:
                    _get(control + "__change")
                for name, folder in programs:
                    _get(control + "__count")
                    asked = args.concurrency
                    if name == "aggregator" and args.ours_concurrency is not None:
                        asked = args.ours_concurrency
                    measured = measure(
                        "ours" if name == "aggregator" else "reader",
                        folder, encoded, sources, asked,
                    )  # fmt: skip
                    answered = json.loads(_get(control + "__count"))
                    network = sources * args.latency / min(measured["concurrency"], 2 * args.hosts)
                    floor = network + parsing
                    row = {"sources": sources, "program": name, "phase": phase, "floor": floor,
                           "network": network, "answered": answered, **measured}  # fmt: skip
                    rows.append(row)
                    print(line(row), flush=True)
    finally:
        server.terminate()
    return rows


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as answer:
        return answer.read()


def line(row: dict) -> str:
    text = (
        f"N={row['sources']:>5} {row['program']:<10} {row['phase']:<12} "
        f"wall {row['wall']:7.1f} s  cpu {row['cpu']:7.1f} s  pss {row['rss_mb']:6.0f} MB  "
        f"x floor {row['wall'] / row['floor']:5.2f} (floor {row['floor']:.1f} s, "
        f"network {row['network']:.1f} s at {row['concurrency']}); "
        f"server answered {row['answered'][0]} x 200, "
        f"{row['answered'][1]} x 304"
    )
    if row.get("stages"):
        text += "\n      stages: " + ", ".join(f"{k} {v:.1f}" for k, v in row["stages"].items())
    if row.get("failed"):
        text += f"\n      FAILED sources: {row['failed']} {row.get('errors', '')}"
    return text


def table(rows: list[dict]) -> str:
    lines = [
        "| N | program | concurrency | run | wall (s) | CPU (s) | peak memory, PSS (MB) | "
        "x floor | reader's wall / ours |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        theirs = next(
            (r for r in rows if r["program"] == "reader" and r["phase"] == row["phase"]
             and r["sources"] == row["sources"]),
            None,
        )  # fmt: skip
        versus = (
            f"{theirs['wall'] / row['wall']:.2f}"
            if theirs and row["program"] == "aggregator"
            else ""
        )
        lines.append(
            f"| {row['sources']:,} | {row['program']} | {row['concurrency']} | {row['phase']} | "
            f"{row['wall']:.1f} | "
            f"{row['cpu']:.1f} | {row['rss_mb']:.0f} | {row['wall'] / row['floor']:.2f} | "
            f"{versus} |"
        )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        program, folder, addresses, sources, concurrency = sys.argv[2:7]
        feed_urls = urls([tuple(a) for a in json.loads(addresses)], int(sources))
        run_child = child_ours if program == "ours" else child_reader
        result = run_child(Path(folder), feed_urls, int(concurrency))
        own = resource.getrusage(resource.RUSAGE_SELF)
        print(json.dumps(result | {"cpu_self": own.ru_utime + own.ru_stime}))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="+", default=[5000])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--ours-concurrency", type=int)
    parser.add_argument("--no-reader", action="store_true")
    parser.add_argument(
        "--steady",
        action="store_true",
        help="a changed source adds 3 items and keeps the others byte for byte, as real feeds "
        "do (by default it rewrites every item's title, date and lede)",
    )
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    if not Path(f"/proc/self/task/{threading.get_native_id()}/children").exists():
        parser.error(
            "this kernel lists no process's children in /proc (CONFIG_PROC_CHILDREN): "
            "the sampler could not see the workers, and would count none of their CPU"
        )
    try:
        import reader  # noqa: F401

        with_reader = not args.no_reader
    except ImportError:
        print("lemon24/reader is not installed (pip install reader): measuring ours only")
        with_reader = False
    # Both programs start from bytecode, as installed: pip compiled reader's, and ours may run
    # from a checkout where PYTHONDONTWRITEBYTECODE (set on this machine) keeps Python from
    # writing it, so that every child would compile our modules again (0.15 s a run).
    import aggregator

    compileall.compile_dir(Path(aggregator.__file__).parent, quiet=1)
    rows = [row for n in args.sources for row in bench(n, args, with_reader)]
    print()
    print(table(rows))
    if args.write_results:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d")
        (HERE / "RESULTS.md").write_text(
            f"# bench/scale.py results ({stamp}, this 2-core machine)\n\n"
            f"`python bench/scale.py {' '.join(sys.argv[1:])}`\n\n{table(rows)}\n",
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
