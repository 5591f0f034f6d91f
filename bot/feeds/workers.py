"""Parsing feeds in worker processes, so that a poll cycle uses more than one core.

feedparser is pure Python and holds the interpreter lock: in one process, a poll cycle of
many article-sized feeds is bound to one core however many it has, and parsing is most of
its CPU time (about two thirds in ``bench/poll.py``). ``FeedParsers`` hands each document to
a pool of worker processes instead, while fetching, identity and the store stay in the main
process. With no workers it parses in a thread of this process, as before.

Workers are started with ``spawn`` (the main process runs threads; forking it could copy
a held lock) and only when the first document arrives. A worker that dies (killed by the
system, say) breaks the pool: it is replaced, the documents that were in it are parsed
once more, one at a time, each in a worker of its own, and a document that kills that
one too is reported as a parse error of its feed, so nothing is lost and the other feeds
go on. Where worker processes cannot be made at all (no POSIX semaphores in a sandbox),
it says so in the log once and parses in threads. Each worker holds the reading end of a
pipe whose only writer is the main process: when the main process ends in any way, even
``kill -9``, the pipe closes and the workers exit with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing.connection import Connection
from typing import Any

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.models import ParsedFeed

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4


def default_processes() -> int:
    """Worker processes when the settings do not say: one per core, at most
    ``MAX_DEFAULT_PROCESSES``, and none on a single core (the main process mostly waits on
    the network, so a core per worker keeps every core parsing in a busy cycle)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    return 0 if cores < 2 else min(cores, MAX_DEFAULT_PROCESSES)


class FeedParsers:
    """Where feed documents are parsed: ``processes`` workers, or a thread when 0."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be 0 or more")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0  # pools made so far; a broken one is replaced once
        self._lifeline: tuple[Connection, Connection] | None = None  # (read, write)
        self._retry: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def parse(
        self, body: bytes, *, feed_id: str, url: str = "", headers: Mapping[str, str] | None = None
    ) -> ParsedFeed:
        """``parse_feed`` of the document, in a worker when there are any.

        A document whose worker dies is parsed once more in a worker of its own, so that
        it is blamed (``ParseError``) only if it kills that one too, and documents that
        were merely in the same pool go on."""
        job = partial(parse_feed, body, feed_id=feed_id, url=url, headers=dict(headers or {}))
        if self.processes == 0:
            return await asyncio.to_thread(job)
        try:
            pool, generation = self._current()
        except OSError as exc:  # no process semaphores here (a bare /dev/shm, say)
            log.warning("feed_parsers_unavailable", extra={"error": str(exc)})
            self.processes = 0
            return await asyncio.to_thread(job)
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, job)
        except BrokenProcessPool:  # on submitting, or while the document was in the pool
            self._replace(generation)
            log.warning("feed_parser_died", extra={"feed_id": feed_id})
        # One at a time: a broken pool may have held a dozen documents.
        async with self._one_at_a_time():
            alone = ProcessPoolExecutor(1, **self._options())
            try:
                return await asyncio.get_running_loop().run_in_executor(alone, job)
            except BrokenProcessPool:
                raise ParseError("the document kills the process that parses it") from None
            finally:
                alone.shutdown(wait=False, cancel_futures=True)

    def _one_at_a_time(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._retry is None or self._retry[0] is not loop:
            self._retry = (loop, asyncio.Lock())
        return self._retry[1]

    def _options(self) -> dict[str, Any]:
        context = multiprocessing.get_context("spawn")
        if self._lifeline is None:
            self._lifeline = context.Pipe(duplex=False)
        return {
            "mp_context": context,
            "initializer": _prepare_worker,
            "initargs": (self._lifeline[0],),
        }

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.processes, **self._options())
            self._generation += 1
        return self._pool, self._generation

    def _replace(self, generation: int) -> None:
        # Every document in flight sees the same broken pool; only the first replaces it.
        if generation == self._generation and self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        """Stop the workers (they finish the document at hand)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._lifeline is not None:
            for end in self._lifeline:
                end.close()
            self._lifeline = None


def _prepare_worker(lifeline: Connection) -> None:
    """In a worker: leave stopping to the main process, and exit as soon as its end of
    ``lifeline`` closes.

    Ctrl-C and systemd's stop signal reach every process of the group; a worker that died
    of them would break the pool in the middle of the main process's orderly stop, which
    ends the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()  # nothing is ever sent: this ends by EOF, when the parent ends
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
