"""A sender that starts after another (a restart, a crash, a takeover) keeps Telegram's
limits: it counts the sends the store recorded in the last minute, and a request that was
in flight when its sender died as made just now.

On the real store (SQLite here; tests/test_scale_postgres.py runs the roles on PostgreSQL),
with a fake clock, so the times asserted are exact and nothing depends on machine speed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.delivery.kinds import Rendered
from bot.delivery.sender import Sender
from bot.models import Alert, Destination, Message
from bot.store import Store
from tests.fakes.outbox import START, FakeTime


class TimedSink:
    """Records the fake time of every request, per chat."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.sends: list[tuple[float, int | str]] = []

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        self.sends.append((self.time.now.timestamp(), dest.chat))
        return len(self.sends)

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        self.sends.append((self.time.now.timestamp(), dest.chat))

    async def aclose(self) -> None:
        pass

    def times(self, chat: int | str) -> list[float]:
        return [at for at, c in self.sends if c == chat]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as opened:
        opened.migrate()
        yield opened


def alert(chat: int | str, n: int) -> Alert:
    return Alert(
        "wire", f"item-{n}", "crash", Destination(chat), Rendered(Message(f"a{n}", f"a{n}")), START
    )


def sender(store: Store, sink: TimedSink, time: FakeTime, name: str) -> Sender:
    return Sender(store, sink, clock=time.clock, sleep=time.sleep, claimant=name)


T0 = START.timestamp()


async def test_a_restarted_sender_waits_out_each_chats_interval(store: Store) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(chat, 0) for chat in (1, 2, 3)])
    assert await sender(store, sink, time, "first").drain() == 3
    time.advance(0.2)  # the restart is quick
    store.enqueue([alert(chat, 1) for chat in (1, 2, 3)])
    assert await sender(store, sink, time, "second").drain() == 3
    for chat in (1, 2, 3):
        first, second = sink.times(chat)
        assert second - first >= 1.0, f"chat {chat} got two messages {second - first:.2f} s apart"


async def test_a_request_in_flight_at_a_crash_counts_as_made_when_the_next_sender_starts(
    store: Store,
) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(7, 0)])
    [entry] = store.due(time.now)
    # The first sender claimed it and sent it; Telegram may have taken it at any moment
    # before the SIGKILL, which came before the store heard back.
    assert store.claim(entry.id, "killed", time.now)
    time.advance(0.6)
    started = time.now.timestamp()
    assert await sender(store, sink, time, "second").drain() == 1
    [resent] = sink.times(7)
    assert resent - started >= 1.0
    assert store.outbox_depth() == 0


async def test_a_restarted_sender_counts_the_last_seconds_sends_overall(store: Store) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(1000 + n, 0) for n in range(30)])
    assert await sender(store, sink, time, "first").drain() == 30
    burst_end = max(at for at, _ in sink.sends)
    time.advance(0.3)
    store.enqueue([alert(2000 + n, 0) for n in range(5)])
    assert await sender(store, sink, time, "second").drain() == 5
    assert min(at for at, chat in sink.sends if int(chat) >= 2000) >= burst_end + 1.0 - 1e-6
    for window_start, _ in sink.sends:
        in_window = [at for at, _ in sink.sends if window_start <= at < window_start + 1.0]
        assert len(in_window) <= 30


async def test_a_restarted_sender_counts_a_groups_minute(store: Store) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(-100, n) for n in range(20)])
    assert await sender(store, sink, time, "first").drain() == 20
    first_of_minute = sink.times(-100)[0]
    time.advance(5)
    store.enqueue([alert(-100, 20)])
    # The 21st message in the group's minute waits for the minute to free a place; the
    # drain leaves it queued when that is beyond its horizon, so drive it like the loop.
    second = sender(store, sink, time, "second")
    while store.outbox_depth():
        await second.drain()
        time.advance(1.0)
    assert sink.times(-100)[-1] >= first_of_minute + 60.0


async def test_a_sender_that_takes_over_clears_the_dead_senders_claims(store: Store) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(5, 0), alert(6, 0)])
    for entry in store.due(time.now):
        assert store.claim(entry.id, "dead", time.now - timedelta(seconds=120))
    assert await sender(store, sink, time, "heir").drain() == 2
    assert not store.claim(store.sent_alerts()[0].id, "anyone", time.now), "sent: not claimable"


async def test_a_second_takeover_by_the_same_process_counts_each_send_once(store: Store) -> None:
    time = FakeTime()
    sink = TimedSink(time)
    store.enqueue([alert(-100, n) for n in range(12)])
    first = sender(store, sink, time, "p1")
    assert await first.drain() == 12
    time.advance(1.0)
    await first.prepare()  # the lead was lost and taken again
    store.enqueue([alert(-100, n) for n in range(12, 20)])
    # 12 + 8 = 20 in the group's minute: within the limit, so no wait for the minute.
    assert await first.drain() == 8
    assert sink.times(-100)[-1] - sink.times(-100)[0] < 60.0
