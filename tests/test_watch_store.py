"""Watches in the store, on SQLite and PostgreSQL: numbers, the limit, the version every
poller compares, a group's move to a supergroup, and the recent items previews read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Destination, FeedState
from bot.store import RecentItem, Store

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
CHAT = Destination(-1001, 7)


@pytest.fixture
def store(any_store_url: str) -> Iterator[Store]:
    with Store(any_store_url) as opened:
        opened.migrate()
        yield opened


def test_numbers_limit_and_version(store: Store) -> None:
    assert store.watch_version() == 0
    first = store.add_watch(CHAT, "treaty", 42, 2, NOW)
    second = store.add_watch(CHAT, "条约", 42, 2, NOW)
    assert first is not None and second is not None
    assert (first.number, second.number) == (1, 2)
    assert first.destination == CHAT and first.created_by == 42
    assert store.add_watch(CHAT, "third", 42, 2, NOW) is None  # the limit: nothing stored
    assert store.watch_version() == 2
    assert [w.query for w in store.watches_of(CHAT.chat)] == ["treaty", "条约"]
    removed = store.remove_watch(CHAT.chat, 1)
    assert removed is not None and removed.query == "treaty"
    assert store.remove_watch(CHAT.chat, 1) is None
    assert store.watch_version() == 3
    third = store.add_watch(CHAT, "third", 42, 2, NOW)
    assert third is not None and third.number == 3  # numbers are not reused
    assert [(w.destination.chat, w.number) for w in store.all_watches()] == [(-1001, 2), (-1001, 3)]


def test_the_limit_holds_when_adds_race(store: Store) -> None:
    barrier = threading.Barrier(6)
    results: list[object] = []

    def add(n: int) -> None:
        barrier.wait()
        results.append(store.add_watch(CHAT, f"word{n}", None, 3, NOW))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is not None for r in results) == 3
    assert sorted(w.number for w in store.watches_of(CHAT.chat)) == [1, 2, 3]


def test_watches_follow_a_group_that_became_a_supergroup(store: Store) -> None:
    store.add_watch(Destination(-5), "treaty", 1, 20, NOW)
    before = store.watch_version()
    store.move_chat(-5, -1005)
    assert [w.destination.chat for w in store.all_watches()] == [-1005]
    assert store.watch_version() == before + 1


def test_recent_items_for_previews_are_kept_a_week(store: Store) -> None:
    def poll(key: str, when: datetime) -> None:
        recent = [RecentItem("a", key, f"title {key}", f"https://x/{key}", "text", when)]
        store.record_poll(FeedState(feed_id="a"), [], when, [], recent=recent)

    poll("old", NOW - timedelta(days=8))
    poll("new", NOW - timedelta(days=1))
    assert [r.key for r in store.recent_items(NOW - timedelta(days=7))] == ["new"]
    store.prune(NOW, seen_days=0, outbox_days=0)
    assert [r.key for r in store.recent_items(NOW - timedelta(days=30))] == ["new"]
