"""Subscriptions: which chat (or forum thread) follows which topic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, exists, select, update

from bot.models import Destination
from bot.store.codec import chat_from_text, chat_to_text, destination_key, thread_from_column
from bot.store.sql import insert_ignore
from bot.store.tables import subscriptions as subs


def subscribe(conn: Connection, dest: Destination, topic_id: str, now: datetime) -> bool:
    chat, thread = destination_key(dest)
    values = {"chat": chat, "thread": thread, "topic_id": topic_id, "created": now}
    return insert_ignore(conn, subs, values)


def unsubscribe(conn: Connection, dest: Destination, topic_id: str) -> bool:
    chat, thread = destination_key(dest)
    query = delete(subs).where(
        subs.c.chat == chat, subs.c.thread == thread, subs.c.topic_id == topic_id
    )
    return bool(conn.execute(query).rowcount)


def listing(conn: Connection, topic_id: str | None) -> list[tuple[Destination, str]]:
    query = select(subs.c.chat, subs.c.thread, subs.c.topic_id).order_by(subs.c.topic_id, subs.c.id)
    if topic_id is not None:
        query = query.where(subs.c.topic_id == topic_id)
    return [
        (Destination(chat_from_text(row.chat), thread_from_column(row.thread)), row.topic_id)
        for row in conn.execute(query)
    ]


def move_chat(conn: Connection, old_chat: int | str, new_chat: int) -> None:
    """Carry subscriptions over to the chat's new id; ones the new id has already go."""
    old, new = chat_to_text(old_chat), chat_to_text(new_chat)
    twin = subs.alias("twin")
    already_there = exists().where(
        twin.c.chat == new, twin.c.thread == subs.c.thread, twin.c.topic_id == subs.c.topic_id
    )
    conn.execute(update(subs).where(subs.c.chat == old, ~already_there).values(chat=new))
    conn.execute(delete(subs).where(subs.c.chat == old))


def topics_of(conn: Connection, dest: Destination) -> list[str]:
    """The topic ids one chat (or forum thread) follows, oldest subscription first."""
    chat, thread = destination_key(dest)
    query = (
        select(subs.c.topic_id)
        .where(subs.c.chat == chat, subs.c.thread == thread)
        .order_by(subs.c.id)
    )
    return [row.topic_id for row in conn.execute(query)]
