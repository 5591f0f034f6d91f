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
from typing import ParamSpec, Protocol, TypeVar

__all__ = ["DatabaseThreads", "Offload", "to_thread"]

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
