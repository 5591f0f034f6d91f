"""Single-leader roles: one process leads, the others stand by and take over.

One sender and one updates reader run per bot token, whichever processes are started
with those roles: each tries the role's lock in the store (``bot.store.election``); the
one that wins runs the role until the service stops or the lock is lost, the others
retry every ``STANDBY_SECONDS``. A takeover comes within about that long of the
leader's end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.metrics import Recorder
from bot.service.presence import Presence
from bot.service.supervise import wait_or_stop
from bot.store import Store
from bot.store.aio import Offload
from bot.store.election import Election

log = logging.getLogger(__name__)

# A standby retries the lead this often, and a leader checks it holds it this often.
STANDBY_SECONDS = 2.0
LEAD_CHECK_SECONDS = 2.0

# What a role runs while this process leads it, until the event (its term's end) is set.
Term = Callable[[asyncio.Event], Awaitable[None]]


class Leadership:
    def __init__(
        self, store: Store, presence: Presence, *, metrics: Recorder, offload: Offload
    ) -> None:
        self._store = store
        self._presence = presence
        self._metrics = metrics
        self._db = offload

    async def lead(self, role: str, body: Term, stop: asyncio.Event) -> None:
        """Run ``body`` while this process leads ``role`` (``sender:<bot>``); stand by
        while another does. ``body`` gets an event set when the service stops or the lead
        is lost."""
        election = self._store.election(role)
        name = role.split(":", 1)[0]
        while not stop.is_set():
            if not await self._try_lead(election, name):
                # Standing by is healthy: /healthz must not call a standby stuck.
                self._metrics.heartbeat(name)
                await wait_or_stop(stop, STANDBY_SECONDS)
                continue
            await self._term(election, name, body, stop)
            if not stop.is_set():
                log.warning(
                    "role_standby", extra={"role": name, "process_id": self._presence.process_id}
                )

    async def _try_lead(self, election: Election, name: str) -> bool:
        try:
            return await self._db(election.try_lead)
        except Exception as exc:  # the database is down: stand by and retry
            log.warning("role_lock_failed", extra={"role": name, "error": str(exc)})
            return False

    async def _term(self, election: Election, name: str, body: Term, stop: asyncio.Event) -> None:
        """One term as the leader: ``body`` runs until the service stops or the lock is lost;
        the lock is given up after, whatever ended it."""
        log.info("role_active", extra={"role": name, "process_id": self._presence.process_id})
        self._presence.leading.add(name)
        term = asyncio.Event()
        watch = asyncio.create_task(self._keep(election, stop, term))
        try:
            await self._presence.beat()
            await body(term)
        finally:
            term.set()
            await asyncio.gather(watch, return_exceptions=True)
            self._presence.leading.discard(name)
            await self._db(election.resign)

    async def _keep(self, election: Election, stop: asyncio.Event, term: asyncio.Event) -> None:
        """End the term when the service stops or the store no longer has this process lead."""
        while not term.is_set():
            if await wait_or_stop(stop, LEAD_CHECK_SECONDS) or term.is_set():
                break
            if not await self._db(election.still_leading):
                break
        term.set()
