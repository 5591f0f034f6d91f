"""Retention: once a day, old seen items and finished alerts are deleted from the store.

Nothing else ever deletes them, and a store that only grows slows every poll down in the
end. What goes and what always stays is ``Store.prune``'s to say
(``bot.store.areas.retention``); this module runs it off the event loop and schedules it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import utc_now
from bot.errors import StoreError
from bot.store import Pruned, Store

log = logging.getLogger(__name__)

JOB_ID = "retention"
EVERY = timedelta(days=1)
# The first run comes a little after start-up, not on it (a restart loop must not prune
# in a loop), and not a day later (a service restarted daily would never prune).
FIRST_RUN_AFTER = timedelta(minutes=10)


async def prune_store(
    store: Store, *, seen_days: int, outbox_days: int, now: datetime | None = None
) -> Pruned:
    """``Store.prune`` in a worker thread. A database error is logged, not raised: the
    next day's run tries again."""
    when = now or utc_now()
    try:
        return await asyncio.to_thread(
            store.prune, when, seen_days=seen_days, outbox_days=outbox_days
        )
    except StoreError as exc:
        log.warning("store_prune_failed", extra={"error": str(exc)})
        return Pruned()


def schedule_retention(
    scheduler: AsyncIOScheduler,
    store: Store,
    *,
    seen_days: int,
    outbox_days: int,
    now: datetime | None = None,
) -> None:
    """Add the daily pruning job (first run ``FIRST_RUN_AFTER`` from ``now``)."""
    first = (now or utc_now()) + FIRST_RUN_AFTER
    scheduler.add_job(
        prune_store,
        IntervalTrigger(seconds=EVERY.total_seconds(), timezone=UTC),
        kwargs={"store": store, "seen_days": seen_days, "outbox_days": outbox_days},
        id=JOB_ID,
        replace_existing=True,
        next_run_time=first,
    )
