"""Parsing feeds in worker processes: more than one core, and a parse that can be stopped.

feedparser is pure Python and holds the interpreter lock: in one process, a poll cycle of
many article-sized feeds is bound to one core however many it has, and parsing is most of
its CPU time (about two thirds in ``bench/poll.py``). ``FeedParsers`` hands each document to
one of a few worker processes instead (``bot.feeds.parse_worker``), while fetching,
identity and the store stay in the main process. A worker is also where a hostile
document can be stopped: a thread cannot be.

Limits, per document:

- **time**: a document not parsed within ``timeout`` seconds gets its worker killed and
  replaced, and its feed the error "parsing took longer than 30 s";
- **memory**: each worker may grow by ``max_memory_mb`` over its size when idle; the
  worker then exits and its feed gets "parsing needed more than 512 MB".

Other feeds' documents go on in the other workers meanwhile. A worker that dies for any
other reason (killed by the system, say) is replaced and its document parsed once more in
a fresh one, so it is blamed ("the document kills the process that parses it") only if it
kills that one too.

Stopping: ``close`` kills the workers at once, busy or not (a document at hand gets a
``ParseError``), so stopping the service never waits for a parse; a worker also ends with
the main process however that ends.

Workers are started only when a document arrives. Where worker processes cannot be made
at all, it says so in the log once and parses in threads of this process, without the
limits; ``processes=0`` does that on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import NoReturn

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.feeds.parse_worker import OUT_OF_MEMORY, START_TIMEOUT, ParseWorker
from bot.models import ParsedFeed

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_MEMORY_MB = 512


def default_processes() -> int:
    """Worker processes when the settings do not say: one per core, at most
    ``MAX_DEFAULT_PROCESSES``, and one on a single core (only a parse in a worker can be
    stopped; the main process mostly waits on the network, so a core per worker keeps every
    core parsing in a busy cycle)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_DEFAULT_PROCESSES))


class _WorkerDied(Exception):
    """The worker parsing a document ended without an answer, for no reason we know of."""


class FeedParsers:
    """Where feed documents are parsed: ``processes`` workers, or a thread when 0."""

    def __init__(
        self,
        processes: int,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_memory_mb: int = DEFAULT_MAX_MEMORY_MB,
    ) -> None:
        if processes < 0:
            raise ValueError("processes must be 0 or more")
        self.processes = processes
        self.timeout = timeout
        self.max_memory_mb = max_memory_mb
        self._lock = threading.Lock()  # close() may run in another thread
        self._idle: list[ParseWorker] = []
        self._busy: set[ParseWorker] = set()
        self._closings = 0  # close() calls so far: a parse that spans one was stopped
        self._threads: ThreadPoolExecutor | None = None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def parse(
        self,
        body: bytes,
        *,
        feed_id: str,
        url: str = "",
        headers: Mapping[str, str] | None = None,
        previews: bool = False,
    ) -> ParsedFeed:
        """``parse_feed`` of the document, in a worker when there are any."""
        job = partial(
            parse_feed,
            body,
            feed_id=feed_id,
            url=url,
            headers=dict(headers or {}),
            previews=previews,
        )
        if self.processes == 0:
            return await asyncio.to_thread(job)
        try:
            return await self._in_worker(job, feed_id)
        except _WorkerDied:
            log.warning("feed_parser_died", extra={"feed_id": feed_id})
        except OSError as exc:  # no processes can be made here (a sandbox, a process limit)
            log.warning("feed_parsers_unavailable", extra={"error": str(exc)})
            self.processes = 0
            return await asyncio.to_thread(job)
        try:
            return await self._in_worker(job, feed_id)
        except _WorkerDied:
            raise ParseError("the document kills the process that parses it") from None

    async def _in_worker(self, job: Callable[[], ParsedFeed], feed_id: str) -> ParsedFeed:
        async with self._slot():
            worker, closings = self._take(), self._closings
            try:
                kind, payload = await asyncio.get_running_loop().run_in_executor(
                    self._exchanges(), worker.exchange, job, self.timeout
                )
            except BaseException:  # cancelled: the service is stopping; so is this parse
                worker.kill()
                raise
            finally:
                with self._lock:
                    self._busy.discard(worker)
        if kind == "ok":
            self._give_back(worker)
            return payload  # type: ignore[no-any-return]
        if kind == "error":
            self._give_back(worker)
            raise payload
        self._gone(kind, payload, feed_id, stopped_by_close=closings != self._closings)

    def _gone(
        self, kind: str, exit_status: int | None, feed_id: str, *, stopped_by_close: bool
    ) -> NoReturn:
        """The worker is gone: say why, as the feed's error."""
        if kind == "timeout":
            reason = f"parsing took longer than {self.timeout:g} s"
        elif kind == "no-start":
            reason = f"a parser process did not start within {START_TIMEOUT:g} s"
        elif exit_status == OUT_OF_MEMORY:
            reason = f"parsing needed more than {self.max_memory_mb} MB"
        elif stopped_by_close:
            reason = "parsing stopped: the service is stopping"
        else:
            raise _WorkerDied
        log.warning("feed_parse_stopped", extra={"feed_id": feed_id, "reason": reason})
        raise ParseError(reason)

    def _slot(self) -> asyncio.Semaphore:
        """At most ``processes`` documents in workers at once, for the running event loop."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self.processes))
        return self._slots[1]

    def _take(self) -> ParseWorker:
        """An idle worker, or a new one. Started from the event loop's thread, on purpose:
        Linux ends a worker when the thread that started it ends (``PR_SET_PDEATHSIG``), and
        the loop's thread lasts as long as the parsers are in use."""
        with self._lock:
            worker = self._idle_worker() or ParseWorker(self.max_memory_mb)
            self._busy.add(worker)
        return worker

    def _idle_worker(self) -> ParseWorker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.reap()  # killed while idle (by the system, say): a new one replaces it
        return None

    def _give_back(self, worker: ParseWorker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _exchanges(self) -> ThreadPoolExecutor:
        """Threads that wait for the workers' answers, one per worker."""
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(max(1, self.processes), "feed-parser")
            return self._threads

    def close(self) -> None:
        """Stop every worker at once; a document at hand is abandoned (``ParseError``)."""
        with self._lock:
            self._closings += 1
            idle, busy, threads = self._idle, list(self._busy), self._threads
            self._idle, self._threads = [], None
        for worker in (*idle, *busy):
            worker.kill()
        for worker in idle:
            worker.reap()
        if threads is not None:
            threads.shutdown(wait=True)  # each busy worker's thread reaps it
