"""Spike alerts in the outbox, ``/trends`` from the counts, and what retention drops.

Spike alerts go to the outbox like every alert (``queue_spikes``): the first of a window
is a new row; a count that grew rewrites the row while it waits, or queues an ``edit`` of
the sent message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, delete, func, select

from bot.models import Alert
from bot.spikes.windows import window_start
from bot.store import alerts as outbox_alerts
from bot.store import outbox
from bot.store.codec import BODY_BOUNDS
from bot.store.parts import body_to_json
from bot.store.tables import spike_alerts, spike_counts, spike_hits, spike_stories

# Counts stay as long as the longest baseline and window can look back; stories as long
# as the longest window (two, for a window that has just closed).
KEEP_COUNTS = timedelta(days=91)
KEEP_STORIES = timedelta(days=2)


def queue_spikes(conn: Connection, alerts: Sequence[tuple[Alert, int]], now: datetime) -> int:
    """Queue spike alerts with the count each shows; the number of rows newly queued.

    An alert already in the outbox for its (spike, key, window) and chat is brought up to
    date instead: rewritten while it waits (queued, or held for a digest), else, once
    sent, followed by an ``edit`` of the sent message that carries the new count.
    """
    added = 0
    for alert, count in alerts:
        first = outbox_alerts.original(
            conn, alert.topic_id, alert.destination, alert.feed_id, alert.item_key
        )
        if first is None:
            added += outbox.enqueue(conn, [alert], now)
        elif first.status in ("queued", "held"):
            parts = body_to_json(alert.body, BODY_BOUNDS)
            outbox.change_entry(conn, first.id, parts=parts)
        elif first.status == "sent":
            edit = replace(  # an alert naming a sent one is its new version: an edit
                alert,
                item_key=f"{alert.item_key}#{count}",
                ref_feed=alert.feed_id,
                ref_key=alert.item_key,
                deliver_at=None,
            )
            added += outbox.enqueue(conn, [edit], now)
    return added


@dataclass(frozen=True, slots=True)
class Trend:
    """One watched key of one spike: its counts lately against its baseline."""

    spike_id: str
    key: str
    window_count: int  # in the window that holds ``now``
    day_count: int  # in the windows of the last day, that one included
    baseline_total: int  # in the baseline before the current window


def trends(
    conn: Connection, spike_id: str, window: float, baseline: float, now: datetime
) -> list[Trend]:
    """Every key of a spike counted in its baseline or since, with its counts."""
    current = window_start(now, window)
    day_start = current - timedelta(seconds=max(0.0, 86400.0 - window))
    base_start = current - timedelta(seconds=baseline)
    c = spike_counts.c
    query = (
        select(
            c.key,
            func.sum(case((c.window_start >= current, c.count), else_=0)),
            func.sum(case((c.window_start >= day_start, c.count), else_=0)),
            func.sum(case((c.window_start < current, c.count), else_=0)),
        )
        .where(and_(c.spike_id == spike_id, c.window_start >= base_start))
        .group_by(c.key)
    )
    return [
        Trend(spike_id, row[0], int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))
        for row in conn.execute(query)
    ]


def prune(conn: Connection, now: datetime) -> int:
    """Delete counts and alerts past any baseline's reach and stories of closed windows."""
    deleted = 0
    for table, keep in (
        (spike_counts, KEEP_COUNTS),
        (spike_alerts, KEEP_COUNTS),
        (spike_hits, KEEP_STORIES),
    ):
        result = conn.execute(delete(table).where(table.c.window_start < now - keep))
        deleted += int(result.rowcount)
    # A story placed before the cut counts only in windows that began before it.
    result = conn.execute(delete(spike_stories).where(spike_stories.c.at < now - KEEP_STORIES))
    return deleted + int(result.rowcount)


__all__ = ["KEEP_COUNTS", "KEEP_STORIES", "Trend", "prune", "queue_spikes", "trends"]
