"""Feed jobs follow the rules: one per enabled feed, at its interval, re-synced on reload."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.rules.model import FeedRule
from bot.scheduler import feed_interval, make_scheduler, sync_feed_jobs


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


async def _noop(_feed: FeedRule) -> None:
    return None


def test_interval_defaults_and_bounds() -> None:
    assert feed_interval(feed("a"), 600, 30, 86400) == 600
    assert feed_interval(feed("a", 5), 600, 30, 86400) == 30
    assert feed_interval(feed("a", 10**6), 600, 30, 86400) == 86400


async def test_jobs_follow_the_feed_list() -> None:
    scheduler = make_scheduler()
    scheduler.start(paused=True)
    try:
        sync_feed_jobs(
            scheduler,
            [feed("a"), feed("b", 60), feed("off", enabled=False)],
            _noop,
            default_interval=600,
        )
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert set(jobs) == {"feed:a", "feed:b"}
        assert jobs["feed:b"].trigger.interval == timedelta(seconds=60)
        assert jobs["feed:a"].max_instances == 1 and jobs["feed:a"].coalesce

        # Reload: b removed, a's interval changes, c added.
        sync_feed_jobs(scheduler, [feed("a", 120), feed("c")], _noop, default_interval=600)
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert set(jobs) == {"feed:a", "feed:c"}
        assert jobs["feed:a"].trigger.interval == timedelta(seconds=120)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # let the scheduler's shutdown callback run on this loop
