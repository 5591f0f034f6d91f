"""Spike counts outside a poll, and the trends behind ``/trends`` (``bot.store.spikes``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from bot.clock import utc_now
from bot.models import Alert
from bot.store import spike_alerts, spikes
from bot.store.database import Database

# Counting a poll's items for spikes, inside its transaction: the spike alerts to queue,
# each with the count it shows (``bot.spikes.detect``, ``bot.store.spikes``).
SpikeCount = Callable[[spikes.SqlLedger], Sequence[tuple[Alert, int]]]


def count_and_queue(conn: Connection, ledger: spikes.SqlLedger, spike_count: SpikeCount) -> int:
    """Count on the transaction's ledger and queue the spike alerts that came of it; the
    number of outbox rows newly queued. The ledger's windows are to be published once
    the transaction has committed (``SqlLedger.publish``), never before."""
    surges = spike_count(ledger)
    return spike_alerts.queue_spikes(conn, surges, utc_now()) if surges else 0


class Spikes(Database):
    """Spike counts and trends."""

    def spike_trends(
        self, spike_id: str, window: float, baseline: float, now: datetime
    ) -> list[spike_alerts.Trend]:
        """A spike's keys with their counts in the current window, the last day and the
        baseline before (``/trends``)."""
        with self._read() as conn:
            return spike_alerts.trends(conn, spike_id, window, baseline, now)

    def count_spikes(self, spike_count: SpikeCount) -> int:
        """Count items for spikes outside a poll (tests, tools); spike alerts queued."""
        with self._write() as conn:
            ledger = spikes.SqlLedger(conn, self._spike_memo)
            added = count_and_queue(conn, ledger, spike_count)
        ledger.publish()
        return added
