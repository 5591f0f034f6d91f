"""The poll schedule: the store says which feeds are due and who polls each (leases).

On a real SQLite store with an explicit clock; tests/test_scale_postgres.py runs the same
leases between processes on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from bot.errors import LeaseLost
from bot.ingest.scheduler import FeedTicker, feed_interval
from bot.models import FeedState, Lease
from bot.rules.model import FeedRule
from bot.store import Store

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
T = TypeVar("T")


def feed(fid: str, interval: float | None = None, enabled: bool = True) -> FeedRule:
    return FeedRule(
        id=fid,
        url=f"https://example.org/{fid}.xml",
        name=None,
        interval=interval,
        tags=(),
        enabled=enabled,
        file="feeds.yaml",
        line=1,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'bot.db'}") as opened:
        opened.migrate()
        yield opened


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Polls:
    """Records each poll; a poll ends when the test says so (``finish``)."""

    def __init__(self, store: Store, interval: float = 600.0) -> None:
        self.store = store
        self.interval = interval
        self.started: list[tuple[str, Lease]] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.ended: dict[str, asyncio.Event] = {}
        self.more = asyncio.Condition()

    async def __call__(self, feed: FeedRule, lease: Lease) -> None:
        self.started.append((feed.id, lease))
        async with self.more:
            self.more.notify_all()
        gate = self.gates.setdefault(feed.id, asyncio.Event())
        await gate.wait()
        state = FeedState(feed.id, last_poll=lease.at)
        state.next_poll_not_before = lease.at + timedelta(seconds=self.interval)
        await asyncio.to_thread(self.store.save_feed_state, state, holder=lease.holder)
        self.ended.setdefault(feed.id, asyncio.Event()).set()

    async def finish(self, *feed_ids: str) -> None:
        """Let these polls end, and wait until they have; the gates close again after."""
        for feed_id in feed_ids:
            self.gates.setdefault(feed_id, asyncio.Event()).set()
        for feed_id in feed_ids:
            await asyncio.wait_for(self.ended.setdefault(feed_id, asyncio.Event()).wait(), 30)
        for feed_id in feed_ids:
            self.gates[feed_id] = asyncio.Event()
            self.ended[feed_id] = asyncio.Event()

    async def until_started(self, count: int) -> None:
        async with self.more:
            await asyncio.wait_for(self.more.wait_for(lambda: len(self.started) >= count), 30)

    def ids(self) -> list[str]:
        return [feed_id for feed_id, _ in self.started]


def ticker(store: Store, polls: Polls, clock: Clock, holder: str, capacity: int = 10) -> FeedTicker:
    return FeedTicker(
        store, polls, holder=holder, capacity=capacity, lease_seconds=300, clock=clock
    )


async def follow(t: FeedTicker, feeds: list[FeedRule]) -> None:
    enabled = {f.id: f for f in feeds if f.enabled}
    await t.follow(enabled, {fid: feed_interval(f, 600, 30, 86400) for fid, f in enabled.items()})


async def tick(t: FeedTicker) -> int:
    """One tick, then a turn of the loop so the polls it started have begun."""
    started = await t.tick()
    await asyncio.sleep(0)
    return started


def test_interval_defaults_and_bounds() -> None:
    assert feed_interval(feed("a"), 600, 30, 86400) == 600
    assert feed_interval(feed("a", 5), 600, 30, 86400) == 30
    assert feed_interval(feed("a", 10**6), 600, 30, 86400) == 86400


async def test_a_feed_is_polled_when_due_and_not_again_before(store: Store) -> None:
    clock, polls = Clock(), Polls(store)
    t = ticker(store, polls, clock, "p1")
    await follow(t, [feed("a"), feed("b"), feed("off", enabled=False)])
    assert await tick(t) == 2
    assert sorted(polls.ids()) == ["a", "b"]
    assert await tick(t) == 0, "leased and in flight: not polled twice"
    await polls.finish("a", "b")
    clock.now = T0 + timedelta(seconds=599)
    assert await tick(t) == 0, "not due before its interval"
    clock.now = T0 + timedelta(seconds=600)
    assert await tick(t) == 2
    assert all(lease.at == clock.now for _, lease in polls.started[2:])


async def test_two_pollers_share_the_due_feeds_and_keep_to_their_capacity(store: Store) -> None:
    clock = Clock()
    feeds = [feed(f"f{n}") for n in range(10)]
    one, two = Polls(store), Polls(store)
    first, second = ticker(store, one, clock, "p1", capacity=4), ticker(store, two, clock, "p2", 4)
    await follow(first, feeds)
    await follow(second, feeds)
    assert await tick(first) == 4
    assert await tick(second) == 4
    assert not set(one.ids()) & set(two.ids())
    await one.finish(*one.ids())
    # More was due than fitted: the next lease came as soon as there was room.
    await one.until_started(6)
    assert sorted(one.ids() + two.ids()) == sorted(f.id for f in feeds)
    assert len(one.ids()) == 6


async def test_room_made_while_a_lease_is_being_taken_is_filled_at_once(store: Store) -> None:
    clock, polls = Clock(), Polls(store)
    during_lease: list[Callable[[], Awaitable[None]]] = []

    async def offload(fn: Callable[..., T], *args: object) -> T:
        if during_lease and getattr(fn, "__name__", "") == "lease_due":
            await during_lease.pop()()
        return fn(*args)

    t = FeedTicker(
        store, polls, holder="p1", capacity=4, lease_seconds=300, clock=clock, offload=offload
    )
    await follow(t, [feed(f"f{n}") for n in range(10)])
    assert await tick(t) == 4  # six more are due than fitted
    first, *others = polls.ids()

    async def the_others_end() -> None:
        await polls.finish(*others)
        await t.idle()  # their ends are reported before this lease returns

    during_lease.append(the_others_end)
    # One poll ends: the room it makes starts a lease, and while that lease is being taken
    # the other three end. Their room must be filled now, not at the next timed tick.
    await polls.finish(first)
    await polls.until_started(8)
    assert len(set(polls.ids())) == 8
    assert t.in_flight == 4


async def test_a_lease_that_ran_out_goes_to_another_poller_and_fences_the_first(
    store: Store,
) -> None:
    clock = Clock()
    stalled, heir = Polls(store), Polls(store)
    first, second = ticker(store, stalled, clock, "stalled"), ticker(store, heir, clock, "heir")
    await follow(first, [feed("a")])
    await follow(second, [feed("a")])
    assert await tick(first) == 1
    clock.now = T0 + timedelta(seconds=299)
    assert await tick(second) == 0, "the lease still holds"
    clock.now = T0 + timedelta(seconds=301)
    assert await tick(second) == 1, "the first poller died or stalled: the feed is taken over"
    [(_, lease)] = stalled.started
    with pytest.raises(LeaseLost):
        store.save_feed_state(FeedState("a", last_poll=lease.at), holder=lease.holder)
    await heir.finish("a")
    assert store.feed_state("a") is not None
    stalled.gates["a"].set()
    await first.stop()


async def test_the_rules_decide_which_feeds_are_polled_and_how_often(store: Store) -> None:
    clock, polls = Clock(), Polls(store, interval=3600)
    t = ticker(store, polls, clock, "p1")
    await follow(t, [feed("a", 3600), feed("b", 3600)])
    assert await tick(t) == 2
    await polls.finish("a", "b")
    # b leaves the rules, a's interval shrinks to 10 minutes: due at its last poll + 10m.
    await follow(t, [feed("a", 600)])
    clock.now = T0 + timedelta(seconds=600)
    assert await tick(t) == 1
    assert polls.ids()[-1] == "a"
    clock.now = T0 + timedelta(days=2)
    await polls.finish("a")
    assert await tick(t) == 1 and polls.ids()[-1] == "a", "b is not polled any more"


async def test_a_feed_that_left_the_rules_after_the_sync_is_released_unpolled(store: Store) -> None:
    clock, polls = Clock(), Polls(store)
    t = ticker(store, polls, clock, "p1")
    await follow(t, [feed("a")])
    await t.follow({}, {"a": 600.0})  # rows still say active; this process's rules do not
    assert await tick(t) == 0
    other = ticker(store, Polls(store), clock, "p2")
    await follow(other, [feed("a")])
    assert await tick(other) == 1, "the lease was given back at once"
