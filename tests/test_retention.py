"""Retention: old seen items and finished alerts are pruned, and nothing alerts twice for it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.store.areas.retention as retention_module
from bot.config.settings import load_settings
from bot.delivery.kinds import Rendered
from bot.errors import ConfigError
from bot.ingest.scheduler import make_scheduler
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.service.retention import FIRST_RUN_AFTER, JOB_ID, prune_store, schedule_retention
from bot.store import Pruned, Store
from tests.conftest import Cli
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram import FakeTelegram
from tests.test_app import make_app

NOW = datetime.now(UTC)
DAY = timedelta(days=1)


def item(feed_id: str, n: int) -> Item:
    return Item(feed_id, f"k{n}", f"title {n}", f"https://x.example/{feed_id}/{n}", "")


def seen_keys(store: Store, feed_id: str, upto: int) -> set[str]:
    keys = [f"k{n}" for n in range(upto)]
    return set(keys) - store.unseen(feed_id, keys)


def test_seen_items_go_after_their_days_but_each_feed_keeps_its_most_recent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention_module, "KEEP_SEEN_PER_FEED", 5)
    # A busy feed: one new item a day for 200 days. A quiet one: 3 items, a year ago.
    for n in range(200):
        store.record_poll(FeedState("busy"), [item("busy", n)], NOW - (200 - n) * DAY, [])
    store.record_poll(FeedState("quiet"), [item("quiet", n) for n in range(3)], NOW - 365 * DAY, [])

    pruned = store.prune(NOW, seen_days=90, outbox_days=0)

    # Busy: everything first seen in the last 90 days stays (and so its 5 most recent).
    assert seen_keys(store, "busy", 200) == {f"k{n}" for n in range(110, 200)}
    # Quiet: older than 90 days, but its most recent items: a feed that stopped publishing
    # still lists them, and they must stay known.
    assert seen_keys(store, "quiet", 3) == {"k0", "k1", "k2"}
    assert pruned == Pruned(seen=110, outbox=0)
    assert store.prune(NOW, seen_days=90, outbox_days=0) == Pruned()


def test_a_feed_with_fewer_recent_items_than_it_keeps_keeps_its_newest(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention_module, "KEEP_SEEN_PER_FEED", 5)
    for n in range(20):
        store.record_poll(FeedState("f"), [item("f", n)], NOW - (300 - n) * DAY, [])
    store.prune(NOW, seen_days=90, outbox_days=0)
    assert seen_keys(store, "f", 20) == {f"k{n}" for n in range(15, 20)}


def alert(key: str) -> Alert:
    return Alert("f", key, "t", Destination(-100), Rendered(Message(f"<b>{key}</b>", key)), NOW)


def test_only_finished_alerts_older_than_their_days_are_pruned(store: Store) -> None:
    keys = ["queued", "held", "sent-old", "failed-old", "sent-recent"]
    store.enqueue([alert(k) for k in keys if k != "held"])
    store.enqueue([replace(alert("held"), deliver_at=NOW + DAY)])
    ids = {e.alert.item_key: e.id for e in store.due(NOW + DAY)}
    store.mark_sent(ids["sent-old"], 1, NOW)
    store.mark_failed(ids["failed-old"], "refused")
    store.mark_sent(ids["sent-recent"], 2, NOW + 95 * DAY)

    pruned = store.prune(NOW + 100 * DAY, seen_days=0, outbox_days=90)

    assert pruned == Pruned(seen=0, outbox=2)
    assert [e.alert.item_key for e in store.due(NOW + 200 * DAY)] == ["queued"]
    assert [e.alert.item_key for e in store.sent_alerts()] == ["sent-recent"]
    assert len(store.held_digest_items(NOW + 1000 * DAY)) == 1


def test_zero_days_keeps_everything(store: Store) -> None:
    store.record_poll(FeedState("f"), [item("f", 0)], NOW - 1000 * DAY, [alert("k0")])
    [entry] = store.due(NOW)
    store.mark_sent(entry.id, 1, NOW - 1000 * DAY)
    assert store.prune(NOW, seen_days=0, outbox_days=0) == Pruned()
    assert seen_keys(store, "f", 1) == {"k0"} and len(store.sent_alerts()) == 1


def test_outbox_rows_go_in_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention_module, "PRUNE_BATCH", 3)
    store.enqueue([alert(f"k{n}") for n in range(10)])
    for entry in store.due(NOW):
        store.mark_sent(entry.id, entry.id, NOW - 100 * DAY)
    assert store.prune(NOW, seen_days=0, outbox_days=90) == Pruned(outbox=10)
    assert store.sent_alerts() == []


async def test_a_quiet_feed_still_listing_its_items_does_not_alert_them_again(
    tmp_path: Path,
    feed_server: FeedServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reason seen items are kept per feed: pruned by age alone, the items a feed
    has listed unchanged for months would all be new again on its next poll."""
    stories = [
        {"title": f"普京 {n}", "link": f"https://x.example/{n}", "description": "普京"}
        for n in range(3)
    ]
    feed_server.route("/f.xml", rss_document(stories))
    app = make_app(tmp_path, feed_server, telegram)
    app.store.subscribe(Destination(777), "putin")
    monkeypatch.setattr(retention_module, "KEEP_SEEN_PER_FEED", 3)
    try:
        await app.once()  # the first poll marks them seen
        # A year later (the feed listed the same three items all along), retention runs.
        await prune_store(app.store, seen_days=90, outbox_days=90, now=NOW + 365 * DAY)
        await app.once()
    finally:
        await app.aclose()
    assert telegram.texts(777) == []
    assert app.store.seen_count("f") == 3


async def test_pruning_runs_off_the_loop_and_a_database_error_only_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "gone.db"
    with Store(f"sqlite:///{db}") as store:
        store.migrate()
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TABLE seen_items")
        pruned = await prune_store(store, seen_days=90, outbox_days=90)
    assert pruned == Pruned()
    assert "store_prune_failed" in caplog.text


def test_the_service_prunes_daily_starting_soon_after_start() -> None:
    scheduler = make_scheduler()
    store = Store("sqlite://")
    schedule_retention(scheduler, store, seen_days=30, outbox_days=60, now=NOW)
    job = scheduler.get_job(JOB_ID)
    assert job is not None
    assert job.func is prune_store
    assert job.kwargs == {"store": store, "seen_days": 30, "outbox_days": 60}
    assert job.trigger.interval == DAY
    assert job.next_run_time == NOW + FIRST_RUN_AFTER
    store.close()


@pytest.mark.parametrize("name", ["seen_retention_days", "outbox_retention_days"])
def test_retention_settings_refuse_less_than_a_week(name: str) -> None:
    with pytest.raises(ConfigError, match=f"MEDIABOT_{name.upper()}=3: use 0 .* at least 7"):
        load_settings(**{name: 3})
    assert getattr(load_settings(**{name: 0}), name) == 0
    assert getattr(load_settings(), name) == 90


def test_db_prune_prunes_by_hand_or_from_cron(cli: Cli, tmp_path: Path) -> None:
    db = tmp_path / "state" / "mediabot.db"
    db.parent.mkdir()
    with Store(f"sqlite:///{db}") as store:
        store.migrate()
        old = [item("f", n) for n in range(3)]
        store.record_poll(FeedState("f"), old, NOW - 400 * DAY, [alert("k0")])
        [entry] = store.due(NOW)
        store.mark_sent(entry.id, 1, NOW - 400 * DAY)
        store.record_poll(FeedState("g"), [item("g", 0)], NOW, [])
    result = cli("db", "prune", MEDIABOT_SEEN_RETENTION_DAYS="30")
    assert result.returncode == 0, result.stderr
    # Feed f keeps its most recent items (all three); its year-old alert goes.
    assert "deleted: 0 seen items, 1 sent or failed alerts" in result.stdout
    with Store(f"sqlite:///{db}") as store:
        assert store.sent_alerts() == [] and store.seen_count() == 4
