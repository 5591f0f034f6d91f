"""Whether the store works: failures in a row, and a SQLite file deleted under us.

Every transaction passes ``Database._guard`` (``bot.store.database``), which reports its
outcome to a ``StoreHealth``. One failure is weather (a lock held too long, a dropped
connection); ``after`` failures in a row, or failures that go on for ``seconds``, are an
outage: the store reports itself failing (``/healthz`` answers 503 with the reason, admins
are told once) until a transaction succeeds again.

A SQLite file deleted or replaced while mediabot runs fails nothing by itself: the open
connections go on writing into the unlinked file, whose queued alerts vanish at the next
restart. ``DatabaseFile`` remembers the file's identity (device, inode) from when it was
opened and compares it with what the path holds now; a mismatch is an outage at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["FAIL_AFTER", "FAIL_SECONDS", "DatabaseFile", "StoreHealth"]

log = logging.getLogger(__name__)

FAIL_AFTER = 3  # transactions failed in a row ...
FAIL_SECONDS = 30.0  # ... or failing for this long: the store is failing

Watcher = Callable[[str | None], None]


class StoreHealth:
    """Counts failed transactions in a row; thread-safe (transactions run on many threads).

    Watchers are called with the reason when the store starts failing and with None when
    it works again, from the thread whose transaction changed it.
    """

    def __init__(
        self,
        *,
        after: int = FAIL_AFTER,
        seconds: float = FAIL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._after = after
        self._seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._first: float | None = None
        self._reason: str | None = None
        self._watchers: list[Watcher] = []

    @property
    def failing(self) -> str | None:
        """Why the store is failing, or None while it works."""
        return self._reason

    @property
    def failures(self) -> int:
        """Transactions failed in a row."""
        return self._failures

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` on every change from now on; returns what stops it."""
        with self._lock:
            self._watchers.append(watcher)

        def unwatch() -> None:
            with self._lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

        return unwatch

    def failed(self, error: str, *, certain: bool = False) -> None:
        """A transaction failed with ``error``; ``certain``: no retry can cure it."""
        with self._lock:
            now = self._clock()
            self._failures += 1
            if self._first is None:
                self._first = now
            lasted = now - self._first
            if not (certain or self._failures >= self._after or lasted >= self._seconds):
                return
            started = self._reason is None
            self._reason = (
                error
                if certain
                else f"{self._failures} database calls in a row failed over {lasted:.0f} s; "
                f"the last: {error}"
            )
            reason, watchers = self._reason, list(self._watchers)
        if started:
            log.error("store_failing", extra={"error": reason, "failures": self._failures})
            _tell(watchers, reason)

    def succeeded(self) -> None:
        if not self._failures:  # the usual case: no lock taken
            return
        with self._lock:
            failures, was = self._failures, self._reason
            self._failures, self._first, self._reason = 0, None, None
            watchers = list(self._watchers)
        if was is not None:
            log.info("store_recovered", extra={"failures": failures})
            _tell(watchers, None)


def _tell(watchers: list[Watcher], reason: str | None) -> None:
    for watcher in watchers:
        try:
            watcher(reason)
        except Exception:  # a watcher's bug must not fail the transaction that told it
            log.exception("store_watcher_failed")


class DatabaseFile:
    """A SQLite database file, and its identity when it was opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None  # None until the file exists
        self.settle()

    def settle(self) -> None:
        """Take the identity once the file exists (the first transaction creates it)."""
        if self._identity is None:
            with contextlib.suppress(OSError):  # cannot tell yet
                self._identity = _identity(self.path)

    def problem(self) -> str | None:
        """What is wrong with the file, or None while the path holds the file opened."""
        if self._identity is None:
            return None
        try:
            now = _identity(self.path)
        except OSError:  # cannot tell (permissions): leave it to the transactions
            return None
        if now == self._identity:
            return None
        return (
            f"the database file {self.path} was deleted or replaced while mediabot was "
            "running; restart to recreate it — queued alerts in the old file are lost"
        )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st.st_dev, st.st_ino
