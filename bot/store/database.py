"""One database, opened: the engine, its health and the transactions every area runs in.

``Database`` is the base of each of the store's areas (``bot.store.areas``) and so of
``Store``. An area's method opens one short transaction with ``_read`` or ``_write`` and
calls the queries of its module (``bot.store.outbox``, ``bot.store.seen``, …) on that
connection. Every transaction passes ``_guard``: a database error becomes ``StoreError``
(the message names the database with its password hidden) and the outcome of each is
counted in ``health``, so failures that go on make the store report itself failing
(``check``, ``bot.store.health``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import StoreError
from bot.store.election import Election
from bot.store.engine import WRITE, build_engine, parse_url, safe_url, sqlite_path
from bot.store.health import DatabaseFile, StoreHealth
from bot.store.migrate import describe, upgrade
from bot.store.notify import OutboxListener
from bot.store.spike_memo import SpikeMemo

# The store's events (store_failed, poll_recorded, chat_moved, …) keep the one logger name
# they have always had, whichever area logs them.
log = logging.getLogger("bot.store.store")


class Database:
    """An SQLite file or a PostgreSQL database, with the transactions run on it."""

    def __init__(self, url: str, *, health: StoreHealth | None = None) -> None:
        parsed = parse_url(url)
        self._where = safe_url(parsed)
        self._engine = build_engine(parsed)
        self._writer = self._engine.execution_options(**WRITE)
        self.health = health or StoreHealth()
        path = sqlite_path(parsed)
        self._file = DatabaseFile(path) if path is not None else None
        # Spike windows this process counted in, remembered between its transactions
        # (``bot.store.spike_memo``): a poll and ``count_spikes`` share them.
        self._spike_memo = SpikeMemo()
        log.debug("store_opened", extra={"database": self._where})

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest revision (a no-op when current)."""
        upgrade(self._engine)
        if self._file is not None:
            self._file.settle()

    def check(self) -> str | None:
        """Why the store is failing (``bot.store.health``), or None while it works.

        Cheap enough for a health probe: a SQLite file deleted or replaced is noticed
        here at once, before any transaction fails on it.
        """
        problem = self._file.problem() if self._file is not None else None
        if problem is not None and self.health.failing is None:
            self.health.failed(problem, certain=True)
        return self.health.failing

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def outbox_listener(self, on_notice: Callable[[], None]) -> OutboxListener:
        """Wake-ups from other processes' enqueues (``bot.store.notify``)."""
        return OutboxListener(self._engine, on_notice)

    def election(self, name: str) -> Election:
        """The single-leader lock of a role (``bot.store.election``)."""
        return Election(self._engine, name)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._where!r})"

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._guard("read"), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._guard("write"), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Every transaction passes here: errors become ``StoreError``, and the outcome
        is counted in ``health``. Nothing is read from or written to a database file
        that was deleted or replaced: what went there would vanish at the next restart."""
        problem = self._file.problem() if self._file is not None else None
        if problem is not None:
            log.warning("store_failed", extra={"action": action, "error": problem})
            self.health.failed(problem, certain=True)
            raise StoreError(problem)
        try:
            yield
        except SQLAlchemyError as exc:
            error = f"cannot {action} {self._where}: {describe(exc)}"
            log.warning("store_failed", extra={"action": action, "error": describe(exc)})
            self.health.failed(error)
            raise StoreError(error) from exc
        self.health.succeeded()
        if self._file is not None:
            self._file.settle()
