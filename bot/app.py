"""Composition root: builds the store, fetcher, rules, sink, sender and scheduler from settings.

``App.once`` is one poll-match-deliver pass (cron-friendly); ``App.run`` is the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.control import Control, Deps
from bot.deliver import Sender, Sink
from bot.digest import DigestCollector
from bot.errors import RulesError, SendError
from bot.feeds.fetch import Fetcher
from bot.feeds.policy import Notice
from bot.feeds.workers import FeedParsers, default_processes
from bot.llm import LlmSummarizer
from bot.metrics import Metrics, MetricsServer, NullMetrics, Recorder
from bot.models import Destination, Message
from bot.pipeline import AlertOptions, Pipeline, PollReport, RuleBook
from bot.retention import schedule_retention
from bot.rules.bounded import load_rules_bounded
from bot.rules.load import load_rules
from bot.scheduler import make_scheduler, sync_feed_jobs
from bot.settings import Settings
from bot.store import Store
from bot.telegram.console import ConsoleSink
from bot.telegram.send import TelegramSink
from bot.telegram.updates import run_updates

log = logging.getLogger(__name__)

RULES_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 15.0
STOP_GRACE_SECONDS = 6.0  # the sender's last send; the whole stop stays under 10 s
RESTART_MAX_SECONDS = 60.0
# /healthz reports a loop as stuck when it has not beaten for this long.
SCHEDULER_STUCK_AFTER = 60.0
SENDER_STUCK_AFTER = 180.0


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
    def __init__(self, settings: Settings, *, stdout: TextIO | None = None) -> None:
        self.settings = settings
        self.stdout = stdout or sys.stdout
        self.metrics: Recorder = Metrics() if settings.metrics_addr else NullMetrics()
        # Rules first: a bad rules directory fails before anything is opened.
        self.book = RuleBook.build(load_rules(settings.rules_dir))
        self.store = Store(settings.database_url)
        try:
            self.store.migrate()
        except BaseException:
            self.store.close()
            raise
        self.metrics.set_outbox_depth_source(self.store.outbox_depth)
        self.fetcher = make_fetcher(settings)
        self.sink = self._make_sink()
        self.summarizer = _make_summarizer(settings)
        self.sender = Sender(
            self.store,
            self.sink,
            on_chat_gone=self._chat_gone,
            on_chat_moved=self._chat_moved,
            summarizer=self.summarizer,
            summary_timeout=settings.llm_timeout,
            metrics=self.metrics,
        )
        self.digests = DigestCollector(self.store, tz=settings.tz, topic_name=self._topic_name)
        self.pipeline = Pipeline(
            store=self.store,
            fetcher=self.fetcher,
            book=self.book,
            options=AlertOptions(
                tz=settings.tz,
                backfill=settings.backfill,
                max_summary=settings.summary_max_chars,
                default_interval=settings.default_interval,
                min_interval=settings.min_interval,
                max_interval=settings.max_interval,
            ),
            on_notice=self._feed_notice,
            on_alerts=lambda _n: self.sender.wake(),
            metrics=self.metrics,
            parsers=FeedParsers(
                default_processes()
                if settings.parse_processes is None
                else settings.parse_processes
            ),
        )
        self._chats_told: set[Destination] = set()  # chats admins already heard about (gone, moved)
        # Set in run(), so that /reload re-syncs the feed jobs as the watcher does.
        self._scheduler: AsyncIOScheduler | None = None
        self.control = Control(
            Deps(
                store=self.store,
                admin_ids=frozenset(settings.admin_ids),
                get_book=lambda: self.book,
                reload=lambda: self.reload_rules(self._scheduler),
                rules_dir=settings.rules_dir,
                fetcher=self.fetcher,
                tz=settings.tz,
            )
        )

    def _make_sink(self) -> Sink:
        token = self.settings.telegram_token
        if token is None:
            log.info("console_sink", extra={"reason": "MEDIABOT_TELEGRAM_TOKEN is not set"})
            return ConsoleSink(stream=self.stdout)
        return TelegramSink(token.get_secret_value(), api_url=self.settings.telegram_api_url)

    def _topic_name(self, topic_id: str) -> str | None:
        topic = self.book.rules.topic(topic_id)
        return topic.name if topic is not None else None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.pipeline.parsers.close)
        await self.fetcher.aclose()
        await self.sink.aclose()
        if self.summarizer is not None:
            await self.summarizer.aclose()
        self.store.close()

    # --- one pass -------------------------------------------------------------------------
    async def once(self) -> list[PollReport]:
        reports = await self.pipeline.poll_all(on_schedule=False)
        self.digests.collect()
        sent = await self.sender.drain()
        log.info(
            "once_done",
            extra={
                "feeds": len(reports),
                "failed": sum(not r.ok for r in reports),
                "alerts_sent": sent,
                "outbox_depth": self.store.outbox_depth(),
            },
        )
        return reports

    # --- the service ----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        _install_signal_handlers(stop)
        await self._check_telegram()
        # The metrics server first: a port in use stops start-up before anything is polled.
        server = await self._start_metrics()
        scheduler = self._scheduler = make_scheduler()
        self._sync_jobs(scheduler)
        scheduler.add_job(
            self._heartbeat, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id="heartbeat"
        )
        schedule_retention(
            scheduler,
            self.store,
            seen_days=self.settings.seen_retention_days,
            outbox_days=self.settings.outbox_retention_days,
        )
        self.metrics.watch_loop("scheduler", within=SCHEDULER_STUCK_AFTER)
        self.metrics.watch_loop("sender", within=SENDER_STUCK_AFTER)
        self.metrics.heartbeat("scheduler")
        scheduler.start()
        loops: dict[str, Callable[[], Awaitable[None]]] = {
            "sender": lambda: self.sender.run(stop),
            "digests": lambda: self.digests.run(stop, self.sender.wake),
            "rules-watcher": lambda: self._watch_rules(stop, scheduler),
        }
        token = self.settings.telegram_token
        if token is not None:
            secret, api_url = token.get_secret_value(), self.settings.telegram_api_url
            loops["telegram-updates"] = lambda: run_updates(secret, api_url, self.control, stop)
        tasks = {
            name: asyncio.create_task(supervise(name, loop, stop), name=name)
            for name, loop in loops.items()
        }
        log.info(
            "service_started",
            extra={"feeds": len(self.book.rules.feeds), "topics": len(self.book.rules.topics)},
        )
        try:
            await stop.wait()
        finally:
            log.info("service_stopping")
            scheduler.shutdown(wait=False)
            stop.set()
            # The sender finishes the send in flight (so it is marked sent, not sent again
            # after a restart); everything else stops at once.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(tasks["sender"]), STOP_GRACE_SECONDS)
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            if server is not None:
                await server.aclose()

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

    def _sync_jobs(self, scheduler: AsyncIOScheduler) -> None:
        s = self.settings
        sync_feed_jobs(
            scheduler,
            self.book.rules.feeds,
            self.pipeline.poll_feed,
            default_interval=s.default_interval,
            min_interval=s.min_interval,
            max_interval=s.max_interval,
        )

    async def _watch_rules(self, stop: asyncio.Event, scheduler: AsyncIOScheduler) -> None:
        rules_dir = self.settings.rules_dir
        last = rules_signature(rules_dir)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RULES_POLL_SECONDS)
            current = rules_signature(rules_dir)
            if current != last:
                last = current
                await self.reload_rules(scheduler)

    async def reload_rules(self, scheduler: AsyncIOScheduler | None = None) -> RulesError | None:
        """Load and validate the rules; swap them in when valid, else keep the last good set."""
        try:
            loaded = await load_rules_bounded(
                self.settings.rules_dir,
                time_limit=self.settings.rules_reload_timeout,
                max_memory=self.settings.rules_reload_max_mb << 20,
            )
            book = await asyncio.to_thread(RuleBook.build, loaded)
        except RulesError as exc:
            log.error(
                "rules_reload_failed",
                extra={"problems": len(exc.problems), "error": str(exc), "kept": self.book.version},
            )
            self.metrics.rules_reloaded(False)
            self.control.reload_done(exc)
            await self.notify_admins(
                "Rules reload failed; the last good rules stay in use.\n" + str(exc)
            )
            return exc
        self.book = self.pipeline.book = book
        self.metrics.rules_reloaded(True)
        self.control.reload_done(None)
        if scheduler is not None:
            self._sync_jobs(scheduler)
        log.info(
            "rules_reloaded", extra={"version": book.version, "topics": len(book.rules.topics)}
        )
        return None

    async def notify_admins(self, text: str) -> None:
        """Best effort: a plain-text note to every admin's private chat."""
        text = text[:4000]
        for admin in self.settings.admin_ids:
            try:
                await self.sink.send(
                    Destination(admin), Message(text=text, plain=text), as_plain=True
                )
            except Exception as exc:  # a failed notice must never stop the service
                log.warning("admin_notify_failed", extra={"chat_id": admin, "error": str(exc)})

    async def _feed_notice(self, notice: Notice) -> None:
        await self.notify_admins(notice.text)

    async def _chat_moved(self, dest: Destination, new_chat: int) -> None:
        """A group became a supergroup: alerts follow it, but rule files name the old id."""
        if dest in self._chats_told:
            return
        self._chats_told.add(dest)
        await self.notify_admins(
            f"Telegram moved chat {dest.chat} to {new_chat} (a group became a supergroup). "
            f"Alerts now go to {new_chat}; rule files that name {dest.chat} in `channels` "
            "should be updated."
        )

    async def _chat_gone(self, dest: Destination, reason: str) -> None:
        """The bot was blocked or removed: end the chat's subscriptions, tell admins once."""
        topics = self.store.topics_of(dest)
        for topic_id in topics:
            self.store.unsubscribe(dest, topic_id)
        log.warning("chat_unsubscribed", extra={"chat_id": str(dest), "topics": len(topics)})
        if dest in self._chats_told:
            return
        self._chats_told.add(dest)
        note = f" and ended its {len(topics)} subscription(s)" if topics else ""
        await self.notify_admins(f"Stopped sending to {dest}{note}: {reason}")


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
