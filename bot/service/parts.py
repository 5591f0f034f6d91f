"""The parts a process is made of, each built from the settings.

``bot.service.app.App`` builds them all and wires them; a command that needs one part
alone (``mediabot match`` reading a URL needs a fetcher) builds just that one here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.config.settings import Settings
from bot.control import Control, Deps
from bot.delivery.chats import ChatPolicy
from bot.delivery.llm import LlmSummarizer
from bot.delivery.sender import Limits, Sender, Sink
from bot.errors import RulesError
from bot.feeds.fetch import Fetcher
from bot.feeds.policy import Notice
from bot.feeds.workers import FeedParsers, default_processes
from bot.ingest.pipeline import AlertOptions, Pipeline
from bot.ingest.scheduler import FeedTicker
from bot.metrics import Recorder
from bot.rules.book import Rules
from bot.service.notices import AdminNotes, short_name
from bot.store import Store
from bot.store.aio import Offload
from bot.telegram.console import ConsoleSink
from bot.telegram.send import TelegramSink
from bot.watches import WatchBook

log = logging.getLogger(__name__)


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


def make_sink(settings: Settings, stdout: TextIO) -> Sink:
    """Telegram with a token; without one, alerts print to ``stdout`` (the dry-run sink)."""
    token = settings.telegram_token
    if token is None:
        log.info("console_sink", extra={"reason": "MEDIABOT_TELEGRAM_TOKEN is not set"})
        return ConsoleSink(stream=stdout)
    return TelegramSink(token.get_secret_value(), api_url=settings.telegram_api_url)


def make_summarizer(settings: Settings) -> LlmSummarizer | None:
    if settings.llm_url is None:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    log.info("llm_summaries_on", extra={"model": settings.llm_model})
    return LlmSummarizer(
        settings.llm_url, model=settings.llm_model, api_key=key, timeout=settings.llm_timeout
    )


def open_store(settings: Settings, metrics: Recorder) -> Store:
    """The store, migrated to the current schema and watched by the health checks."""
    store = Store(settings.database_url)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    metrics.set_outbox_depth_source(store.outbox_depth)
    metrics.watch_check("store", store.check)
    return store


def role_locks(settings: Settings) -> tuple[str, str]:
    """The locks of the sender and of the updates reader: one of each per bot token,
    named by a hash of it."""
    token = settings.telegram_token
    bot_key = short_name(token.get_secret_value()) if token is not None else "console"
    return f"sender:{bot_key}", f"updates:{bot_key}"


def make_sender(
    settings: Settings,
    store: Store,
    sink: Sink,
    *,
    chats: ChatPolicy,
    summarizer: LlmSummarizer | None,
    claimant: str,
    metrics: Recorder,
    offload: Offload,
) -> Sender:
    return Sender(
        store,
        sink,
        on_chat_gone=chats.gone,
        on_chat_moved=chats.moved,
        summarizer=summarizer,
        summary_timeout=settings.llm_timeout,
        metrics=metrics,
        claimant=claimant,
        offload=offload,
        # Other processes queue alerts too: reread the outbox at least this often even
        # if a wake-up (bot.store.notify) is lost.
        limits=Limits(idle=10.0) if store.dialect == "postgresql" else None,
    )


def make_pipeline(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    rules: Rules,
    *,
    watches: WatchBook,
    on_alerts: Callable[[int], None],
    on_notice: Callable[[Notice], Awaitable[None]],
    metrics: Recorder,
) -> Pipeline:
    processes = settings.parse_processes
    return Pipeline(
        watches=watches,
        store=store,
        fetcher=fetcher,
        rules=rules,
        options=AlertOptions(
            tz=settings.tz,
            backfill=settings.backfill,
            max_summary=settings.summary_max_chars,
            default_interval=settings.default_interval,
            min_interval=settings.min_interval,
            max_interval=settings.max_interval,
            lease_seconds=settings.feed_lease,
        ),
        on_notice=on_notice,
        on_alerts=on_alerts,
        metrics=metrics,
        parsers=FeedParsers(
            default_processes() if processes is None else processes,
            timeout=settings.parse_timeout,
            max_memory_mb=settings.parse_max_memory_mb,
        ),
    )


def make_ticker(
    settings: Settings, store: Store, pipeline: Pipeline, *, holder: str, offload: Offload
) -> FeedTicker:
    return FeedTicker(
        store,
        lambda feed, lease: pipeline.poll_feed(feed, lease=lease),
        holder=holder,
        capacity=pipeline.capacity,
        lease_seconds=settings.feed_lease,
        offload=offload,
    )


def make_control(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    rules: Rules,
    *,
    watches: WatchBook,
    reload: Callable[[], Awaitable[RulesError | None]],
    notify: AdminNotes,
    offload: Offload,
) -> Control:
    return Control(
        Deps(
            store=store,
            admin_ids=frozenset(settings.admin_ids),
            rules=rules,
            reload=reload,
            rules_dir=settings.rules_dir,
            fetcher=fetcher,
            tz=settings.tz,
            offload=offload,
            notify=notify,
            watches=watches,
            max_watches=settings.max_watches,
        )
    )
