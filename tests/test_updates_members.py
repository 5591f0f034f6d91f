"""The bot's own membership (``my_chat_member``) through the fake Bot API: a chat that
removes or blocks the bot is gone at once, and comes back when the bot is added back."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.delivery.kinds import Rendered
from bot.models import Alert, Destination, Message
from tests.fakes.commands_harness import ADMIN, GROUP, USER, CommandBot
from tests.fakes.telegram_updates import member_update

CHANNEL = -1009876543210


class Notes:
    """Stands in for the app's admin notices; a test awaits the next one."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.keys: list[str | None] = []
        self._cond = asyncio.Condition()

    async def __call__(self, text: str, *, key: str | None = None) -> None:
        async with self._cond:
            self.texts.append(text)
            self.keys.append(key)
            self._cond.notify_all()

    async def until(self, count: int) -> list[str]:
        async with asyncio.timeout(10), self._cond:
            await self._cond.wait_for(lambda: len(self.texts) >= count)
        return self.texts


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with CommandBot.start(tmp_path) as running:
        running.deps.notify = Notes()
        yield running


def notes(bot: CommandBot) -> Notes:
    assert isinstance(bot.deps.notify, Notes)
    return bot.deps.notify


def alert(chat: int | str, key: str, bot: CommandBot) -> Alert:
    return Alert(
        "alpha", key, "taiwan", Destination(chat), Rendered(Message("x", "x")), bot.clock()
    )


async def test_a_group_that_removes_the_bot_gets_nothing_more_until_it_is_added_back(
    bot: CommandBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.control.members")
    store = bot.store
    store.subscribe(Destination(GROUP), "taiwan")
    assert store.enqueue([alert(GROUP, "k1", bot)]) == 1

    bot.tg.push_update(member_update(GROUP, "left", by=ADMIN, old="administrator"))
    [note] = await notes(bot).until(1)
    assert "my_chat_member" in (bot.tg.allowed_updates or [])
    assert store.is_gone(GROUP)
    assert store.gone_chats()[0][1] == "the bot was removed from the chat"
    assert store.outbox_depth() == 0  # the queued alert was failed, not sent later
    assert store.topics_of(Destination(GROUP)) == []
    assert store.enqueue([alert(GROUP, "k2", bot)]) == 0  # nothing more is queued
    assert f"Stopped sending to {GROUP} and ended its 1 subscription(s)" in note
    assert "the bot was removed from the chat" in note

    bot.tg.push_update(member_update(GROUP, "member", by=ADMIN))
    [_, back] = await notes(bot).until(2)
    assert back == f"The bot was added back to {GROUP}: alerts go there again."
    assert not store.is_gone(GROUP)
    assert store.enqueue([alert(GROUP, "k3", bot)]) == 1
    [resumed] = [r for r in caplog.records if r.message == "chat_resumed"]
    assert (resumed.chat_id, resumed.by, resumed.user_id) == (str(GROUP), "added_back", ADMIN)  # type: ignore[attr-defined]
    assert bot.tg.messages(GROUP) == []  # no update of this kind is answered in the chat


async def test_a_user_who_blocks_the_bot_is_gone_and_unblocking_resumes(bot: CommandBot) -> None:
    bot.tg.push_update(member_update(USER, "kicked", by=USER))
    [note] = await notes(bot).until(1)
    assert bot.store.gone_chats()[0][:2] == (USER, "the user blocked the bot")
    assert "the user blocked the bot" in note

    bot.tg.push_update(member_update(USER, "member", by=USER, old="kicked"))
    await notes(bot).until(2)
    assert bot.store.gone_chats() == []


async def test_a_public_channel_is_gone_by_id_and_by_the_name_the_rules_use(
    bot: CommandBot,
) -> None:
    # The rules send topic tech-ai to "@kp_watch": that name must stop too.
    update = member_update(CHANNEL, "kicked", by=ADMIN, username="kp_watch", channel=True)
    bot.tg.push_update(update)
    texts = await notes(bot).until(2)
    gone = {chat: reason for chat, reason, _ in bot.store.gone_chats()}
    reason = "the bot was removed from the chat and banned"
    assert gone == {CHANNEL: reason, "@kp_watch": reason}
    assert len(set(notes(bot).keys)) == 2 and all(reason in t for t in texts)
    # The rules still name it: reloading them does not bring it back by itself.
    assert bot.store.rules_name_chats({"@kp_watch"}) == []

    bot.tg.push_update(member_update(CHANNEL, "administrator", by=ADMIN, username="kp_watch"))
    await notes(bot).until(4)
    assert bot.store.gone_chats() == []


async def test_a_removal_of_a_chat_the_sender_found_gone_shares_its_notice_key(
    bot: CommandBot,
) -> None:
    """The sender may have found the chat gone first (a refused send): same note key."""
    since, _ = bot.store.mark_gone(GROUP, "Forbidden: bot was kicked from the group chat")
    bot.tg.push_update(member_update(GROUP, "kicked", by=ADMIN))
    await notes(bot).until(1)
    assert notes(bot).keys == [f"chat-gone:{GROUP}:{since.isoformat()}"]
    assert bot.store.gone_chats()[0][1].startswith("Forbidden")  # the first reason stays
