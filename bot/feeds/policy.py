"""When to poll a feed next, and which admin notices a poll makes due.

Pure: no I/O and no clock. Times come in as arguments, randomness from an injected
source, and the memory between polls lives in ``FeedState``. The pipeline calls these
after every poll and saves what they return.

Next poll (``next_poll``), in seconds from the poll that just ended:

- success: the configured interval, lengthened (never shortened) by what the publisher
  asks for: the feed's ``<ttl>`` / ``sy:updatePeriod`` and ``Cache-Control: max-age``
  (less ``Age``); the result is kept within ``[min_interval, max_interval]``.
- failure: exponential backoff, ``interval * 2**(errors - 1)``, capped at ``max_backoff``
  (default: ``max_interval``), with up to 25 % taken off at random so that feeds failing
  together (one host down) spread out instead of retrying in lockstep. A ``Retry-After``
  (429/503) is honoured when longer, up to the same cap: a server asking for a year gets
  a day.

Health (``health_events``):

- ``failing``: once, when consecutive errors reach ``fail_threshold``;
- ``recovered``: once, on the first success after a ``failing`` notice;
- ``silent``: once, when a feed that polls fine has brought no new item for
  ``silent_factor`` times its usual gap between new items (and at least
  ``min_silence``); armed again when items arrive. The usual gap is a moving average
  of the time between polls that brought something new, seeded on the first poll from
  the items' own dates.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.models import FeedState
from bot.text.duration import largest_units

_WORDS = {"d": "d", "h": "h", "m": "min"}  # how notices name the units

Random = Callable[[], float]  # a value in [0, 1), like random.random

JITTER = 0.25  # at most this share of a backoff delay is taken off at random
GAP_WEIGHT = 0.3  # weight of the newest gap in the moving average of gaps
MIN_SEED_ITEMS = 3  # dated items needed to guess a new feed's rhythm from its dates
MIN_SEED_GAP = 60.0  # seconds: items dated closer than this say nothing about rhythm

Reason = Literal["interval", "ttl", "cache_control", "backoff", "retry_after"]
NoticeKind = Literal["failing", "recovered", "silent"]


@dataclass(frozen=True, slots=True)
class PollPlan:
    """When the feed may be polled again, and why that long."""

    not_before: datetime
    delay: float  # seconds from ``now``
    reason: Reason


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    fail_threshold: int = 5
    silent_factor: float = 5.0
    min_silence: float = 6 * 3600.0  # seconds


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the admins about one feed; ``text`` is plain text (escape it for HTML)."""

    feed_id: str
    kind: NoticeKind
    text: str


def next_poll(
    now: datetime,
    *,
    interval: float,
    min_interval: float = 30.0,
    max_interval: float = 86400.0,
    max_backoff: float | None = None,
    consecutive_errors: int = 0,
    ttl_seconds: int | None = None,
    headers: Mapping[str, str] | None = None,
    retry_after: float | None = None,
    rand: Random = random.random,
) -> PollPlan:
    """Plan the next poll after one that ended at ``now``.

    ``consecutive_errors`` is the count after this poll (0: it succeeded). On success pass
    the parsed feed's ``ttl_seconds`` (None for a 304) and the response ``headers``; on
    failure pass the error's ``retry_after``.
    """
    lo, hi = min_interval, max(max_interval, min_interval)
    base = _clamp(interval, lo, hi)
    if consecutive_errors > 0:
        return _backoff(now, base, consecutive_errors, max_backoff or hi, retry_after, rand)
    delay: float = base
    reason: Reason = "interval"
    hints: tuple[tuple[float | None, Reason], ...] = (
        (ttl_seconds, "ttl"),
        (cache_max_age(headers or {}), "cache_control"),
    )
    for hint, why in hints:
        if hint is not None and hint > delay:
            delay, reason = float(hint), why
    delay = _clamp(delay, lo, hi)
    return PollPlan(now + timedelta(seconds=delay), delay, reason)


def _backoff(
    now: datetime, base: float, errors: int, cap: float, retry_after: float | None, rand: Random
) -> PollPlan:
    # 2**errors overflows a float past ~1000; the cap is reached long before 64 anyway.
    raw = min(base * 2.0 ** min(errors - 1, 64), cap)
    delay = raw * (1.0 - JITTER * min(max(rand(), 0.0), 1.0))
    reason: Reason = "backoff"
    if retry_after is not None and retry_after > delay:
        delay, reason = min(retry_after, cap), "retry_after"
    return PollPlan(now + timedelta(seconds=delay), delay, reason)


def cache_max_age(headers: Mapping[str, str]) -> float | None:
    """Seconds a response stays fresh by ``Cache-Control`` (less ``Age``); None if unsaid."""
    lowered = {k.lower(): v for k, v in headers.items()}
    directives = [d.strip().lower() for d in lowered.get("cache-control", "").split(",")]
    if any(d in ("no-cache", "no-store") for d in directives):
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        value = value.strip().strip('"')
        if name.strip() == "max-age" and value.isdigit():
            age = lowered.get("age", "").strip()
            return max(float(value) - (float(age) if age.isdigit() else 0.0), 0.0)
    return None


def is_due(not_before: datetime | None, now: datetime, *, tolerance: float = 0.0) -> bool:
    """Whether a poll at ``now`` may go ahead; ``tolerance`` seconds early still counts.

    Pass the scheduler's jitter as the tolerance, so a run that fires a little before
    ``not_before`` on a plain interval is not skipped (which would double the interval).
    """
    return not_before is None or now >= not_before - timedelta(seconds=tolerance)


def health_events(
    state: FeedState,
    *,
    now: datetime,
    new_items: int = 0,
    published: Sequence[datetime | None] = (),
    name: str | None = None,
    thresholds: HealthThresholds | None = None,
) -> tuple[FeedState, list[Notice]]:
    """The notices due after a poll, and the state that remembers they were given.

    Call after the poll's outcome is in ``state`` (``consecutive_errors`` is 0 after a
    success, ``last_error`` set after a failure). ``new_items`` counts the items seen for
    the first time; ``published`` their dates (used once, to guess a new feed's rhythm).
    """
    limits = thresholds or HealthThresholds()
    label = name or state.feed_id
    if state.consecutive_errors > 0:
        return _failing(state, label, limits)
    notices: list[Notice] = []
    if state.failing_notified:
        state = replace(state, failing_notified=False)
        notices.append(Notice(state.feed_id, "recovered", f"feed {label} recovered"))
    if new_items > 0:
        return _arrived(state, now, published), notices
    state, silent = _silence(state, now, label, limits)
    return state, notices + silent


def _failing(
    state: FeedState, label: str, limits: HealthThresholds
) -> tuple[FeedState, list[Notice]]:
    if state.failing_notified or state.consecutive_errors < limits.fail_threshold:
        return state, []
    text = (
        f"feed {label} failing ({state.consecutive_errors} consecutive errors, "
        f"last error: {state.last_error or 'unknown'})"
    )
    return replace(state, failing_notified=True), [Notice(state.feed_id, "failing", text)]


def _arrived(state: FeedState, now: datetime, published: Sequence[datetime | None]) -> FeedState:
    mean = state.mean_gap_seconds
    if state.last_new_item is None:
        mean = mean if mean is not None else seed_gap(published)
    else:
        gap = max((now - state.last_new_item).total_seconds(), 0.0)
        mean = gap if mean is None else (1 - GAP_WEIGHT) * mean + GAP_WEIGHT * gap
    return replace(state, last_new_item=now, mean_gap_seconds=mean, silent_notified=False)


def seed_gap(published: Sequence[datetime | None]) -> float | None:
    """The mean gap between the items' dates, when there are enough distinct ones."""
    dates = sorted(d for d in published if d is not None)
    if len(dates) < MIN_SEED_ITEMS:
        return None
    gap = (dates[-1] - dates[0]).total_seconds() / (len(dates) - 1)
    return gap if gap >= MIN_SEED_GAP else None


def _silence(
    state: FeedState, now: datetime, label: str, limits: HealthThresholds
) -> tuple[FeedState, list[Notice]]:
    last, mean = state.last_new_item, state.mean_gap_seconds
    if state.silent_notified or last is None or mean is None:
        return state, []
    quiet = (now - last).total_seconds()
    if quiet < max(limits.silent_factor * mean, limits.min_silence):
        return state, []
    text = (
        f"feed {label} silent: no new items for {describe_duration(quiet)} "
        f"(usual rhythm: one every {describe_duration(mean)})"
    )
    return replace(state, silent_notified=True), [Notice(state.feed_id, "silent", text)]


def describe_duration(seconds: float) -> str:
    """``5400`` -> ``"1 h 30 min"``; days and hours past a day, minutes below an hour."""
    parts = largest_units(seconds, ("d", "h", "m"))
    if parts == [(0, "m")]:
        parts = [(1, "m")]  # a gap under half a minute still reads as one
    return " ".join(f"{count} {_WORDS[unit]}" for count, unit in parts)


def _clamp(value: float, lo: float, hi: float) -> float:
    return min(max(value, lo), hi)
