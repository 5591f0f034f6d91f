"""The processes table: every running mediabot process, its roles and rules version.

Each process writes its row at start and at every heartbeat, and deletes it at a clean
stop; a row whose heartbeat is older than ``STALE`` belongs to a process that died and is
shown as such, then pruned.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from bot.store.sql import upsert
from bot.store.tables import processes

__all__ = ["ProcessRow", "beat", "listing", "process_id", "remove"]

PRUNE_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ProcessRow:
    id: str
    roles: str  # the roles it runs, comma-separated
    active: str  # the single-leader roles it leads now, comma-separated
    host: str
    pid: int
    started: datetime
    heartbeat: datetime
    rules_version: str | None


def process_id() -> str:
    """This process, as claims, leases and this table name it: host, pid, a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def beat(conn: Connection, row: ProcessRow) -> None:
    values = {
        "id": row.id,
        "roles": row.roles,
        "active": row.active,
        "host": row.host,
        "pid": row.pid,
        "started": row.started,
        "heartbeat": row.heartbeat,
        "rules_version": row.rules_version,
    }
    upsert(conn, processes, values, key=("id",))
    conn.execute(delete(processes).where(processes.c.heartbeat < row.heartbeat - PRUNE_AFTER))


def remove(conn: Connection, process_id: str) -> None:
    conn.execute(delete(processes).where(processes.c.id == process_id))


def listing(conn: Connection) -> list[ProcessRow]:
    rows = conn.execute(select(processes).order_by(processes.c.host, processes.c.pid)).mappings()
    return [ProcessRow(**row) for row in rows]
