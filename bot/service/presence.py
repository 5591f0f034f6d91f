"""This process's row in the store: its roles, the roles it leads now, its rules version.

``/status`` lists every process from these rows, and a row that stops beating is a
process gone; ``beat`` writes it now (every ``HEARTBEAT_SECONDS``, on taking a lead and
after a reload), ``forget`` removes it on a clean stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Sequence

from bot.clock import utc_now
from bot.errors import StoreError
from bot.metrics import Recorder
from bot.rules.book import Rules
from bot.store import Store
from bot.store.aio import Offload
from bot.store.processes import ProcessRow

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0


class Presence:
    def __init__(
        self,
        store: Store,
        *,
        process_id: str,
        roles: Sequence[str],
        rules: Rules,
        metrics: Recorder,
        offload: Offload,
    ) -> None:
        self.process_id = process_id
        self.leading: set[str] = set()  # the single-leader roles this process leads now
        self._store = store
        self._roles = ",".join(roles)
        self._rules = rules
        self._metrics = metrics
        self._db = offload
        self._started = utc_now()

    async def beat(self) -> None:
        """Write this process's row now; a database error is logged, never raised."""
        # A coroutine job runs on the event loop: if the loop is blocked, no beat.
        self._metrics.heartbeat("scheduler")
        row = ProcessRow(
            id=self.process_id,
            roles=self._roles,
            active=",".join(sorted(self.leading)),
            host=socket.gethostname(),
            pid=os.getpid(),
            started=self._started,
            heartbeat=utc_now(),
            rules_version=self._rules.current().version,
        )
        try:
            await self._db(self._store.beat, row)
        except StoreError as exc:
            log.warning("heartbeat_failed", extra={"error": str(exc)})

    async def forget(self) -> None:
        """Remove the row: this process has stopped (a failure leaves it to go stale)."""
        with contextlib.suppress(Exception):
            await self._db(self._store.forget_process, self.process_id)
