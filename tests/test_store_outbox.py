"""The outbox on a temporary SQLite file: queueing, due order, sending, chat changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.kinds import DigestAlert, Rendered
from bot.errors import StoreError
from bot.models import Alert, Button, Destination, FeedState, Item, Message
from bot.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
GROUP = -100123


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path}/mediabot.db") as s:
        s.migrate()
        yield s


def as_digest(alert: Alert) -> Alert:
    """The alert as a digest message (a row of kind "digest")."""
    return replace(alert, body=DigestAlert((), T0, "UTC"))


def alert(
    key: str,
    *,
    topic: str = "russia",
    chat: int | str = GROUP,
    thread: int | None = None,
    first_seen: datetime = T0,
) -> Alert:
    message = Message(f"<b>{key}</b>", key)
    return Alert("voa", key, topic, Destination(chat, thread), Rendered(message), first_seen)


def queued_keys(store: Store, now: datetime = T0) -> list[str]:
    return [entry.alert.item_key for entry in store.due(now)]


def entry_id(store: Store, key: str) -> int:
    [found] = [e.id for e in store.due(T0 + 1000 * HOUR) if e.alert.item_key == key]
    return found


# queueing


def test_enqueue_is_idempotent_also_without_thread(store: Store) -> None:
    assert store.enqueue([alert("a"), alert("a")]) == 1
    assert store.enqueue([alert("a")]) == 0
    assert store.enqueue([alert("a", thread=5)]) == 1
    assert store.enqueue([alert("a", topic="dprk"), alert("a", chat="@kp_watch")]) == 2
    assert store.outbox_depth() == 4


def test_message_is_stored_whole(store: Store) -> None:
    buttons = (
        (Button("🔕 Mute", callback_data="mute:russia"),),
        (Button("打开 · Open", url="https://example.com/a?x=1&y=<2>"),),
    )
    message = Message(
        '<b>R&amp;D</b> <a href="https://e.com/?a=1&amp;b=2">普京</a>', "R&D 普京", buttons
    )
    sent = Alert("voa", "a", "russia", Destination("@kp_watch", 12), Rendered(message), T0)
    store.enqueue([sent])
    [entry] = store.due(T0)
    assert entry.alert == sent
    assert (entry.status, entry.attempts, entry.message_id, entry.error) == (
        "queued",
        0,
        None,
        None,
    )


def test_entries_carry_the_seen_items_title_and_link(store: Store) -> None:
    item = Item("voa", "a", "俄朝签署条约", "https://example.com/a", "")
    store.record_poll(FeedState("voa"), [item], T0, [alert("a")])
    [entry] = store.due(T0)
    assert (entry.item_title, entry.item_link) == ("俄朝签署条约", "https://example.com/a")


# due order and not_before


def test_due_is_oldest_item_first_then_queue_order(store: Store) -> None:
    store.enqueue([alert("late", first_seen=T0 + HOUR), alert("b"), alert("early", first_seen=T0)])
    assert queued_keys(store, T0 + HOUR) == ["b", "early", "late"]
    assert [e.alert.item_key for e in store.due(T0 + HOUR, limit=2)] == ["b", "early"]


def test_deferred_entries_wait_for_not_before(store: Store) -> None:
    store.enqueue([alert("a"), alert("b")])
    assert store.next_due_time() is None
    store.defer(entry_id(store, "a"), T0 + 2 * HOUR, "flood control")
    store.defer(entry_id(store, "b"), T0 + HOUR, None)
    assert queued_keys(store, T0) == []
    assert store.next_due_time() == T0 + HOUR
    assert queued_keys(store, T0 + HOUR) == ["b"]
    assert queued_keys(store, T0 + 2 * HOUR) == ["a", "b"]
    assert store.outbox_depth() == 2


def test_defer_counts_attempts_and_keeps_the_reason(store: Store) -> None:
    store.enqueue([alert("a")])
    eid = entry_id(store, "a")
    store.defer(eid, T0 + HOUR, "network down")
    store.defer(eid, T0 + 2 * HOUR, "network down again")
    entry = store.outbox_entry(eid)
    assert entry is not None
    assert (entry.attempts, entry.error, entry.not_before) == (
        2,
        "network down again",
        T0 + 2 * HOUR,
    )
    assert entry.status == "queued"


# sent and failed


def test_mark_sent_takes_it_off_the_queue(store: Store) -> None:
    store.enqueue([alert("a"), alert("b", topic="dprk")])
    store.defer(entry_id(store, "a"), T0 + 5 * HOUR, "retry")
    store.mark_sent(entry_id(store, "a"), 777, T0 + 6 * HOUR)
    store.mark_sent(entry_id(store, "b"), 778, T0 + HOUR)
    assert store.due(T0 + 10 * HOUR) == []
    assert store.outbox_depth() == 0
    assert store.next_due_time() is None
    sent = store.sent_alerts()
    assert [(e.message_id, e.sent_at, e.status) for e in sent] == [
        (778, T0 + HOUR, "sent"),
        (777, T0 + 6 * HOUR, "sent"),
    ]
    assert [e.message_id for e in store.sent_alerts(topic_id="russia")] == [777]
    assert [e.message_id for e in store.sent_alerts(since=T0 + 2 * HOUR)] == [777]


def test_mark_failed_keeps_the_reason(store: Store) -> None:
    store.enqueue([alert("a"), alert("b")])
    store.mark_failed(entry_id(store, "a"), "Bad Request: message is too long")
    failed = store.outbox_entry(1)
    assert failed is not None
    assert (failed.status, failed.error) == ("failed", "Bad Request: message is too long")
    assert queued_keys(store) == ["b"]
    assert store.sent_alerts() == []


def test_unknown_entries(store: Store) -> None:
    assert store.outbox_entry(42) is None
    with pytest.raises(StoreError, match="no outbox entry with id 42"):
        store.mark_sent(42, 1, T0)


# chats that move or go away


def test_move_chat_moves_queued_alerts_and_subscriptions(store: Store) -> None:
    store.enqueue([alert("a"), alert("b"), alert("c", chat="@other")])
    store.mark_sent(entry_id(store, "b"), 5, T0)
    store.subscribe(Destination(GROUP), "russia")
    assert store.move_chat(GROUP, -1009999) == 1
    chats = {e.alert.item_key: e.alert.destination.chat for e in store.due(T0)}
    assert chats == {"a": -1009999, "c": "@other"}
    assert store.sent_alerts()[0].alert.destination.chat == GROUP  # history stays as it was
    assert store.subscriptions() == [(Destination(-1009999), "russia")]


def test_move_chat_never_queues_an_alert_twice(store: Store) -> None:
    store.enqueue([alert("a"), alert("a", chat=-1009999)])
    store.subscribe(Destination(GROUP), "russia")
    store.subscribe(Destination(-1009999), "russia")
    assert store.move_chat(GROUP, -1009999) == 0
    assert [e.alert.destination.chat for e in store.due(T0)] == [-1009999]
    assert store.subscriptions() == [(Destination(-1009999), "russia")]


def test_drop_chat_fails_only_that_chats_queue(store: Store) -> None:
    store.enqueue([alert("a", chat="@gone"), alert("b", chat="@gone", thread=3), alert("c")])
    store.enqueue([alert("d", chat="@gone")])
    store.mark_sent(entry_id(store, "d"), 9, T0)
    assert store.drop_chat("@gone", "Forbidden: bot was kicked") == 2
    assert queued_keys(store) == ["c"]
    dropped = store.outbox_entry(1)
    assert dropped is not None
    assert (dropped.status, dropped.error) == ("failed", "Forbidden: bot was kicked")
    assert store.sent_alerts()[0].status == "sent"


def test_a_dropped_chat_gets_no_digest_either(store: Store) -> None:
    slot = T0 + HOUR
    held = [replace(alert(k, chat=c), deliver_at=slot) for k, c in (("a", "@gone"), ("b", 8))]
    store.enqueue([*held, alert("c", chat="@gone")])
    assert store.drop_chat("@gone", "Forbidden: bot was kicked") == 2
    assert [e.alert.destination.chat for e in store.held_digest_items(slot)] == [8]
    assert store.digest_items_held() == 1
    assert queued_keys(store) == []


def test_a_digest_is_released_once_even_if_two_collectors_race(store: Store) -> None:
    from dataclasses import replace

    held = [replace(alert(k), deliver_at=T0 + HOUR, fingerprint=None) for k in ("a", "b")]
    store.enqueue(held)
    items = store.held_digest_items(T0 + HOUR)
    digest = as_digest(alert("digest#1", topic="digest"))
    ids = [e.id for e in items]
    assert store.release_digests([digest], ids, T0 + HOUR) == 1
    # A second collector that read the same held items before the first released them.
    late = as_digest(alert("digest#1-late", topic="digest"))
    assert store.release_digests([late], ids, T0 + HOUR) == 0
    assert [e.alert.item_key for e in store.due(T0 + HOUR)] == ["digest#1"]
    assert store.held_digest_items(T0 + HOUR) == []


def test_nothing_is_queued_for_a_chat_that_is_gone_until_it_comes_back(store: Store) -> None:
    store.enqueue([alert("a", chat=7)])
    store.drop_chat(7, "Forbidden: bot was blocked by the user")
    since, _ = store.mark_gone(7, "Forbidden: bot was blocked by the user")
    assert store.enqueue([alert("b", chat=7), alert("c", chat=8)]) == 1
    assert queued_keys(store) == ["c"]
    assert [chat for chat, _, _ in store.gone_chats()] == [7]
    assert store.mark_gone(7, "again")[0] == since, "the first time stays"
    assert store.resume_chat(7)
    assert store.enqueue([alert("b", chat=7)]) == 1


def test_rules_that_name_a_gone_chat_anew_bring_it_back(store: Store) -> None:
    store.mark_gone(-1001, "Forbidden: bot was kicked", named=True)
    assert store.rules_name_chats([-1001]) == [], "still named as before: still gone"
    assert store.rules_name_chats([]) == [], "no longer named"
    assert store.rules_name_chats([-1001]) == [-1001], "named anew: back"
    assert store.gone_chats() == []
