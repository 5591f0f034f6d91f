"""Which feeds to poll, and who polls them: the one scheduling truth, in the store.

Every enabled feed of the current rules has a ``feed_state`` row marked ``active`` with its
interval (``sync_feeds``, after each rules load). A poller's tick leases the feeds that are
due and free (``lease_due``): ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` then one
``UPDATE`` setting ``lease_until`` and ``leased_by``, so two pollers never take the same
feed, and neither waits for the other's rows. On PostgreSQL "now" is the database's clock,
the same for every poller whatever their own clocks say. The poll's result is written only
while the lease is still its own (``release``): a poller that stalled past its lease and
lost the feed to another writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, bindparam, func, or_, select, update

from bot.errors import LeaseLost
from bot.store.sql import chunks, write_many
from bot.store.tables import UTCDateTime, feed_state

__all__ = ["db_now", "fence", "lease_due", "lease_feeds", "release", "sync_feeds"]


def db_now(conn: Connection, fallback: datetime) -> datetime:
    """The database's clock on PostgreSQL; ``fallback`` on SQLite (one process, its clock)."""
    if conn.dialect.name != "postgresql":
        return fallback
    value: datetime = conn.execute(select(func.now())).scalar_one()
    return value


def sync_feeds(conn: Connection, intervals: Mapping[str, float]) -> None:
    """Make the active feeds those of ``intervals`` (feed id -> seconds between polls).

    New feeds get a row, due at once. A feed whose interval shrank is due no later than its
    last poll plus the new interval (a feed that is failing keeps its backoff). Feeds no
    longer in the rules stay, inactive, with their history.
    """
    c = feed_state.c
    columns = (c.feed_id, c.active, c.interval_s, c.last_poll, c.consecutive_errors)
    rows = conn.execute(select(*columns, c.next_poll_not_before)).all()
    known = {row.feed_id: row for row in rows}
    write_many(
        conn,
        feed_state,
        [
            {"feed_id": feed_id, "active": True, "interval_s": seconds, "consecutive_errors": 0}
            for feed_id, seconds in intervals.items()
            if feed_id not in known
        ],
    )
    changed = []
    for feed_id, seconds in intervals.items():
        row = known.get(feed_id)
        if row is None or (row.active and row.interval_s == seconds):
            continue
        due = row.next_poll_not_before
        if row.last_poll is not None and not row.consecutive_errors:
            sooner = row.last_poll + timedelta(seconds=seconds)
            due = sooner if due is None else min(due, sooner)
        changed.append({"fid": feed_id, "seconds": seconds, "due": due})
    if changed:
        stmt = (
            update(feed_state)
            .where(c.feed_id == bindparam("fid"))
            .values(
                active=True,
                interval_s=bindparam("seconds"),
                next_poll_not_before=bindparam("due", type_=UTCDateTime()),
            )
        )
        conn.execute(stmt, changed)
    gone = [fid for fid, row in known.items() if row.active and fid not in intervals]
    for part in chunks(gone):
        conn.execute(update(feed_state).where(c.feed_id.in_(part)).values(active=False))


def lease_due(
    conn: Connection, holder: str, now: datetime, limit: int, seconds: float
) -> list[str]:
    """Lease up to ``limit`` active feeds that are due at ``now`` and free, most overdue
    first; their ids."""
    c = feed_state.c
    due = or_(c.next_poll_not_before.is_(None), c.next_poll_not_before <= now)
    pick = (
        select(c.feed_id)
        .where(c.active, due, _free(now))
        .order_by(c.next_poll_not_before.asc().nulls_first(), c.feed_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(conn.execute(pick).scalars())
    _take(conn, ids, holder, now, seconds)
    return ids


def lease_feeds(
    conn: Connection, holder: str, feed_ids: Sequence[str], now: datetime, seconds: float
) -> list[str]:
    """Lease the given feeds that are free, due or not (``mediabot once``); their ids."""
    c = feed_state.c
    taken: list[str] = []
    for part in chunks(list(feed_ids)):
        pick = (
            select(c.feed_id)
            .where(c.feed_id.in_(part), _free(now))
            .order_by(c.feed_id)
            .with_for_update(skip_locked=True)
        )
        ids = list(conn.execute(pick).scalars())
        _take(conn, ids, holder, now, seconds)
        taken += ids
    return taken


def release(conn: Connection, feed_id: str, holder: str) -> bool:
    """End ``holder``'s lease of a feed; False when another process holds it now."""
    c = feed_state.c
    result = conn.execute(
        update(feed_state)
        .where(c.feed_id == feed_id, c.leased_by == holder)
        .values(lease_until=None, leased_by=None)
    )
    return bool(result.rowcount)


def fence(conn: Connection, feed_id: str, holder: str | None) -> None:
    """With ``holder``, end its lease of the feed, or raise ``LeaseLost`` when another
    process holds the feed now: what the transaction was about to write must not be."""
    if holder is not None and not release(conn, feed_id, holder):
        raise LeaseLost(f"feed {feed_id!r} is polled by another process now")


def _free(now: datetime) -> ColumnElement[bool]:
    c = feed_state.c
    return or_(c.lease_until.is_(None), c.lease_until < now)


def _take(conn: Connection, ids: Sequence[str], holder: str, now: datetime, seconds: float) -> None:
    if not ids:
        return
    until = now + timedelta(seconds=seconds)
    c = feed_state.c
    conn.execute(
        update(feed_state)
        .where(c.feed_id.in_(list(ids)))
        .values(lease_until=until, leased_by=holder)
    )
