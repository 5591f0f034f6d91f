"""Retention: what is older than its period is deleted, in many short transactions so that
pollers and senders never wait long (``bot.service.retention`` runs it daily)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store import outbox, seen, spike_alerts, watches
from bot.store.database import Database, log

# A feed's most recently seen items that always stay, and how many outbox rows one write
# transaction deletes (short ones, so pollers never wait long).
KEEP_SEEN_PER_FEED = 1000
PRUNE_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one ``Store.prune`` deleted."""

    seen: int = 0
    outbox: int = 0
    spikes: int = 0


class Retention(Database):
    """Deleting what no one reads any more."""

    def prune(self, now: datetime, *, seen_days: int, outbox_days: int) -> Pruned:
        """Delete what is older than its retention period (0 days: keep forever).

        Seen items first seen more than ``seen_days`` ago go, except each feed's
        ``KEEP_SEEN_PER_FEED`` most recent (see ``bot.store.seen``); sent and failed
        outbox entries finished more than ``outbox_days`` ago go, queued and held ones
        never. Many short transactions, one feed or one batch each. Recent items (watch
        previews) and spike counts have periods of their own.
        """
        pruned_seen = pruned_outbox = 0
        if seen_days > 0:
            pruned_seen = self._prune_seen(now - timedelta(days=seen_days))
        if outbox_days > 0:
            pruned_outbox = self._prune_outbox(now - timedelta(days=outbox_days))
        with self._write() as conn:  # previews look back a week; nothing older is kept
            recent = watches.prune_recent(conn, now - timedelta(days=watches.RECENT_DAYS))
        with self._write() as conn:
            pruned_spikes = spike_alerts.prune(conn, now)
        log.info(
            "store_pruned",
            extra={
                "seen_items": pruned_seen,
                "outbox": pruned_outbox,
                "recent_items": recent,
                "spike_rows": pruned_spikes,
            },
        )
        return Pruned(pruned_seen, pruned_outbox, pruned_spikes)

    def _prune_seen(self, before: datetime) -> int:
        """One transaction a feed."""
        with self._read() as conn:
            feeds = seen.seen_feeds(conn)
        pruned = 0
        for feed_id in feeds:
            with self._write() as conn:
                pruned += seen.prune_seen(conn, feed_id, before, KEEP_SEEN_PER_FEED)
        return pruned

    def _prune_outbox(self, before: datetime) -> int:
        """One transaction a batch of ``PRUNE_BATCH`` rows, until a batch comes up short."""
        pruned, deleted = 0, PRUNE_BATCH
        while deleted == PRUNE_BATCH:
            with self._write() as conn:
                deleted = outbox.prune(conn, before, PRUNE_BATCH)
            pruned += deleted
        return pruned
