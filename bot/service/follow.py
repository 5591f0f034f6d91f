"""Keeps a process on the rules in force: rule files watched and reloaded, the feeds they
name polled, the chats they name back in use.

A reload is all or nothing: the rules are loaded in a bounded worker
(``bot.rules.bounded``), built, and the personal watches folded into the new index before
the one holder (``bot.rules.book.Rules``) swaps them in. A bad rule set keeps the last good
one in force and tells the admins, once per distinct error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from bot.config.settings import Settings
from bot.control.context import Notify
from bot.errors import RulesError
from bot.ingest.scheduler import FeedTicker, feed_interval
from bot.metrics import Recorder
from bot.rules.book import RuleBook, Rules
from bot.rules.bounded import load_rules_bounded
from bot.service.notices import short_name
from bot.service.presence import Presence
from bot.service.supervise import wait_or_stop
from bot.store import Store
from bot.store.aio import Offload
from bot.watches import WatchBook

log = logging.getLogger(__name__)

RULES_POLL_SECONDS = 2.0


def rules_signature(rules_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a rule file is added, removed or edited."""
    files = sorted(p for p in rules_dir.rglob("*") if p.suffix in (".yaml", ".yml"))
    sig = []
    for path in files:
        with contextlib.suppress(OSError):
            st = path.stat()
            sig.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(sig)


def named_chats(rules: Rules) -> set[int | str]:
    """Every chat the rules in force name in a topic's ``channels``."""
    return {d.chat for t in rules.current().rules.topics for d in t.channels}


class RulesFollower:
    def __init__(
        self,
        settings: Settings,
        rules: Rules,
        watches: WatchBook,
        *,
        store: Store,
        ticker: FeedTicker | None,
        presence: Presence,
        notify: Notify,
        on_reloaded: Callable[[RulesError | None], None],
        metrics: Recorder,
        offload: Offload,
    ) -> None:
        self._settings = settings
        self._rules = rules
        self._watches = watches
        self._store = store
        self._ticker = ticker  # None: no poller role in this process
        self._presence = presence
        self._notify = notify
        self._on_reloaded = on_reloaded
        self._metrics = metrics
        self._db = offload

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload whenever a rule file is added, removed or edited, until ``stop``."""
        rules_dir = self._settings.rules_dir
        last = rules_signature(rules_dir)
        while not await wait_or_stop(stop, RULES_POLL_SECONDS):
            current = rules_signature(rules_dir)
            if current != last:
                last = current
                await self.reload()

    async def reload(self) -> RulesError | None:
        """Load and validate the rules; swap them in when valid, else keep the last good set."""
        try:
            book = await self._load()
        except RulesError as exc:
            await self._refused(exc)
            return exc
        self._rules.swap(book)
        self._metrics.rules_reloaded(True)
        self._on_reloaded(None)
        await self.follow()
        await self._presence.beat()  # /status shows the new version at once
        log.info(
            "rules_reloaded", extra={"version": book.version, "topics": len(book.rules.topics)}
        )
        return None

    async def _load(self) -> RuleBook:
        s = self._settings
        loaded = await load_rules_bounded(
            s.rules_dir,
            time_limit=s.rules_reload_timeout,
            max_memory=s.rules_reload_max_mb << 20,
        )
        book = await asyncio.to_thread(RuleBook.build, loaded)
        # The watches into one index with the new topics' patterns, before the swap.
        await asyncio.to_thread(self._watches.prepare, book)
        return book

    async def _refused(self, exc: RulesError) -> None:
        log.error(
            "rules_reload_failed",
            extra={
                "problems": len(exc.problems),
                "error": str(exc),
                "kept": self._rules.current().version,
            },
        )
        self._metrics.rules_reloaded(False)
        self._on_reloaded(exc)
        await self._notify(
            "Rules reload failed; the last good rules stay in use.\n" + str(exc),
            key=f"rules-failed:{short_name(str(exc))}",
        )

    async def follow(self) -> None:
        """The current rules' feeds are the ones polled (and leased) from now on, and the
        chats they name are sent to again."""
        await self.follow_named_chats()
        if self._ticker is None:
            return
        s = self._settings
        enabled = {f.id: f for f in self._rules.current().rules.feeds if f.enabled}
        intervals = {
            fid: feed_interval(f, s.default_interval, s.min_interval, s.max_interval)
            for fid, f in enabled.items()
        }
        await self._ticker.follow(enabled, intervals)

    async def follow_named_chats(self) -> None:
        """Gone chats that the rules name anew come back."""
        for chat in await self._db(self._store.rules_name_chats, named_chats(self._rules)):
            log.info("chat_resumed", extra={"chat_id": str(chat), "by": "rules"})
