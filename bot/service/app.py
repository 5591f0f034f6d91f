"""Composition root: builds the store, fetcher, rules, sink, sender and scheduler from settings.

``App.once`` is one poll-match-deliver pass (cron-friendly); ``App.run`` is the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.clock import utc_now
from bot.config.settings import Role, Settings
from bot.control import Control, Deps
from bot.delivery.chats import ChatPolicy
from bot.delivery.digest import DigestCollector
from bot.delivery.llm import LlmSummarizer
from bot.delivery.sender import Limits, Sender, Sink
from bot.errors import RulesError, SendError, StoreError
from bot.feeds.fetch import Fetcher
from bot.feeds.policy import Notice
from bot.feeds.workers import FeedParsers, default_processes
from bot.ingest.pipeline import AlertOptions, Pipeline, PollReport
from bot.ingest.scheduler import TICK_SECONDS, FeedTicker, feed_interval, make_scheduler
from bot.metrics import Metrics, MetricsServer, NullMetrics, Recorder
from bot.models import Lease
from bot.rules.book import RuleBook, Rules
from bot.rules.bounded import load_rules_bounded
from bot.rules.load import load_rules
from bot.rules.model import FeedRule
from bot.service.alarm import StoreAlarm
from bot.service.retention import schedule_retention
from bot.store import Store
from bot.store.aio import DatabaseThreads
from bot.store.election import Election
from bot.store.processes import ProcessRow, process_id
from bot.telegram.console import ConsoleSink
from bot.telegram.send import TelegramSink
from bot.telegram.updates import run_updates
from bot.watches import SYNC_SECONDS as WATCH_SYNC_SECONDS
from bot.watches import WatchBook

log = logging.getLogger(__name__)

RULES_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
STOP_GRACE_SECONDS = 6.0  # the sender's last send; the whole stop stays under 10 s
RESTART_MAX_SECONDS = 60.0
# /healthz reports a loop as stuck when it has not beaten for this long.
SCHEDULER_STUCK_AFTER = 60.0
SENDER_STUCK_AFTER = 180.0
# A standby retries the lead this often, and a leader checks it holds it this often: a
# takeover comes within about STANDBY_SECONDS of the leader's end.
STANDBY_SECONDS = 2.0
LEAD_CHECK_SECONDS = 2.0


def make_fetcher(settings: Settings) -> Fetcher:
    return Fetcher(
        timeout=settings.fetch_timeout,
        connect_timeout=settings.connect_timeout,
        max_bytes=settings.max_body_bytes,
        user_agent=settings.user_agent,
        allow_private_networks=settings.allow_private_networks,
        max_concurrency=settings.max_concurrency,
        per_host_concurrency=settings.per_host_concurrency,
    )


def rules_signature(rules_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a rule file is added, removed or edited."""
    files = sorted(p for p in rules_dir.rglob("*") if p.suffix in (".yaml", ".yml"))
    sig = []
    for path in files:
        with contextlib.suppress(OSError):
            st = path.stat()
            sig.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(sig)


class App:
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
        self._started = utc_now()
        self._leading: set[str] = set()  # the single-leader roles this process leads now
        self.metrics: Recorder = Metrics() if settings.metrics_addr else NullMetrics()
        # Rules first: a bad rules directory fails before anything is opened.
        # The one holder of the rules in force: the pipeline, the commands and the digests
        # read it; a good reload swaps a new book in.
        self.rules = Rules(RuleBook.build(load_rules(settings.rules_dir)))
        self.store = Store(settings.database_url)
        try:
            self.store.migrate()
        except BaseException:
            self.store.close()
            raise
        self.metrics.set_outbox_depth_source(self.store.outbox_depth)
        self.metrics.watch_check("store", self.store.check)
        # Store calls from the event loop run here (bot.store.aio).
        self.db = DatabaseThreads(1 if self.store.dialect == "sqlite" else 4)
        self.fetcher = make_fetcher(settings)
        self.sink = self._make_sink()
        self.store_alarm = StoreAlarm(self.sink, settings.admin_ids)
        self.summarizer = _make_summarizer(settings)
        chats = ChatPolicy(self.store, self.notify_admins, self._named_chats, offload=self.db)
        self.sender = Sender(
            self.store,
            self.sink,
            on_chat_gone=chats.gone,
            on_chat_moved=chats.moved,
            summarizer=self.summarizer,
            summary_timeout=settings.llm_timeout,
            metrics=self.metrics,
            claimant=self.process_id,
            offload=self.db,
            # Other processes queue alerts too: reread the outbox at least this often even
            # if a wake-up (bot.store.notify) is lost.
            limits=Limits(idle=10.0) if self.store.dialect == "postgresql" else None,
        )
        self.digests = DigestCollector(self.store, tz=settings.tz, topic_name=self.rules.topic_name)
        # Personal watches: the store holds them; this process compiles them beside the rules.
        self.watches = WatchBook(self.store, self.rules.current)
        self.pipeline = Pipeline(
            watches=self.watches,
            store=self.store,
            fetcher=self.fetcher,
            rules=self.rules,
            options=AlertOptions(
                tz=settings.tz,
                backfill=settings.backfill,
                max_summary=settings.summary_max_chars,
                default_interval=settings.default_interval,
                min_interval=settings.min_interval,
                max_interval=settings.max_interval,
                lease_seconds=settings.feed_lease,
            ),
            on_notice=self._feed_notice,
            on_alerts=lambda _n: self.sender.wake(),
            metrics=self.metrics,
            parsers=FeedParsers(
                default_processes()
                if settings.parse_processes is None
                else settings.parse_processes,
                timeout=settings.parse_timeout,
                max_memory_mb=settings.parse_max_memory_mb,
            ),
        )
        self._scheduler: AsyncIOScheduler | None = None
        self.ticker: FeedTicker | None = None
        if "poller" in self.roles:
            self.ticker = FeedTicker(
                self.store,
                self._poll,
                holder=self.process_id,
                capacity=self.pipeline.capacity,
                lease_seconds=settings.feed_lease,
                offload=self.db,
            )
        token = settings.telegram_token
        # One active sender and one updates reader per bot token (named by a hash of it).
        bot_key = _digest(token.get_secret_value()) if token is not None else "console"
        self._sender_role = f"sender:{bot_key}"
        self._updates_role = f"updates:{bot_key}"
        self.control = Control(
            Deps(
                store=self.store,
                admin_ids=frozenset(settings.admin_ids),
                rules=self.rules,
                reload=self.reload_rules,
                rules_dir=settings.rules_dir,
                fetcher=self.fetcher,
                tz=settings.tz,
                offload=self.db,
                notify=self.notify_admins,
                watches=self.watches,
                max_watches=settings.max_watches,
            )
        )

    def _make_sink(self) -> Sink:
        token = self.settings.telegram_token
        if token is None:
            log.info("console_sink", extra={"reason": "MEDIABOT_TELEGRAM_TOKEN is not set"})
            return ConsoleSink(stream=self.stdout)
        return TelegramSink(token.get_secret_value(), api_url=self.settings.telegram_api_url)

    async def _poll(self, feed: FeedRule, lease: Lease) -> None:
        await self.pipeline.poll_feed(feed, lease=lease)

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
        await self._follow_named_chats()  # poll_all syncs and leases the feeds itself
        await self._sync_watches()
        reports = await self.pipeline.poll_all(
            on_schedule=False, holder=self.process_id, force=force
        )
        sent = 0
        election = self.store.election(self._sender_role)
        # On PostgreSQL a running service's active sender may own the outbox: then it
        # delivers what this pass queued, and this pass sends nothing itself.
        if await self.db(election.try_lead):
            try:
                await self.db(self.digests.collect)
                sent = await self.sender.drain()
            finally:
                await self.db(election.resign)
        else:
            log.info("once_not_sending", extra={"reason": "another process is the active sender"})
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

    # --- the service ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        roles = self.roles
        _install_signal_handlers(stop)
        if {"sender", "updates"} & set(roles):
            await self._check_telegram()
        # The metrics server first: a port in use stops start-up before anything is polled.
        server = await self._start_metrics()
        scheduler = self._scheduler = make_scheduler()
        now = utc_now()
        await self._follow_rules()
        if self.ticker is not None:
            scheduler.add_job(
                self.ticker.tick,
                IntervalTrigger(seconds=TICK_SECONDS),
                id="feeds-tick",
                next_run_time=now,
            )
            self.metrics.watch_loop("scheduler", within=SCHEDULER_STUCK_AFTER)
            # Watches made through any process (the updates role) reach this poller here.
            scheduler.add_job(
                self._sync_watches,
                IntervalTrigger(seconds=WATCH_SYNC_SECONDS),
                id="watches-sync",
                next_run_time=now,
            )
            # Watches added since the rules loaded into the topics' index, off the pollers.
            scheduler.add_job(
                self._fold_watches,
                IntervalTrigger(seconds=WATCH_SYNC_SECONDS),
                id="watches-fold",
                next_run_time=now,
            )
        scheduler.add_job(
            self._heartbeat,
            IntervalTrigger(seconds=HEARTBEAT_SECONDS),
            id="heartbeat",
            next_run_time=now,
        )
        if "sender" in roles:  # deletes are idempotent: any process could prune
            schedule_retention(
                scheduler,
                self.store,
                seen_days=self.settings.seen_retention_days,
                outbox_days=self.settings.outbox_retention_days,
            )
        self.metrics.heartbeat("scheduler")
        scheduler.start()
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "rules-watcher": lambda: self._watch_rules(stop),
        }
        if "sender" in roles:
            self.metrics.watch_loop("sender", within=SENDER_STUCK_AFTER)
            loops["sender"] = lambda: self._lead(self._sender_role, self._send, stop)
        token = self.settings.telegram_token
        if token is not None and "updates" in roles:
            secret, api_url = token.get_secret_value(), self.settings.telegram_api_url

            async def read_updates(term: asyncio.Event) -> None:
                await run_updates(secret, api_url, self.control, term, health=self.metrics)

            loops["telegram-updates"] = lambda: self._lead(self._updates_role, read_updates, stop)
        tasks = {
            name: asyncio.create_task(supervise(name, loop, stop), name=name)
            for name, loop in loops.items()
        }
        rules = self.rules.current().rules
        log.info(
            "service_started",
            extra={
                "roles": ",".join(roles),
                "process_id": self.process_id,
                "feeds": len(rules.feeds),
                "topics": len(rules.topics),
            },
        )
        detach_alarm = self.store_alarm.attach(self.store.health)
        try:
            await stop.wait()
        finally:
            log.info("service_stopping")
            detach_alarm()
            scheduler.shutdown(wait=False)
            stop.set()
            # Every loop sees ``stop`` and ends itself: the sender after the send in flight
            # (so it is marked sent, not sent again after a restart), the updates reader
            # after answering what it has read. Each is awaited in turn, within one grace
            # period; only one that overstays it is cancelled.
            deadline = asyncio.get_running_loop().time() + STOP_GRACE_SECONDS
            for task in tasks.values():
                left = deadline - asyncio.get_running_loop().time()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), max(left, 0.0))
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            if self.ticker is not None:
                await self.ticker.stop()
            with contextlib.suppress(Exception):
                await self.db(self.store.forget_process, self.process_id)
            if server is not None:
                await server.aclose()
            await self.store_alarm.aclose()
            log.info("service_stopped")

    async def _lead(
        self, role: str, body: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        """Run ``body`` while this process leads ``role``; stand by (retrying the lock
        every ``STANDBY_SECONDS``) while another does. ``body`` gets an event set when the
        service stops or the lead is lost."""
        election = self.store.election(role)
        name = role.split(":", 1)[0]
        while not stop.is_set():
            try:
                won = await self.db(election.try_lead)
            except Exception as exc:  # the database is down: stand by and retry
                log.warning("role_lock_failed", extra={"role": name, "error": str(exc)})
                won = False
            if not won:
                # Standing by is healthy: /healthz must not call a standby stuck.
                self.metrics.heartbeat(name)
                await _wait(stop, STANDBY_SECONDS)
                continue
            log.info("role_active", extra={"role": name, "process_id": self.process_id})
            self._leading.add(name)
            term = asyncio.Event()
            watch = asyncio.create_task(self._keep_lead(election, stop, term))
            try:
                await self._heartbeat()
                await body(term)
            finally:
                term.set()
                await asyncio.gather(watch, return_exceptions=True)
                self._leading.discard(name)
                await self.db(election.resign)
            if not stop.is_set():
                log.warning("role_standby", extra={"role": name, "process_id": self.process_id})

    async def _keep_lead(
        self, election: Election, stop: asyncio.Event, term: asyncio.Event
    ) -> None:
        while not term.is_set():
            if await _wait(stop, LEAD_CHECK_SECONDS) or term.is_set():
                break
            if not await self.db(election.still_leading):
                break
        term.set()

    async def _send(self, term: asyncio.Event) -> None:
        """The active sender: what others sent in the last minute first, then the outbox
        and the digests until ``term``."""
        await self.sender.prepare()
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from the listener's thread
            loop.call_soon_threadsafe(self.sender.wake)

        listener = self.store.outbox_listener(wake)
        listener.start()
        try:
            await asyncio.gather(self.sender.run(term), self.digests.run(term, self.sender.wake))
        finally:
            await asyncio.to_thread(listener.stop)

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
        addr = self.settings.metrics_addr
        if addr is None or not isinstance(self.metrics, Metrics):
            return None
        server = await self.metrics.start_server(addr)
        log.info("metrics_serving", extra={"addr": addr, "port": server.port})
        return server

    async def _heartbeat(self) -> None:
        # A coroutine job runs on the event loop: if the loop is blocked, no beat.
        self.metrics.heartbeat("scheduler")
        now = utc_now()
        row = ProcessRow(
            id=self.process_id,
            roles=",".join(self.roles),
            active=",".join(sorted(self._leading)),
            host=socket.gethostname(),
            pid=os.getpid(),
            started=self._started,
            heartbeat=now,
            rules_version=self.rules.current().version,
        )
        try:
            await self.db(self.store.beat, row)
        except StoreError as exc:
            log.warning("heartbeat_failed", extra={"error": str(exc)})

    async def _follow_rules(self) -> None:
        """The current rules' feeds are the ones polled (and leased) from now on."""
        await self._follow_named_chats()
        if self.ticker is None:  # no poller role here
            return
        s = self.settings
        enabled = {f.id: f for f in self.rules.current().rules.feeds if f.enabled}
        intervals = {
            fid: feed_interval(f, s.default_interval, s.min_interval, s.max_interval)
            for fid, f in enabled.items()
        }
        await self.ticker.follow(enabled, intervals)

    async def _sync_watches(self) -> None:
        try:
            await self.db(self.watches.refresh)
        except StoreError as exc:
            log.warning("watches_sync_failed", extra={"error": str(exc)})

    async def _fold_watches(self) -> None:
        await asyncio.to_thread(self.watches.fold, force=False)

    async def _follow_named_chats(self) -> None:
        """Gone chats that the rules name anew come back."""
        for chat in await self.db(self.store.rules_name_chats, self._named_chats()):
            log.info("chat_resumed", extra={"chat_id": str(chat), "by": "rules"})

    async def _watch_rules(self, stop: asyncio.Event) -> None:
        rules_dir = self.settings.rules_dir
        last = rules_signature(rules_dir)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RULES_POLL_SECONDS)
            current = rules_signature(rules_dir)
            if current != last:
                last = current
                await self.reload_rules()

    async def reload_rules(self) -> RulesError | None:
        """Load and validate the rules; swap them in when valid, else keep the last good set."""
        try:
            loaded = await load_rules_bounded(
                self.settings.rules_dir,
                time_limit=self.settings.rules_reload_timeout,
                max_memory=self.settings.rules_reload_max_mb << 20,
            )
            book = await asyncio.to_thread(RuleBook.build, loaded)
            # The watches into one index with the new topics' patterns, before the swap.
            await asyncio.to_thread(self.watches.prepare, book)
        except RulesError as exc:
            log.error(
                "rules_reload_failed",
                extra={
                    "problems": len(exc.problems),
                    "error": str(exc),
                    "kept": self.rules.current().version,
                },
            )
            self.metrics.rules_reloaded(False)
            self.control.reload_done(exc)
            await self.notify_admins(
                "Rules reload failed; the last good rules stay in use.\n" + str(exc),
                key=f"rules-failed:{_digest(str(exc))}",
            )
            return exc
        self.rules.swap(book)
        self.metrics.rules_reloaded(True)
        self.control.reload_done(None)
        await self._follow_rules()
        await self._heartbeat()
        log.info(
            "rules_reloaded", extra={"version": book.version, "topics": len(book.rules.topics)}
        )
        return None

    async def notify_admins(self, text: str, *, key: str | None = None) -> None:
        """A plain-text note to every admin's private chat, through the outbox: the active
        sender delivers it within the limits, whichever process had the news. Notes with
        the same ``key`` are told once, across processes and restarts."""
        if not self.settings.admin_ids:
            return
        try:
            await self.db(
                self.store.enqueue_notice,
                key or f"note:{uuid.uuid4().hex}",
                text,
                self.settings.admin_ids,
            )
        except StoreError as exc:  # a failed notice must never stop the service
            log.warning("admin_notify_failed", extra={"error": str(exc)})
        self.sender.wake()

    async def _feed_notice(self, notice: Notice) -> None:
        await self.notify_admins(notice.text)

    def _named_chats(self) -> set[int | str]:
        """Every chat the current rule files name in a topic's ``channels``."""
        return {d.chat for t in self.rules.current().rules.topics for d in t.channels}


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


def _digest(text: str) -> str:
    """A short stable name for a secret or a long text (never the text itself)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _make_summarizer(settings: Settings) -> LlmSummarizer | None:
    if settings.llm_url is None:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    log.info("llm_summaries_on", extra={"model": settings.llm_model})
    return LlmSummarizer(
        settings.llm_url, model=settings.llm_model, api_key=key, timeout=settings.llm_timeout
    )


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    first_delay: float = 1.0,
) -> None:
    """Run a background loop until ``stop``; restart it with backoff when it fails or ends
    early, so a Telegram outage at start or a bug in one loop never silences it for good."""
    failures = 0
    while not stop.is_set():
        try:
            await loop()
        except Exception:
            failures += 1
            log.exception("task_failed", extra={"task": name, "failures": failures})
        else:
            if stop.is_set():
                return
            failures += 1
            log.warning("task_ended", extra={"task": name, "failures": failures})
        with contextlib.suppress(TimeoutError):
            delay = first_delay * 2.0 ** (failures - 1)
            await asyncio.wait_for(stop.wait(), min(delay, RESTART_MAX_SECONDS))


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
