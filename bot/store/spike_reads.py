"""What the spike ledger reads of the store: windows' counts, their newest stories, and
stories by feed and item key (``bot.store.spikes``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, and_, func, select
from sqlalchemy.sql import ColumnElement

from bot.spikes.ledger import MAX_COMPARED
from bot.spikes.model import Group, Story
from bot.store.spike_memo import SpikeMemo, StoryId
from bot.store.sql import chunks
from bot.store.tables import spike_counts, spike_hits, spike_stories


def window_counts(conn: Connection, groups: Sequence[Group]) -> dict[Group, int]:
    """The count of each (spike, key, window) of ``groups`` that has one."""
    spikes = sorted({g[0] for g in groups})
    starts = sorted({g[2] for g in groups})
    counts: dict[Group, int] = {}
    c = spike_counts.c
    for keys in chunks(sorted({g[1] for g in groups})):
        rows = conn.execute(
            select(c.spike_id, c.key, c.window_start, c.count).where(
                c.spike_id.in_(spikes), c.key.in_(keys), c.window_start.in_(starts)
            )
        )
        counts.update({(r[0], r[1], r[2]): int(r[3]) for r in rows})
    return counts


def newest_stories(
    conn: Connection, groups: Sequence[Group], memo: SpikeMemo
) -> dict[Group, list[Story]]:
    """The newest ``MAX_COMPARED`` stories of each group, oldest first (the stories
    themselves from ``memo`` where it has them)."""
    wanted = set(groups)
    spikes = sorted({g[0] for g in groups})
    starts = sorted({g[2] for g in groups})
    placed: dict[Group, list[StoryId]] = {}
    h, s = spike_hits.c, spike_stories.c
    for keys in chunks(sorted({g[1] for g in groups})):
        rank = (
            func.row_number()
            .over(partition_by=(h.spike_id, h.key, h.window_start), order_by=s.at.desc())
            .label("rank")
        )
        inner = (
            select(h.spike_id, h.key, h.window_start, h.feed_id, h.item_key, s.at, rank)
            .join_from(spike_hits, spike_stories, same_story())
            .where(h.spike_id.in_(spikes), h.key.in_(keys), h.window_start.in_(starts))
            .subquery()
        )
        query = (
            select(inner.c.spike_id, inner.c.key, inner.c.window_start)
            .add_columns(inner.c.feed_id, inner.c.item_key)
            .where(inner.c.rank <= MAX_COMPARED)
            .order_by(inner.c.at, inner.c.feed_id, inner.c.item_key)
        )
        for row in conn.execute(query):
            group = (row[0], row[1], row[2])
            if group in wanted:
                placed.setdefault(group, []).append((row[3], row[4]))
    stories = _read_stories(conn, memo, {i for ids in placed.values() for i in ids})
    return {g: [stories[i] for i in ids if i in stories] for g, ids in placed.items()}


def _read_stories(conn: Connection, memo: SpikeMemo, idents: set[StoryId]) -> dict[StoryId, Story]:
    found: dict[StoryId, Story] = {}
    missing: set[StoryId] = set()
    for ident in idents:
        story = memo.story(ident)
        if story is None:
            missing.add(ident)
        else:
            found[ident] = story
    for row in story_rows(conn, missing, full=True):
        found[(row["feed_id"], row["item_key"])] = story_of(row)
    return found


def story_rows(conn: Connection, idents: set[StoryId], *, full: bool) -> Iterable[RowMapping]:
    """The ``spike_stories`` rows of ``idents`` (with ``full``, every column)."""
    c = spike_stories.c
    columns = list(spike_stories.c) if full else [c.feed_id, c.item_key]
    feeds = sorted({i[0] for i in idents})
    for item_keys in chunks(sorted({i[1] for i in idents}), 250):
        query = select(*columns).where(c.feed_id.in_(feeds), c.item_key.in_(item_keys))
        for row in conn.execute(query).mappings():
            if (row["feed_id"], row["item_key"]) in idents:
                yield row


def same_story() -> ColumnElement[bool]:
    h, s = spike_hits.c, spike_stories.c
    return and_(h.feed_id == s.feed_id, h.item_key == s.item_key)


def story_of(row: RowMapping) -> Story:
    return Story(
        feed_id=row["feed_id"],
        item_key=row["item_key"],
        at=row["at"],
        title=row["title"],
        link=row["link"],
        source=row["source"],
        fingerprint=row["fingerprint"],
    )


def window_stories(conn: Connection, spike_id: str, key: str, start: datetime) -> list[Story]:
    """Every story counted in one (spike, key, window), oldest first."""
    h, s = spike_hits.c, spike_stories.c
    query = (
        select(spike_stories)
        .join(spike_hits, same_story())
        .where(h.spike_id == spike_id, h.key == key, h.window_start == start)
        .order_by(s.at, s.feed_id, s.item_key)
    )
    return [story_of(row) for row in conn.execute(query).mappings()]
