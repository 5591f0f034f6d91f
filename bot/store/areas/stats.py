"""Counts and times for ``/stats`` (``bot.store.stats``)."""

from __future__ import annotations

from datetime import datetime

from bot.store import stats
from bot.store.database import Database


class Stats(Database):
    """Items seen and alerts sent, counted and timed."""

    def items_seen_since(self, since: datetime) -> int:
        with self._read() as conn:
            return stats.items_seen_since(conn, since)

    def alerts_sent_since(self, since: datetime) -> int:
        with self._read() as conn:
            return stats.alerts_sent_since(conn, since)

    def alert_times(self, since: datetime) -> list[tuple[str, datetime]]:
        """(topic id, sent time) of each alert sent since ``since``."""
        with self._read() as conn:
            return stats.alert_times(conn, since)

    def item_times(self, since: datetime) -> list[tuple[str, datetime]]:
        """(feed id, first seen) of each item first seen since ``since``."""
        with self._read() as conn:
            return stats.item_times(conn, since)
