"""Feed state and seen items: what the pollers remember between polls.

Seen items are how a feed's old items are told from new ones, so pruning them is careful
(``prune_seen``): an item goes once it was first seen more than the retention period
ago, but a feed's ``keep`` most recently first-seen items always stay, whatever their
age. A feed that stops publishing keeps listing its last items for months; they are its
most recent ones, and stay known, so they never alert again. What can still come back is
an item a feed lists for longer than the retention period while more than ``keep`` newer
items came and went (a pinned post on a busy feed): it alerts once more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from bot.models import FeedState, Item
from bot.store.codec import bounded, bounded_key, feed_state_from_row, feed_state_values
from bot.store.sql import chunks, upsert, write_many
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
    write_many(conn, seen_items, rows)


def seen_count(conn: Connection, feed_id: str | None) -> int:
    query = select(func.count()).select_from(seen_items)
    if feed_id is not None:
        query = query.where(seen_items.c.feed_id == feed_id)
    return int(conn.execute(query).scalar_one())


def seen_feeds(conn: Connection) -> list[str]:
    """Every feed id with seen items."""
    query = select(seen_items.c.feed_id).distinct().order_by(seen_items.c.feed_id)
    return list(conn.execute(query).scalars())


def prune_seen(conn: Connection, feed_id: str, before: datetime, keep: int) -> int:
    """Delete the feed's items first seen before ``before``, except its ``keep`` most
    recently first seen (ties at the boundary stay too); the number deleted."""
    newest = (
        select(seen_items.c.first_seen)
        .where(seen_items.c.feed_id == feed_id)
        .order_by(seen_items.c.first_seen.desc())
        .offset(keep - 1)
        .limit(1)
    )
    boundary: datetime | None = conn.execute(newest).scalar_one_or_none()
    if boundary is None:  # no more than ``keep`` items: all stay
        return 0
    cutoff = min(before, boundary)
    query = delete(seen_items).where(
        seen_items.c.feed_id == feed_id, seen_items.c.first_seen < cutoff
    )
    return int(conn.execute(query).rowcount)
