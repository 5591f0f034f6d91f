"""The service (``mediabot run``): the roles' jobs and loops started, run until a signal,
stopped in turn.

Start-up fails fast where it can (a token Telegram rejects, a metrics port in use) before
anything is polled. Every process beats its heartbeat and follows the rule files, whatever
its roles. On stop every loop sees the stop event and ends itself: the sender after the
send in flight (so it is marked sent, not sent again after a restart), the updates reader
after answering what it has read; the whole stop stays under 10 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import utc_now
from bot.delivery.sender import Sink
from bot.errors import SendError
from bot.ingest.scheduler import make_scheduler
from bot.metrics import Metrics, MetricsServer, Recorder
from bot.rules.book import Rules
from bot.service.alarm import StoreAlarm
from bot.service.follow import RulesFollower
from bot.service.lead import Leadership
from bot.service.presence import HEARTBEAT_SECONDS, Presence
from bot.service.roles import Poller, SenderRole, UpdatesRole
from bot.service.supervise import install_signal_handlers, start_supervised, stop_in_turn
from bot.store import Store
from bot.telegram.send import TelegramSink

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 6.0  # the sender's last send; the whole stop stays under 10 s


@dataclass(frozen=True, slots=True)
class Roles:
    """The roles this process runs; None where it does not."""

    names: tuple[str, ...]
    poller: Poller | None
    sender: SenderRole | None
    updates: UpdatesRole | None


@dataclass(frozen=True, slots=True)
class Service:
    roles: Roles
    presence: Presence
    follower: RulesFollower
    leadership: Leadership
    rules: Rules
    store: Store
    sink: Sink
    alarm: StoreAlarm
    metrics: Recorder
    metrics_addr: str | None

    async def run(self, stop: asyncio.Event) -> None:
        install_signal_handlers(stop)
        if self.roles.sender or self.roles.updates:
            await self._check_telegram()
        # The metrics server first: a port in use stops start-up before anything is polled.
        server = await self._start_metrics()
        await self.follower.follow()
        scheduler = self._start_scheduler()
        tasks = start_supervised(self._loops(stop), stop)
        self._log_started()
        detach_alarm = self.alarm.attach(self.store.health)
        try:
            await stop.wait()
        finally:
            log.info("service_stopping")
            detach_alarm()
            scheduler.shutdown(wait=False)
            stop.set()
            await stop_in_turn(tasks, STOP_GRACE_SECONDS)
            await self._close(server)
            log.info("service_stopped")

    def _start_scheduler(self) -> AsyncIOScheduler:
        scheduler = make_scheduler()
        now = utc_now()
        for role in (self.roles.poller, self.roles.sender, self.roles.updates):
            if role is not None:
                role.schedule(scheduler, now)
        every = IntervalTrigger(seconds=HEARTBEAT_SECONDS)
        scheduler.add_job(self.presence.beat, every, id="heartbeat", next_run_time=now)
        self.metrics.heartbeat("scheduler")
        scheduler.start()
        return scheduler

    def _loops(self, stop: asyncio.Event) -> dict[str, Callable[[], Awaitable[None]]]:
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "rules-watcher": lambda: self.follower.watch(stop),
        }
        for role in (self.roles.sender, self.roles.updates):
            if role is not None:
                loops[role.task] = self._led(role, stop)
        return loops

    def _led(
        self, role: SenderRole | UpdatesRole, stop: asyncio.Event
    ) -> Callable[[], Awaitable[None]]:
        """The role's loop: run it while this process leads it, stand by while another does."""
        return lambda: self.leadership.lead(role.lock, role.run, stop)

    async def _close(self, server: MetricsServer | None) -> None:
        if self.roles.poller is not None:
            await self.roles.poller.stop()
        await self.presence.forget()
        if server is not None:
            await server.aclose()
        await self.alarm.aclose()

    def _log_started(self) -> None:
        rules = self.rules.current().rules
        log.info(
            "service_started",
            extra={
                "roles": ",".join(self.roles.names),
                "process_id": self.presence.process_id,
                "feeds": len(rules.feeds),
                "topics": len(rules.topics),
            },
        )

    async def _check_telegram(self) -> None:
        """Fail fast on a token Telegram rejects; a network failure only warns."""
        if not isinstance(self.sink, TelegramSink):
            return
        try:
            username = await self.sink.check()
        except SendError as exc:
            log.warning("telegram_unreachable", extra={"error": str(exc)})
            return
        log.info("telegram_ready", extra={"bot": username})

    async def _start_metrics(self) -> MetricsServer | None:
        if self.metrics_addr is None or not isinstance(self.metrics, Metrics):
            return None
        server = await self.metrics.start_server(self.metrics_addr)
        log.info("metrics_serving", extra={"addr": self.metrics_addr, "port": server.port})
        return server
