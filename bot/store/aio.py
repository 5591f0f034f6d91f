"""Blocking store calls, off the event loop.

Every ``Store`` method is one short transaction that blocks its thread. Async code awaits
them through an ``Offload`` so a slow write never stalls sends, commands or heartbeats:
the call runs on a small pool of database threads (one for SQLite, whose single writer
gains nothing from more; a few for PostgreSQL).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from bot.store.store import Store

__all__ = ["AsyncStore", "DatabaseThreads", "Offload", "to_thread"]

P = ParamSpec("P")
T = TypeVar("T")


class Offload(Protocol):
    """Run ``fn(*args, **kwargs)`` somewhere that may block; await its result."""

    def __call__(
        self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> Awaitable[T]: ...


to_thread: Offload = asyncio.to_thread


class DatabaseThreads:
    """An ``Offload`` onto a pool of threads kept for the database."""

    def __init__(self, threads: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="store")

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _offloaded(
    method: Callable[Concatenate[Store, P], T],
) -> Callable[Concatenate[AsyncStore, P], Awaitable[T]]:
    def call(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
        return self._io(method, self.store, *args, **kwargs)

    call.__name__ = method.__name__
    call.__doc__ = method.__doc__
    return call


class AsyncStore:
    """The store's methods as coroutines, each run through an ``Offload``: what event-loop
    code (commands, button presses) uses, so a slow transaction never stalls the loop."""

    def __init__(self, store: Store, offload: Offload = to_thread) -> None:
        self.store = store
        self._io = offload

    feed_states = _offloaded(Store.feed_states)
    items_seen_since = _offloaded(Store.items_seen_since)
    alerts_sent_since = _offloaded(Store.alerts_sent_since)
    alert_times = _offloaded(Store.alert_times)
    item_times = _offloaded(Store.item_times)
    outbox_depth = _offloaded(Store.outbox_depth)
    running_processes = _offloaded(Store.running_processes)
    gone_chats = _offloaded(Store.gone_chats)
    mark_gone = _offloaded(Store.mark_gone)
    drop_chat = _offloaded(Store.drop_chat)
    resume_chat = _offloaded(Store.resume_chat)
    subscriptions = _offloaded(Store.subscriptions)
    subscribe = _offloaded(Store.subscribe)
    unsubscribe = _offloaded(Store.unsubscribe)
    topics_of = _offloaded(Store.topics_of)
    mute = _offloaded(Store.mute)
    unmute = _offloaded(Store.unmute)
    mutes_of = _offloaded(Store.mutes_of)
    add_watch = _offloaded(Store.add_watch)
    remove_watch = _offloaded(Store.remove_watch)
    watches_of = _offloaded(Store.watches_of)
    all_watches = _offloaded(Store.all_watches)
    recent_items = _offloaded(Store.recent_items)
    next_digest_time = _offloaded(Store.next_digest_time)
    digest_items_held = _offloaded(Store.digest_items_held)
    spike_trends = _offloaded(Store.spike_trends)
