"""Windows aligned to UTC, where an item sits in time, and how a window and a usual rate
read in an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(at: datetime, window: float) -> datetime:
    """The start of the ``window``-second window holding ``at``: windows are aligned to
    UTC midnight of 1 January 1970, so every process names the same window alike."""
    seconds = (at - _EPOCH).total_seconds()
    return _EPOCH + timedelta(seconds=(seconds // window) * window)


def place(published: datetime | None, first_seen: datetime) -> datetime:
    """Where an item sits in time: published, else first seen; never after first seen (a
    date in the future is a feed's error, and must not open a window not yet begun)."""
    if published is None:
        return first_seen
    return min(published, first_seen)


def describe_window(window: float) -> str:
    """``hour``, ``30 minutes``, ``6 hours``, ``day``: what "in the last …" says."""
    minutes = round(window / 60)
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return "minute" if minutes == 1 else f"{minutes} minutes"


def compact(seconds: float) -> str:
    """``30m``, ``1h``, ``7d``: a duration as rule files write it."""
    minutes = round(seconds / 60)
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def describe_rate(mean: float) -> str:
    """A mean count per window for people: ``0``, ``0.3``, ``<0.1``, ``12``."""
    if mean <= 0:
        return "0"
    if mean < 0.05:
        return "<0.1"
    if mean >= 10:
        return f"{mean:.0f}"
    return f"{mean:.1f}".removesuffix(".0")
