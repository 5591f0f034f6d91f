"""The store: the one object the rest of mediabot uses to reach the database.

Every method is one short transaction and raises ``StoreError`` when the database fails
(the message names the database with its password hidden). Times go in and come out as
aware UTC datetimes. The outcome of each is counted in ``Store.health``: failures that go
on make the store report itself failing (``Store.check``, ``bot.store.health``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import utc_now
from bot.delivery.kinds import Body, Notice
from bot.errors import LeaseLost, StoreError
from bot.models import Alert, Destination, FeedState, Item, OutboxEntry
from bot.store import (
    alerts,
    chats,
    flood,
    leases,
    mutes,
    outbox,
    processes,
    seen,
    spike_alerts,
    spikes,
    stats,
    subscriptions,
    watches,
)
from bot.store.alerts import Collapse, OutboxView, lock_scopes
from bot.store.codec import BODY_BOUNDS, chat_from_text
from bot.store.election import Election
from bot.store.engine import WRITE, build_engine, parse_url, safe_url, sqlite_path
from bot.store.health import DatabaseFile, StoreHealth
from bot.store.migrate import describe, upgrade
from bot.store.notify import OutboxListener
from bot.store.parts import body_to_json
from bot.store.spike_memo import SpikeMemo

log = logging.getLogger(__name__)

# Counting a poll's items for spikes, inside its transaction: the spike alerts to queue,
# each with the count it shows (``bot.spikes.detect``, ``bot.store.spikes``).
SpikeCount = Callable[[spikes.SqlLedger], Sequence[tuple[Alert, int]]]

# Retention (``Store.prune``): a feed's most recently seen items that always stay, and how
# many outbox rows one write transaction deletes (short ones, so pollers never wait long).
KEEP_SEEN_PER_FEED = 1000
PRUNE_BATCH = 2000


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one ``Store.prune`` deleted."""

    seen: int = 0
    outbox: int = 0
    spikes: int = 0


class Store:
    """Feed state, seen items, the outbox and subscriptions, in SQLite or PostgreSQL."""

    def __init__(self, url: str, *, health: StoreHealth | None = None) -> None:
        parsed = parse_url(url)
        self._where = safe_url(parsed)
        self._engine = build_engine(parsed)
        self._writer = self._engine.execution_options(**WRITE)
        self.health = health or StoreHealth()
        path = sqlite_path(parsed)
        self._file = DatabaseFile(path) if path is not None else None
        self._spike_memo = SpikeMemo()
        log.debug("store_opened", extra={"database": self._where})

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest revision (a no-op when current)."""
        upgrade(self._engine)
        if self._file is not None:
            self._file.settle()

    def check(self) -> str | None:
        """Why the store is failing (``bot.store.health``), or None while it works.

        Cheap enough for a health probe: a SQLite file deleted or replaced is noticed
        here at once, before any transaction fails on it.
        """
        problem = self._file.problem() if self._file is not None else None
        if problem is not None and self.health.failing is None:
            self.health.failed(problem, certain=True)
        return self.health.failing

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._where!r})"

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard("read"), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._guard("write"), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Every transaction passes here: errors become ``StoreError``, and the outcome
        is counted in ``health``. Nothing is read from or written to a database file
        that was deleted or replaced: what went there would vanish at the next restart."""
        problem = self._file.problem() if self._file is not None else None
        if problem is not None:
            log.warning("store_failed", extra={"action": action, "error": problem})
            self.health.failed(problem, certain=True)
            raise StoreError(problem)
        try:
            yield
        except SQLAlchemyError as exc:
            error = f"cannot {action} {self._where}: {describe(exc)}"
            log.warning("store_failed", extra={"action": action, "error": describe(exc)})
            self.health.failed(error)
            raise StoreError(error) from exc
        self.health.succeeded()
        if self._file is not None:
            self._file.settle()

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
            _fence(conn, state.feed_id, holder)
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
            _fence(conn, state.feed_id, holder)
            seen.save_feed_state(conn, state)
            seen.record_seen(conn, items, first_seen)
            watches.record_recent(conn, recent)
            ledger = spikes.SqlLedger(conn, self._spike_memo)
            surges = spike_count(ledger) if spike_count is not None else ()
            spiked = spike_alerts.queue_spikes(conn, surges, utc_now()) if surges else 0
            if collapse is not None and alerts:
                lock_scopes(conn, [(a.topic_id, a.destination) for a in alerts])
                alerts = collapse(OutboxView(conn), list(alerts))
            added = outbox.enqueue(conn, alerts, utc_now()) + spiked
        ledger.publish()
        log.debug(
            "poll_recorded",
            extra={"feed_id": state.feed_id, "items": len(items), "alerts_queued": added},
        )
        return added

    def seen_count(self, feed_id: str | None = None) -> int:
        with self._read() as conn:
            return seen.seen_count(conn, feed_id)

    # outbox

    def enqueue(self, alerts: Sequence[Alert]) -> int:
        """Queue alerts (ones already queued are ignored); the number newly queued."""
        with self._write() as conn:
            return outbox.enqueue(conn, alerts, utc_now())

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

    def mark_sent(self, entry_id: int, message_id: int, sent_at: datetime) -> None:
        with self._write() as conn:
            outbox.change_entry(
                conn,
                entry_id,
                status="sent",
                message_id=message_id,
                sent_at=sent_at,
                error=None,
                summary_input=None,  # only needed until the message is out
                claimed_by=None,
                attempted_at=sent_at,
            )

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
            rows = outbox.recent_attempts(conn, since)
        return [(chat_from_text(chat), at, flying) for chat, at, flying in rows]

    def set_body(self, entry_id: int, body: Body) -> None:
        """Replace what a queued entry says (a machine-written summary was added)."""
        with self._write() as conn:
            parts = body_to_json(body, BODY_BOUNDS)
            outbox.change_entry(conn, entry_id, parts=parts, summary_input=None)

    def mark_failed(self, entry_id: int, error: str, at: datetime | None = None) -> None:
        """Give up on an entry for good; ``error`` says why (shown to admins). ``at``: when
        Telegram answered its last request, if one was made."""
        values = {"claimed_by": None} | ({"attempted_at": at} if at is not None else {})
        with self._write() as conn:
            outbox.change_entry(conn, entry_id, status="failed", error=error, **values)

    def defer(
        self, entry_id: int, not_before: datetime, error: str | None, at: datetime | None = None
    ) -> None:
        """Try the entry again no earlier than ``not_before``; counts one more attempt.
        ``at``: when Telegram answered the attempt (default: now)."""
        with self._write() as conn:
            outbox.defer(conn, entry_id, not_before, error, at or utc_now())

    def move_chat(self, old_chat: int | str, new_chat: int) -> int:
        """A group became a supergroup: queued alerts and subscriptions follow it.

        Returns the number of queued alerts moved.
        """
        with self._write() as conn:
            moved = outbox.move_chat(conn, old_chat, new_chat)
            subscriptions.move_chat(conn, old_chat, new_chat)
            watches.move_chat(conn, old_chat, new_chat)
        log.info("chat_moved", extra={"old_chat": old_chat, "new_chat": new_chat, "alerts": moved})
        return moved

    def drop_chat(self, chat: int | str, reason: str) -> int:
        """Fail every queued alert for a chat we may no longer post to; how many."""
        with self._write() as conn:
            dropped = outbox.drop_chat(conn, chat, reason)
            dropped += alerts.drop_held(conn, chat, reason)
        log.info("chat_dropped", extra={"chat": chat, "alerts": dropped, "reason": reason})
        return dropped

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

    # near-duplicates and digests

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
        """Queue digest messages and mark their items sent, in one transaction."""
        try:
            with self._write() as conn:
                return alerts.release(conn, digests, item_ids, now)
        except alerts.DigestTaken as exc:
            log.info("digest_already_released", extra={"error": str(exc)})
            return 0

    # subscriptions

    def subscribe(self, dest: Destination, topic_id: str) -> bool:
        """True when this is a new subscription."""
        with self._write() as conn:
            return subscriptions.subscribe(conn, dest, topic_id, utc_now())

    def unsubscribe(self, dest: Destination, topic_id: str) -> bool:
        """True when there was a subscription to remove."""
        with self._write() as conn:
            return subscriptions.unsubscribe(conn, dest, topic_id)

    def subscriptions(self, topic_id: str | None = None) -> list[tuple[Destination, str]]:
        """(destination, topic id) pairs, by topic then age; one topic's if given."""
        with self._read() as conn:
            return subscriptions.listing(conn, topic_id)

    def subscribers(self, topic_id: str) -> list[Destination]:
        """Every chat (or forum thread) subscribed to a topic, oldest first."""
        return [dest for dest, _ in self.subscriptions(topic_id)]

    def topics_of(self, dest: Destination) -> list[str]:
        """The topic ids a chat (or forum thread) is subscribed to, oldest first."""
        with self._read() as conn:
            return subscriptions.topics_of(conn, dest)

    # mutes

    def mute(self, dest: Destination, topic_id: str, until: datetime) -> None:
        """Silence a topic in one chat until ``until`` (replacing any earlier mute)."""
        with self._write() as conn:
            mutes.mute(conn, dest, topic_id, until)

    def unmute(self, dest: Destination, topic_id: str, now: datetime) -> bool:
        """Lift a mute; True when one was in force at ``now``."""
        with self._write() as conn:
            return mutes.unmute(conn, dest, topic_id, now)

    def muted(self, topic_id: str, now: datetime) -> set[Destination]:
        """The chats in which a topic is muted at ``now``."""
        with self._read() as conn:
            return mutes.muted(conn, topic_id, now)

    def mutes_of(self, dest: Destination, now: datetime) -> dict[str, datetime]:
        """Topic id -> muted until, for the mutes in force in one chat."""
        with self._read() as conn:
            return mutes.mutes_of(conn, dest, now)

    # admin notices and gone chats

    def enqueue_notice(self, key: str, text: str, admins: Sequence[int]) -> int:
        """Queue a plain-text note to each admin, once per ``key`` (across processes and
        restarts); the number newly queued."""
        now = utc_now()
        note = Notice(text[:4000])
        notes = [Alert("", key[:500], "", Destination(admin), note, now) for admin in admins]
        with self._write() as conn:
            return outbox.enqueue(conn, notes, now)

    def mark_gone(
        self, chat: int | str, reason: str, named: bool = False
    ) -> tuple[datetime, list[str]]:
        """The bot may no longer post to ``chat``: remember it, end its subscriptions.
        Returns when it went (the first time) and the topics it was subscribed to."""
        with self._write() as conn:
            return chats.mark_gone(conn, chat, reason, named, utc_now())

    def resume_chat(self, chat: int | str) -> bool:
        """Send to a gone chat again (``/resumechat``, the bot added back); True if it was."""
        with self._write() as conn:
            return chats.resume(conn, chat)

    def is_gone(self, chat: int | str) -> bool:
        with self._read() as conn:
            return chats.gone(conn, chat)

    def gone_chats(self) -> list[tuple[int | str, str, datetime]]:
        """(chat, reason, since) of every chat the bot may not post to, oldest first."""
        with self._read() as conn:
            return chats.listing(conn)

    def rules_name_chats(self, named: Collection[int | str]) -> list[int | str]:
        """New rules name these chats: gone chats they name anew come back (returned)."""
        with self._write() as conn:
            return chats.rules_named(conn, named)

    # flood control (bot.store.flood)

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

    # processes (bot.store.processes)

    def beat(self, row: processes.ProcessRow) -> None:
        """Write this process's row: its roles, what it leads, its rules version, now."""
        with self._write() as conn:
            processes.beat(conn, row)

    def forget_process(self, process_id: str) -> None:
        with self._write() as conn:
            processes.remove(conn, process_id)

    def running_processes(self) -> list[processes.ProcessRow]:
        """Every process that has beaten in the last day, by host and pid."""
        with self._read() as conn:
            return processes.listing(conn)

    def outbox_listener(self, on_notice: Callable[[], None]) -> OutboxListener:
        """Wake-ups from other processes' enqueues (``bot.store.notify``)."""
        return OutboxListener(self._engine, on_notice)

    def election(self, name: str) -> Election:
        """The single-leader lock of a role (``bot.store.election``)."""
        return Election(self._engine, name)

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    # retention

    def prune(self, now: datetime, *, seen_days: int, outbox_days: int) -> Pruned:
        """Delete what is older than its retention period (0 days: keep forever).

        Seen items first seen more than ``seen_days`` ago go, except each feed's
        ``KEEP_SEEN_PER_FEED`` most recent (see ``bot.store.seen``); sent and failed
        outbox entries finished more than ``outbox_days`` ago go, queued and held ones
        never. Many short transactions, one feed or one batch each.
        """
        pruned_seen = pruned_outbox = 0
        if seen_days > 0:
            before = now - timedelta(days=seen_days)
            with self._read() as conn:
                feeds = seen.seen_feeds(conn)
            for feed_id in feeds:
                with self._write() as conn:
                    pruned_seen += seen.prune_seen(conn, feed_id, before, KEEP_SEEN_PER_FEED)
        if outbox_days > 0:
            before = now - timedelta(days=outbox_days)
            deleted = PRUNE_BATCH
            while deleted == PRUNE_BATCH:
                with self._write() as conn:
                    deleted = outbox.prune(conn, before, PRUNE_BATCH)
                pruned_outbox += deleted
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

    # spikes (bot.store.spikes)

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
            surges = spike_count(ledger)
            added = spike_alerts.queue_spikes(conn, surges, utc_now()) if surges else 0
        ledger.publish()
        return added

    # watches

    def add_watch(
        self, dest: Destination, query: str, by: int | None, limit: int, now: datetime
    ) -> watches.WatchRow | None:
        """A new watch for the chat, or None when it already has ``limit``."""
        with self._write() as conn:
            return watches.add(conn, dest, query, by, limit, now)

    def remove_watch(
        self, chat: int | str, number: int, mute_key: Callable[[int], str] | None = None
    ) -> watches.WatchRow | None:
        """Remove the chat's watch ``number``; the watch removed, or None if none.
        ``mute_key``: what the watch's mutes are kept under (``bot.watches.watch_key``);
        they go with it, since a later watch may get its id again."""
        with self._write() as conn:
            return watches.remove(conn, chat, number, mute_key)

    def watches_of(self, chat: int | str) -> list[watches.WatchRow]:
        with self._read() as conn:
            return watches.of_chat(conn, chat)

    def all_watches(self) -> list[watches.WatchRow]:
        with self._read() as conn:
            return watches.every(conn)

    def watch_version(self) -> int:
        """Counted up by every change to watches (cheap: what pollers ask on each tick)."""
        with self._read() as conn:
            return watches.version(conn)

    def recent_items(self, since: datetime) -> list[watches.RecentItem]:
        """Items first seen since ``since`` with the start of their text, newest first."""
        with self._read() as conn:
            return watches.recent(conn, since)

    # stats

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


def _fence(conn: Connection, feed_id: str, holder: str | None) -> None:
    if holder is not None and not leases.release(conn, feed_id, holder):
        raise LeaseLost(f"feed {feed_id!r} is polled by another process now")
