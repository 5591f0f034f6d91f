"""Feed state and seen items: what the pollers remember between polls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from bot.models import FeedState, Item
from bot.store.codec import bounded, bounded_key, feed_state_from_row, feed_state_values
from bot.store.sql import chunks, insert_many_ignore, upsert
from bot.store.tables import feed_state, seen_items


def get_feed_state(conn: Connection, feed_id: str) -> FeedState | None:
    row = conn.execute(select(feed_state).where(feed_state.c.feed_id == feed_id)).mappings()
    found = row.first()
    return feed_state_from_row(found) if found is not None else None


def all_feed_states(conn: Connection) -> list[FeedState]:
    rows = conn.execute(select(feed_state).order_by(feed_state.c.feed_id)).mappings()
    return [feed_state_from_row(row) for row in rows]


def save_feed_state(conn: Connection, state: FeedState) -> None:
    upsert(conn, feed_state, feed_state_values(state), key=("feed_id",))


def unseen(conn: Connection, feed_id: str, keys: Sequence[str]) -> set[str]:
    stored = {bounded_key(k): k for k in keys}
    known: set[str] = set()
    for part in chunks(list(stored)):
        query = select(seen_items.c.key).where(
            seen_items.c.feed_id == feed_id, seen_items.c.key.in_(part)
        )
        known.update(stored[key] for key in conn.execute(query).scalars())
    return set(stored.values()) - known


def seen_links(conn: Connection, feed_id: str, keys: Sequence[str]) -> dict[str, str]:
    """The link recorded with each of ``keys`` seen for this feed (by the key as given)."""
    stored = {bounded_key(k): k for k in keys}
    found: dict[str, str] = {}
    for part in chunks(list(stored)):
        query = select(seen_items.c.key, seen_items.c.link).where(
            seen_items.c.feed_id == feed_id, seen_items.c.key.in_(part)
        )
        found.update((stored[row.key], row.link) for row in conn.execute(query))
    return found


def record_seen(conn: Connection, items: Sequence[Item], first_seen: datetime) -> None:
    rows = [
        bounded(
            {
                "feed_id": item.feed_id,
                "key": item.key,
                "title": item.title,
                "link": item.link,
                "published": item.published,
                "first_seen": first_seen,
            }
        )
        for item in items
    ]
    insert_many_ignore(conn, seen_items, rows)


def seen_count(conn: Connection, feed_id: str | None) -> int:
    query = select(func.count()).select_from(seen_items)
    if feed_id is not None:
        query = query.where(seen_items.c.feed_id == feed_id)
    return int(conn.execute(query).scalar_one())
