"""Composition root: what a process is made of, built from the settings and wired.

``App.once`` is one poll-match-deliver pass (cron-friendly); ``App.run`` is the service,
whose roles are in ``bot.service.roles`` and whose start and stop are in
``bot.service.run``. The parts are built by ``bot.service.parts``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Sequence
from typing import TextIO

from bot.config.settings import Role, Settings
from bot.delivery.chats import ChatPolicy
from bot.delivery.digest import DigestCollector
from bot.errors import RulesError
from bot.ingest.pipeline import PollReport
from bot.ingest.scheduler import FeedTicker
from bot.metrics import Metrics, NullMetrics, Recorder
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.service import parts
from bot.service.alarm import StoreAlarm
from bot.service.follow import RulesFollower, named_chats
from bot.service.lead import Leadership
from bot.service.notices import AdminNotes
from bot.service.presence import Presence
from bot.service.roles import Poller, SenderRole, UpdatesRole, sync_watches
from bot.service.run import Roles, Service
from bot.store.aio import DatabaseThreads
from bot.store.processes import process_id
from bot.watches import WatchBook

log = logging.getLogger(__name__)


class App:
    """One process: the rules in force, the store, the fetcher, the sink and the sender,
    the pipeline (and its ticker on a poller), the commands, and what keeps it on the
    rules; ``once`` runs one pass, ``run`` the service with this process's roles."""

    def __init__(
        self,
        settings: Settings,
        *,
        stdout: TextIO | None = None,
        roles: Sequence[Role] | None = None,
    ) -> None:
        self.settings = settings
        self.roles: tuple[Role, ...] = tuple(roles or settings.roles)
        self.stdout = stdout or sys.stdout
        self.process_id = process_id()
        self.metrics: Recorder = Metrics() if settings.metrics_addr else NullMetrics()
        # Rules first: a bad rules directory fails before anything is opened. The one
        # holder of the rules in force: the pipeline, the commands and the digests read it;
        # a good reload swaps a new book in.
        self.rules = Rules(RuleBook.build(load_rules(settings.rules_dir)))
        self.store = parts.open_store(settings, self.metrics)
        # Store calls from the event loop run here (bot.store.aio).
        self.db = DatabaseThreads(1 if self.store.dialect == "sqlite" else 4)
        self.fetcher = parts.make_fetcher(settings)
        self.sink = parts.make_sink(settings, self.stdout)
        self.store_alarm = StoreAlarm(self.sink, settings.admin_ids)
        self.summarizer = parts.make_summarizer(settings)
        # A note wakes the sender, built after the notes: it tells admins of gone chats.
        self.notes = AdminNotes(
            self.store, settings.admin_ids, wake=lambda: self.sender.wake(), offload=self.db
        )
        self.presence = Presence(
            self.store,
            process_id=self.process_id,
            roles=self.roles,
            rules=self.rules,
            metrics=self.metrics,
            offload=self.db,
        )
        self._build_delivery()
        self._build_ingest()
        self._build_control()

    def _build_delivery(self) -> None:
        s = self.settings
        chats = ChatPolicy(
            self.store, self.notes, functools.partial(named_chats, self.rules), offload=self.db
        )
        self.sender = parts.make_sender(
            s,
            self.store,
            self.sink,
            chats=chats,
            summarizer=self.summarizer,
            claimant=self.process_id,
            metrics=self.metrics,
            offload=self.db,
        )
        self.digests = DigestCollector(self.store, tz=s.tz, topic_name=self.rules.topic_name)
        self._sender_lock, self._updates_lock = parts.role_locks(s)

    def _build_ingest(self) -> None:
        # Personal watches: the store holds them; this process compiles them beside the rules.
        self.watches = WatchBook(self.store, self.rules.current)
        self.pipeline = parts.make_pipeline(
            self.settings,
            self.store,
            self.fetcher,
            self.rules,
            watches=self.watches,
            on_alerts=lambda _n: self.sender.wake(),
            on_notice=self.notes.feed_notice,
            metrics=self.metrics,
        )
        self.ticker: FeedTicker | None = None
        if "poller" in self.roles:
            self.ticker = parts.make_ticker(
                self.settings, self.store, self.pipeline, holder=self.process_id, offload=self.db
            )

    def _build_control(self) -> None:
        self.follower = RulesFollower(
            self.settings,
            self.rules,
            self.watches,
            store=self.store,
            ticker=self.ticker,
            presence=self.presence,
            notify=self.notes,
            # The commands, built next, show the last reload's outcome.
            on_reloaded=lambda error: self.control.reload_done(error),
            metrics=self.metrics,
            offload=self.db,
        )
        self.control = parts.make_control(
            self.settings,
            self.store,
            self.fetcher,
            self.rules,
            watches=self.watches,
            reload=self.follower.reload,
            notify=self.notes,
            offload=self.db,
        )

    async def reload_rules(self) -> RulesError | None:
        """Load and validate the rules; swap them in when valid, else keep the last good set."""
        return await self.follower.reload()

    async def aclose(self) -> None:
        await asyncio.to_thread(self.pipeline.parsers.close)
        self.db.close()
        await self.fetcher.aclose()
        await self.sink.aclose()
        if self.summarizer is not None:
            await self.summarizer.aclose()
        self.store.close()

    # --- one pass -------------------------------------------------------------------------
    async def once(self, *, force: bool = False) -> list[PollReport]:
        await self.follower.follow_named_chats()  # poll_all syncs and leases the feeds itself
        await sync_watches(self.watches, self.db)
        reports = await self.pipeline.poll_all(
            on_schedule=False, holder=self.process_id, force=force
        )
        sent = await self._send_once()
        log.info(
            "once_done",
            extra={
                "feeds": len(reports),
                "failed": sum(not r.ok for r in reports),
                "alerts_sent": sent,
                "outbox_depth": await self.db(self.store.outbox_depth),
            },
        )
        return reports

    async def _send_once(self) -> int:
        """The digests due and the outbox, sent unless a running service's active sender
        owns the outbox (on PostgreSQL): then it delivers what this pass queued."""
        election = self.store.election(self._sender_lock)
        if not await self.db(election.try_lead):
            log.info("once_not_sending", extra={"reason": "another process is the active sender"})
            return 0
        try:
            await self.db(self.digests.collect)
            return await self.sender.drain()
        finally:
            await self.db(election.resign)

    # --- the service ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        """The service, with this process's roles, until ``stop`` or a signal."""
        service = Service(
            roles=self._roles(),
            presence=self.presence,
            follower=self.follower,
            leadership=Leadership(self.store, self.presence, metrics=self.metrics, offload=self.db),
            rules=self.rules,
            store=self.store,
            sink=self.sink,
            alarm=self.store_alarm,
            metrics=self.metrics,
            metrics_addr=self.settings.metrics_addr,
        )
        await service.run(stop or asyncio.Event())

    def _roles(self) -> Roles:
        s, token = self.settings, self.settings.telegram_token
        poller = sender = updates = None
        if self.ticker is not None:
            poller = Poller(self.ticker, self.watches, metrics=self.metrics, offload=self.db)
        if "sender" in self.roles:
            sender = SenderRole(
                self.sender,
                self.digests,
                self.store,
                lock=self._sender_lock,
                retention_days=(s.seen_retention_days, s.outbox_retention_days),
                metrics=self.metrics,
            )
        if token is not None and "updates" in self.roles:
            updates = UpdatesRole(
                token.get_secret_value(),
                s.telegram_api_url,
                self.control,
                lock=self._updates_lock,
                metrics=self.metrics,
            )
        return Roles(self.roles, poller, sender, updates)
