"""Parsing feeds in worker processes, so that a poll cycle uses more than one core.

feedparser is pure Python and holds the interpreter lock: in one process, a poll cycle of
many article-sized feeds is bound to one core however many it has, and parsing is most of
its CPU time (about two thirds in ``bench/poll.py``). ``FeedParsers`` hands each document to
a pool of worker processes instead, while fetching, identity and the store stay in the main
process. With no workers it parses in a thread of this process, as before.

Workers are started with ``spawn`` (the main process runs threads; forking it could copy
a held lock) and only when the first document arrives. A worker that dies (killed by the
system, say) breaks the pool: the documents in flight are parsed once more in a fresh
pool, and a document that breaks that one too is reported as a parse error of its feed,
so nothing is lost and the other feeds go on. Where worker processes cannot be made at
all (no POSIX semaphores in a sandbox), it says so in the log once and parses in threads.
Each worker holds the reading end of a
pipe whose only writer is the main process: when the main process ends in any way, even
``kill -9``, the pipe closes and the workers exit with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing.connection import Connection

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.models import ParsedFeed

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4


def default_processes() -> int:
    """Worker processes when the settings do not say: one per core beyond the first (the
    main process fetches, stores and matches), at most ``MAX_DEFAULT_PROCESSES``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(0, min((cores or 1) - 1, MAX_DEFAULT_PROCESSES))


class FeedParsers:
    """Where feed documents are parsed: ``processes`` workers, or a thread when 0."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError("processes must be 0 or more")
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0  # pools made so far; a broken one is replaced once
        self._lifeline: tuple[Connection, Connection] | None = None  # (read, write)

    async def parse(
        self, body: bytes, *, feed_id: str, url: str = "", headers: Mapping[str, str] | None = None
    ) -> ParsedFeed:
        """``parse_feed`` of the document, in a worker when there are any."""
        job = partial(parse_feed, body, feed_id=feed_id, url=url, headers=dict(headers or {}))
        for attempt in (1, 2):
            if self.processes == 0:
                break
            try:
                pool, generation = self._current()
                parsed = asyncio.get_running_loop().run_in_executor(pool, job)
            except OSError as exc:  # no process semaphores here (a bare /dev/shm, say)
                log.warning("feed_parsers_unavailable", extra={"error": str(exc)})
                self.processes = 0
                break
            try:
                return await parsed
            except BrokenProcessPool:
                self._replace(generation)
                log.warning("feed_parser_died", extra={"feed_id": feed_id, "attempt": attempt})
        else:
            raise ParseError("the parser process died twice on this document")
        return await asyncio.to_thread(job)

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            if self._lifeline is None:
                self._lifeline = context.Pipe(duplex=False)
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=context,
                initializer=_leave_with_parent,
                initargs=(self._lifeline[0],),
            )
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


def _leave_with_parent(lifeline: Connection) -> None:
    """In a worker: exit as soon as the main process's end of ``lifeline`` closes."""

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv()  # nothing is ever sent: this ends by EOF, when the parent ends
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
