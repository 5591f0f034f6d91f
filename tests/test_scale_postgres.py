"""The roles on real PostgreSQL, as separate processes (DESIGN §9).

Three pollers, two senders and one updates reader start at once on an empty database,
against the fake Telegram (enforcing Telegram's limits) and a local feed server with
hundreds of feeds, some carrying the same syndicated stories. One poller is SIGKILLed
mid-run and the active sender is stopped with SIGTERM. Every expected (item, topic, chat)
must arrive exactly once, a syndicated story as one message plus "also:" edits, within
every limit, and no feed may be fetched twice inside its interval except those a killed
poller had in flight.
"""

from __future__ import annotations

import random
import signal
import string
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import Cli, wait_until
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram_updates import UpdatesTelegram, message_update

FEEDS = 200
TOPICS = 10
CHATS_PER_TOPIC = 4
STORIES = 6  # syndicated stories, each carried by COPIES feeds
COPIES = 3
GROUP = -100777  # the channel of the syndicated stories' topic


def _words(seed: str, count: int) -> str:
    """Words of their own for each item, so no two items are near-duplicates by chance."""
    rng = random.Random(seed)  # noqa: S311 -- test text, not security
    return " ".join(
        "".join(rng.choice(string.ascii_lowercase) for _ in range(7)) for _ in range(count)
    )


def _body(seed: str) -> str:
    return _words(seed, 40)


def own_item(n: int) -> dict[str, str]:
    return {
        "title": f"Wire item {n} kw{n % TOPICS} {_words(f'title{n}', 3)}",
        "link": f"https://example.com/wire/{n}",
        "description": f"<p>Report kw{n % TOPICS}: {_body(f'item{n}')}</p>",
    }


def story(s: int, feed: int) -> dict[str, str]:
    # The same story through several feeds: its own link and guid in each, the same text.
    return {
        "title": f"Syndicated story {s}",
        "link": f"https://outlet{feed}.example.com/story/{s}",
        "description": f"<p>Syndicated {_body(f'story{s}')}</p>",
    }


def topic_chats(t: int) -> list[int]:
    return [9000 + t * CHATS_PER_TOPIC + c for c in range(CHATS_PER_TOPIC)]


def write_rules(rules: Path, server: FeedServer) -> None:
    rules.mkdir()
    feeds = "".join(
        f"  - id: f{n}\n    url: {server.url(f'/f{n}.xml')}\n    interval: 1d\n"
        for n in range(FEEDS)
    )
    topics = "".join(
        f"  - id: t{t}\n    name: Topic {t}\n    any: [kw{t}]\n"
        f"    channels: [{', '.join(map(str, topic_chats(t)))}]\n"
        for t in range(TOPICS)
    )
    topics += (
        f"  - id: syn\n    name: Syndication\n    any: [syndicated]\n    channels: [{GROUP}]\n"
    )
    (rules / "rules.yaml").write_text(f"feeds:\n{feeds}topics:\n{topics}", encoding="utf-8")


def serve_feeds(server: FeedServer) -> None:
    for n in range(FEEDS):
        items = [own_item(n)]
        if n < STORIES * COPIES:
            items.append(story(n % STORIES, n))
        # A little latency, so the polls are still going when a poller is killed.
        server.route(f"/f{n}.xml", rss_document(items, title=f"Feed {n}"), delay=0.15)


class Fleet:
    def __init__(self, cli: Cli, env: dict[str, str], logs: Path) -> None:
        self.cli, self.env, self.logs = cli, env, logs
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def start(self, name: str, role: str) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--role", role],
            cwd=self.cli.cwd,
            env={**self.cli.env, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()

    def output(self) -> str:
        return "\n".join(
            f"--- {name}\n" + (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]
            for name in self.procs
        )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def limited_telegram() -> Iterator[UpdatesTelegram]:
    with UpdatesTelegram(enforce_limits=True) as fake:
        yield fake


def query(url: str, sql: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).all())
    finally:
        engine.dispose()


def active_sender(url: str) -> str | None:
    rows = query(url, "SELECT id, active FROM processes")
    leaders = [row.id for row in rows if "sender" in row.active.split(",")]
    return leaders[0] if len(leaders) == 1 else None


def outbox_counts(url: str) -> dict[str, int]:
    rows = query(url, "SELECT status, count(*) FROM outbox GROUP BY status")
    return {status: int(count) for status, count in rows}


def test_roles_on_postgresql_deliver_everything_once_within_the_limits(
    cli: Cli,
    postgres_url: str,
    feed_server: FeedServer,
    limited_telegram: UpdatesTelegram,
    tmp_path: Path,
) -> None:
    tg = limited_telegram
    serve_feeds(feed_server)
    rules = tmp_path / "rules"
    write_rules(rules, feed_server)
    env = {
        "MEDIABOT_DATABASE_URL": postgres_url,
        "MEDIABOT_RULES_DIR": str(rules),
        "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true",
        "MEDIABOT_BACKFILL": "5",
        "MEDIABOT_TELEGRAM_TOKEN": tg.token,
        "MEDIABOT_TELEGRAM_API_URL": tg.url,
        "MEDIABOT_PARSE_PROCESSES": "0",
        "MEDIABOT_MAX_CONCURRENCY": "4",
        "MEDIABOT_PER_HOST_CONCURRENCY": "2",
        "MEDIABOT_FEED_LEASE": "10s",
        "MEDIABOT_LOG_LEVEL": "INFO",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    fleet = Fleet(cli, env, logs)
    # Every process at once, on an empty database: the migration runs once, under a lock.
    for n in range(3):
        fleet.start(f"poller{n}", "poller")
    fleet.start("sender0", "sender")
    fleet.start("sender1", "sender")
    fleet.start("updates", "updates")
    own = FEEDS * CHATS_PER_TOPIC
    expected = own + STORIES  # every own item to its topic's chats; each story once to GROUP
    try:
        # A poller dies mid-run, with polls in flight.
        assert wait_until(lambda: len(feed_server.requests) >= FEEDS // 4, 120), fleet.output()
        fleet.procs["poller0"].kill()
        fleet.procs["poller0"].wait(timeout=10)
        # The active sender is stopped while the outbox is still draining.
        assert tg.wait_for(150, timeout=120), fleet.output()
        assert wait_until(lambda: active_sender(postgres_url) is not None, 30), fleet.output()
        leader = active_sender(postgres_url)
        name = next(
            n for n, p in fleet.procs.items() if leader and leader.split(":")[1] == str(p.pid)
        )
        fleet.procs[name].send_signal(signal.SIGTERM)
        assert fleet.procs[name].wait(timeout=15) == 0, fleet.output()
        # The standby takes over and drains the rest.
        assert tg.wait_for(expected, timeout=240), fleet.output()
        assert wait_until(lambda: outbox_counts(postgres_url).get("queued", 0) == 0, 60), (
            fleet.output()
        )
        # The one updates reader answers commands.
        tg.push_update(message_update("/start", user=555))
        assert tg.wait_for(1, chat=555, timeout=60), fleet.output()
    finally:
        fleet.stop_all()

    messages = tg.messages()
    alerts = Counter((m.chat, m.text.split("\n")[2]) for m in messages if m.chat != 555)
    wanted = {
        (chat, own_item(n)["title"]) for n in range(FEEDS) for chat in topic_chats(n % TOPICS)
    } | {(GROUP, f"Syndicated story {s}") for s in range(STORIES)}
    assert set(alerts) == wanted, "every (item, topic, chat) arrives"
    repeated = {key: n for key, n in alerts.items() if n > 1}
    # At most the send in flight when the sender was stopped may repeat (at least once).
    assert sum(n - 1 for n in repeated.values()) <= 1, repeated
    stories = [m for m in messages if m.chat == GROUP]
    assert all("also" in " ".join(m.edits) for m in stories), "copies become also: edits"
    assert tg.limit_violations == 0
    assert len([m for m in tg.messages(555)]) == 1, "one updates reader answered, once"
    fetches = Counter(r.path for r in feed_server.requests)
    assert set(fetches) == {f"/f{n}.xml" for n in range(FEEDS)}
    twice = [path for path, n in fetches.items() if n > 1]
    # Only the polls the killed poller had in flight (its capacity: 4 + 2) come again.
    assert all(n <= 2 for n in fetches.values())
    assert len(twice) <= 6, twice
    assert outbox_counts(postgres_url).get("failed", 0) == 0
    # The standby took over within 10 s of the active sender's stop.
    stopped = _logged_at(logs / f"{name}.log", "service_stopping")
    standby = next(n for n in ("sender0", "sender1") if n != name)
    took_over = _logged_at(logs / f"{standby}.log", "role_active role=sender")
    assert (took_over - stopped).total_seconds() <= 10


def _logged_at(log: Path, event: str) -> datetime:
    """The time of the last line of ``log`` with ``event`` (console log format)."""
    line = [line for line in log.read_text().splitlines() if event in line][-1]
    return datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
