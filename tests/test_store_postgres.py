"""The store on PostgreSQL: each test gets a fresh database on the server that
MEDIABOT_TEST_POSTGRES_URL names (``.ci/run`` starts one; skipped elsewhere without it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from bot.delivery.kinds import Rendered
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(postgres_url: str) -> Iterator[Store]:
    with Store(postgres_url) as s:
        s.migrate()
        yield s


def alert(key: str, chat: int | str = -100123, thread: int | None = None) -> Alert:
    return Alert(
        "voa", key, "russia", Destination(chat, thread), Rendered(Message("<b>x</b>", "x")), T0
    )


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


def test_threads_using_the_store_at_once_keep_their_connections(store: Store) -> None:
    """A busy poller reads and writes from a dozen threads at once (its database threads
    and its polls in flight): each connection is opened once, not again every few calls."""
    opened = []
    event.listen(store._engine, "connect", lambda *_: opened.append(1))
    threads = 12
    together = threading.Barrier(threads)

    def calls(_: int) -> None:
        for _ in range(10):
            together.wait(timeout=30)
            store.feed_state("voa")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(calls, range(threads)))
    assert len(opened) <= threads


def test_subscriptions(store: Store) -> None:
    assert store.subscribe(Destination(-100123), "russia") is True
    assert store.subscribe(Destination(-100123), "russia") is False
    assert store.subscriptions() == [(Destination(-100123), "russia")]
