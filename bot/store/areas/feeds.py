"""A feed's state, its lease and the items seen in it (``bot.store.seen``, ``.leases``), and
the one write transaction that records a poll's outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.clock import utc_now
from bot.models import Alert, FeedState, Item
from bot.store import leases, outbox, seen, spikes, watches
from bot.store.alerts import Collapse, collapse_new
from bot.store.areas.spikes import SpikeCount, count_and_queue
from bot.store.database import Database, log


class Feeds(Database):
    """What pollers read and write: feed state, leases, seen items, a poll's outcome."""

    # feed state

    def feed_state(self, feed_id: str) -> FeedState | None:
        with self._read() as conn:
            return seen.get_feed_state(conn, feed_id)

    def feed_states(self) -> list[FeedState]:
        """Every feed's state, by feed id."""
        with self._read() as conn:
            return seen.all_feed_states(conn)

    def save_feed_state(self, state: FeedState, *, holder: str | None = None) -> None:
        """Save a feed's state; with ``holder``, only while that poller's lease holds (then
        the lease ends), else ``LeaseLost``."""
        with self._write() as conn:
            leases.fence(conn, state.feed_id, holder)
            seen.save_feed_state(conn, state)

    # scheduling (bot.store.leases)

    def sync_feeds(self, intervals: Mapping[str, float]) -> None:
        """The current rules' enabled feeds and their intervals (seconds): the feeds the
        pollers lease from now on."""
        with self._write() as conn:
            leases.sync_feeds(conn, intervals)

    def lease_due(
        self, holder: str, limit: int, seconds: float, now: datetime | None = None
    ) -> tuple[datetime, list[str]]:
        """Lease up to ``limit`` due, free feeds for ``seconds``: (the database's time, ids).

        ``now`` is the clock on SQLite (one process); PostgreSQL uses its own.
        """
        with self._write() as conn:
            at = leases.db_now(conn, now or utc_now())
            return at, leases.lease_due(conn, holder, at, limit, seconds)

    def lease_feeds(
        self, holder: str, feed_ids: Sequence[str], seconds: float, now: datetime | None = None
    ) -> tuple[datetime, list[str]]:
        """Lease the given feeds that no other process holds, due or not."""
        with self._write() as conn:
            at = leases.db_now(conn, now or utc_now())
            return at, leases.lease_feeds(conn, holder, feed_ids, at, seconds)

    def release_feed(self, feed_id: str, holder: str) -> bool:
        """Give a lease back unused (the feed left the rules meanwhile)."""
        with self._write() as conn:
            return leases.release(conn, feed_id, holder)

    # seen items

    def unseen(self, feed_id: str, keys: Sequence[str]) -> set[str]:
        """The ``keys`` not yet recorded as seen for this feed."""
        with self._read() as conn:
            return seen.unseen(conn, feed_id, keys)

    def seen_links(self, feed_id: str, keys: Sequence[str]) -> dict[str, str]:
        """The link recorded with each of ``keys`` that was seen for this feed."""
        with self._read() as conn:
            return seen.seen_links(conn, feed_id, keys)

    def seen_count(self, feed_id: str | None = None) -> int:
        with self._read() as conn:
            return seen.seen_count(conn, feed_id)

    # a poll's outcome

    def record_poll(
        self,
        state: FeedState,
        items: Sequence[Item],
        first_seen: datetime,
        alerts: Sequence[Alert],
        *,
        holder: str | None = None,
        collapse: Collapse | None = None,
        spike_count: SpikeCount | None = None,
        recent: Sequence[watches.RecentItem] = (),
    ) -> int:
        """Save a poll's outcome in one transaction; the number of alerts newly queued.

        With ``holder``, the write happens only while that poller's lease of the feed holds,
        and ends the lease; else ``LeaseLost`` and nothing is written.

        ``collapse`` (``bot.delivery.dedupe``) turns near-duplicates of what is already in the
        outbox into "also" rows; it runs inside the transaction, under a lock per (topic, chat), so
        one story arriving through two pollers at once is one message and one edit.

        The feed state is saved, the items are recorded as seen (known ones are left as
        they are) and the alerts are queued (ones already queued are ignored). All or
        nothing: a crash can never leave items seen whose alerts were not queued.

        ``spike_count`` counts the items for the rules' spikes in the same transaction
        (``bot.store.spikes``), so counts, "seen" and spike alerts move together too.
        """
        with self._write() as conn:
            leases.fence(conn, state.feed_id, holder)
            seen.save_feed_state(conn, state)
            seen.record_seen(conn, items, first_seen)
            watches.record_recent(conn, recent)
            ledger = spikes.SqlLedger(conn, self._spike_memo)
            spiked = count_and_queue(conn, ledger, spike_count) if spike_count is not None else 0
            if collapse is not None and alerts:
                alerts = collapse_new(conn, alerts, collapse)
            added = outbox.enqueue(conn, alerts, utc_now()) + spiked
        ledger.publish()
        log.debug(
            "poll_recorded",
            extra={"feed_id": state.feed_id, "items": len(items), "alerts_queued": added},
        )
        return added
