"""A burst of 300 alerts to 6 chats through the fake Bot API enforcing Telegram's limits.

The limits are scaled down 20 times on both sides, the same on both (per-chat interval
1 s → 50 ms, group window 60 s → 3 s, 30/s overall → 600/s), so the burst drains in
seconds. Faults are injected along the way: a 429, 5xx answers, a timeout, a chat that
blocks the bot mid-burst (403) and a chat that does not exist.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from telegram.request import HTTPXRequest

from bot.delivery.kinds import Rendered
from bot.delivery.sender import Limits, Sender
from bot.models import Alert, Destination, Message
from bot.store import Store
from bot.telegram.send import TelegramSink
from tests.fakes.outbox import START
from tests.fakes.telegram import FakeTelegram, SendLimits

SCALE = 20.0
SENDER_LIMITS = Limits(
    overall_per_second=int(30 * SCALE),
    per_chat_interval=1.0 / SCALE,
    group_per_minute=20,
    group_window=60.0 / SCALE,
    horizon=60.0 / SCALE,
    backoff_base=0.05,
    idle=0.5,
    max_age=1e12,  # the alerts are dated 2024: not expired on a real clock
)
FAKE_LIMITS = SendLimits(
    overall_per_second=int(30 * SCALE),
    per_chat_interval=1.0 / SCALE,
    group_per_minute=20,
    window=60.0 / SCALE,
)
GROUPS: list[int | str] = [-1001, -1002, "@burst_news"]
PEOPLE: list[int | str] = [501, 502, 503]
CHATS = GROUPS + PEOPLE
BLOCKS, MISSING, FLOODED, FAILING, SLOW = 503, -1002, -1001, 501, 502


class WatchedStore(Store):
    """The store, plus an event set when the outbox has emptied (awaited, not polled)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.emptied = asyncio.Event()

    def _check(self) -> None:
        if self.outbox_depth() == 0:
            self.emptied.set()

    def mark_sent(self, entry_id: int, message_id: int, sent_at: datetime) -> None:
        super().mark_sent(entry_id, message_id, sent_at)
        self._check()

    def mark_failed(self, entry_id: int, error: str) -> None:
        super().mark_failed(entry_id, error)
        self._check()

    def drop_chat(self, chat: int | str, reason: str) -> int:
        dropped = super().drop_chat(chat, reason)
        self._check()
        return dropped


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WatchedStore]:
    with WatchedStore(f"sqlite:///{tmp_path / 'burst.db'}") as opened:
        opened.migrate()
        yield opened


@pytest.fixture
def tg() -> Iterator[FakeTelegram]:
    with FakeTelegram(enforce_limits=True, limits=FAKE_LIMITS) as fake:
        yield fake


@pytest.fixture
async def sink(tg: FakeTelegram) -> AsyncIterator[TelegramSink]:
    # A short read timeout so the injected slow answer times out on our side.
    request = HTTPXRequest(connection_pool_size=16, read_timeout=0.5)
    sink = TelegramSink(tg.token, api_url=tg.url, request=request)
    yield sink
    await sink.aclose()


def burst() -> list[Alert]:
    alerts = []
    for n in range(50):
        for chat in CHATS:
            text = f"alert {n} for {chat}"
            alerts.append(
                Alert(
                    feed_id="wire",
                    item_key=f"item-{n}",
                    topic_id="burst",
                    destination=Destination(chat),
                    body=Rendered(Message(text=f"<b>{text}</b>", plain=text)),
                    first_seen=START,
                )
            )
    return alerts


def _collapse(texts: list[str]) -> list[str]:
    """A timed-out send that Telegram did take is sent again (at least once): fold it."""
    out: list[str] = []
    for text in texts:
        if not out or out[-1] != text:
            out.append(text)
    return out


def _block_midway(tg: FakeTelegram, stop: threading.Event) -> None:
    if tg.wait_for(10, BLOCKS, timeout=30) and not stop.is_set():
        tg.block(BLOCKS)


async def test_burst_of_300_arrives_complete_in_order_within_limits(
    store: WatchedStore, tg: FakeTelegram, sink: TelegramSink
) -> None:
    tg.flood(FLOODED, retry_after=1, times=1)
    tg.server_error(FAILING, status=502, times=2)
    tg.delay(0.8, chat=SLOW, times=1)
    tg.chat_not_found(MISSING)
    assert store.enqueue(burst()) == 300
    gone: list[Destination] = []

    async def on_gone(dest: Destination, reason: str) -> None:
        gone.append(dest)

    sender = Sender(store, sink, limits=SENDER_LIMITS, on_chat_gone=on_gone)
    stop, blocker_done = asyncio.Event(), threading.Event()
    blocker = asyncio.create_task(asyncio.to_thread(_block_midway, tg, blocker_done))
    loop = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.wait_for(store.emptied.wait(), timeout=60)
    finally:
        stop.set()
        blocker_done.set()
        await loop
        await blocker

    assert tg.limit_violations == 0
    for chat in (-1001, "@burst_news", 501, 502):
        expected = [f"alert {n} for {chat}" for n in range(50)]
        assert _collapse(tg.texts(chat)) == expected, chat
    assert len(tg.texts(-1001)) == 50 and len(tg.texts(501)) == 50  # 429 and 5xx: no repeats

    # The blocked chat: some alerts went before the block, none after the first 403.
    calls = tg.calls_to(BLOCKS)
    first_403 = next(i for i, c in enumerate(calls) if c.status == 403)
    assert first_403 == len(calls) - 1 and len(tg.texts(BLOCKS)) >= 10
    # The chat that does not exist: one try, then its queue is dropped.
    assert len(tg.calls_to(MISSING)) == 1
    assert {d.chat for d in gone} == {BLOCKS, MISSING}
    assert store.outbox_depth() == 0
