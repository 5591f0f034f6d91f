"""A feed's state from one poll to the next: whether it is due, when it is polled next,
how healthy it is, and what a poll that fails or is skipped records and says."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.errors import FeedError
from bot.feeds.policy import Notice, health_events, is_due, next_poll
from bot.ingest.options import AlertOptions, PollReport
from bot.ingest.scheduler import feed_interval
from bot.models import FeedState, FetchResult, Item, ParsedFeed
from bot.rules.model import FeedRule
from bot.store import Store

log = logging.getLogger(__name__)


def interval(feed: FeedRule, options: AlertOptions) -> float:
    o = options
    return feed_interval(feed, o.default_interval, o.min_interval, o.max_interval)


def due(state: FeedState, now: datetime, on_schedule: bool) -> bool:
    if not on_schedule and state.consecutive_errors == 0:
        return True
    return is_due(state.next_poll_not_before, now)


def plan(
    feed: FeedRule,
    state: FeedState,
    now: datetime,
    options: AlertOptions,
    *,
    result: FetchResult | None = None,
    parsed: ParsedFeed | None = None,
    new_items: Sequence[Item] = (),
    error: FeedError | None = None,
) -> tuple[Notice, ...]:
    """Set the next poll time (interval, TTL, backoff, Retry-After) and the health
    state; return the notices for admins."""
    o = options
    planned = next_poll(
        now,
        interval=interval(feed, options),
        min_interval=o.min_interval,
        max_interval=o.max_interval,
        consecutive_errors=state.consecutive_errors,
        ttl_seconds=parsed.ttl_seconds if parsed else None,
        headers=result.headers if result else None,
        retry_after=getattr(error, "retry_after", None),
    )
    state.next_poll_not_before = planned.not_before
    updated, notices = health_events(
        state,
        now=now,
        new_items=len(new_items),
        published=[i.published for i in new_items],
        name=feed.name or state.title or feed.id,
    )
    _copy_health(updated, state)
    return tuple(notices)


def record_success(state: FeedState, now: datetime) -> None:
    state.last_success = now
    state.first_success = state.first_success or now
    state.consecutive_errors = 0
    state.last_error = None


def record_failure(
    store: Store,
    options: AlertOptions,
    state: FeedState,
    feed: FeedRule,
    exc: FeedError,
    now: datetime,
    holder: str | None,
) -> PollReport:
    state.consecutive_errors += 1
    state.last_error = f"{exc.kind}: {exc}"
    notices = plan(feed, state, now, options, error=exc)
    store.save_feed_state(state, holder=holder)
    log.warning(
        "feed_poll_failed",
        extra={
            "feed_id": feed.id,
            "error_kind": exc.kind,
            "error": str(exc),
            "consecutive_errors": state.consecutive_errors,
        },
    )
    return PollReport(feed.id, ok=False, error=str(exc), error_kind=exc.kind, notices=notices)


def skip_reason(state: FeedState) -> str:
    """Why a feed that is not due waits: what ``mediabot once`` tells."""
    if state.consecutive_errors:
        last = f" (last: {state.last_error})" if state.last_error else ""
        n = state.consecutive_errors
        return f"backing off after {n} failed poll{'s' if n > 1 else ''}{last}"
    return "the server asked for a pause (Retry-After or the feed's ttl)"


def moved(state: FeedState, feed: FeedRule) -> FeedState:
    """The feed's URL changed in the rules: the old URL's validators and first-poll mark do
    not carry over, so the new URL is polled at once and starts within the backfill limit."""
    if state.url is not None:
        log.info("feed_url_changed", extra={"feed_id": feed.id})
        return FeedState(feed_id=feed.id, url=feed.url, title=state.title)
    return replace(state, url=feed.url)  # a row from before URLs were recorded


def _copy_health(source: FeedState, target: FeedState) -> None:
    """``health_events`` returns an updated copy; the poll keeps working on ``target``."""
    target.failing_notified = source.failing_notified
    target.silent_notified = source.silent_notified
    target.last_new_item = source.last_new_item
    target.mean_gap_seconds = source.mean_gap_seconds
