"""What each role runs (DESIGN §9).

- ``Poller``: the feeds tick (lease due feeds, poll them), and the personal watches synced
  from the store and folded into the topics' index; every poller is active.
- ``SenderRole``: the outbox and the digests, drained within Telegram's limits, and the
  daily retention; one process per bot token leads it (``bot.service.lead``).
- ``UpdatesRole``: Telegram commands and buttons; one process per bot token leads it.

A role adds its scheduler jobs in ``schedule``; a single-leader role names its ``lock``
and runs ``run(term)`` while this process leads it. ``bot.service.run`` starts them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.control import Control
from bot.delivery.digest import DigestCollector
from bot.delivery.sender import Sender
from bot.errors import StoreError
from bot.ingest.scheduler import TICK_SECONDS, FeedTicker
from bot.metrics import Recorder
from bot.service.retention import schedule_retention
from bot.store import Store
from bot.store.aio import Offload
from bot.telegram.updates import run_updates
from bot.watches import SYNC_SECONDS as WATCH_SYNC_SECONDS
from bot.watches import WatchBook

log = logging.getLogger(__name__)

# /healthz reports a loop as stuck when it has not beaten for this long.
SCHEDULER_STUCK_AFTER = 60.0
SENDER_STUCK_AFTER = 180.0


async def sync_watches(watches: WatchBook, offload: Offload) -> None:
    """Watches made through any process (the updates role) reach this one."""
    try:
        await offload(watches.refresh)
    except StoreError as exc:
        log.warning("watches_sync_failed", extra={"error": str(exc)})


class Poller:
    def __init__(
        self, ticker: FeedTicker, watches: WatchBook, *, metrics: Recorder, offload: Offload
    ) -> None:
        self.ticker = ticker
        self._watches = watches
        self._metrics = metrics
        self._db = offload

    def schedule(self, scheduler: AsyncIOScheduler, now: datetime) -> None:
        every = {
            "feeds-tick": (self.ticker.tick, TICK_SECONDS),
            "watches-sync": (self._sync_watches, WATCH_SYNC_SECONDS),
            # Watches added since the rules loaded, into the topics' index, off the pollers.
            "watches-fold": (self._fold_watches, WATCH_SYNC_SECONDS),
        }
        for job_id, (job, seconds) in every.items():
            scheduler.add_job(job, IntervalTrigger(seconds=seconds), id=job_id, next_run_time=now)
        self._metrics.watch_loop("scheduler", within=SCHEDULER_STUCK_AFTER)

    async def stop(self) -> None:
        """Wait for the polls in flight; their leases are given back."""
        await self.ticker.stop()

    async def _sync_watches(self) -> None:
        await sync_watches(self._watches, self._db)

    async def _fold_watches(self) -> None:
        await asyncio.to_thread(self._watches.fold, force=False)


class SenderRole:
    task = "sender"

    def __init__(
        self,
        sender: Sender,
        digests: DigestCollector,
        store: Store,
        *,
        lock: str,
        retention_days: tuple[int, int],
        metrics: Recorder,
    ) -> None:
        self.lock = lock  # ``sender:<bot>``: one active sender per bot token
        self._sender = sender
        self._digests = digests
        self._store = store
        self._seen_days, self._outbox_days = retention_days
        self._metrics = metrics

    def schedule(self, scheduler: AsyncIOScheduler, now: datetime) -> None:
        # Deletes are idempotent: any process could prune; the senders do.
        schedule_retention(
            scheduler,
            self._store,
            seen_days=self._seen_days,
            outbox_days=self._outbox_days,
            now=now,
        )
        self._metrics.watch_loop("sender", within=SENDER_STUCK_AFTER)

    async def run(self, term: asyncio.Event) -> None:
        """The active sender: what others sent in the last minute first, then the outbox
        and the digests until ``term``."""
        await self._sender.prepare()
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from the listener's thread
            loop.call_soon_threadsafe(self._sender.wake)

        listener = self._store.outbox_listener(wake)
        listener.start()
        try:
            await asyncio.gather(self._sender.run(term), self._digests.run(term, self._sender.wake))
        finally:
            await asyncio.to_thread(listener.stop)


class UpdatesRole:
    task = "telegram-updates"

    def __init__(
        self, token: str, api_url: str, control: Control, *, lock: str, metrics: Recorder
    ) -> None:
        self.lock = lock  # ``updates:<bot>``: Telegram allows one getUpdates reader
        self._token = token
        self._api_url = api_url
        self._control = control
        self._metrics = metrics

    def schedule(self, scheduler: AsyncIOScheduler, now: datetime) -> None:
        """No jobs: the reader is its one loop."""

    async def run(self, term: asyncio.Event) -> None:
        await run_updates(self._token, self._api_url, self._control, term, health=self._metrics)
