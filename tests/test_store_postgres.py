"""The store on PostgreSQL, when one is offered through MEDIABOT_TEST_POSTGRES_URL.

Skipped otherwise (no server or no driver here): SQLite covers the behaviour; these
tests only prove the SQL is portable. Every table is dropped afterwards, so point the
variable at a throwaway database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from bot.errors import StoreError
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.store import Store, metadata

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
URL = os.environ.get("MEDIABOT_TEST_POSTGRES_URL", "")


@pytest.fixture
def store() -> Iterator[Store]:
    if not URL:
        pytest.skip("set MEDIABOT_TEST_POSTGRES_URL to run the PostgreSQL tests")
    try:
        s = Store(URL)
    except StoreError as exc:
        pytest.skip(f"PostgreSQL not usable here: {exc}")
    try:
        s.migrate()
    except StoreError as exc:
        s.close()
        pytest.skip(f"PostgreSQL not usable here: {exc}")
    try:
        yield s
    finally:
        s.close()
        _drop_everything()


def _drop_everything() -> None:
    engine = create_engine(URL)
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


def alert(key: str, chat: int | str = -100123, thread: int | None = None) -> Alert:
    return Alert("voa", key, "russia", Destination(chat, thread), Message("<b>x</b>", "x"), T0)


def test_poll_queue_and_send_round_trip(store: Store) -> None:
    store.migrate()
    state = FeedState("voa", etag='"1"', last_success=T0)
    items = [Item("voa", k, "标题", f"https://e.com/{k}", "") for k in ("a", "b")]
    assert store.record_poll(state, items, T0, [alert("a"), alert("a"), alert("b", "@kp")]) == 2
    assert store.record_poll(state, items, T0, [alert("a"), alert("a", thread=4)]) == 1
    assert store.feed_state("voa") == state
    assert store.unseen("voa", ["a", "c"]) == {"c"}
    first, *_ = store.due(T0)
    store.defer(first.id, T0 + timedelta(hours=1), "retry")
    assert store.next_due_time() == T0 + timedelta(hours=1)
    store.mark_sent(first.id, 10, T0)
    [sent] = store.sent_alerts(since=T0)
    assert sent.sent_at == T0 and sent.sent_at.tzinfo is UTC
    assert {e.alert.destination.chat for e in store.due(T0)} == {-100123, "@kp"}
    assert store.move_chat(-100123, -100999) == 1
    assert store.drop_chat("@kp", "kicked") == 1


def test_subscriptions(store: Store) -> None:
    assert store.subscribe(Destination(-100123), "russia") is True
    assert store.subscribe(Destination(-100123), "russia") is False
    assert store.subscriptions() == [(Destination(-100123), "russia")]
