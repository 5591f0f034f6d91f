"""Chats that blocked or removed the bot (DESIGN §6: ``Forbidden`` stops sending there).

A gone chat is a row, whichever way it was targeted (a topic's ``channels``, a
subscription): nothing is queued for it (``outbox.enqueue`` leaves it out) and its queue
was failed when it went. It comes back when an admin runs ``/resumechat``, when the bot is
added back (a ``my_chat_member`` update), or when the rules name it anew: rules loaded
without it, then rules that name it again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from bot.store.codec import chat_from_text, chat_to_text
from bot.store.sql import chunks, insert_ignore
from bot.store.tables import gone_chats, subscriptions

__all__ = ["gone", "gone_among", "listing", "mark_gone", "resume", "rules_named"]


def mark_gone(
    conn: Connection, chat: int | str, reason: str, named: bool, now: datetime
) -> tuple[datetime, list[str]]:
    """Remember the chat as gone (the first reason stays) and end its subscriptions, in
    every thread: (when it went, the topics it was subscribed to)."""
    key = chat_to_text(chat)
    values = {"chat": key, "reason": reason[:500], "since": now, "named": named}
    insert_ignore(conn, gone_chats, values)
    since: datetime = conn.execute(
        select(gone_chats.c.since).where(gone_chats.c.chat == key)
    ).scalar_one()
    subscribed = subscriptions.c.chat == key
    topics = list(
        dict.fromkeys(conn.execute(select(subscriptions.c.topic_id).where(subscribed)).scalars())
    )
    conn.execute(delete(subscriptions).where(subscribed))
    return since, topics


def gone(conn: Connection, chat: int | str) -> bool:
    query = select(gone_chats.c.chat).where(gone_chats.c.chat == chat_to_text(chat))
    return conn.execute(query).first() is not None


def gone_among(conn: Connection, chats: Iterable[str]) -> set[str]:
    """Which of these chats (as stored text) are gone."""
    found: set[str] = set()
    for part in chunks(list(dict.fromkeys(chats))):
        query = select(gone_chats.c.chat).where(gone_chats.c.chat.in_(part))
        found.update(conn.execute(query).scalars())
    return found


def resume(conn: Connection, chat: int | str) -> bool:
    """Forget that the chat was gone; True when it was."""
    result = conn.execute(delete(gone_chats).where(gone_chats.c.chat == chat_to_text(chat)))
    return bool(result.rowcount)


def rules_named(conn: Connection, named: Collection[int | str]) -> list[int | str]:
    """New rules were loaded naming ``named``: gone chats they name anew come back (their
    ids), and the others remember whether these rules name them."""
    wanted = {chat_to_text(chat) for chat in named}
    back: list[int | str] = []
    for row in conn.execute(select(gone_chats.c.chat, gone_chats.c.named)).all():
        now_named = row.chat in wanted
        if now_named and not row.named:
            conn.execute(delete(gone_chats).where(gone_chats.c.chat == row.chat))
            back.append(chat_from_text(row.chat))
        elif row.named != now_named:
            conn.execute(
                update(gone_chats).where(gone_chats.c.chat == row.chat).values(named=now_named)
            )
    return back


def listing(conn: Connection) -> list[tuple[int | str, str, datetime]]:
    """(chat, reason, since) of every gone chat, oldest first."""
    query = select(gone_chats).order_by(gone_chats.c.since, gone_chats.c.chat)
    return [(chat_from_text(row.chat), row.reason, row.since) for row in conn.execute(query).all()]
