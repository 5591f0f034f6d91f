"""One feed-parsing worker process: the main process's handle on it (``ParseWorker``),
and the worker's own side (``serve``), the two ends of the pipe between them.

The handle starts the worker with ``spawn`` (the main process runs threads; forking it
could copy a held lock), hands it one document's job at a time and waits for the answer,
killing it when the time limit passes. The worker answers ``None`` once ready, then
``(True, result)`` or ``(False, exception)`` per job; it exits with ``OUT_OF_MEMORY`` when
a document needed more than its memory limit (an address-space limit, so the allocation
that would cross it fails at once, inside feedparser and expat too).

A worker ends with the main process however that ends, even by ``kill -9`` in the middle
of a long C call: on Linux the kernel kills it (``PR_SET_PDEATHSIG``); elsewhere it checks
its parent every second. An idle worker exits when its pipe closes or on SIGTERM; a busy
one ignores SIGTERM and Ctrl-C (they reach the whole process group; the main process's
orderly stop ends it). ``serve``, what a worker runs, stays at module level: ``spawn``
imports it by name, and with it the parser, so that importing feedparser counts against
neither a document's time nor its memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import bot.feeds.parse  # noqa: F401  the jobs' parser, imported before a worker says it is ready
from bot.errors import ParseError
from bot.models import ParsedFeed

START_TIMEOUT = 60.0  # a new worker imports feedparser first; not part of any document's time
OUT_OF_MEMORY = 75  # a worker's exit status when its document needed more than the limit
_PR_SET_PDEATHSIG = 1


class ParseWorker:
    """One worker process and the main process's end of the pipe to it."""

    def __init__(self, max_memory_mb: int) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(
            target=serve,
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


def serve(conn: Connection, parent: int, max_memory_mb: int) -> None:
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
            os._exit(OUT_OF_MEMORY)
        except Exception as exc:
            answer = (False, exc)
        try:
            conn.send(answer)
        except MemoryError:
            os._exit(OUT_OF_MEMORY)
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
