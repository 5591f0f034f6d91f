"""Counts for ``/status`` and ``/stats``: items seen and alerts sent over time.

Rows come back as (key, time) pairs and are bucketed into days by the caller, in the
configured time zone: SQLite and PostgreSQL disagree on date functions and zones.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from bot.store.tables import outbox, seen_items

SENT = "sent"
# Rows that stand for an item's alert; "also:" edits and digest messages are not counted.
COUNTED = ("alert", "digest_item")


def items_seen_since(conn: Connection, since: datetime) -> int:
    query = select(func.count()).select_from(seen_items).where(seen_items.c.first_seen >= since)
    return int(conn.execute(query).scalar_one())


def alerts_sent_since(conn: Connection, since: datetime) -> int:
    query = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.status == SENT, outbox.c.sent_at >= since, outbox.c.kind.in_(COUNTED))
    )
    return int(conn.execute(query).scalar_one())


def alert_times(conn: Connection, since: datetime) -> list[tuple[str, datetime]]:
    """(topic id, sent time) of every alert sent since ``since``."""
    query = select(outbox.c.topic_id, outbox.c.sent_at).where(
        outbox.c.status == SENT, outbox.c.sent_at >= since, outbox.c.kind.in_(COUNTED)
    )
    return [(row.topic_id, row.sent_at) for row in conn.execute(query)]


def item_times(conn: Connection, since: datetime) -> list[tuple[str, datetime]]:
    """(feed id, first seen) of every item first seen since ``since``."""
    query = select(seen_items.c.feed_id, seen_items.c.first_seen).where(
        seen_items.c.first_seen >= since
    )
    return [(row.feed_id, row.first_seen) for row in conn.execute(query)]
