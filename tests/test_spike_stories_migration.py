"""Migration 0012: spike stories written once per item, their windows as narrow rows.

A store counted by the previous version (one wide ``spike_items`` row per spike, key and
item) is carried over: each story once, each hit as it was, and counting goes on from
it (the item counted before is not counted again; a near-duplicate of it is not either).
The downgrade puts the wide rows back. Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, MetaData, String, Table, Text, func, insert, select, text

from bot.models import Item
from bot.spikes.detect import Detector
from bot.spikes.ledger import Ledger
from bot.spikes.surges import sighting
from bot.spikes.watch import compile_watch
from bot.store import Store
from bot.store.engine import build_engine, parse_url
from bot.store.migrate import alembic_config
from bot.store.tables import UTCDateTime, spike_counts
from tests.test_spikes import spike_rules

WINDOW = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
AT = WINDOW + timedelta(minutes=12)


@pytest.fixture
def url(any_store_url: str) -> str:
    return any_store_url


def old_row(key: str, fingerprint: str | None) -> dict[str, Any]:
    return {
        "spike_id": "surges",
        "key": key,
        "feed_id": "wire",
        "item_key": "g:wire-1",
        "window_start": WINDOW,
        "at": AT,
        "title": "Trump and Putin meet",
        "link": "https://wire.example/1",
        "source": "Wire",
        "fingerprint": fingerprint,
    }


# The table as the previous version wrote it (bot.store.tables before 0012).
OLD_ITEMS = Table(
    "spike_items",
    MetaData(),
    Column("spike_id", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("feed_id", String(200), primary_key=True),
    Column("item_key", Text, primary_key=True),
    Column("window_start", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("title", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("fingerprint", Text),
)


def old_store(url: str, fingerprint: str | None) -> None:
    """A store at revision 0011 with one item counted for two keys, as the previous
    version wrote it."""
    engine = build_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0011")
            conn.execute(
                insert(OLD_ITEMS), [old_row("trump", fingerprint), old_row("putin", fingerprint)]
            )
            counts = [
                {"spike_id": "surges", "key": key, "window_start": WINDOW, "count": 1}
                for key in ("trump", "putin")
            ]
            conn.execute(insert(spike_counts), counts)
    finally:
        engine.dispose()


def test_stories_are_stored_once_and_counting_goes_on(url: str, tmp_path: Path) -> None:
    from bot.text import cluster

    old_store(url, cluster.encode(cluster.fingerprint("Trump and Putin meet", "x" * 10)))
    with Store(url) as store:
        store.migrate()
        engine = build_engine(parse_url(url))
        try:
            with engine.connect() as conn:
                stories = conn.execute(text("SELECT feed_id, item_key, title FROM spike_stories"))
                assert [tuple(r) for r in stories] == [("wire", "g:wire-1", "Trump and Putin meet")]
                hits = conn.execute(text("SELECT key FROM spike_hits ORDER BY key"))
                assert [r[0] for r in hits] == ["putin", "trump"]
        finally:
            engine.dispose()
        watch = compile_watch(spike_rules(tmp_path, min_items=2))
        detector = Detector(watch)

        def count(items: list[Item]) -> None:
            batch = [
                s
                for it in items
                if (s := sighting(watch, it, watch.prepare(it), source="Wire", first_seen=AT))
            ]
            store.count_spikes(lambda ledger: _observe(detector, batch, ledger))  # type: ignore[arg-type,return-value]

        again = Item(
            "wire",
            "g:wire-1",
            "Trump and Putin meet",
            "https://wire.example/1",
            "Trump and Putin met on Tuesday.",
            AT,
        )
        copy = Item(
            "relay",
            "g:relay-1",
            "Trump and Putin meet",
            "https://relay.example/1",
            "Trump and Putin met on Tuesday.",
            AT,
        )
        count([again, copy])  # the item counted before, and a copy of its story
        trends = store.spike_trends("surges", 3600.0, 86400.0, AT)
        assert sorted((t.key, t.window_count) for t in trends) == [("putin", 1), ("trump", 1)]
        fresh = Item(
            "wire",
            "g:wire-2",
            "Putin visits Beijing",
            "https://wire.example/2",
            "Putin arrived in Beijing for talks with leaders.",
            AT,
        )
        count([fresh])
        trends = store.spike_trends("surges", 3600.0, 86400.0, AT)
        assert sorted((t.key, t.window_count) for t in trends) == [("putin", 2), ("trump", 1)]


def _observe(detector: Detector, batch: list[Any], ledger: Ledger) -> list[object]:
    detector.observe(batch, ledger, None)
    return []


def test_a_downgrade_puts_the_wide_rows_back(url: str) -> None:
    old_store(url, None)
    engine = build_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0012")
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0011")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT key, title, source, fingerprint FROM spike_items ORDER BY key")
            )
            assert [tuple(r) for r in rows] == [
                ("putin", "Trump and Putin meet", "Wire", None),
                ("trump", "Trump and Putin meet", "Wire", None),
            ]
            names = conn.execute(select(func.count()).select_from(text("spike_counts")))
            assert names.scalar_one() == 2
    finally:
        engine.dispose()
