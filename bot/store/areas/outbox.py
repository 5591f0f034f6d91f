"""Alerts waiting for Telegram (``bot.store.outbox``): queued, claimed by a sender, sent,
retried later or failed for good; and plain notes to admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.clock import utc_now
from bot.delivery.kinds import Body
from bot.models import Alert, OutboxEntry
from bot.store import outbox
from bot.store.database import Database


class Outbox(Database):
    """The outbox as the sender and the pipeline use it."""

    def enqueue(self, alerts: Sequence[Alert]) -> int:
        """Queue alerts (ones already queued are ignored); the number newly queued."""
        with self._write() as conn:
            return outbox.enqueue(conn, alerts, utc_now())

    def enqueue_notice(self, key: str, text: str, admins: Sequence[int]) -> int:
        """Queue a plain-text note to each admin, once per ``key`` (across processes and
        restarts); the number newly queued."""
        with self._write() as conn:
            return outbox.enqueue_notice(conn, key, text, admins, utc_now())

    def due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        """Queued entries that may go out at ``now``, oldest item first."""
        with self._read() as conn:
            return outbox.due(conn, now, limit)

    def next_due_time(self) -> datetime | None:
        """The earliest ``not_before`` among queued entries that have one, else None.

        This is when a deferred entry (a retry, a digest) becomes due; a sender that has
        drained ``due()`` can sleep until then. Entries without ``not_before`` are due at
        once and are not counted here. The time may already be past: then ``due()`` has
        work now.
        """
        with self._read() as conn:
            return outbox.next_due_time(conn)

    def claim(self, entry_id: int, claimant: str, at: datetime) -> bool:
        """Record that ``claimant`` sends this queued entry now; False if it may not."""
        with self._write() as conn:
            return outbox.claim(conn, entry_id, claimant, at)

    def release_claims(self, claimant: str) -> int:
        """A sender taking over: the claims of senders gone before it are cleared."""
        with self._write() as conn:
            return outbox.release_claims(conn, claimant)

    def recent_attempts(self, since: datetime) -> list[tuple[int | str, datetime, bool]]:
        """(chat, time, in flight) of every send or edit requested or answered since
        ``since``: what a sender that starts must count against Telegram's limits."""
        with self._read() as conn:
            return outbox.recent_attempts(conn, since)

    def mark_sent(self, entry_id: int, message_id: int, sent_at: datetime) -> None:
        with self._write() as conn:
            outbox.mark_sent(conn, entry_id, message_id, sent_at)

    def set_body(self, entry_id: int, body: Body) -> None:
        """Replace what a queued entry says (a machine-written summary was added)."""
        with self._write() as conn:
            outbox.set_body(conn, entry_id, body)

    def mark_failed(self, entry_id: int, error: str, at: datetime | None = None) -> None:
        """Give up on an entry for good; ``error`` says why (shown to admins). ``at``: when
        Telegram answered its last request, if one was made."""
        with self._write() as conn:
            outbox.mark_failed(conn, entry_id, error, at)

    def defer(
        self, entry_id: int, not_before: datetime, error: str | None, at: datetime | None = None
    ) -> None:
        """Try the entry again no earlier than ``not_before``; counts one more attempt.
        ``at``: when Telegram answered the attempt (default: now)."""
        with self._write() as conn:
            outbox.defer(conn, entry_id, not_before, error, at or utc_now())

    def outbox_depth(self) -> int:
        """The number of queued entries."""
        with self._read() as conn:
            return outbox.depth(conn)

    def outbox_entry(self, entry_id: int) -> OutboxEntry | None:
        with self._read() as conn:
            return outbox.get_entry(conn, entry_id)

    def sent_alerts(
        self, *, topic_id: str | None = None, since: datetime | None = None
    ) -> list[OutboxEntry]:
        """Sent entries, by sent time: all, or one topic's, or those sent since a time."""
        with self._read() as conn:
            return outbox.sent(conn, topic_id, since)
