"""Outbox queries for near-duplicates and digests (see ``bot.dedupe`` and ``bot.digest``).

Near-duplicates look back at what one topic sent (or holds) in one chat; digests collect the
held items that are due and release them, with the digest messages, in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from bot.models import Alert, Destination, OutboxEntry
from bot.store.codec import bounded, bounded_key, chat_to_text, destination_key, entry_from_row
from bot.store.outbox import enqueue
from bot.store.tables import outbox

ORIGINALS = ("alert", "digest_item")
HELD = "held"


def _in(dest: Destination, topic_id: str) -> list[object]:
    chat, thread = destination_key(dest)
    return [outbox.c.topic_id == topic_id, outbox.c.chat == chat, outbox.c.thread == thread]


def recent(
    conn: Connection, topic_id: str, dest: Destination, since: datetime
) -> list[OutboxEntry]:
    """Alerts and digest items with a fingerprint, first seen since ``since``, oldest first."""
    query = (
        select(outbox)
        .where(
            *_in(dest, topic_id),  # type: ignore[arg-type]
            outbox.c.kind.in_(ORIGINALS),
            outbox.c.status != "failed",
            outbox.c.fingerprint.is_not(None),
            outbox.c.first_seen >= since,
        )
        .order_by(outbox.c.first_seen, outbox.c.id)
    )
    return [entry_from_row(row) for row in conn.execute(query).mappings()]


def duplicates_of(
    conn: Connection, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
) -> list[OutboxEntry]:
    """The rows recorded as near-duplicates of one alert, oldest first."""
    query = (
        select(outbox)
        .where(
            *_in(dest, topic_id),  # type: ignore[arg-type]
            outbox.c.ref_feed == ref_feed,
            outbox.c.ref_key == bounded_key(ref_key),
        )
        .order_by(outbox.c.id)
    )
    return [entry_from_row(row) for row in conn.execute(query).mappings()]


def original(
    conn: Connection, topic_id: str, dest: Destination, feed_id: str, item_key: str
) -> OutboxEntry | None:
    query = select(outbox).where(
        *_in(dest, topic_id),  # type: ignore[arg-type]
        outbox.c.feed_id == feed_id,
        outbox.c.item_key == bounded_key(item_key),
    )
    row = conn.execute(query).mappings().first()
    return entry_from_row(row) if row is not None else None


def held_due(conn: Connection, now: datetime) -> list[OutboxEntry]:
    """Digest items whose slot has come, by chat, slot, topic and age."""
    query = (
        select(outbox)
        .where(outbox.c.kind == "digest_item", outbox.c.status == HELD, outbox.c.deliver_at <= now)
        .order_by(
            outbox.c.chat,
            outbox.c.thread,
            outbox.c.deliver_at,
            outbox.c.topic_id,
            outbox.c.first_seen,
            outbox.c.id,
        )
    )
    return [entry_from_row(row) for row in conn.execute(query).mappings()]


def next_digest_time(conn: Connection) -> datetime | None:
    query = select(func.min(outbox.c.deliver_at)).where(
        outbox.c.kind == "digest_item", outbox.c.status == HELD
    )
    value: datetime | None = conn.execute(query).scalar_one_or_none()
    return value


def release(
    conn: Connection, digests: Sequence[Alert], item_ids: Sequence[int], now: datetime
) -> int:
    """Queue the digest messages and mark their items sent with them; the number queued."""
    queued = enqueue(conn, digests, now)
    if item_ids:
        conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(item_ids)), outbox.c.status == HELD)
            .values(status="sent", sent_at=now)
        )
    return queued


def drop_held(conn: Connection, chat: int | str, reason: str) -> int:
    """A chat that is gone gets no digest either."""
    query = (
        update(outbox)
        .where(outbox.c.chat == chat_to_text(chat), outbox.c.status == HELD)
        .values(bounded({"status": "failed", "error": reason}))
    )
    return int(conn.execute(query).rowcount)
