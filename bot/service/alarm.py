"""Telling admins, once per outage, that the store is failing.

Admins are usually told through the outbox (``bot.service.notices``), which lives in the
store: no use when the store is what fails. This note goes straight through the sink,
best effort, to each admin. It is said once per outage in this process: again only after
the store has worked in between (``bot.store.health`` says when it starts failing and
when it works again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from bot.delivery.sender import Sink
from bot.errors import SendError
from bot.models import Destination
from bot.store.health import StoreHealth
from bot.telegram.replies import plain

__all__ = ["StoreAlarm"]

log = logging.getLogger(__name__)


class StoreAlarm:
    def __init__(self, sink: Sink, admins: Sequence[int]) -> None:
        self._sink = sink
        self._admins = tuple(admins)
        self._told = False
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, health: StoreHealth) -> Callable[[], None]:
        """Follow ``health`` from now on (its changes come from database threads, and are
        handled on the running event loop); returns what stops it."""
        loop = asyncio.get_running_loop()

        def changed(problem: str | None) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
                loop.call_soon_threadsafe(self.changed, problem)

        return health.watch(changed)

    def changed(self, problem: str | None) -> None:
        """The store started failing (``problem``) or works again (None)."""
        if problem is None:
            self._told = False  # the next outage is told again
            return
        if self._told or not self._admins:
            return
        self._told = True
        task = asyncio.get_running_loop().create_task(self._tell(problem))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self, problem: str) -> None:
        message = plain(
            f"mediabot cannot use its database: {problem}.\n"
            "Alerts are not queued or sent until it works again; /healthz reports it "
            "down meanwhile."
        )
        told = 0
        for admin in self._admins:
            try:
                await self._sink.send(Destination(admin), message)
            except SendError as exc:
                log.warning("store_alarm_failed", extra={"admin": admin, "error": str(exc)})
            else:
                told += 1
        log.info("store_alarm_sent", extra={"admins": told})

    async def aclose(self) -> None:
        """Let a note being sent finish (before the sink closes)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
