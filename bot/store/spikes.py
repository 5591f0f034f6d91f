"""Spike counts in the store: the detector's ledger inside a poll's write transaction.

``SqlLedger`` is ``bot.spikes.detect.Ledger`` on one connection. Counting an item stores
its story once (``spike_stories``: title, link, fingerprint; its primary key makes a
retried poll or a second poller count it once), a narrow row per (spike, key, window) it
counts in (``spike_hits``), and an upsert of each window's count; nothing reads history
but the baseline sum, and that only when a window reaches ``min_items``. On PostgreSQL
each (spike, key) is held by a transaction-level advisory lock taken in a fixed order, so
two pollers counting the same story at once see each other's work: it counts once and
alerts once.

A process remembers (``SpikeMemo``, one per store) the newest stories of the windows it
wrote or read, with the count they go with. Counts only grow, one story at a time, so a
window whose count in the store is still the one remembered has the same newest stories:
a poll then reads the counts of its windows and nothing else. Only what a committed
transaction wrote is remembered (``SqlLedger.publish``).

Spike alerts go to the outbox like every alert (``queue_spikes``): the first of a window
is a new row; a count that grew rewrites the row while it waits, or queues an ``edit`` of
the sent message.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, RowMapping, and_, case, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from bot.models import Alert
from bot.spikes.detect import MAX_COMPARED, Group, Story
from bot.spikes.windows import window_start
from bot.store import alerts as outbox_alerts
from bot.store import outbox
from bot.store.codec import BODY_BOUNDS, bounded, bounded_key
from bot.store.leases import db_now
from bot.store.parts import body_to_json
from bot.store.sql import chunks, insert_ignore, insert_many_ignore
from bot.store.tables import spike_alerts, spike_counts, spike_hits, spike_stories

# Counts stay as long as the longest baseline and window can look back; stories as long
# as the longest window (two, for a window that has just closed).
KEEP_COUNTS = timedelta(days=91)
KEEP_STORIES = timedelta(days=2)
LOCK_BUCKETS = 4096
_SPIKE = 0x7370696B  # "spik": the first key of the two-key advisory locks taken here

StoryId = tuple[str, str]  # feed id, item key (bounded)


@dataclass(slots=True)
class _Window:
    """One (spike, key, window) as this transaction knows it."""

    count: int
    recent: list[Story]  # the newest stories, oldest first: what items are compared with
    dirty: bool = False


class SpikeMemo:
    """What one process remembers of spike windows between transactions (bounded)."""

    def __init__(self, windows: int = 4096, stories: int = 16384) -> None:
        self._lock = threading.Lock()  # polls of one process may write from several threads
        self._windows: OrderedDict[Group, tuple[int, tuple[Story, ...]]] = OrderedDict()
        self._stories: OrderedDict[StoryId, Story] = OrderedDict()
        self._max_windows, self._max_stories = windows, stories

    def recent(self, group: Group, count: int) -> list[Story] | None:
        """The newest stories of ``group`` if ``count`` is the count remembered with them."""
        with self._lock:
            known = self._windows.get(group)
            if known is None or known[0] != count:
                return None
            self._windows.move_to_end(group)
            return list(known[1])

    def story(self, ident: StoryId) -> Story | None:
        with self._lock:
            return self._stories.get(ident)

    def remember(self, group: Group, count: int, recent: Sequence[Story]) -> None:
        with self._lock:
            self._windows[group] = (count, tuple(recent))
            self._windows.move_to_end(group)
            while len(self._windows) > self._max_windows:
                self._windows.popitem(last=False)
            for story in recent:
                ident = _story_id(story)
                self._stories[ident] = story
                self._stories.move_to_end(ident)
            while len(self._stories) > self._max_stories:
                self._stories.popitem(last=False)


class SqlLedger:
    """The detector's ledger on one write transaction.

    A batch's windows are read at once (``prefetch``: their counts, their newest stories
    unless ``memo`` has them, and which of the batch's items were counted before), counted
    in memory, and written at once (``flush``: the new stories, their hits, then each
    window's count), so a poll costs a few statements, not a few per item and key. Reads
    that need what was counted so far (the baseline, the first window, a window's
    stories) flush first.
    """

    def __init__(self, conn: Connection, memo: SpikeMemo | None = None) -> None:
        self._conn = conn
        self._memo = memo if memo is not None else SpikeMemo()
        self._windows: dict[Group, _Window] = {}
        self._checked: set[StoryId] = set()  # stories looked up in the store...
        self._known: set[StoryId] = set()  # ... and those counted by an earlier transaction
        self._added: set[tuple[Group, StoryId]] = set()  # counted by this one
        self._stories: dict[StoryId, dict[str, object]] = {}  # new story rows, not written
        self._hits: list[dict[str, object]] = []  # new hit rows, not written
        self._since: dict[str, datetime | None] = {}  # per spike, once read

    def lock(self, pairs: Sequence[tuple[str, str]]) -> None:
        if self._conn.dialect.name != "postgresql":
            return  # SQLite writers are serial already
        for bucket in sorted({_bucket(spike_id, key) for spike_id, key in pairs}):
            self._conn.execute(
                text("SELECT pg_advisory_xact_lock(:k1, :k2)"), {"k1": _SPIKE, "k2": bucket}
            )

    def prefetch(self, groups: Sequence[Group], stories: Sequence[tuple[Group, Story]]) -> None:
        wanted = [g for g in groups if g not in self._windows]
        if wanted:
            self._load_windows(wanted)
        idents = {_story_id(s) for _, s in stories} - self._checked
        if idents:
            self._load_known(idents)

    def _load_windows(self, groups: Sequence[Group]) -> None:
        counts = self._counts(groups)
        stale: list[Group] = []
        for group in groups:
            count = counts.get(group, 0)
            recent = self._memo.recent(group, count) if count else []
            if recent is None:
                stale.append(group)
                recent = []
            self._windows[group] = _Window(count, recent)
        if stale:
            for group, recent in self._read_recent(stale).items():
                self._windows[group].recent = recent

    def _counts(self, groups: Sequence[Group]) -> dict[Group, int]:
        spikes = sorted({g[0] for g in groups})
        starts = sorted({g[2] for g in groups})
        counts: dict[Group, int] = {}
        c = spike_counts.c
        for keys in chunks(sorted({g[1] for g in groups})):
            rows = self._conn.execute(
                select(c.spike_id, c.key, c.window_start, c.count).where(
                    c.spike_id.in_(spikes), c.key.in_(keys), c.window_start.in_(starts)
                )
            )
            counts.update({(r[0], r[1], r[2]): int(r[3]) for r in rows})
        return counts

    def _read_recent(self, groups: Sequence[Group]) -> dict[Group, list[Story]]:
        """The newest ``MAX_COMPARED`` stories of each group, oldest first."""
        wanted = set(groups)
        spikes = sorted({g[0] for g in groups})
        starts = sorted({g[2] for g in groups})
        placed: dict[Group, list[StoryId]] = {}
        h = spike_hits.c
        for keys in chunks(sorted({g[1] for g in groups})):
            rank = (
                func.row_number()
                .over(partition_by=(h.spike_id, h.key, h.window_start), order_by=h.at.desc())
                .label("rank")
            )
            inner = (
                select(h.spike_id, h.key, h.window_start, h.feed_id, h.item_key, h.at, rank)
                .where(h.spike_id.in_(spikes), h.key.in_(keys), h.window_start.in_(starts))
                .subquery()
            )
            query = (
                select(inner.c.spike_id, inner.c.key, inner.c.window_start)
                .add_columns(inner.c.feed_id, inner.c.item_key)
                .where(inner.c.rank <= MAX_COMPARED)
                .order_by(inner.c.at, inner.c.feed_id, inner.c.item_key)
            )
            for row in self._conn.execute(query):
                group = (row[0], row[1], row[2])
                if group in wanted:
                    placed.setdefault(group, []).append((row[3], row[4]))
        stories = self._read_stories({i for ids in placed.values() for i in ids})
        out = {g: [stories[i] for i in ids if i in stories] for g, ids in placed.items()}
        for group, recent in out.items():
            self._memo.remember(group, self._windows[group].count, recent)
        return out

    def _read_stories(self, idents: set[StoryId]) -> dict[StoryId, Story]:
        found: dict[StoryId, Story] = {}
        missing: set[StoryId] = set()
        for ident in idents:
            story = self._memo.story(ident)
            if story is None:
                missing.add(ident)
            else:
                found[ident] = story
        for row in self._story_rows(missing, full=True):
            found[(row["feed_id"], row["item_key"])] = _story(row)
        return found

    def _story_rows(self, idents: set[StoryId], *, full: bool) -> Iterable[RowMapping]:
        """The ``spike_stories`` rows of ``idents`` (with ``full``, every column)."""
        c = spike_stories.c
        columns = list(spike_stories.c) if full else [c.feed_id, c.item_key]
        feeds = sorted({i[0] for i in idents})
        for item_keys in chunks(sorted({i[1] for i in idents}), 250):
            query = select(*columns).where(c.feed_id.in_(feeds), c.item_key.in_(item_keys))
            for row in self._conn.execute(query).mappings():
                if (row["feed_id"], row["item_key"]) in idents:
                    yield row

    def _load_known(self, idents: set[StoryId]) -> None:
        rows = self._story_rows(idents, full=False)
        self._known.update((r["feed_id"], r["item_key"]) for r in rows)
        self._checked |= idents

    def recent(self, spike_id: str, key: str, start: datetime, limit: int) -> list[Story]:
        window = self._window((spike_id, key, start))
        return window.recent[-limit:]

    def _window(self, group: Group) -> _Window:
        if group not in self._windows:
            self._load_windows([group])
        return self._windows[group]

    def add(self, spike_id: str, key: str, start: datetime, story: Story) -> int | None:
        group = (spike_id, key, start)
        ident = _story_id(story)
        if ident not in self._checked:
            self._load_known({ident})
        if ident in self._known or (group, ident) in self._added:
            return None
        self._added.add((group, ident))
        window = self._window(group)
        if spike_id in self._since:
            first = self._since[spike_id]
            self._since[spike_id] = start if first is None else min(first, start)
        window.count += 1
        window.dirty = True
        window.recent = [*window.recent[-(MAX_COMPARED - 1) :], story]
        if ident not in self._stories:
            self._stories[ident] = bounded(
                {
                    "feed_id": story.feed_id,
                    "item_key": ident[1],
                    "at": story.at,
                    "title": story.title,
                    "link": story.link,
                    "source": story.source,
                    "fingerprint": story.fingerprint,
                }
            )
        self._hits.append(
            {
                "spike_id": spike_id,
                "key": key,
                "window_start": start,
                "feed_id": story.feed_id,
                "item_key": ident[1],
                "at": story.at,
            }
        )
        return window.count

    def flush(self) -> None:
        insert_many_ignore(self._conn, spike_stories, list(self._stories.values()))
        insert_many_ignore(self._conn, spike_hits, self._hits)
        self._known |= self._stories.keys()
        self._stories, self._hits = {}, []
        dirty = [(g, w) for g, w in self._windows.items() if w.dirty]
        if not dirty:
            return
        module = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        stmt = module.insert(spike_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["spike_id", "key", "window_start"],
            set_={"count": stmt.excluded.count},
        )
        rows = [
            {"spike_id": g[0], "key": g[1], "window_start": g[2], "count": w.count}
            for g, w in dirty
        ]
        self._conn.execute(stmt, rows)
        for _, window in dirty:
            window.dirty = False

    def publish(self) -> None:
        """Remember the windows this transaction counted in, once it has committed."""
        for group, window in self._windows.items():
            if not window.dirty:
                self._memo.remember(group, window.count, window.recent)

    def total(self, spike_id: str, key: str, start: datetime, end: datetime) -> int:
        if any(
            w.dirty and g[0] == spike_id and g[1] == key and start <= g[2] < end
            for g, w in self._windows.items()
        ):
            self.flush()
        query = select(func.coalesce(func.sum(spike_counts.c.count), 0)).where(
            spike_counts.c.spike_id == spike_id,
            spike_counts.c.key == key,
            spike_counts.c.window_start >= start,
            spike_counts.c.window_start < end,
        )
        return int(self._conn.execute(query).scalar_one())

    def since(self, spike_id: str) -> datetime | None:
        if spike_id not in self._since:
            self.flush()
            query = select(func.min(spike_counts.c.window_start)).where(
                spike_counts.c.spike_id == spike_id
            )
            self._since[spike_id] = self._conn.execute(query).scalar_one_or_none()
        return self._since[spike_id]

    def stories(self, spike_id: str, key: str, start: datetime) -> list[Story]:
        self.flush()
        h, s = spike_hits.c, spike_stories.c
        query = (
            select(spike_stories)
            .join(spike_hits, and_(h.feed_id == s.feed_id, h.item_key == s.item_key))
            .where(h.spike_id == spike_id, h.key == key, h.window_start == start)
            .order_by(h.at, h.feed_id, h.item_key)
        )
        return [_story(row) for row in self._conn.execute(query).mappings()]

    def shown(self, spike_id: str, key: str, start: datetime) -> int | None:
        query = select(spike_alerts.c.count).where(*_alert(spike_id, key, start))
        value = self._conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def show(self, spike_id: str, key: str, start: datetime, count: int, first: bool) -> bool:
        if first:
            row = {
                "spike_id": spike_id,
                "key": key,
                "window_start": start,
                "count": count,
                "fired_at": _now(self._conn),
            }
            return insert_ignore(self._conn, spike_alerts, row)
        query = update(spike_alerts).where(*_alert(spike_id, key, start)).values(count=count)
        return bool(self._conn.execute(query).rowcount)


def _now(conn: Connection) -> datetime:
    return db_now(conn, datetime.now(UTC))  # the database's clock where it has one


def _story_id(story: Story) -> StoryId:
    return (story.feed_id, bounded_key(story.item_key))


def _bucket(spike_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{spike_id}\0{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % LOCK_BUCKETS


def _alert(spike_id: str, key: str, start: datetime) -> list[ColumnElement[bool]]:
    return [
        spike_alerts.c.spike_id == spike_id,
        spike_alerts.c.key == key,
        spike_alerts.c.window_start == start,
    ]


def _story(row: RowMapping) -> Story:
    return Story(
        feed_id=row["feed_id"],
        item_key=row["item_key"],
        at=row["at"],
        title=row["title"],
        link=row["link"],
        source=row["source"],
        fingerprint=row["fingerprint"],
    )


def queue_spikes(conn: Connection, alerts: Sequence[tuple[Alert, int]], now: datetime) -> int:
    """Queue spike alerts with the count each shows; the number of rows newly queued.

    An alert already in the outbox for its (spike, key, window) and chat is brought up to
    date instead: rewritten while it waits (queued, or held for a digest), else, once
    sent, followed by an ``edit`` of the sent message that carries the new count.
    """
    added = 0
    for alert, count in alerts:
        first = outbox_alerts.original(
            conn, alert.topic_id, alert.destination, alert.feed_id, alert.item_key
        )
        if first is None:
            added += outbox.enqueue(conn, [alert], now)
        elif first.status in ("queued", "held"):
            parts = body_to_json(alert.body, BODY_BOUNDS)
            outbox.change_entry(conn, first.id, parts=parts)
        elif first.status == "sent":
            edit = replace(  # an alert naming a sent one is its new version: an edit
                alert,
                item_key=f"{alert.item_key}#{count}",
                ref_feed=alert.feed_id,
                ref_key=alert.item_key,
                deliver_at=None,
            )
            added += outbox.enqueue(conn, [edit], now)
    return added


@dataclass(frozen=True, slots=True)
class Trend:
    """One watched key of one spike: its counts lately against its baseline."""

    spike_id: str
    key: str
    window_count: int  # in the window that holds ``now``
    day_count: int  # in the windows of the last day, that one included
    baseline_total: int  # in the baseline before the current window


def trends(
    conn: Connection, spike_id: str, window: float, baseline: float, now: datetime
) -> list[Trend]:
    """Every key of a spike counted in its baseline or since, with its counts."""
    current = window_start(now, window)
    day_start = current - timedelta(seconds=max(0.0, 86400.0 - window))
    base_start = current - timedelta(seconds=baseline)
    c = spike_counts.c
    query = (
        select(
            c.key,
            func.sum(case((c.window_start >= current, c.count), else_=0)),
            func.sum(case((c.window_start >= day_start, c.count), else_=0)),
            func.sum(case((c.window_start < current, c.count), else_=0)),
        )
        .where(and_(c.spike_id == spike_id, c.window_start >= base_start))
        .group_by(c.key)
    )
    return [
        Trend(spike_id, row[0], int(row[1] or 0), int(row[2] or 0), int(row[3] or 0))
        for row in conn.execute(query)
    ]


def prune(conn: Connection, now: datetime) -> int:
    """Delete counts and alerts past any baseline's reach and stories of closed windows."""
    deleted = 0
    for table, keep in (
        (spike_counts, KEEP_COUNTS),
        (spike_alerts, KEEP_COUNTS),
        (spike_hits, KEEP_STORIES),
    ):
        result = conn.execute(delete(table).where(table.c.window_start < now - keep))
        deleted += int(result.rowcount)
    # A story placed before the cut counts only in windows that began before it.
    result = conn.execute(delete(spike_stories).where(spike_stories.c.at < now - KEEP_STORIES))
    return deleted + int(result.rowcount)


__all__ = ["SpikeMemo", "SqlLedger", "Trend", "prune", "queue_spikes", "trends"]
