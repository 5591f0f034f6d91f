"""Wake-ups between processes: PostgreSQL ``LISTEN``/``NOTIFY`` on the outbox.

A poller that queues alerts notifies ``mediabot_outbox`` in the same transaction (the
notice is delivered at commit, never for a rollback); the active sender listens and drains
at once instead of at its next timer. A lost notice costs only latency: the sender still
rereads the outbox on its timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHANNEL = "mediabot_outbox"
RETRY_SECONDS = 2.0

__all__ = ["CHANNEL", "OutboxListener", "notify_outbox"]


def notify_outbox(conn: Connection) -> None:
    """Tell listening senders, at commit, that the outbox has new work."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class OutboxListener:
    """Calls ``on_notice`` (from its own thread) whenever a notice arrives; a no-op where
    the database or driver cannot listen (SQLite: one process wakes its sender itself)."""

    def __init__(self, engine: Engine, on_notice: Callable[[], None]) -> None:
        self._engine = engine
        self._on_notice = on_notice
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return (
            self._engine.dialect.name == "postgresql" and self._engine.dialect.driver == "psycopg"
        )

    def start(self) -> None:
        if not self.available or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except Exception as exc:  # the database went away: retry; the timer covers
                log.warning("outbox_listen_failed", extra={"error": str(exc)})
                self._stop.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        raw = self._engine.raw_connection()
        try:
            conn: Any = raw.driver_connection
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            self._on_notice()  # whatever was queued before we listened
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=1.0, stop_after=1):
                    self._on_notice()
        finally:
            raw.invalidate()
