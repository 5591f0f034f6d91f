"""Outbox queries for near-duplicates (``bot.delivery.dedupe``) and digests (``.digest``).

Near-duplicates look back at what one topic sent (or holds) in one chat; digests collect the
held items that are due and release them, with the digest messages, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, func, select, text, update

from bot.models import Alert, Destination, OutboxEntry
from bot.store.codec import bounded_key, destination_key, entry_from_row
from bot.store.outbox import HELD, enqueue
from bot.store.tables import outbox

ORIGINALS = ("alert", "digest_item")
# Near-duplicate checks take a transaction lock per (topic, chat), hashed into this many
# keys: few enough that a poll fanning out to thousands of chats stays within PostgreSQL's
# lock table.
LOCK_BUCKETS = 256


class RecentAlerts(Protocol):
    """What the near-duplicate check reads (``bot.delivery.dedupe.DedupeStore``)."""

    def recent_alerts(
        self, topic_id: str, dest: Destination, since: datetime
    ) -> list[OutboxEntry]: ...

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]: ...


# The alerts of a poll in, the alerts to queue out, reading the outbox through the view.
Collapse = Callable[[RecentAlerts, list[Alert]], list[Alert]]


class OutboxView:
    """``RecentAlerts`` inside one transaction: sees what the transaction has written."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def recent_alerts(self, topic_id: str, dest: Destination, since: datetime) -> list[OutboxEntry]:
        return recent(self._conn, topic_id, dest, since)

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]:
        return duplicates_of(self._conn, topic_id, dest, ref_feed, ref_key)


def collapse_new(conn: Connection, alerts: Sequence[Alert], collapse: Collapse) -> list[Alert]:
    """A poll's alerts with near-duplicates of what the outbox holds turned into "also"
    rows by ``collapse``, under the lock of each (topic, chat) they go to: one story
    arriving through two pollers at once is one message and one edit."""
    lock_scopes(conn, [(a.topic_id, a.destination) for a in alerts])
    return collapse(OutboxView(conn), list(alerts))


def lock_scopes(conn: Connection, scopes: Sequence[tuple[str, Destination]]) -> None:
    """Hold, until the transaction ends, the near-duplicate lock of each (topic, chat), in
    a fixed order (no deadlock between two pollers). SQLite writers are serial already."""
    if conn.dialect.name != "postgresql":
        return
    keys = sorted({_bucket(topic_id, dest) for topic_id, dest in scopes})
    for key in keys:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k1, :k2)"), {"k1": _NEAR, "k2": key})


_NEAR = 0x6E656172  # "near": the first key of the two-key advisory locks taken here


def _bucket(topic_id: str, dest: Destination) -> int:
    digest = hashlib.blake2b(f"{topic_id}\0{dest.chat}\0{dest.thread}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big") % LOCK_BUCKETS


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


def held_count(conn: Connection) -> int:
    """Items held for a digest, in every chat."""
    query = (
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.kind == "digest_item", outbox.c.status == HELD)
    )
    return int(conn.execute(query).scalar_one())


def release(
    conn: Connection, digests: Sequence[Alert], item_ids: Sequence[int], now: datetime
) -> int:
    """Queue the digest messages and mark their items sent with them; the number queued.

    Idempotent: the items are taken first, and only if every one is still held; a digest
    whose items another collector took meanwhile queues nothing (its caller's transaction
    is rolled back by ``DigestTaken``), and digest keys are unique per slot and items.
    """
    if item_ids:
        taken = conn.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(item_ids)), outbox.c.status == HELD)
            .values(status="sent", sent_at=now)
            .returning(outbox.c.id)
        ).all()
        if len(taken) != len(set(item_ids)):
            raise DigestTaken(f"{len(item_ids) - len(taken)} of the digest's items were taken")
    return enqueue(conn, digests, now)


class DigestTaken(Exception):
    """Another collector released some of these digest items first."""
