"""APScheduler jobs: one job per enabled feed, at its interval, with jitter, never overlapping.

The feed set follows the rules: :func:`sync_feed_jobs` adds, reschedules and removes jobs so
that they match the current feeds, and is called again after every successful rules reload.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.rules.model import FeedRule

log = logging.getLogger(__name__)

JOB_PREFIX = "feed:"
PollFn = Callable[[FeedRule], Awaitable[object]]


def make_scheduler() -> AsyncIOScheduler:
    # coalesce: a run missed while the process slept happens once, not N times;
    # max_instances=1: a slow feed is never polled twice at the same time.
    return AsyncIOScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def feed_interval(feed: FeedRule, default: float, lo: float, hi: float) -> float:
    return min(max(feed.interval or default, lo), hi)


def sync_feed_jobs(
    scheduler: AsyncIOScheduler,
    feeds: Sequence[FeedRule],
    poll: PollFn,
    *,
    default_interval: float,
    min_interval: float = 30.0,
    max_interval: float = 86400.0,
    now: datetime | None = None,
) -> None:
    """Make the scheduler's feed jobs match ``feeds`` (the enabled ones)."""
    now = now or datetime.now(UTC)
    wanted = {f.id: f for f in feeds if f.enabled}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id[len(JOB_PREFIX) :] not in wanted:
            job.remove()
            log.info("feed_job_removed", extra={"feed_id": job.id[len(JOB_PREFIX) :]})
    for index, feed in enumerate(wanted.values()):
        seconds = feed_interval(feed, default_interval, min_interval, max_interval)
        job_id = JOB_PREFIX + feed.id
        trigger = IntervalTrigger(seconds=seconds, jitter=min(seconds * 0.1, 60.0), timezone=UTC)
        existing = scheduler.get_job(job_id)
        if existing is not None:
            # Keep the next run time unless the interval changed; always pick up a new URL etc.
            existing.modify(args=(feed,))
            if getattr(existing.trigger, "interval", None) != timedelta(seconds=seconds):
                existing.reschedule(trigger)
            continue
        # Stagger first polls so a restart does not hit every feed in the same second.
        first = now + timedelta(seconds=min(index * 0.5, seconds))
        scheduler.add_job(poll, trigger, args=(feed,), id=job_id, name=job_id, next_run_time=first)
        log.info("feed_job_added", extra={"feed_id": feed.id, "interval_s": seconds})
