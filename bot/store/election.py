"""One active process per role: PostgreSQL session advisory locks.

A role that must have a single active process (the sender of one bot token, the
``getUpdates`` reader) is led by whoever holds its advisory lock. The lock lives on a
connection kept for it alone, outside the pool: PostgreSQL releases it when that session
ends, however the process ends (SIGKILL, a lost network), so a standby's next try takes
over. The leader checks its connection before each stretch of work; a leader whose
connection broke steps down at once, since its lock may already be another's.

On SQLite there is one process per database (``bot.service.lock``): it always leads.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger(__name__)

__all__ = ["Election", "lock_key"]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a role name."""
    digest = hashlib.blake2b(f"mediabot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Election:
    """Try to lead ``name``; keep leading while the lock's session lives. Blocking calls:
    run them off the event loop."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        self._engine = engine
        self._key = lock_key(name)
        self._conn: Any = None  # the raw DBAPI connection holding the lock
        self._single = engine.dialect.name != "postgresql"

    @property
    def leading(self) -> bool:
        return self._single or self._conn is not None

    def try_lead(self) -> bool:
        """Take the lock if free; True when this process leads now."""
        if self.leading:
            return self.still_leading()
        conn = self._engine.raw_connection()
        try:
            cursor = conn.cursor()
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
            row = cursor.fetchone()
            cursor.close()
            won = bool(row and row[0])
            conn.commit()
        except Exception:
            conn.invalidate()
            raise
        if not won:
            conn.close()
            return False
        self._conn = conn
        log.info("role_lock_taken", extra={"role": self.name})
        return True

    def still_leading(self) -> bool:
        """True while the lock's session is alive; on any error, step down."""
        if self._single:
            return True
        if self._conn is None:
            return False
        try:
            cursor = self._conn.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            cursor.close()
            self._conn.commit()
        except Exception as exc:
            log.warning("role_lock_lost", extra={"role": self.name, "error": str(exc)})
            self._drop()
            return False
        return True

    def resign(self) -> None:
        """Give the lead up (a clean stop): the lock goes with the session."""
        if self._conn is not None:
            log.info("role_lock_released", extra={"role": self.name})
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        try:
            conn.invalidate()  # close the session itself: its locks go with it
        except Exception:  # a broken connection may fail to close; the server ends it
            log.debug("role_lock_close_failed", extra={"role": self.name})
