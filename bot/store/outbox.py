"""Outbox queries: alerts wait here until Telegram has them.

An alert is identified by (feed, item, topic, chat, thread); queueing it twice is a no-op,
so a poll that is retried after a crash never sends the same alert twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, or_, select, update
from sqlalchemy.sql import ColumnElement

from bot.delivery.kinds import Body, Notice
from bot.errors import StoreError
from bot.models import Alert, Destination, OutboxEntry
from bot.store import chats
from bot.store.codec import (
    BODY_BOUNDS,
    alert_values,
    bounded,
    bounded_key,
    chat_from_text,
    chat_to_text,
    entry_from_row,
    item_of,
)
from bot.store.notify import notify_outbox
from bot.store.parts import body_to_json
from bot.store.sql import insert_ignore
from bot.store.tables import outbox, seen_items

QUEUED = "queued"
HELD = "held"  # a digest item until its digest is built
DONE = ("sent", "failed")  # what retention may delete; queued and held rows always stay


def enqueue(conn: Connection, alerts: Sequence[Alert], now: datetime) -> int:
    """Queue the alerts not queued before, except to chats that are gone
    (``bot.store.chats``); the number newly queued."""
    added = 0
    gone = chats.gone_among(conn, (chat_to_text(a.destination.chat) for a in alerts))
    for alert in alerts:
        values = alert_values(alert) | bounded(_item_columns(conn, alert))
        if values["chat"] in gone:
            continue
        status = HELD if alert.kind == "digest_item" else QUEUED
        values |= {"created": now, "status": status, "attempts": 0}
        added += insert_ignore(conn, outbox, values)
    if added:
        notify_outbox(conn)
    return added


def enqueue_notice(
    conn: Connection, key: str, text: str, admins: Sequence[int], now: datetime
) -> int:
    """Queue a plain-text note to each admin, once per ``key``: the key stands where an
    item's would, so the same note is never queued twice to one admin."""
    note = Notice(text[:4000])
    notes = [Alert("", key[:500], "", Destination(admin), note, now) for admin in admins]
    return enqueue(conn, notes, now)


def _item_columns(conn: Connection, alert: Alert) -> dict[str, Any]:
    # Copied from the seen item, if recorded, so a later edit can say what was sent.
    item = item_of(alert.body)
    if item is not None:
        return {"item_title": item[0], "item_link": item[1]}
    query = select(seen_items.c.title, seen_items.c.link).where(
        seen_items.c.feed_id == alert.feed_id, seen_items.c.key == bounded_key(alert.item_key)
    )
    row = conn.execute(query).first()
    return {"item_title": row.title, "item_link": row.link} if row is not None else {}


def due(conn: Connection, now: datetime, limit: int) -> list[OutboxEntry]:
    query = (
        select(outbox)
        .where(outbox.c.status == QUEUED, _is_due(now))
        .order_by(outbox.c.first_seen, outbox.c.id)
        .limit(limit)
    )
    return [entry_from_row(row) for row in conn.execute(query).mappings()]


def _is_due(now: datetime) -> ColumnElement[bool]:
    return or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now)


def next_due_time(conn: Connection) -> datetime | None:
    query = select(func.min(outbox.c.not_before)).where(
        outbox.c.status == QUEUED, outbox.c.not_before.is_not(None)
    )
    # min() keeps the column's type, so the value comes back as an aware UTC datetime.
    value: datetime | None = conn.execute(query).scalar_one_or_none()
    return value


def get_entry(conn: Connection, entry_id: int) -> OutboxEntry | None:
    row = conn.execute(select(outbox).where(outbox.c.id == entry_id)).mappings().first()
    return entry_from_row(row) if row is not None else None


def change_entry(conn: Connection, entry_id: int, **values: Any) -> None:
    query = update(outbox).where(outbox.c.id == entry_id).values(**bounded(values))
    result = conn.execute(query)
    if not result.rowcount:
        raise StoreError(f"no outbox entry with id {entry_id}")


def mark_sent(conn: Connection, entry_id: int, message_id: int, sent_at: datetime) -> None:
    change_entry(
        conn,
        entry_id,
        status="sent",
        message_id=message_id,
        sent_at=sent_at,
        error=None,
        summary_input=None,  # only needed until the message is out
        claimed_by=None,
        attempted_at=sent_at,
    )


def mark_failed(conn: Connection, entry_id: int, error: str, at: datetime | None) -> None:
    """Fail an entry for good; ``at``, when Telegram answered its last request, if any."""
    values = {"claimed_by": None} | ({"attempted_at": at} if at is not None else {})
    change_entry(conn, entry_id, status="failed", error=error, **values)


def set_body(conn: Connection, entry_id: int, body: Body) -> None:
    """Replace what an entry says; the text it was summarised from is no longer needed."""
    change_entry(conn, entry_id, parts=body_to_json(body, BODY_BOUNDS), summary_input=None)


def defer(
    conn: Connection, entry_id: int, not_before: datetime, error: str | None, at: datetime
) -> None:
    change_entry(
        conn,
        entry_id,
        not_before=not_before,
        error=error,
        attempts=outbox.c.attempts + 1,
        claimed_by=None,
        attempted_at=at,
    )


def claim(conn: Connection, entry_id: int, claimant: str, at: datetime) -> bool:
    """Mark a queued entry as being sent by ``claimant`` from ``at``; False when it is not
    queued any more or another sender holds it.

    The row is locked with ``SKIP LOCKED`` first (PostgreSQL; SQLite has one writer), so two
    senders never wait on each other for one entry: the second simply does not get it.
    """
    free = or_(outbox.c.claimed_by.is_(None), outbox.c.claimed_by == claimant)
    target = (
        select(outbox.c.id)
        .where(outbox.c.id == entry_id, outbox.c.status == QUEUED, free)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = conn.execute(
        update(outbox).where(outbox.c.id == target).values(claimed_by=claimant, attempted_at=at)
    )
    return bool(result.rowcount)


def release_claims(conn: Connection, claimant: str) -> int:
    """Clear every claim not held by ``claimant`` (a sender taking over); how many."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.claimed_by.is_not(None), outbox.c.claimed_by != claimant)
        .values(claimed_by=None)
    )
    return int(result.rowcount)


def recent_attempts(conn: Connection, since: datetime) -> list[tuple[int | str, datetime, bool]]:
    """(chat, time, still in flight) of each request made or answered since ``since``."""
    query = (
        select(outbox.c.chat, outbox.c.attempted_at, outbox.c.claimed_by)
        .where(outbox.c.attempted_at >= since)
        .order_by(outbox.c.attempted_at)
    )
    rows = conn.execute(query)
    return [(chat_from_text(r.chat), r.attempted_at, r.claimed_by is not None) for r in rows]


def move_chat(conn: Connection, old_chat: int | str, new_chat: int) -> int:
    """Point queued alerts at the new chat id; the number moved.

    An alert already queued for the new chat as well stays behind, marked failed, so the
    chat does not get it twice.
    """
    old, new = chat_to_text(old_chat), chat_to_text(new_chat)
    twin = outbox.alias("twin")
    already_there = exists().where(
        twin.c.chat == new,
        twin.c.feed_id == outbox.c.feed_id,
        twin.c.item_key == outbox.c.item_key,
        twin.c.topic_id == outbox.c.topic_id,
        twin.c.thread == outbox.c.thread,
    )
    queued_in_old = and_(outbox.c.chat == old, outbox.c.status == QUEUED)
    moved = conn.execute(
        update(outbox).where(queued_in_old, ~already_there).values(chat=new)
    ).rowcount
    conn.execute(
        update(outbox)
        .where(queued_in_old)
        .values(status="failed", error=f"chat moved to {new}; already queued there")
    )
    return int(moved)


def drop_chat(conn: Connection, chat: int | str, reason: str) -> int:
    """Fail what waits for a chat, queued alerts and held digest items alike (a chat that
    is gone gets no digest either); how many."""
    query = (
        update(outbox)
        .where(outbox.c.chat == chat_to_text(chat), outbox.c.status.in_((QUEUED, HELD)))
        .values(bounded({"status": "failed", "error": reason}))
    )
    return int(conn.execute(query).rowcount)


def depth(conn: Connection) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.status == QUEUED)
    return int(conn.execute(query).scalar_one())


def sent(conn: Connection, topic_id: str | None, since: datetime | None) -> list[OutboxEntry]:
    query = select(outbox).where(outbox.c.status == "sent")
    if topic_id is not None:
        query = query.where(outbox.c.topic_id == topic_id)
    if since is not None:
        query = query.where(outbox.c.sent_at >= since)
    query = query.order_by(outbox.c.sent_at, outbox.c.id)
    return [entry_from_row(row) for row in conn.execute(query).mappings()]


def prune(conn: Connection, before: datetime, limit: int) -> int:
    """Delete up to ``limit`` sent or failed entries finished (sent, else queued) before
    ``before``; the number deleted. Queued and held entries are never deleted."""
    finished = func.coalesce(outbox.c.sent_at, outbox.c.created)
    query = select(outbox.c.id).where(outbox.c.status.in_(DONE), finished < before).limit(limit)
    ids = list(conn.execute(query).scalars())
    if ids:
        conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))
    return len(ids)
