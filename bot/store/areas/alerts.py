"""Near-duplicates of alerts already sent, and digest items held until their slot
(``bot.store.alerts``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.models import Alert, Destination, OutboxEntry
from bot.store import alerts
from bot.store.database import Database, log


class Alerts(Database):
    """What near-duplicate checks and the digest collector read and release."""

    def recent_alerts(self, topic_id: str, dest: Destination, since: datetime) -> list[OutboxEntry]:
        """A topic's alerts and digest items in one chat first seen since ``since``."""
        with self._read() as conn:
            return alerts.recent(conn, topic_id, dest, since)

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]:
        """The near-duplicates recorded against one alert, oldest first."""
        with self._read() as conn:
            return alerts.duplicates_of(conn, topic_id, dest, ref_feed, ref_key)

    def original_alert(
        self, topic_id: str, dest: Destination, feed_id: str, item_key: str
    ) -> OutboxEntry | None:
        """The alert an "also:" edit belongs to."""
        with self._read() as conn:
            return alerts.original(conn, topic_id, dest, feed_id, item_key)

    def held_digest_items(self, now: datetime) -> list[OutboxEntry]:
        """Digest items whose time has come, grouped by chat and slot."""
        with self._read() as conn:
            return alerts.held_due(conn, now)

    def digest_items_held(self) -> int:
        """How many items wait for a digest, in every chat."""
        with self._read() as conn:
            return alerts.held_count(conn)

    def next_digest_time(self) -> datetime | None:
        with self._read() as conn:
            return alerts.next_digest_time(conn)

    def release_digests(
        self, digests: Sequence[Alert], item_ids: Sequence[int], now: datetime
    ) -> int:
        """Queue digest messages and mark their items sent, in one transaction; 0 when
        another collector released some of the items first (nothing is written then)."""
        try:
            with self._write() as conn:
                return alerts.release(conn, digests, item_ids, now)
        except alerts.DigestTaken as exc:
            log.info("digest_already_released", extra={"error": str(exc)})
            return 0
