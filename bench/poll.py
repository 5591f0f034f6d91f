"""Benchmark: one poll cycle over 1,000 feeds on a local server, against feedparser.

(a) every feed answers 304 to the conditional GET: wall and CPU time of the whole cycle
    (``Pipeline.poll_all``: fetch, feed state read and written per feed);
(b) every feed has 20 new items of real size (the archive's articles, round-robin; about
    10 kB of HTML per item): items/s through fetch, parse, identity and store (the real
    ``Pipeline`` with a rule set that has no topics, a fresh SQLite store per round).

Baseline, in the same run, on the same server and feeds: a plain sequential loop of
``feedparser.parse(url)`` (with ``etag=`` for (a)). The baseline of (b) is time-boxed
(``--baseline-seconds``) and reported as items/s; a rate over a prefix of the feeds.

The server runs in its own process, so that its threads do not share our interpreter
lock and CPU figures are the client's alone. Only 127.0.0.1. Every feed is on that one
host, so the fetcher's per-host limit is raised to its global limit (as for 1,000 feeds
on many hosts). Documents are parsed as ``mediabot run`` parses them: in worker processes
(``bot.feeds.workers``), as many as it starts on this machine (``--parse-processes``);
the CPU figure of (b) is the main process's. Peak memory is the peak RSS of this process
after our runs (before the baseline's), plus each parser worker's: tracemalloc would slow
feedparser's many small allocations several-fold.

Usage: ``python bench/poll.py [--feeds 1000] [--rounds 3] [--concurrency 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import re
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import feedparser  # after the path tweak
import feedparser.html
import feedparser.mixin

from bot.feeds.fetch import Fetcher
from bot.feeds.workers import FeedParsers, default_processes
from bot.ingest.pipeline import Pipeline
from bot.rules.book import RuleBook, Rules
from bot.rules.match import compile_matcher
from bot.rules.model import FeedRule, RuleSet
from bot.store import Store

ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "archive" / "items.jsonl"
ITEMS_PER_FEED = 20
_PATH = re.compile(r"^/(m304|new)/(\d+)/(\d+)\.xml$")


# -- the server (its own process) ------------------------------------------------------


def _fragments() -> list[bytes]:
    """One RSS <item> per archive article, with a placeholder for a unique guid."""
    text = ARCHIVE.read_text(encoding="utf-8")
    # Records end only at "\n": bodies hold U+2028 and friends, which splitlines() splits at.
    records = [json.loads(line) for line in text.split("\n") if line.strip()]
    out = []
    for r in records:
        body = str(r.get("html") or "").replace("]]>", "]]]]><![CDATA[>")
        out.append(
            (
                f"<item><title>{escape(str(r.get('title') or 'untitled'))}</title>"
                f"<link>{escape(str(r.get('link') or 'https://example.com/'))}</link>"
                '<guid isPermaLink="false">@GUID@</guid>'
                "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>"
                f"<description><![CDATA[{body}]]></description></item>"
            ).encode()
        )
    return out


_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    b"<title>Bench feed</title><link>https://example.com/</link><description>b</description>"
)
_TAIL = b"</channel></rss>"


def _serve(port_out: Any, stop: Event) -> None:
    fragments = _fragments()
    small = _HEAD + fragments[0].replace(b"@GUID@", b"only") + _TAIL

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            m = _PATH.match(self.path)
            if m is None:
                self._reply(404, b"not found", {})
                return
            kind, rnd, n = m.group(1), int(m.group(2)), int(m.group(3))
            etag = f'"v{n}"'
            if kind == "m304":
                if self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", {"ETag": etag})
                else:
                    self._reply(200, small, {"ETag": etag})
                return
            start = n * ITEMS_PER_FEED
            items = [
                fragments[(start + k) % len(fragments)].replace(
                    b"@GUID@", f"r{rnd}-f{n}-{k}".encode()
                )
                for k in range(ITEMS_PER_FEED)
            ]
            self._reply(200, _HEAD + b"".join(items) + _TAIL, {})

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            for k, v in headers.items():
                self.send_header(k, v)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    import threading

    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}).start()
    stop.wait(timeout=3600)  # bounded: never outlives an hour
    server.shutdown()


# -- measurements -------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    cpu: float
    items: int = 0

    @property
    def rate(self) -> float:
        return self.items / self.wall if self.wall else 0.0


def _measure(fn: Callable[[], int]) -> Run:
    wall, cpu = time.perf_counter(), time.process_time()
    items = fn()
    return Run(time.perf_counter() - wall, time.process_time() - cpu, items)


def _feeds(base: str, kind: str, rnd: int, count: int) -> list[FeedRule]:
    return [
        FeedRule(id=f"f{n}", url=f"{base}/{kind}/{rnd}/{n}.xml", interval=600) for n in range(count)
    ]


def _pipeline(
    store: Store, fetcher: Fetcher, feeds: list[FeedRule], parsers: FeedParsers
) -> Pipeline:
    rules = RuleSet(feeds=tuple(feeds))
    book = RuleBook(rules, compile_matcher(rules), "b")
    return Pipeline(store=store, fetcher=fetcher, rules=Rules(book), parsers=parsers)


async def _poll(store: Store, feeds: list[FeedRule], concurrency: int, parsers: FeedParsers) -> int:
    async with Fetcher(
        allow_private_networks=True,
        max_concurrency=concurrency,
        per_host_concurrency=concurrency,
    ) as fetcher:
        # Not on schedule: every feed is fetched, however recently it was.
        reports = await _pipeline(store, fetcher, feeds, parsers).poll_all(on_schedule=False)
    failed = [r for r in reports if not r.ok or r.skipped]
    if failed:
        raise SystemExit(f"{len(failed)} feeds failed or skipped, e.g. {failed[0]}")
    return sum(r.new_items for r in reports)


def not_modified_cycle(
    base: str, feeds: int, rounds: int, concurrency: int, parsers: FeedParsers
) -> list[Run]:
    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/b.db") as store:
        store.migrate()
        rules = _feeds(base, "m304", 0, feeds)
        asyncio.run(_poll(store, rules, concurrency, parsers))  # first poll: 200 and the ETags
        return [
            _measure(lambda: asyncio.run(_poll(store, rules, concurrency, parsers)))
            for _ in range(rounds)
        ]


def new_items_cycle(
    base: str, feeds: int, rounds: int, concurrency: int, parsers: FeedParsers
) -> list[Run]:
    runs = []
    for rnd in range(1, rounds + 1):
        with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{tmp}/b.db") as store:
            store.migrate()
            rules = _feeds(base, "new", rnd, feeds)

            def cycle(store: Store = store, rules: list[FeedRule] = rules) -> int:
                return asyncio.run(_poll(store, rules, concurrency, parsers))

            runs.append(_measure(cycle))
    return runs


@contextmanager
def feedparser_as_shipped() -> Iterator[None]:
    """feedparser without the faster Windows-1252 repair ``bot.feeds.feedparser_tuning``
    gives it (its table, and its ``pop`` that repairs only text with a C1 control): the
    baseline is feedparser as a user installs it."""
    mixin = feedparser.mixin._FeedParserMixin
    table, pop = feedparser.mixin._cp1252, mixin.pop
    feedparser.mixin._cp1252 = feedparser.html._cp1252
    mixin.pop = getattr(pop, "__wrapped__", pop)
    try:
        yield
    finally:
        feedparser.mixin._cp1252, mixin.pop = table, pop


def baseline_not_modified(base: str, feeds: int) -> Run:
    urls = [f"{base}/m304/0/{n}.xml" for n in range(feeds)]

    def loop() -> int:
        for n, url in enumerate(urls):
            result = feedparser.parse(url, etag=f'"v{n}"')
            if result.get("status") != 304:
                raise SystemExit(f"baseline: expected 304, got {result.get('status')}")
        return 0

    return _measure(loop)


def baseline_new_items(base: str, feeds: int, rnd: int, seconds: float) -> Run:
    def loop() -> int:
        items, deadline = 0, time.perf_counter() + seconds
        for n in range(feeds):
            items += len(feedparser.parse(f"{base}/new/{rnd}/{n}.xml").entries)
            if time.perf_counter() > deadline:
                break
        return items

    return _measure(loop)


def _workers_peak_mb() -> list[float]:
    """Peak RSS of each live parser worker (Linux ``/proc``), in MB."""
    out = []
    for child in multiprocessing.active_children():
        status = Path(f"/proc/{child.pid}/status")
        if child.name == "mediabot-feed-parser" and status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]) / 1024)
    return out


def _median(runs: list[Run], key: Callable[[Run], float]) -> float:
    return statistics.median(key(r) for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument(
        "--parse-processes",
        type=int,
        default=default_processes(),
        help="feed parser worker processes (default: as mediabot run on this machine)",
    )
    args = parser.parse_args()
    feeds, rounds = max(1, min(args.feeds, 5000)), max(1, min(args.rounds, 10))
    logging.disable(logging.INFO)
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve, args=(ports, stop), daemon=True)
    server.start()
    try:
        base = f"http://127.0.0.1:{ports.get(timeout=60)}"
        parsers = FeedParsers(max(0, args.parse_processes))
        try:
            report(base, feeds, rounds, args.concurrency, args.baseline_seconds, parsers)
        finally:
            parsers.close()
    finally:
        stop.set()
        server.join(timeout=10)


def report(
    base: str, feeds: int, rounds: int, concurrency: int, box: float, parsers: FeedParsers
) -> None:
    print(
        f"feeds: {feeds}, rounds: {rounds}, fetch concurrency: {concurrency}, "
        f"parser processes: {parsers.processes}"
    )
    a = not_modified_cycle(base, feeds, rounds, concurrency, parsers)
    b = new_items_cycle(base, feeds, rounds, concurrency, parsers)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    workers_rss = _workers_peak_mb()
    with feedparser_as_shipped():
        a_base = baseline_not_modified(base, feeds)
        b_base = baseline_new_items(base, feeds, rounds + 1, box)
    a_wall, a_cpu = _median(a, lambda r: r.wall), _median(a, lambda r: r.cpu)
    b_rate, b_cpu = _median(b, lambda r: r.rate), _median(b, lambda r: r.cpu)
    print("\n(a) every feed answers 304: one poll cycle (median of rounds)")
    print(f"  mediabot  wall {a_wall:6.2f} s  cpu {a_cpu:6.2f} s")
    print(f"  baseline  wall {a_base.wall:6.2f} s  cpu {a_base.cpu:6.2f} s  (sequential)")
    print(f"  ratio     wall x{a_base.wall / a_wall:.1f}   target: under 10 s wall")
    print(f"\n(b) {ITEMS_PER_FEED} new items per feed: items/s (median of rounds)")
    print(f"  mediabot  {b_rate:8.0f} items/s  ({b[0].items} items, main cpu {b_cpu:.1f} s/round)")
    print(f"  baseline  {b_base.rate:8.0f} items/s  ({b_base.items} items in {b_base.wall:.1f} s)")
    print(f"  ratio     x{b_rate / b_base.rate:.1f}   target: x5 or more")
    print(
        f"\npeak RSS of the poller {peak_rss + sum(workers_rss):.0f} MB: main {peak_rss:.0f} MB"
        + "".join(f" + worker {mb:.0f} MB" for mb in workers_rss)
        + " (after (a) and (b), before the baseline)"
    )
    print("  target: 300 MB or less")


if __name__ == "__main__":
    main()
