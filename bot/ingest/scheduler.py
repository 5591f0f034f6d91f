"""The poll schedule: one tick that leases due feeds from the store and polls them.

APScheduler keeps the clock (an interval job calls :meth:`FeedTicker.tick`, and the digest
cron triggers live beside it); the store decides which feeds are due and which process
polls each (``bot.store.leases``), so any number of pollers share the work without a feed
polled twice or before its time. A tick leases only as many feeds as this process has
room for, so the others take the rest; when a poll ends and more were due than fitted,
the next tick comes at once instead of at the next second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock, utc_now
from bot.models import Lease
from bot.rules.model import FeedRule
from bot.store.aio import Offload, to_thread

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
PollFn = Callable[[FeedRule, Lease], Awaitable[object]]


class LeaseStore(Protocol):
    """The part of the store the ticker needs (see ``bot.store.Store``)."""

    def sync_feeds(self, intervals: Mapping[str, float]) -> None: ...

    def lease_due(
        self, holder: str, limit: int, seconds: float, now: datetime | None = None
    ) -> tuple[datetime, list[str]]: ...

    def release_feed(self, feed_id: str, holder: str) -> bool: ...


def make_scheduler() -> AsyncIOScheduler:
    # coalesce: a run missed while the process slept happens once, not N times;
    # max_instances=1: a tick never overlaps the one before it.
    return AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def feed_interval(feed: FeedRule, default: float, lo: float, hi: float) -> float:
    return min(max(feed.interval or default, lo), hi)


class FeedTicker:
    """Leases due feeds and polls them, at most ``capacity`` at a time in this process."""

    def __init__(
        self,
        store: LeaseStore,
        poll: PollFn,
        *,
        holder: str,
        capacity: int,
        lease_seconds: float,
        clock: Clock = utc_now,
        offload: Offload = to_thread,
    ) -> None:
        self._store = store
        self._poll = poll
        self.holder = holder
        self.capacity = max(1, capacity)
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._io = offload
        self._feeds: dict[str, FeedRule] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self._backlog = False  # the last tick found more due feeds than it had room for
        self._idle = asyncio.Event()
        self._idle.set()
        self._reticks: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def follow(self, feeds: Mapping[str, FeedRule], intervals: Mapping[str, float]) -> None:
        """The rules changed (or the process started): poll these feeds from now on."""
        self._feeds = dict(feeds)
        await self._io(self._store.sync_feeds, intervals)
        log.info("feeds_synced", extra={"feeds": len(intervals)})

    async def tick(self) -> int:
        """Lease what is due and fits; start its polls. The number started."""
        started = 0
        async with self._lock:
            while True:
                room = self.capacity - len(self._running)
                if room <= 0:
                    self._backlog = True
                    return started
                at, ids = await self._io(
                    self._store.lease_due, self.holder, room, self._lease_seconds, self._clock()
                )
                self._backlog = len(ids) == room
                began = 0
                for feed_id in ids:
                    feed = self._feeds.get(feed_id)
                    if feed is None or not feed.enabled:  # the rules changed since the sync
                        await self._io(self._store.release_feed, feed_id, self.holder)
                        continue
                    task = asyncio.create_task(self._run(feed, Lease(self.holder, at)))
                    self._running.add(task)
                    self._idle.clear()
                    task.add_done_callback(self._done)
                    began += 1
                started += began
                # Polls that ended while the lease was being taken made room that no later
                # poll's end will report: lease again now rather than at the next tick.
                if not (began and self._backlog and self._room_for_a_batch()):
                    return started

    def _room_for_a_batch(self) -> bool:
        return self.capacity - len(self._running) >= max(1, self.capacity // 4)

    async def _run(self, feed: FeedRule, lease: Lease) -> None:
        try:
            await self._poll(feed, lease)
        except Exception:  # one feed's bug must never stop the schedule
            log.exception("feed_poll_crashed", extra={"feed_id": feed.id})

    async def idle(self) -> None:
        """Wait until no poll of this process is in flight."""
        await self._idle.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not self._running:
            self._idle.set()
        # More was due than fitted: lease again now, in batches, not one feed per poll.
        if self._backlog and self._room_for_a_batch():
            self._backlog = False
            retick = asyncio.get_running_loop().create_task(self._retick())
            self._reticks.add(retick)
            retick.add_done_callback(self._reticks.discard)

    async def _retick(self) -> None:
        try:
            await self.tick()
        except Exception:
            log.exception("feed_tick_failed")

    async def stop(self) -> None:
        """Cancel the polls in flight (their leases run out; nothing half-written)."""
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
