"""Command calls per user, the rows behind flood control (``bot.control.flood``).

A row is a command or button press that went ahead. Only the updates reader writes them,
and a reader that takes over (DESIGN §9) reads the same rows, so a flooding user gains
nothing from a takeover. ``warned`` marks the user's newest call once they were told to
slow down: a later call that goes ahead is a new, unmarked row, which ends that flood.
Rows older than the flood window count for nothing and are pruned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, delete, func, insert, select, update

from bot.store.tables import command_calls

__all__ = ["Verdict", "calls_since", "decide", "prune", "record", "warn_once"]

Verdict = Literal["ok", "warn", "drop"]


def calls_since(conn: Connection, user_id: int, since: datetime) -> int:
    """The user's calls after ``since`` (the window's start is not in it)."""
    query = select(func.count()).where(
        command_calls.c.user_id == user_id, command_calls.c.at > since
    )
    return int(conn.execute(query).scalar_one())


def record(conn: Connection, user_id: int, at: datetime) -> None:
    conn.execute(insert(command_calls).values(user_id=user_id, at=at, warned=False))


def warn_once(conn: Connection, user_id: int, since: datetime) -> bool:
    """Mark the user as told to slow down; False when they already were, this flood."""
    newest = conn.execute(
        select(command_calls.c.id, command_calls.c.warned)
        .where(command_calls.c.user_id == user_id, command_calls.c.at > since)
        .order_by(command_calls.c.at.desc(), command_calls.c.id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return True
    if newest.warned:
        return False
    conn.execute(update(command_calls).where(command_calls.c.id == newest.id).values(warned=True))
    return True


def decide(conn: Connection, user_id: int, at: datetime, since: datetime, limit: int) -> Verdict:
    """Under ``limit`` calls since ``since``: record this one ("ok"). At the limit, "warn"
    the first time and "drop" after, recording nothing: the window makes room again."""
    if calls_since(conn, user_id, since) < limit:
        record(conn, user_id, at)
        return "ok"
    return "warn" if warn_once(conn, user_id, since) else "drop"


def prune(conn: Connection, before: datetime) -> int:
    """Forget the calls at or before ``before``; how many."""
    result = conn.execute(delete(command_calls).where(command_calls.c.at <= before))
    return int(result.rowcount or 0)
