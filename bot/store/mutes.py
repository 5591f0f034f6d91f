"""Mutes: a topic silenced in one chat (or forum thread) until a time.

An expired mute is simply ignored by the queries; ``mute`` overwrites it and
``prune`` clears old rows now and then.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from bot.models import Destination
from bot.store.codec import chat_from_text, destination_key, thread_from_column
from bot.store.sql import upsert
from bot.store.tables import mutes


def mute(conn: Connection, dest: Destination, topic_id: str, until: datetime) -> None:
    chat, thread = destination_key(dest)
    values = {"chat": chat, "thread": thread, "topic_id": topic_id, "until": until}
    upsert(conn, mutes, values, key=("chat", "thread", "topic_id"))


def unmute(conn: Connection, dest: Destination, topic_id: str, now: datetime) -> bool:
    """True when a mute in force was lifted."""
    chat, thread = destination_key(dest)
    query = delete(mutes).where(
        mutes.c.chat == chat,
        mutes.c.thread == thread,
        mutes.c.topic_id == topic_id,
        mutes.c.until > now,
    )
    lifted = bool(conn.execute(query).rowcount)
    prune(conn, now)
    return lifted


def muted(conn: Connection, topic_id: str, now: datetime) -> set[Destination]:
    query = select(mutes.c.chat, mutes.c.thread).where(
        mutes.c.topic_id == topic_id, mutes.c.until > now
    )
    return {
        Destination(chat_from_text(row.chat), thread_from_column(row.thread))
        for row in conn.execute(query)
    }


def mutes_of(conn: Connection, dest: Destination, now: datetime) -> dict[str, datetime]:
    chat, thread = destination_key(dest)
    query = select(mutes.c.topic_id, mutes.c.until).where(
        mutes.c.chat == chat, mutes.c.thread == thread, mutes.c.until > now
    )
    return {row.topic_id: row.until for row in conn.execute(query)}


def prune(conn: Connection, now: datetime) -> None:
    conn.execute(delete(mutes).where(mutes.c.until <= now))
