"""A running command bot for tests: rules in a temp dir, a temp SQLite store, the fake
Bot API, and ``run_updates`` polling it, so tests talk to the bot the way Telegram does.

    async with CommandBot.start(tmp_path) as bot:
        reply = await bot.say("/topics", user=bot.USER)
        answer = await bot.press(reply.reply_markup["inline_keyboard"][0][0]["callback_data"],
                                 user=bot.USER, on=reply)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.control import Control, Deps
from bot.delivery.ratelimit import Limits
from bot.errors import RulesError
from bot.feeds.fetch import Fetcher
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.store import Store
from bot.telegram.polling import Backoff, Health
from bot.telegram.updates import run_updates
from tests.fakes.telegram_api import Sent
from tests.fakes.telegram_updates import UpdatesTelegram, callback_update, message_update

ADMIN = 1001
USER = 2002
OTHER = 3003
GROUP = -1001234567890
# Telegram's limits scaled down a hundredfold (replies in one chat 10 ms apart), and a
# reader that retries within tens of milliseconds: tests wait for events, not for time.
FAST = Limits(per_chat_interval=0.01, group_window=0.6)
QUICK = Backoff(first=0.02, cap=0.2)

FEEDS_YAML = """\
# Feeds for the command tests.
#
# Keep this comment: editing commands must not lose it.
feeds:
  # Alpha is the first feed.
  - id: alpha
    url: https://alpha.example/feed.xml  # Alpha's own feed
    name: Alpha News
    tags: [en]

  - id: beta
    url: https://beta.example/rss
    interval: 10m
"""

TOPICS_YAML = """\
topics:
  - id: russia-dprk
    name: 俄朝关系 · Russia–North Korea
    any: [Putin, 普京, "Kim Jong Un"]

  - id: taiwan
    name: Taiwan Strait
    any: [Taiwan, 台湾]
    all: [[military, drill, 军演]]

  - id: tech-ai
    name: AI
    any: ["artificial intelligence", OpenAI]
    channels: ["@kp_watch"]
"""


def write_rules(rules_dir: Path) -> Path:
    rules_dir.mkdir(parents=True, exist_ok=True)
    (rules_dir / "feeds.yaml").write_text(FEEDS_YAML, encoding="utf-8")
    (rules_dir / "topics.yaml").write_text(TOPICS_YAML, encoding="utf-8")
    return rules_dir


@dataclass
class Clock:
    """A settable clock: mutes and stats are about time."""

    now: datetime = field(default_factory=lambda: datetime(2024, 6, 28, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CommandBot:
    ADMIN, USER, OTHER, GROUP = ADMIN, USER, OTHER, GROUP

    def __init__(self, tmp_path: Path, tg: UpdatesTelegram, store: Store) -> None:
        self.tg = tg
        self.store = store
        self.rules_dir = write_rules(tmp_path / "rules")
        self.rules = Rules(RuleBook.build(load_rules(self.rules_dir)))
        self.clock = Clock()
        self.fetcher = Fetcher(allow_private_networks=True, timeout=5, connect_timeout=5)
        self.deps = Deps(
            store=store,
            admin_ids=frozenset({ADMIN}),
            rules=self.rules,
            reload=self.reload,
            rules_dir=self.rules_dir,
            fetcher=self.fetcher,
            tz=ZoneInfo("Asia/Shanghai"),
            started_at=self.clock.now - timedelta(hours=3),
            clock=self.clock,
        )
        self.control = Control(self.deps)
        self.stop = asyncio.Event()

    async def reload(self) -> RulesError | None:
        try:
            self.rules.swap(RuleBook.build(await asyncio.to_thread(load_rules, self.rules_dir)))
        except RulesError as exc:
            self.control.reload_done(exc)
            return exc
        self.control.reload_done(None)
        return None

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        tmp_path: Path,
        *,
        tg: UpdatesTelegram | None = None,
        limits: Limits = FAST,
        health: Health | None = None,
        backoff: Backoff = QUICK,
    ) -> AsyncIterator[CommandBot]:
        """The bot, reading updates from ``tg`` (a fresh fake by default), replying within
        ``limits`` (scaled down, as the fake's own ``SendLimits`` can be)."""
        with (
            tg or UpdatesTelegram() as fake,
            Store(f"sqlite:///{tmp_path / 'bot.db'}") as store,
        ):
            store.migrate()
            bot = cls(tmp_path, fake, store)
            bot.stop = stop = asyncio.Event()
            reader = run_updates(
                fake.token,
                fake.url,
                bot.control,
                stop,
                health=health,
                backoff=backoff,
                limits=limits,
            )
            task = asyncio.create_task(reader)
            try:
                # The menus are set, then deleteWebhook, then polling: the bot is listening.
                await bot.wait(lambda: any(c.method == "deleteWebhook" for c in fake.calls))
                yield bot
            finally:
                stop.set()
                await task
                await bot.fetcher.aclose()

    async def wait(self, predicate: Any, within: float = 10.0) -> None:
        ok = await asyncio.to_thread(self.tg.wait_until, predicate, within)
        assert ok, "timed out waiting for the bot"

    async def say(
        self,
        text: str,
        *,
        user: int = USER,
        chat: int | None = None,
        lang: str | None = None,
        thread: int | None = None,
        photo: bool = False,
    ) -> Sent:
        """Send a message as ``user`` and return the bot's reply in that chat."""
        where = user if chat is None else chat
        before = len(self.tg.messages(where))
        self.tg.push_update(message_update(text, user=user, chat=chat, lang=lang, thread=thread))
        await self.wait(lambda: len(self.tg.messages(where)) > before)
        return self.tg.messages(where)[before]

    async def say_nothing_back(self, text: str, *, user: int = USER) -> None:
        """Send a message and check the bot has read it without answering."""
        update_id = self.tg.push_update(message_update(text, user=user))
        # The next getUpdates asks past this update once it was handled.
        await self.wait(lambda: not any(u["update_id"] == update_id for u in self.tg.updates))

    async def press(
        self,
        data: str,
        *,
        on: Sent,
        user: int = USER,
        lang: str | None = None,
        username: str | None = None,
        channel: bool = False,
    ) -> dict[str, Any]:
        """Press a button under ``on``; return Telegram's callback answer."""
        before = len(self.tg.answers())
        update = callback_update(
            data, user=user, on=on, lang=lang, username=username, channel=channel
        )
        self.tg.push_update(update)
        await self.wait(lambda: len(self.tg.answers()) > before)
        return self.tg.answers()[before]

    def buttons(self, sent: Sent) -> list[dict[str, Any]]:
        markup = sent.reply_markup or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]
