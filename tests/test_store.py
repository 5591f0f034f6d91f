"""The store on a temporary SQLite file: opening, migrating, feed state, seen items."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from bot.delivery.kinds import Rendered
from bot.errors import StoreError
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.store import Store, metadata

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "mediabot.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{db_path}") as s:
        s.migrate()
        yield s


def item(key: str, feed_id: str = "voa", title: str = "标题") -> Item:
    return Item(feed_id, key, title, f"https://example.com/{key}", "<p>body</p>")


def alert(
    key: str, topic: str = "russia", chat: int | str = -100123, feed_id: str = "voa"
) -> Alert:
    return Alert(feed_id, key, topic, Destination(chat), Rendered(Message("<b>x</b>", "x")), T0)


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    conn.close()
    return {name for (name,) in rows}


def sqlite_value(path: Path, sql: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# opening and migrating


def test_default_relative_url_creates_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with Store("sqlite:///data/mediabot.db") as s:
        s.migrate()
    assert (tmp_path / "data" / "mediabot.db").is_file()


def test_migrate_creates_every_table_in_wal_mode(store: Store, db_path: Path) -> None:
    assert {"feed_state", "seen_items", "outbox", "subscriptions", "alembic_version"} <= tables(
        db_path
    )
    assert sqlite_value(db_path, "PRAGMA journal_mode") == "wal"


def test_migrate_twice_keeps_data_and_revision(store: Store, db_path: Path) -> None:
    store.record_poll(FeedState("voa"), [item("a")], T0, [alert("a")])
    revision = sqlite_value(db_path, "SELECT version_num FROM alembic_version")
    store.migrate()
    assert sqlite_value(db_path, "SELECT version_num FROM alembic_version") == revision
    assert store.seen_count() == 1
    assert store.outbox_depth() == 1


def test_restart_keeps_everything(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with Store(url) as first:
        first.migrate()
        state = FeedState("voa", etag='"v1"', last_success=T0, consecutive_errors=2)
        first.record_poll(state, [item("a"), item("b")], T0, [alert("a")])
        first.subscribe(Destination("@watch", 7), "russia")
    with Store(url) as second:
        second.migrate()  # an existing database at head: nothing to do
        assert second.feed_state("voa") == state
        assert second.unseen("voa", ["a", "b", "c"]) == {"c"}
        [entry] = second.due(T0)
        assert entry.alert == alert("a")
        assert second.subscriptions() == [(Destination("@watch", 7), "russia")]


def test_database_from_a_newer_version_is_refused_clearly(db_path: Path) -> None:
    url = f"sqlite:///{db_path}"
    with Store(url) as s:
        s.migrate()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    with Store(url) as s, pytest.raises(StoreError, match="newer mediabot"):
        s.migrate()


def test_unusable_urls_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="invalid database URL"):
        Store("no url at all")
    with pytest.raises(StoreError, match="unsupported database 'mysql'"):
        Store("mysql://user@localhost/db")


def test_folder_that_cannot_be_created_gives_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreError, match="cannot create the folder"):
        Store(f"sqlite:///{blocker}/data/mediabot.db")


def test_database_file_that_cannot_be_opened_gives_store_error(tmp_path: Path) -> None:
    (tmp_path / "db-is-a-folder").mkdir()
    with Store(f"sqlite:///{tmp_path}/db-is-a-folder") as s, pytest.raises(StoreError) as info:
        s.migrate()
    assert "cannot migrate sqlite:///" in str(info.value)
    assert "unable to open database file" in str(info.value)


def test_postgres_password_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # Port 1 on loopback refuses at once; without a driver the error comes even earlier.
    with pytest.raises(StoreError) as info:
        open_and_migrate("postgresql://mediabot:s3cr3t-pw@127.0.0.1:1/mediabot")
    assert "s3cr3t-pw" not in str(info.value)
    assert "mediabot:***@127.0.0.1:1/mediabot" in str(info.value)
    assert "s3cr3t-pw" not in caplog.text


def open_and_migrate(url: str) -> None:
    with Store(url) as s:
        s.migrate()


# feed state


def test_feed_state_upsert_and_listing(store: Store) -> None:
    assert store.feed_state("voa") is None
    store.save_feed_state(FeedState("voa", etag="a"))
    store.save_feed_state(FeedState("bbc", title="BBC 中文"))
    changed = FeedState("voa", etag="b", last_poll=T0, consecutive_errors=3, last_error="timeout")
    store.save_feed_state(changed)
    assert store.feed_state("voa") == changed
    assert [s.feed_id for s in store.feed_states()] == ["bbc", "voa"]


def test_times_come_back_as_aware_utc(store: Store) -> None:
    beijing = timezone(timedelta(hours=8))
    store.save_feed_state(FeedState("voa", last_poll=datetime(2024, 5, 1, 16, 0, tzinfo=beijing)))
    state = store.feed_state("voa")
    assert state is not None and state.last_poll is not None
    assert state.last_poll == T0
    assert state.last_poll.tzinfo is UTC


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="naive datetime"):
        store.save_feed_state(FeedState("voa", last_poll=datetime(2024, 5, 1, 8, 0)))


# seen items


def test_unseen_is_per_feed_and_handles_big_batches(store: Store) -> None:
    keys = [f"k{i}" for i in range(1200)]
    store.record_poll(FeedState("voa"), [item(k) for k in keys[:1000]], T0, [])
    assert store.unseen("voa", [*keys, "k5"]) == set(keys[1000:])
    assert store.unseen("bbc", ["k1"]) == {"k1"}
    assert store.unseen("voa", []) == set()
    assert store.seen_count("voa") == 1000
    assert store.seen_count("bbc") == 0


def test_record_poll_saves_state_items_and_alerts(store: Store) -> None:
    state = FeedState("voa", etag='"1"', last_success=T0, first_success=T0)
    queued = store.record_poll(state, [item("a"), item("b")], T0, [alert("a"), alert("b")])
    assert queued == 2
    assert store.feed_state("voa") == state
    assert store.seen_count() == 2
    assert store.outbox_depth() == 2


def test_record_poll_again_queues_nothing_new(store: Store) -> None:
    state = FeedState("voa")
    store.record_poll(state, [item("a", title="first")], T0, [alert("a")])
    later = T0 + timedelta(hours=1)
    again = store.record_poll(state, [item("a", title="edited")], later, [alert("a")])
    assert again == 0
    assert store.outbox_depth() == 1
    [entry] = store.due(later)
    assert entry.item_title == "first"  # the seen record is kept as first seen


def test_record_poll_is_all_or_nothing(store: Store, db_path: Path) -> None:
    # Make the database itself fail half-way: after the feed state and the items.
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "CREATE TRIGGER refuse_alerts BEFORE INSERT ON outbox "
            "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
    conn.close()
    state = FeedState("voa", etag='"1"')
    with pytest.raises(StoreError, match="disk trouble"):
        store.record_poll(state, [item("a"), item("b")], T0, [alert("a")])
    assert store.feed_state("voa") is None
    assert store.seen_count() == 0
    assert store.outbox_depth() == 0


# subscriptions


def test_subscribe_and_unsubscribe(store: Store) -> None:
    group, forum = Destination(-100123), Destination(-100123, 12)
    assert store.subscribe(group, "russia") is True
    assert store.subscribe(group, "russia") is False
    assert store.subscribe(forum, "russia") is True
    assert store.subscribe(Destination("@kp_watch"), "dprk") is True
    assert store.subscriptions("russia") == [(group, "russia"), (forum, "russia")]
    assert store.unsubscribe(group, "russia") is True
    assert store.unsubscribe(group, "russia") is False
    assert store.subscriptions() == [(Destination("@kp_watch"), "dprk"), (forum, "russia")]


@pytest.mark.parametrize("chat", [-1001234567890, 42, "@kp_watch"])
def test_chat_ids_round_trip(store: Store, chat: int | str) -> None:
    store.subscribe(Destination(chat), "russia")
    store.enqueue([alert("a", chat=chat)])
    [(dest, _)] = store.subscriptions()
    [entry] = store.due(T0)
    assert dest.chat == chat
    assert entry.alert.destination.chat == chat
    assert type(entry.alert.destination.chat) is type(chat)


def test_migrations_build_exactly_the_declared_tables(store: Store, db_path: Path) -> None:
    # A change to bot/store/tables.py without a migration (or the reverse) fails here.
    engine = create_engine(f"sqlite:///{db_path}")
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_in_memory_database_works_for_a_single_process() -> None:
    with Store("sqlite://") as s:
        s.migrate()
        assert s.record_poll(FeedState("voa"), [item("a")], T0, [alert("a")]) == 1
        assert s.unseen("voa", ["a", "b"]) == {"b"}
        assert s.outbox_depth() == 1


def test_a_writer_waits_for_another_process_instead_of_failing(store: Store, db_path: Path) -> None:
    # Another process (here a plain sqlite3 connection) holds the write lock for a moment.
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO feed_state (feed_id, consecutive_errors) VALUES ('bbc', 0)")
    release = threading.Timer(0.3, other.execute, args=("COMMIT",))
    release.start()
    try:
        assert store.record_poll(FeedState("voa"), [item("a")], T0, [alert("a")]) == 1
    finally:
        release.join()
        other.close()
    assert [s.feed_id for s in store.feed_states()] == ["bbc", "voa"]
