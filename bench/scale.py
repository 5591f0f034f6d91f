"""Benchmark: scale-out of the poller role on PostgreSQL, 1, 2 and 4 processes (DESIGN §9).

10,000 feeds (``--feeds``) are served from loopback by a small asyncio HTTP server in its
own process, with ETags: a feed whose document did not change answers 304 to
``If-None-Match``. Round 0, the warm-up, polls every feed once (every document new, 3
small items) with the largest poller count, on a template database; its rate is printed
for reference only. Then, for each count of ``--pollers``, a fresh database is copied
from the template, that many pollers (``python -m bot run --role poller``) start on it,
and each measured round is a burst: 20% of the documents change (3 new small items each;
the same feeds in every configuration), every feed becomes due at once (``UPDATE
feed_state SET next_poll_not_before = NULL``), and the round lasts from that update's
database time until the database shows every feed's ``last_poll`` past it (read every
0.1 s; the 1 s tick that notices the due feeds is part of the round). Printed: polls/s,
min/median/max over ``--rounds``, the ratio of the medians to the first count, and the
CPU each process tree used per poll (pollers with their parser workers, the feed server,
PostgreSQL when it runs on this machine; from ``/proc``).

Correctness at the same time: the server counts requests per feed; in every round each
feed must be fetched exactly once (80% answered 304, 20% 200), none between rounds, and
no feed may end a round failing.

Lease overhead: one poller in this process (``bot.service.app.App``, poller role, the same
settings) polls one measured round on its own copy, with timers around the lease
operations: ``Store.lease_due`` as the ticker calls it (in batches of what fits) and the
fence that checks and ends the lease inside the poll's write (``leases.release``);
against the time of a whole poll (``Pipeline.poll_feed``, call to return). Printed in ms
per poll, and as a share of a poll's time with its lease.

Baseline: one poller process, the embedded deployment's single poller moved to
PostgreSQL. On one machine the pollers share its cores with the feed server and
PostgreSQL (the core count and load average are printed): the ratio says what the leases
let processes add on this machine, not what separate machines would give. Every feed is
on one host, so the per-host limit is raised to the global one (as for feeds on many
hosts). The default run takes about 11 minutes on 2 cores.

Usage: ``python bench/scale.py [--feeds 10000] [--pollers 1,2,4] [--rounds 3]
[--url postgresql+psycopg://user@host:port/db]`` (default: $MEDIABOT_TEST_POSTGRES_URL,
else a throwaway cluster from ``.ci/postgres``). Its databases are created beside the
URL's and dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, text  # after the path tweak
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.config.settings import Settings
from bot.service.app import App
from bot.store import Store, leases

ROOT = Path(__file__).resolve().parents[1]

CHANGED = 0.2  # the share of documents that change before each measured round
ITEMS_PER_CHANGE = 3
ITEMS_KEPT = 10  # a document lists its newest items only
ROUND_TIMEOUT = 600.0
TEMPLATE = "bench_scale_template"  # the database after round 0, copied per configuration

# -- the feed server (its own process) ------------------------------------------------------


class Documents:
    """Feed n's document at each round: its version is the number of rounds (1..r) whose
    changed set holds it; the changed sets are the same in every configuration."""

    def __init__(self, feeds: int, rounds: int) -> None:
        self.feeds = feeds
        self.changed = [set[int]()] + [
            set(random.Random(k).sample(range(feeds), round(feeds * CHANGED)))
            for k in range(1, rounds + 1)
        ]
        self.versions = [0] * feeds
        self.cache: dict[int, tuple[int, bytes]] = {}
        self.requests = [0] * feeds
        self.statuses: Counter[int] = Counter()

    def set_round(self, r: int) -> None:
        self.versions = [
            sum(n in self.changed[k] for k in range(1, r + 1)) for n in range(self.feeds)
        ]

    def counts(self) -> dict[str, Any]:
        """Requests per feed and per status since the last call."""
        out = {"requests": self.requests, "statuses": dict(self.statuses)}
        self.requests, self.statuses = [0] * self.feeds, Counter()
        return out

    def answer(self, n: int, if_none_match: str | None) -> tuple[int, bytes, str]:
        version = self.versions[n]
        etag = f'"{n}-{version}"'
        self.requests[n] += 1
        status = 304 if if_none_match == etag else 200
        self.statuses[status] += 1
        return status, b"" if status == 304 else self._document(n, version), etag

    def _document(self, n: int, version: int) -> bytes:
        cached = self.cache.get(n)
        if cached is not None and cached[0] == version:
            return cached[1]
        items = [
            f"<item><title>Story {n}.{v}.{k} about harbour works</title>"
            f"<link>https://example.com/f{n}/{v}/{k}</link><guid>f{n}-v{v}-{k}</guid>"
            "<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate><description>&lt;p&gt;The council "
            f"approved item {k} of plan {v} for district {n}; work starts next month and "
            "should last a year, officials said.&lt;/p&gt;</description></item>"
            for v in range(version, -1, -1)
            for k in range(ITEMS_PER_CHANGE)
        ][:ITEMS_KEPT]
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {n}</title><link>https://example.com/f{n}</link>"
            f"<description>bench</description>{''.join(items)}</channel></rss>"
        ).encode()
        self.cache[n] = (version, body)
        return body


async def _client(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, docs: Documents
) -> None:
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            etag = next(
                (
                    h.split(":", 1)[1].strip()
                    for h in head[1:]
                    if h.lower().startswith("if-none-match:")
                ),
                None,
            )
            if path.startswith("/f/"):
                status, body, tag = docs.answer(int(path[3:].removesuffix(".xml")), etag)
                extra = f"ETag: {tag}\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
            elif path.startswith("/_round/"):
                docs.set_round(int(path[8:]))
                status, body, extra = 200, b"{}", ""
            elif path == "/_counts":
                status, body, extra = 200, json.dumps(docs.counts()).encode(), ""
            else:
                status, body, extra = 404, b"", ""
            reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
            length = "" if status == 304 else f"Content-Length: {len(body)}\r\n"
            writer.write(f"HTTP/1.1 {status} {reason}\r\n{extra}{length}\r\n".encode() + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(feeds: int, rounds: int, port_out: Any, stop: Event) -> None:
    async def main() -> None:
        docs = Documents(feeds, rounds)
        server = await asyncio.start_server(
            lambda r, w: _client(r, w, docs), "127.0.0.1", 0, backlog=1024
        )
        port_out.put(server.sockets[0].getsockname()[1])
        # bounded: never outlives an hour
        await asyncio.to_thread(stop.wait, 3600)
        server.close()

    asyncio.run(main())


@dataclass
class FeedServer:
    base: str
    pid: int

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=30) as reply:  # noqa: S310 -- our loopback server
            return json.loads(reply.read())

    def set_round(self, r: int) -> None:
        self._get(f"/_round/{r}")

    def counts(self) -> tuple[list[int], dict[str, int]]:
        got = self._get("/_counts")
        return got["requests"], got["statuses"]


@contextmanager
def feed_server(feeds: int, rounds: int) -> Iterator[FeedServer]:
    context = multiprocessing.get_context("spawn")
    ports, stop = context.Queue(), context.Event()
    process = context.Process(target=_serve, args=(feeds, rounds, ports, stop), daemon=True)
    process.start()
    try:
        assert process.pid is not None
        yield FeedServer(f"http://127.0.0.1:{ports.get(timeout=60)}", process.pid)
    finally:
        stop.set()
        process.join(timeout=10)


# -- PostgreSQL ------------------------------------------------------------------------------


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """The given server, or a throwaway cluster for the run."""
    if url:
        yield url
        return
    script = str(ROOT / ".ci" / "postgres")
    start = ["bash", script, "start"]
    out = subprocess.run(  # noqa: S603 -- bash runs our own script
        start, capture_output=True, text=True, check=True
    )
    env = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines())
    try:
        yield env["MEDIABOT_TEST_POSTGRES_URL"].strip("'")
    finally:
        stop = ["bash", script, "stop", env["PGCLUSTER_DIR"].strip("'")]
        subprocess.run(stop, check=False)  # noqa: S603 -- our own script


class Databases:
    """Databases beside the URL's, created per configuration and dropped at the end."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = create_engine(self.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def create(self, name: str, template: str | None = None) -> str:
        self.drop(name)
        like = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}{like}"))
        self.made.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    def close(self) -> None:
        for name in self.made:
            self.drop(name)
        self.admin.dispose()


def engine_for(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


# -- CPU time, from /proc -----------------------------------------------------------------


@dataclass
class Cpu:
    """CPU seconds used by process trees of this machine (Linux ``/proc``): each root with
    its descendants, live or ended, but for the other roots' trees."""

    roots: dict[str, list[int]]

    def read(self) -> dict[str, float]:
        stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, own + ended children)
        tick = os.sysconf("SC_CLK_TCK")
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:  # ended meanwhile
                    continue
                used = sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime
                stats[int(entry.name)] = (int(fields[1]), used)
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in stats.items():
            children.setdefault(parent, []).append(pid)

        roots = {pid for pids in self.roots.values() for pid in pids}

        def tree(pid: int) -> float:  # another root's tree is not this one's
            own = stats[pid][1] if pid in stats else 0.0
            return own + sum(tree(c) for c in children.get(pid, ()) if c not in roots)

        return {name: sum(tree(pid) for pid in pids) for name, pids in self.roots.items()}

    def with_roots(self, **roots: list[int]) -> Cpu:
        return Cpu(self.roots | roots)


def postmaster(engine: Engine) -> list[int]:
    """PostgreSQL's main process when it runs on this machine (then its backends are its
    children), else nothing."""
    with engine.connect() as conn:  # read while the backend lives
        backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        try:
            stat = Path(f"/proc/{backend}/stat").read_text()
        except OSError:
            return []
    return [int(stat.rsplit(")", 1)[1].split()[1])] if "postgres" in stat else []


# -- rounds ------------------------------------------------------------------------------


@dataclass
class Round:
    polls: int
    seconds: float
    statuses: dict[str, int]
    twice: int  # feeds fetched more than once
    missed: int  # feeds not fetched
    between: int  # requests while no feed was due
    failing: int  # feeds whose last poll failed
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process tree

    @property
    def rate(self) -> float:
        return self.polls / self.seconds


def wait_polled(engine: Engine, since: datetime, feeds: int) -> datetime:
    """The database time at which every feed's last poll is past ``since``."""
    deadline = time.monotonic() + ROUND_TIMEOUT
    query = text(
        "SELECT count(*) FILTER (WHERE last_poll > :since), clock_timestamp() FROM feed_state"
    )
    with engine.connect() as conn:  # one connection: the pollers' new ones are counted
        while True:
            done, at = conn.execute(query, {"since": since}).one()
            conn.rollback()
            if done >= feeds:
                return at  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise SystemExit(f"round timed out: {done}/{feeds} feeds polled")
            time.sleep(0.1)


def measured_round(engine: Engine, server: FeedServer, r: int, feeds: int, cpu: Cpu) -> Round:
    between = sum(server.counts()[0])
    server.set_round(r)
    before = cpu.read()
    with engine.begin() as conn:
        since = conn.execute(text("SELECT now()")).scalar_one()
        conn.execute(text("UPDATE feed_state SET next_poll_not_before = NULL WHERE active"))
    end = wait_polled(engine, since, feeds)
    used = {k: v - before[k] for k, v in cpu.read().items()}
    done = finish(engine, server, feeds, (end - since).total_seconds(), between)
    done.cpu = used
    return done


def finish(engine: Engine, server: FeedServer, feeds: int, seconds: float, between: int) -> Round:
    requests, statuses = server.counts()
    with engine.connect() as conn:
        failing = conn.execute(
            text("SELECT count(*) FROM feed_state WHERE consecutive_errors > 0")
        ).scalar_one()
    return Round(
        polls=feeds,
        seconds=seconds,
        statuses=statuses,
        twice=sum(n > 1 for n in requests),
        missed=sum(n == 0 for n in requests),
        between=between,
        failing=failing,
    )


def write_rules(folder: Path, base: str, feeds: int) -> Path:
    rules = folder / "rules"
    rules.mkdir()
    lines = [f"  - id: f{n}\n    url: {base}/f/{n}.xml\n    interval: 1d\n" for n in range(feeds)]
    (rules / "feeds.yaml").write_text("feeds:\n" + "".join(lines), encoding="utf-8")
    return rules


@dataclass
class Config:
    rules: Path
    feeds: int
    concurrency: int
    parse_processes: int | None

    def env(self, url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIABOT_")}
        env |= {
            "MEDIABOT_DATABASE_URL": url,
            "MEDIABOT_RULES_DIR": str(self.rules),
            "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIABOT_MAX_CONCURRENCY": str(self.concurrency),
            "MEDIABOT_PER_HOST_CONCURRENCY": str(self.concurrency),
            "PYTHONPATH": str(ROOT),
        }
        if self.parse_processes is not None:
            env["MEDIABOT_PARSE_PROCESSES"] = str(self.parse_processes)
        return env

    def settings(self, url: str) -> Settings:
        values: dict[str, Any] = {
            k.removeprefix("MEDIABOT_").lower(): v
            for k, v in self.env(url).items()
            if k.startswith("MEDIABOT_")
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# -- pollers in their own processes --------------------------------------------------------


@contextmanager
def pollers(count: int, config: Config, url: str) -> Iterator[list[int]]:
    procs, logs = [], config.rules.parent
    names = [logs / f"{make_url(url).database}-{n}.log" for n in range(count)]
    for name in names:
        with name.open("w") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "run", "--role", "poller"],
                    cwd=logs,
                    env=config.env(url),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    engine = engine_for(url)
    try:
        try:
            wait_ready(engine, {p.pid for p in procs}, lambda: all(p.poll() is None for p in procs))
        except SystemExit:
            for name in names:
                print(f"--- {name.name}\n{name.read_text(errors='replace')[-3000:]}")
            raise
        yield [p.pid for p in procs]
    finally:
        engine.dispose()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def scale_out(
    count: int, config: Config, dbs: Databases, server: FeedServer, rounds: int, cpu: Cpu
) -> list[Round]:
    url = dbs.create(f"bench_scale_p{count}", template=TEMPLATE)
    engine = engine_for(url)
    try:
        with pollers(count, config, url) as pids:
            cpu = cpu.with_roots(pollers=pids)
            return [
                measured_round(engine, server, r, config.feeds, cpu) for r in range(1, rounds + 1)
            ]
    finally:
        engine.dispose()
        dbs.drop(f"bench_scale_p{count}")


# -- one poller in this process, timed -------------------------------------------------------


@dataclass
class Timers:
    lease: list[tuple[float, int]] = field(default_factory=list)  # (seconds, feeds leased)
    fence: list[float] = field(default_factory=list)
    poll: list[float] = field(default_factory=list)

    def clear(self) -> None:
        self.lease.clear()
        self.fence.clear()
        self.poll.clear()


def timed(app: App, timers: Timers) -> Callable[[], None]:
    """Time the lease operations and whole polls of ``app``; the undo."""
    lease_due, poll_feed, release = app.store.lease_due, app.pipeline.poll_feed, leases.release

    @wraps(lease_due)
    def timed_lease(*args: Any, **kwargs: Any) -> tuple[datetime, list[str]]:
        t = time.perf_counter()
        at, ids = lease_due(*args, **kwargs)
        timers.lease.append((time.perf_counter() - t, len(ids)))
        return at, ids

    @wraps(release)
    def timed_release(*args: Any, **kwargs: Any) -> bool:
        t = time.perf_counter()
        try:
            return release(*args, **kwargs)
        finally:
            timers.fence.append(time.perf_counter() - t)

    @wraps(poll_feed)
    async def timed_poll(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await poll_feed(*args, **kwargs)
        finally:
            timers.poll.append(time.perf_counter() - t)

    app.store.lease_due = timed_lease  # type: ignore[method-assign]
    app.pipeline.poll_feed = timed_poll  # type: ignore[method-assign]
    leases.release = timed_release

    def undo() -> None:
        leases.release = release

    return undo


def wait_ready(engine: Engine, pids: set[int], alive: Callable[[], bool]) -> None:
    """Until each process has beaten once (it does after syncing its feeds)."""
    deadline = time.monotonic() + 120
    while True:
        with engine.connect() as conn:
            if pids <= set(conn.execute(text("SELECT pid FROM processes")).scalars()):
                return
        if time.monotonic() > deadline or not alive():
            raise SystemExit("a poller did not start (see its log)")
        time.sleep(0.2)


def warm_up(count: int, config: Config, dbs: Databases, server: FeedServer) -> Round:
    """Round 0 on the template database, every feed new: from the first lease to the last
    write."""
    url = dbs.create(TEMPLATE)
    with Store(url) as store:
        store.migrate()
    engine = engine_for(url)
    try:
        with pollers(count, config, url):
            end = wait_polled(engine, datetime.fromtimestamp(0, UTC), config.feeds)
        with engine.connect() as conn:
            first = conn.execute(text("SELECT min(last_poll) FROM feed_state")).scalar_one()
        return finish(engine, server, config.feeds, (end - first).total_seconds(), 0)
    finally:
        engine.dispose()


async def timed_poller(
    config: Config, url: str, server: FeedServer, rounds: int, cpu: Cpu, timers: Timers
) -> list[Round]:
    """One poller in this process, timed, for measured rounds 1..``rounds``."""
    engine, feeds = engine_for(url), config.feeds
    cpu = cpu.with_roots(pollers=[os.getpid()])
    app = App(config.settings(url), roles=("poller",))
    undo = timed(app, timers)
    stop = asyncio.Event()
    service = asyncio.create_task(app.run(stop))
    try:
        await asyncio.to_thread(wait_ready, engine, {os.getpid()}, lambda: not service.done())
        return [
            await asyncio.to_thread(measured_round, engine, server, r, feeds, cpu)
            for r in range(1, rounds + 1)
        ]
    finally:
        stop.set()
        await service
        await app.aclose()
        undo()
        engine.dispose()


# -- the report ------------------------------------------------------------------------------


def summary(rounds: list[Round]) -> str:
    rates = [r.rate for r in rounds]
    return (
        f"{statistics.median(rates):7.0f} polls/s  (min {min(rates):.0f}, max {max(rates):.0f}; "
        f"{len(rates)} rounds of {rounds[0].polls} polls, "
        f"{statistics.median(r.seconds for r in rounds):.1f} s each)"
    )


def checks(rounds: list[Round]) -> str:
    statuses: Counter[str] = Counter()
    for r in rounds:
        statuses.update(r.statuses)
    bad = sum(r.twice + r.missed + r.between + r.failing for r in rounds)
    return (
        f"{'OK' if not bad else 'FAILED'}: fetched twice {sum(r.twice for r in rounds)}, "
        f"missed {sum(r.missed for r in rounds)}, between rounds {sum(r.between for r in rounds)}, "
        f"failing {sum(r.failing for r in rounds)}; answers "
        + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
    )


def cpu_per_poll(rounds: list[Round]) -> str:
    """CPU ms per poll of each process tree, medians of rounds; the ceiling their sum puts
    on this machine's cores."""
    names = list(rounds[0].cpu)
    ms = {n: statistics.median(1000 * r.cpu[n] / r.polls for r in rounds) for n in names}
    total = sum(ms.values())
    parts = ", ".join(f"{n} {v:.1f}" for n, v in ms.items())
    return (
        f"CPU ms per poll: {parts}; total {total:.1f} "
        f"(all {os.cpu_count()} cores busy: {1000 * (os.cpu_count() or 1) / total:.0f} polls/s)"
    )


@dataclass
class Alone:
    batch: int
    calls: int
    lease_s: float
    fence_s: float
    postgres_s: float  # PostgreSQL's CPU for the leases


def lease_alone(url: str, feeds: int, batch: int, cpu: Cpu) -> Alone:
    """Every feed due, leased ``batch`` at a time, then each lease checked and ended as the
    poll's write does (one statement in an open transaction): one call at a time, with
    nothing else running."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE feed_state SET next_poll_not_before = NULL"))
        with Store(url) as store:
            store.feed_state("f0")  # a connection to reuse
            before, calls, ids = cpu.read(), 0, list[str]()
            started = time.perf_counter()
            while got := store.lease_due("bench", batch, 300.0)[1]:
                calls, ids = calls + 1, ids + got
            lease_s = time.perf_counter() - started
            postgres_s = cpu.read()["PostgreSQL"] - before["PostgreSQL"]
        with engine.begin() as conn:
            started = time.perf_counter()
            for feed_id in ids:
                leases.release(conn, feed_id, "bench")
            fence_s = time.perf_counter() - started
    finally:
        engine.dispose()
    if len(ids) != feeds:
        raise SystemExit(f"leased {len(ids)} of {feeds} feeds")
    return Alone(batch, calls, lease_s, fence_s, postgres_s)


def overhead(timers: Timers, alone: Alone, feeds: int, poll_cpu_ms: float) -> None:
    polls = len(timers.poll)
    lease_s = sum(s for s, _ in timers.lease)
    calls = sum(1 for _, n in timers.lease if n)
    lease_ms, fence_ms = 1000 * lease_s / polls, 1000 * sum(timers.fence) / polls
    poll_ms = 1000 * statistics.mean(timers.poll)
    share = (lease_ms + fence_ms) / (lease_ms + poll_ms)
    print(
        f"  under load: lease_due {lease_ms:.2f} ms/poll ({calls} calls, "
        f"{polls / max(calls, 1):.1f} feeds each, {1000 * lease_s / max(calls, 1):.1f} ms a "
        f"call), fence {fence_ms:.2f} ms/poll; whole poll {poll_ms:.1f} ms (call to return, "
        f"mean); share {100 * share:.1f}%"
    )
    lease_ms, fence_ms = 1000 * alone.lease_s / feeds, 1000 * alone.fence_s / feeds
    share = (lease_ms + fence_ms) / poll_cpu_ms
    print(
        f"  alone: lease_due {lease_ms:.2f} ms/poll ({alone.calls} calls of {alone.batch}, "
        f"{1000 * alone.lease_s / alone.calls:.1f} ms a call, PostgreSQL CPU "
        f"{1000 * alone.postgres_s / feeds:.2f} ms/poll), fence {fence_ms:.2f} ms/poll; "
        f"against {poll_cpu_ms:.1f} ms of CPU per poll in all (1 poller process): "
        f"share {100 * share:.1f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--pollers", default="1,2,4", help="poller process counts")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per count")
    parser.add_argument("--url", default=os.environ.get("MEDIABOT_TEST_POSTGRES_URL"))
    parser.add_argument("--concurrency", type=int, default=10, help="MEDIABOT_MAX_CONCURRENCY")
    parser.add_argument(
        "--parse-processes", type=int, default=None, help="default: as mediabot run here"
    )
    args = parser.parse_args()
    feeds, rounds = max(10, args.feeds), max(1, min(args.rounds, 20))
    counts = [int(n) for n in args.pollers.split(",")]
    logging.disable(logging.WARNING)
    with (
        postgres(args.url) as url,
        feed_server(feeds, rounds) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        rules = write_rules(Path(tmp), server.base, feeds)
        config = Config(rules, feeds, args.concurrency, args.parse_processes)
        dbs = Databases(url)
        try:
            report(config, dbs, server, rounds, counts)
        finally:
            dbs.close()


def report(
    config: Config, dbs: Databases, server: FeedServer, rounds: int, counts: list[int]
) -> None:
    feeds = config.feeds
    print(
        f"feeds: {feeds}, measured rounds: {rounds} ({CHANGED:.0%} of documents changed, "
        f"{ITEMS_PER_CHANGE} new items each), fetch concurrency: {config.concurrency} per "
        f"poller; cores: {os.cpu_count()}, shared by the pollers, their parser workers, the "
        f"feed server and PostgreSQL; load average {os.getloadavg()[0]:.1f} at the start"
    )
    warm = [warm_up(max(counts), config, dbs, server)]
    print(f"\nround 0, every feed new, {max(counts)} pollers: {summary(warm)}")
    print(f"      {checks(warm)}")
    cpu = Cpu({"feed server": [server.pid], "PostgreSQL": postmaster(dbs.admin)})
    results = {count: scale_out(count, config, dbs, server, rounds, cpu) for count in counts}
    base = statistics.median(r.rate for r in results[counts[0]])
    print("\nmeasured rounds: polls/s from due to every feed polled; ratio of medians")
    for count, runs in results.items():
        ratio = statistics.median(r.rate for r in runs) / base
        print(f"  {count} poller{'s' if count > 1 else ' '}  {summary(runs)}  x{ratio:.2f}")
        print(f"      {checks(runs)}")
        print(f"      {cpu_per_poll(runs)}")
    timers = Timers()
    url = dbs.create("bench_scale_timed", template=TEMPLATE)
    timed_runs = asyncio.run(timed_poller(config, url, server, 1, cpu, timers))
    batch = round(len(timers.poll) / max(1, sum(1 for _, n in timers.lease if n)))
    alone = lease_alone(url, feeds, max(1, batch), cpu)
    one = results[counts[0]]
    poll_cpu_ms = statistics.median(1000 * sum(r.cpu.values()) / r.polls for r in one)
    print(f"\nlease overhead per poll, 1 poller in this process: {summary(timed_runs)}")
    overhead(timers, alone, feeds, poll_cpu_ms)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
