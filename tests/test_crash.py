"""Crash test: ``mediabot run`` is killed with SIGKILL while 200 alerts flow, then restarted.

Every alert must arrive, and none that the store had marked sent may arrive twice. (One
that Telegram took but the store had not yet marked may come again: delivery is at least
once; the check is on what was marked.) 5 items x 40 private chats = 200 alerts, which drain
in about 7 s at Telegram's real limits (30/s overall, 1/s per chat), enforced by the fake.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.conftest import Cli, wait_until
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram import FakeTelegram

CHATS = list(range(7001, 7041))
ITEMS = 5


WORDS = [
    "harbor",
    "ledger",
    "quarry",
    "violet",
    "summit",
    "copper",
    "meadow",
    "falcon",
    "orbit",
    "canyon",
    "tundra",
    "lantern",
]


def _story(n: int) -> str:
    """A crash story with words of its own, so no two items are near-duplicates."""
    rng = random.Random(n)  # noqa: S311 -- test text, not security
    return "A crash: " + " ".join(rng.choice(WORDS) + str(rng.randrange(1000)) for _ in range(30))


def write_rules(rules: Path, feed_url: str) -> None:
    rules.mkdir()
    channels = ", ".join(str(c) for c in CHATS)
    (rules / "rules.yaml").write_text(
        f"feeds:\n  - id: wire\n    url: {feed_url}\n    name: Wire\n"
        f"topics:\n  - id: crash\n    name: Crash\n    any: [crash]\n    channels: [{channels}]\n",
        encoding="utf-8",
    )


@pytest.fixture
def telegram_limited() -> Iterator[FakeTelegram]:
    with FakeTelegram(enforce_limits=True) as fake:
        yield fake


def start(cli: Cli, env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with log.open("a") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=cli.cwd,
            env={**cli.env, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_sigkill_mid_burst_loses_nothing_and_repeats_nothing_marked_sent(
    cli: Cli, feed_server: FeedServer, telegram_limited: FakeTelegram, tmp_path: Path
) -> None:
    tg = telegram_limited
    items = [
        {
            "title": f"Crash story {n}",
            "link": f"https://example.com/crash/{n}",
            "description": f"<p>{_story(n)}</p>",
        }
        for n in range(ITEMS)
    ]
    feed_server.route("/wire.xml", rss_document(items))
    rules = tmp_path / "rules"
    write_rules(rules, feed_server.url("/wire.xml"))
    env = {
        "MEDIABOT_RULES_DIR": str(rules),
        "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true",
        "MEDIABOT_BACKFILL": str(ITEMS),
        "MEDIABOT_TELEGRAM_TOKEN": tg.token,
        "MEDIABOT_TELEGRAM_API_URL": tg.url,
        "MEDIABOT_DEFAULT_INTERVAL": "1d",
    }
    log = cli.cwd / "service.log"
    total = ITEMS * len(CHATS)

    first = start(cli, env, log)
    try:
        assert tg.wait_for(60, timeout=60), log.read_text()
        first.kill()  # SIGKILL: no cleanup, no flush
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    arrived_before = len(tg.messages())
    assert arrived_before < total, "the burst should still be flowing when killed"
    with Store(cli.env["MEDIABOT_DATABASE_URL"]) as store:
        marked = {(e.alert.destination.chat, e.message_id) for e in store.sent_alerts()}
    assert len(marked) >= 50

    second = start(cli, env, log)
    try:
        assert tg.wait_for(total, timeout=60), log.read_text()
        with Store(cli.env["MEDIABOT_DATABASE_URL"]) as store:
            # Another process's progress: no event to await, so poll the store.
            assert wait_until(lambda: store.outbox_depth() == 0, timeout=30), log.read_text()
    finally:
        second.kill()
        second.wait(timeout=10)

    texts = Counter((m.chat, m.text.split("\n")[2]) for m in tg.messages())
    wanted = {(chat, f"Crash story {n}") for chat in CHATS for n in range(ITEMS)}
    assert set(texts) == wanted, "every alert arrives"
    by_id = {(m.chat, m.message_id): (m.chat, m.text.split("\n")[2]) for m in tg.messages()}
    for key in marked:
        assert texts[by_id[key]] == 1, f"{by_id[key]} was marked sent and arrived twice"
    assert sum(texts.values()) - total <= 1, "at most the one in flight is repeated"
    assert tg.limit_violations == 0
