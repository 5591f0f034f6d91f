"""Spike counts in the store: the detector's ledger inside a poll's write transaction.

``SqlLedger`` is ``bot.spikes.detect.Ledger`` on one connection: counting an item is one
insert of the story (its primary key makes a retried poll or a second poller count it
once) and one upsert of the window's count; nothing reads history but the baseline sum,
and that only when a window reaches ``min_items``. On PostgreSQL each (spike, key) is
held by a transaction-level advisory lock taken in a fixed order, so two pollers counting
the same story at once see each other's work: it counts once and alerts once.

Spike alerts go to the outbox like every alert (``queue_spikes``): the first of a window
is a new row; a count that grew rewrites the row while it waits, or queues an ``edit`` of
the sent message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
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
from bot.store.tables import spike_alerts, spike_counts, spike_items

# Counts stay as long as the longest baseline and window can look back; stories as long
# as the longest window (two, for a window that has just closed).
KEEP_COUNTS = timedelta(days=91)
KEEP_STORIES = timedelta(days=2)
LOCK_BUCKETS = 4096
_SPIKE = 0x7370696B  # "spik": the first key of the two-key advisory locks taken here


@dataclass(slots=True)
class _Window:
    """One (spike, key, window) as this transaction knows it."""

    count: int
    recent: list[Story]  # the newest stories, oldest first: what items are compared with
    dirty: bool = False


Ident = tuple[str, str, str, str]  # spike id, key, feed id, item key (bounded)


class SqlLedger:
    """The detector's ledger on one write transaction.

    A batch's windows are read at once (``prefetch``: their counts, newest stories, and
    which of the batch's items were counted before), counted in memory, and written at
    once (``flush``: the new stories, then each window's count), so a poll costs a few
    statements, not a few per item and key. Reads that need what was counted so far (the
    baseline, the first window, a window's stories) flush first.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._windows: dict[Group, _Window] = {}
        self._checked: set[Ident] = set()  # items looked up in the store...
        self._known: set[Ident] = set()  # ... and those counted already
        self._new: list[dict[str, object]] = []
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
        idents = {_ident(g, s) for g, s in stories} - self._checked
        if idents:
            self._load_known(idents)

    def _load_windows(self, groups: Sequence[Group]) -> None:
        spikes = sorted({g[0] for g in groups})
        starts = sorted({g[2] for g in groups})
        counts: dict[Group, int] = {}
        recent: dict[Group, list[Story]] = {}
        for keys in chunks(sorted({g[1] for g in groups})):
            c = spike_counts.c
            rows = self._conn.execute(
                select(c.spike_id, c.key, c.window_start, c.count).where(
                    c.spike_id.in_(spikes), c.key.in_(keys), c.window_start.in_(starts)
                )
            )
            counts.update({(r[0], r[1], r[2]): int(r[3]) for r in rows})
            i = spike_items.c
            rank = (
                func.row_number()
                .over(partition_by=(i.spike_id, i.key, i.window_start), order_by=i.at.desc())
                .label("rank")
            )
            inner = (
                select(spike_items, rank)
                .where(i.spike_id.in_(spikes), i.key.in_(keys), i.window_start.in_(starts))
                .subquery()
            )
            query = select(inner).where(inner.c.rank <= MAX_COMPARED).order_by(inner.c.at)
            for row in self._conn.execute(query).mappings():
                group = (row["spike_id"], row["key"], row["window_start"])
                recent.setdefault(group, []).append(_story(row))
        for group in groups:
            self._windows[group] = _Window(counts.get(group, 0), recent.get(group, []))

    def _load_known(self, idents: set[Ident]) -> None:
        spikes = sorted({i[0] for i in idents})
        keys = sorted({i[1] for i in idents})
        feeds = sorted({i[2] for i in idents})
        c = spike_items.c
        for item_keys in chunks(sorted({i[3] for i in idents}), 250):
            for some_keys in chunks(keys, 250):
                query = select(c.spike_id, c.key, c.feed_id, c.item_key).where(
                    c.spike_id.in_(spikes),
                    c.key.in_(some_keys),
                    c.feed_id.in_(feeds),
                    c.item_key.in_(item_keys),
                )
                self._known.update((r[0], r[1], r[2], r[3]) for r in self._conn.execute(query))
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
        ident = _ident(group, story)
        if ident not in self._checked:
            self._load_known({ident})
        if ident in self._known:
            return None
        self._known.add(ident)
        window = self._window(group)
        if spike_id in self._since:
            first = self._since[spike_id]
            self._since[spike_id] = start if first is None else min(first, start)
        window.count += 1
        window.dirty = True
        window.recent = [*window.recent[-(MAX_COMPARED - 1) :], story]
        self._new.append(
            bounded(
                {
                    "spike_id": spike_id,
                    "key": key,
                    "feed_id": story.feed_id,
                    "item_key": story.item_key,
                    "window_start": start,
                    "at": story.at,
                    "title": story.title,
                    "link": story.link,
                    "source": story.source,
                    "fingerprint": story.fingerprint,
                }
            )
        )
        return window.count

    def flush(self) -> None:
        insert_many_ignore(self._conn, spike_items, self._new)
        self._new = []
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
        query = (
            select(spike_items)
            .where(*_in(spike_id, key), spike_items.c.window_start == start)
            .order_by(spike_items.c.at, spike_items.c.feed_id, spike_items.c.item_key)
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


def _ident(group: Group, story: Story) -> Ident:
    return (group[0], group[1], story.feed_id, bounded_key(story.item_key))


def _bucket(spike_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{spike_id}\0{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % LOCK_BUCKETS


def _in(spike_id: str, key: str) -> list[ColumnElement[bool]]:
    return [spike_items.c.spike_id == spike_id, spike_items.c.key == key]


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
        (spike_items, KEEP_STORIES),
    ):
        result = conn.execute(delete(table).where(table.c.window_start < now - keep))
        deleted += int(result.rowcount)
    return deleted


__all__ = ["SqlLedger", "Trend", "prune", "queue_spikes", "trends"]
