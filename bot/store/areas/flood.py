"""Command calls per user, against flooding (``bot.store.flood``)."""

from __future__ import annotations

from datetime import datetime

from bot.store import flood
from bot.store.database import Database


class Flood(Database):
    """Each user's recent command calls, shared by every process that answers commands."""

    def command_call(
        self, user_id: int, at: datetime, since: datetime, limit: int
    ) -> flood.Verdict:
        """A command or button press at ``at``: "ok" (recorded) while the user made fewer
        than ``limit`` since ``since``, else "warn" once per flood, then "drop"."""
        with self._write() as conn:
            return flood.decide(conn, user_id, at, since, limit)

    def command_calls(self, user_id: int, since: datetime) -> int:
        """The user's recorded calls after ``since``."""
        with self._read() as conn:
            return flood.calls_since(conn, user_id, since)

    def prune_command_calls(self, before: datetime) -> int:
        """Forget command calls at or before ``before``; how many."""
        with self._write() as conn:
            return flood.prune(conn, before)
