"""Parsing feeds in worker processes: more than one core, and a parse that can be stopped.

feedparser is pure Python and holds the interpreter lock: in one process, a poll cycle of
many article-sized feeds is bound to one core however many it has, and parsing is most of
its CPU time (about two thirds in ``bench/poll.py``). ``FeedParsers`` hands each document to
one of a few worker processes instead, while fetching, identity and the store stay in the
main process. A worker is also where a hostile document can be stopped: a thread cannot be.

Limits, per document:

- **time**: a document not parsed within ``timeout`` seconds gets its worker killed and
  replaced, and its feed the error "parsing took longer than 30 s";
- **memory**: each worker may grow by ``max_memory_mb`` over its size when idle (an
  address-space limit, so the allocation that would cross it fails at once, inside
  feedparser and expat too); the worker then exits and its feed gets "parsing needed more
  than 512 MB".

Other feeds' documents go on in the other workers meanwhile. A worker that dies for any
other reason (killed by the system, say) is replaced and its document parsed once more in
a fresh one, so it is blamed ("the document kills the process that parses it") only if it
kills that one too.

Stopping: ``close`` kills the workers at once, busy or not (a document at hand gets a
``ParseError``), so stopping the service never waits for a parse. A worker also ends with
the main process however that ends, even by ``kill -9`` in the middle of a long C call:
on Linux the kernel kills it (``PR_SET_PDEATHSIG``); elsewhere it checks its parent every
second. An idle worker exits when its pipe closes or on SIGTERM; a busy one ignores
SIGTERM and Ctrl-C (they reach the whole process group; the main process's orderly stop
ends it).

Workers are started with ``spawn`` (the main process runs threads; forking it could copy a
held lock) and only when a document arrives. Where worker processes cannot be made at all,
it says so in the log once and parses in threads of this process, without the limits;
``processes=0`` does that on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.models import ParsedFeed

log = logging.getLogger(__name__)

MAX_DEFAULT_PROCESSES = 4
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_MEMORY_MB = 512
START_TIMEOUT = 60.0  # a new worker imports feedparser first; not part of any document's time
_OUT_OF_MEMORY = 75  # a worker's exit status when its document needed more than the limit
_PR_SET_PDEATHSIG = 1


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
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
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
        elif exit_status == _OUT_OF_MEMORY:
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

    def _take(self) -> _Worker:
        """An idle worker, or a new one. Started from the event loop's thread, on purpose:
        Linux ends a worker when the thread that started it ends (``PR_SET_PDEATHSIG``), and
        the loop's thread lasts as long as the parsers are in use."""
        with self._lock:
            worker = self._idle_worker() or _Worker(self.max_memory_mb)
            self._busy.add(worker)
        return worker

    def _idle_worker(self) -> _Worker | None:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive():
                return worker
            worker.reap()  # killed while idle (by the system, say): a new one replaces it
        return None

    def _give_back(self, worker: _Worker) -> None:
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


class _Worker:
    """One worker process and the main process's end of the pipe to it."""

    def __init__(self, max_memory_mb: int) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_serve,
            args=(theirs, os.getpid(), max_memory_mb),
            name="mediabot-feed-parser",
            daemon=True,
        )
        try:
            self.process.start()
        finally:
            theirs.close()  # only the worker holds it: its end closing is our EOF
        self.conn = ours
        self.started = False

    def exchange(self, job: Callable[[], ParsedFeed], timeout: float) -> tuple[str, Any]:
        """In a thread: hand ``job`` over and wait. ``("ok", result)``, ``("error",
        exception)``, or the worker is gone (killed if need be, and reaped): ``("timeout",
        None)``, ``("no-start", None)``, ``("died", exit status)``. The time limit starts
        when the worker is ready: a new one first imports its libraries."""
        try:
            if not self.started:
                if not self.conn.poll(START_TIMEOUT):
                    self.kill()
                    self.reap()
                    return ("no-start", None)
                self.conn.recv()  # the worker's "ready"
                self.started = True
            self.conn.send(job)
            if not self.conn.poll(timeout):
                self.kill()
                self.reap()
                return ("timeout", None)
            ok, payload = self.conn.recv()
        except (EOFError, OSError):
            self.reap()
            return ("died", self.process.exitcode)
        except Exception as exc:  # an answer that does not unpickle here
            return ("error", ParseError(f"parsing failed: {type(exc).__name__}: {exc}"))
        return ("ok", payload) if ok else ("error", payload)

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        """SIGKILL; safe from any thread, before or after the worker has ended."""
        with contextlib.suppress(ProcessLookupError, ValueError):
            self.process.kill()

    def reap(self) -> None:
        self.process.join()
        self.conn.close()


# --- In the worker process ---------------------------------------------------------------

_busy = False  # a document is being parsed: SIGTERM is left to the main process


def _serve(conn: Connection, parent: int, max_memory_mb: int) -> None:
    """A worker's life: parse each document sent and answer, until the pipe closes."""
    global _busy
    _end_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _limit_memory(max_memory_mb)
    conn.send(None)  # ready: the parent starts a document's clock from here
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        _busy = True
        try:
            answer: tuple[bool, object] = (True, job())
        except MemoryError:
            os._exit(_OUT_OF_MEMORY)
        except Exception as exc:
            answer = (False, exc)
        try:
            conn.send(answer)
        except MemoryError:
            os._exit(_OUT_OF_MEMORY)
        except Exception as exc:  # an answer that cannot be pickled
            conn.send((False, ParseError(f"parsing failed: {type(exc).__name__}: {exc}")))
        _busy = False


def _on_sigterm(signum: int, frame: object) -> None:
    if not _busy:
        os._exit(0)


def _end_with(parent: int) -> None:
    """End when the main process ends, even in a C call that never returns to Python."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # it ended before the request was made
                os._exit(0)
            return

    def check(signum: int, frame: object) -> None:
        if os.getppid() != parent:
            os._exit(0)

    signal.signal(signal.SIGALRM, check)
    signal.setitimer(signal.ITIMER_REAL, 1.0, 1.0)


def _limit_memory(max_memory_mb: int) -> None:
    """Let the address space grow by ``max_memory_mb`` over the idle worker's size (0: no
    limit)."""
    if max_memory_mb <= 0:
        return
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # not Linux: no reliable size to start from, so no limit
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + max_memory_mb * 1_000_000
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
