"""Personal watches, their version counter, and the recent items previews look through.

A watch belongs to a chat (alerts go to the thread it was made in) and has a number
there, one more than the chat's highest, so ``/unwatch 3`` keeps meaning the same watch
while others come and go. Every change counts ``watch_version`` up in the same
transaction: a poller that reads an unchanged version knows its watches are current.

Recent items: each new item's title, link and the first ``RECENT_TEXT_CHARS`` characters
of its text, normalized with its case kept (so a preview need not normalize it again),
kept ``RECENT_DAYS`` days; a preview reads at most ``RECENT_LIMIT`` of the newest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, delete, func, select, update

from bot.models import Destination
from bot.store.codec import (
    bounded,
    chat_from_text,
    chat_to_text,
    destination_key,
    thread_from_column,
)
from bot.store.sql import write_many
from bot.store.tables import mutes, recent_items, watch_version, watches
from bot.text.preview import PREVIEW_CHARS

RECENT_DAYS = 7
RECENT_TEXT_CHARS = PREVIEW_CHARS
RECENT_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class WatchRow:
    id: int
    destination: Destination
    number: int
    query: str
    created: datetime
    created_by: int | None = None


@dataclass(frozen=True, slots=True)
class RecentItem:
    feed_id: str
    key: str
    title: str
    link: str
    text: str
    first_seen: datetime


def _row(r: RowMapping) -> WatchRow:
    return WatchRow(
        id=r["id"],
        destination=Destination(chat_from_text(r["chat"]), thread_from_column(r["thread"])),
        number=r["number"],
        query=r["query"],
        created=r["created"],
        created_by=r["created_by"],
    )


def _bump(conn: Connection) -> None:
    conn.execute(update(watch_version).values(version=watch_version.c.version + 1))


def add(
    conn: Connection, dest: Destination, query: str, by: int | None, limit: int, now: datetime
) -> WatchRow | None:
    """The new watch, or None when the chat already has ``limit`` watches."""
    chat, thread = destination_key(dest)
    # Lock the version row first: two adds to one chat at once cannot both pass the limit.
    conn.execute(select(watch_version.c.version).with_for_update()).all()
    count = conn.execute(
        select(func.count(), func.max(watches.c.number)).where(watches.c.chat == chat)
    ).one()
    if count[0] >= limit:
        return None
    values = {
        "chat": chat,
        "thread": thread,
        "number": (count[1] or 0) + 1,
        "query": query,
        "created": now,
        "created_by": by,
    }
    new_id = conn.execute(watches.insert().values(values)).inserted_primary_key
    assert new_id is not None
    _bump(conn)
    return WatchRow(int(new_id[0]), dest, (count[1] or 0) + 1, query, now, by)


def remove(
    conn: Connection, chat: int | str, number: int, mute_key: Callable[[int], str] | None = None
) -> WatchRow | None:
    """The watch removed, or None. Its mutes (kept under ``mute_key(id)``) go too: SQLite
    gives a new row the highest id again once that row is gone, and a new watch must not
    start muted by the mute of the one it replaced."""
    where = (watches.c.chat == chat_to_text(chat), watches.c.number == number)
    found = conn.execute(select(watches).where(*where)).mappings().first()
    if found is None:
        return None
    conn.execute(delete(watches).where(*where))
    if mute_key is not None:
        conn.execute(delete(mutes).where(mutes.c.topic_id == mute_key(found["id"])))
    _bump(conn)
    return _row(found)


def of_chat(conn: Connection, chat: int | str) -> list[WatchRow]:
    query = select(watches).where(watches.c.chat == chat_to_text(chat))
    return [_row(r) for r in conn.execute(query.order_by(watches.c.number)).mappings()]


def every(conn: Connection) -> list[WatchRow]:
    query = select(watches).order_by(watches.c.chat, watches.c.number)
    return [_row(r) for r in conn.execute(query).mappings()]


def version(conn: Connection) -> int:
    return int(conn.execute(select(watch_version.c.version)).scalar_one_or_none() or 0)


def move_chat(conn: Connection, old_chat: int | str, new_chat: int) -> None:
    """A group that became a supergroup keeps its watches under its new id."""
    old, new = chat_to_text(old_chat), chat_to_text(new_chat)
    if conn.execute(select(func.count()).where(watches.c.chat == new)).scalar_one():
        return  # the new id has watches of its own: numbers would clash
    if conn.execute(update(watches).where(watches.c.chat == old).values(chat=new)).rowcount:
        _bump(conn)


def record_recent(conn: Connection, items: Sequence[RecentItem]) -> None:
    rows = [
        bounded(
            {
                "feed_id": i.feed_id,
                "key": i.key,
                "title": i.title,
                "link": i.link,
                "text": i.text[:RECENT_TEXT_CHARS],
                "first_seen": i.first_seen,
            }
        )
        for i in items
    ]
    write_many(conn, recent_items, rows)


def recent(conn: Connection, since: datetime, limit: int = RECENT_LIMIT) -> list[RecentItem]:
    """Items first seen since ``since``, newest first, at most ``limit``."""
    query = (
        select(recent_items)
        .where(recent_items.c.first_seen >= since)
        .order_by(recent_items.c.first_seen.desc())
        .limit(limit)
    )
    return [
        RecentItem(r.feed_id, r.key, r.title, r.link, r.text, r.first_seen)
        for r in conn.execute(query)
    ]


def prune_recent(conn: Connection, before: datetime) -> int:
    query = delete(recent_items).where(recent_items.c.first_seen < before)
    return int(conn.execute(query).rowcount)
