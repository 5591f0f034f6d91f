"""Spike counts in the store: the detector's ledger inside a poll's write transaction.

``SqlLedger`` is ``bot.spikes.ledger.Ledger`` on one connection. Counting an item stores
its story once (``spike_stories``: title, link, fingerprint; its primary key makes a
retried poll or a second poller count it once), a narrow row per (spike, key, window) it
counts in (``spike_hits``), and an upsert of each window's count; nothing reads history
but the baseline sum, and that only when a window reaches ``min_items``. On PostgreSQL
each (spike, key) is held by a transaction-level advisory lock taken in a fixed order, so
two pollers counting the same story at once see each other's work: it counts once and
alerts once.

A process remembers the newest stories of the windows it wrote or read
(``bot.store.spike_memo``): a poll then reads the counts of its windows, and their
stories only when another process counted there meanwhile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.sql import ColumnElement

from bot.models import Destination
from bot.spikes.ledger import MAX_COMPARED
from bot.spikes.model import Group, Story
from bot.store import mutes, subscriptions
from bot.store.codec import bounded
from bot.store.leases import db_now
from bot.store.spike_memo import SpikeMemo, StoryId, story_id
from bot.store.spike_reads import newest_stories, story_rows, window_counts, window_stories
from bot.store.sql import chunks, insert_ignore, write_many
from bot.store.tables import spike_alerts, spike_counts, spike_hits, spike_stories

LOCK_BUCKETS = 4096
_WINDOW_KEY = ("spike_id", "key", "window_start")
_SPIKE = 0x7370696B  # "spik": the first key of the two-key advisory locks taken here


@dataclass(slots=True)
class _Window:
    """One (spike, key, window) as this transaction knows it."""

    count: int
    recent: list[Story]  # the newest stories, oldest first: what items are compared with
    dirty: bool = False


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
        self._totals: dict[tuple[str, str, datetime, datetime], int] = {}  # until the next add

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
        idents = {story_id(s) for _, s in stories} - self._checked
        if idents:
            self._load_known(idents)

    def _load_windows(self, groups: Sequence[Group]) -> None:
        counts = window_counts(self._conn, groups)
        stale: list[Group] = []
        for group in groups:
            count = counts.get(group, 0)
            recent = self._memo.recent(group, count) if count else []
            if recent is None:
                stale.append(group)
                recent = []
            self._windows[group] = _Window(count, recent)
        if stale:
            for group, recent in newest_stories(self._conn, stale, self._memo).items():
                self._windows[group].recent = recent
                self._memo.remember(group, self._windows[group].count, recent)

    def _load_known(self, idents: set[StoryId]) -> None:
        rows = story_rows(self._conn, idents, full=False)
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
        ident = story_id(story)
        if ident not in self._checked:
            self._load_known({ident})
        if ident in self._known or (group, ident) in self._added:
            return None
        self._added.add((group, ident))
        self._totals.clear()
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
            }
        )
        return window.count

    def flush(self) -> None:
        write_many(self._conn, spike_stories, list(self._stories.values()))
        write_many(self._conn, spike_hits, self._hits)
        self._stories, self._hits = {}, []
        dirty = [(g, w) for g, w in self._windows.items() if w.dirty]
        rows = [
            {"spike_id": g[0], "key": g[1], "window_start": g[2], "count": w.count}
            for g, w in dirty
        ]
        write_many(self._conn, spike_counts, rows, key=_WINDOW_KEY, update=["count"])
        for _, window in dirty:
            window.dirty = False

    def publish(self) -> None:
        """Remember the windows this transaction counted in, once it has committed."""
        for group, window in self._windows.items():
            if not window.dirty:
                self._memo.remember(group, window.count, window.recent)

    def prefetch_totals(self, ranges: Sequence[tuple[str, str, datetime, datetime]]) -> None:
        wanted = [r for r in ranges if r not in self._totals]
        if not wanted:
            return
        self.flush()
        found = dict.fromkeys(wanted, 0)
        by_pair: dict[tuple[str, str], list[tuple[str, str, datetime, datetime]]] = {}
        for r in wanted:
            by_pair.setdefault((r[0], r[1]), []).append(r)
        c = spike_counts.c
        for keys in chunks(sorted({r[1] for r in wanted})):
            query = select(c.spike_id, c.key, c.window_start, c.count).where(
                c.spike_id.in_(sorted({r[0] for r in wanted})),
                c.key.in_(keys),
                c.window_start >= min(r[2] for r in wanted),
                c.window_start < max(r[3] for r in wanted),
            )
            for spike_id, key, at, count in self._conn.execute(query):
                for r in by_pair.get((spike_id, key), ()):
                    if r[2] <= at < r[3]:
                        found[r] += int(count)
        self._totals.update(found)

    def total(self, spike_id: str, key: str, start: datetime, end: datetime) -> int:
        if (spike_id, key, start, end) in self._totals:
            return self._totals[(spike_id, key, start, end)]
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
        return window_stories(self._conn, spike_id, key, start)

    # Who gets a spike's alerts, read in the same transaction (``AudienceStore``): only
    # for the spikes that fire.

    def subscribers(self, topic_id: str) -> list[Destination]:
        return [dest for dest, _ in subscriptions.listing(self._conn, topic_id)]

    def muted(self, topic_id: str, now: datetime) -> set[Destination]:
        return mutes.muted(self._conn, topic_id, now)

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


def _bucket(spike_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"{spike_id}\0{key}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % LOCK_BUCKETS


def _alert(spike_id: str, key: str, start: datetime) -> list[ColumnElement[bool]]:
    return [
        spike_alerts.c.spike_id == spike_id,
        spike_alerts.c.key == key,
        spike_alerts.c.window_start == start,
    ]


__all__ = ["SqlLedger"]
