"""Everyone's commands, through the fake Bot API: updates in, messages and answers out."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.control import Control
from bot.models import Destination
from bot.telegram.protocol import Caller
from tests.fakes.commands_harness import ADMIN, GROUP, OTHER, USER, CommandBot


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with CommandBot.start(tmp_path) as running:
        yield running


def data_of(bot: CommandBot, sent, text_part: str) -> str:  # type: ignore[no-untyped-def]
    return next(b["callback_data"] for b in bot.buttons(sent) if text_part in b["text"])


async def test_menus_are_registered_in_english_and_chinese_with_admin_extras(
    bot: CommandBot,
) -> None:
    sets = {(s["scope"]["type"], s["language_code"]): s for s in bot.tg.command_sets}
    assert set(sets) == {("default", None), ("default", "zh"), ("chat", None), ("chat", "zh")}
    everyone = [c["command"] for c in sets[("default", None)]["commands"]]
    assert everyone[:3] == ["start", "help", "topics"]
    assert "status" not in everyone
    assert sets[("chat", None)]["scope"]["chat_id"] == ADMIN
    assert "addfeed" in [c["command"] for c in sets[("chat", None)]["commands"]]
    assert sets[("default", "zh")]["commands"][0]["description"] == "机器人简介"


async def test_start_and_help_speak_the_users_language(bot: CommandBot) -> None:
    english = await bot.say("/start")
    assert "send an alert" in english.text and "/subscribe ID" in english.text
    chinese = await bot.say("/start", lang="zh-hans")
    assert "订阅方法" in chinese.text
    assert bot.buttons(chinese)[0]["callback_data"] == "topics:0"
    help_text = (await bot.say("/help")).text
    assert "/mysubs" in help_text and "/status" not in help_text
    assert "/status" in (await bot.say("/help", user=ADMIN)).text


async def test_topics_list_names_descriptions_and_toggles_subscriptions(bot: CommandBot) -> None:
    listing = await bot.say("/topics")
    assert "俄朝关系 · Russia–North Korea" in listing.text
    assert "Taiwan / 台湾 + (military / drill / 军演)" in listing.text
    answer = await bot.press(data_of(bot, listing, "Taiwan"), on=listing)
    assert answer["text"] == "Subscribed to Taiwan Strait."
    await bot.wait(lambda: "✅ Taiwan Strait" in listing.text)
    assert bot.store.topics_of(Destination(USER)) == ["taiwan"]
    assert data_of(bot, listing, "Taiwan") == "unsub:taiwan:0"
    await bot.press("unsub:taiwan:0", on=listing)
    await bot.wait(lambda: "✅ Taiwan Strait" not in listing.text)
    assert bot.store.topics_of(Destination(USER)) == []


async def test_a_long_topic_list_is_paginated(bot: CommandBot) -> None:
    more = "".join(
        f"  - id: extra-{n:02d}\n    name: Extra {n}\n    any: [word{n}]\n" for n in range(8)
    )
    (bot.rules_dir / "more.yaml").write_text("topics:\n" + more, encoding="utf-8")
    assert await bot.reload() is None
    first = await bot.say("/topics")
    assert "page 1/2" in first.text and "Extra 6" not in first.text
    await bot.press(data_of(bot, first, "▶"), on=first)
    await bot.wait(lambda: "page 2/2" in first.text)
    assert "Extra 6" in first.text and "Taiwan Strait" in first.text
    assert [b["text"] for b in bot.buttons(first)][-1] == "◀"


async def test_subscribe_unsubscribe_and_mysubs(bot: CommandBot) -> None:
    assert (await bot.say("/subscribe taiwan")).text == "Subscribed to Taiwan Strait."
    assert (await bot.say("/subscribe taiwan")).text == "Already subscribed to Taiwan Strait."
    await bot.say("/subscribe Russia-DPRK")  # ids are case-insensitive to type
    mine = await bot.say("/mysubs")
    assert "Taiwan Strait taiwan" in mine.text and "russia-dprk" in mine.text
    assert data_of(bot, mine, "Taiwan") == "unsub:taiwan:m"
    assert (await bot.say("/unsubscribe taiwan")).text == "Unsubscribed from Taiwan Strait."
    assert (await bot.say("/unsubscribe taiwan")).text == "Not subscribed to taiwan."
    assert bot.store.topics_of(Destination(USER)) == ["russia-dprk"]


async def test_subscriptions_survive_a_restart(tmp_path: Path) -> None:
    async with CommandBot.start(tmp_path) as first:
        await first.say("/subscribe tech-ai")
    async with CommandBot.start(tmp_path) as second:
        assert "tech-ai" in (await second.say("/mysubs")).text


async def test_unknown_topic_suggests_the_closest_ids_with_buttons(bot: CommandBot) -> None:
    reply = await bot.say("/subscribe taiwn")
    assert "There is no topic or spike taiwn." in reply.text and "taiwan" in reply.text
    assert data_of(bot, reply, "Taiwan") == "sub:taiwan:x"
    answer = await bot.press("sub:taiwan:x", on=reply)
    assert answer["text"] == "Subscribed to Taiwan Strait."


async def test_a_removed_topic_leaves_its_subscriptions_dormant(bot: CommandBot) -> None:
    await bot.say("/subscribe tech-ai")
    topics = (bot.rules_dir / "topics.yaml").read_text(encoding="utf-8")
    cut = topics.index("  - id: tech-ai")
    (bot.rules_dir / "topics.yaml").write_text(topics[:cut], encoding="utf-8")
    assert await bot.reload() is None
    mine = await bot.say("/mysubs")
    assert "removed from the rules: dormant" in mine.text
    assert bot.store.subscribers("tech-ai") == [Destination(USER)]
    assert (await bot.say("/unsubscribe tech-ai")).text == "Unsubscribed from tech-ai."


async def test_in_a_group_only_its_admins_change_subscriptions(bot: CommandBot) -> None:
    bot.tg.chat_members[(GROUP, OTHER)] = "member"
    refused = await bot.say("/subscribe taiwan", user=OTHER, chat=GROUP)
    assert "Only this group's admins" in refused.text
    assert bot.store.topics_of(Destination(GROUP)) == []
    listing = await bot.say("/topics", user=OTHER, chat=GROUP)
    answer = await bot.press("sub:taiwan:0", on=listing, user=OTHER)
    assert "Only this group's admins" in answer["text"]
    assert bot.store.topics_of(Destination(GROUP)) == []
    ok = await bot.say("/subscribe taiwan", user=USER, chat=GROUP)  # an admin (the default)
    assert ok.text == "Subscribed to Taiwan Strait."
    assert bot.store.subscribers("taiwan") == [Destination(GROUP)]


async def test_group_admin_status_is_asked_on_every_call(bot: CommandBot) -> None:
    assert "Subscribed" in (await bot.say("/subscribe taiwan", user=USER, chat=GROUP)).text
    bot.tg.chat_members[(GROUP, USER)] = "member"  # demoted since
    refused = await bot.say("/unsubscribe taiwan", user=USER, chat=GROUP)
    assert "Only this group's admins" in refused.text
    assert len(bot.tg.calls_to(GROUP, "getChatMember")) == 2


async def test_a_forum_thread_subscribes_on_its_own_and_gets_replies_there(
    bot: CommandBot,
) -> None:
    reply = await bot.say("/subscribe taiwan", user=USER, chat=GROUP, thread=77)
    assert reply.thread == 77
    assert bot.store.subscribers("taiwan") == [Destination(GROUP, 77)]


async def test_unknown_commands_get_a_hint(bot: CommandBot) -> None:
    assert (await bot.say("/frobnicate")).text == "Unknown command /frobnicate. Try /help."
    assert (await bot.say("/subscrib taiwan")).text.endswith("Did you mean /subscribe?")
    assert (await bot.say("/topcs", lang="zh")).text == "未知命令 /topcs。你是不是要用 /topics?"


async def test_a_command_for_another_bot_in_a_group_is_ignored(bot: CommandBot) -> None:
    bot.tg.push_update(
        __import__("tests.fakes.telegram_updates", fromlist=["x"]).message_update(
            "/help@some_other_bot", user=USER, chat=GROUP
        )
    )
    reply = await bot.say("/help@mediabot_test_bot", user=USER, chat=GROUP)
    assert "/topics" in reply.text
    assert len(bot.tg.messages(GROUP)) == 1


async def test_bad_arguments_get_clear_messages(bot: CommandBot) -> None:
    long_id = "x" * 400
    assert "too long (400 characters; at most 300)" in (await bot.say(f"/subscribe {long_id}")).text
    assert "is not an id" in (await bot.say("/subscribe <b>taiwan</b>")).text
    assert (await bot.say("/subscribe")).text == "Usage: /subscribe ID (see /topics)"
    assert "not a duration" in (await bot.say("/mute taiwan forever")).text
    assert "not a duration" in (await bot.say("/mute taiwan 90d")).text


async def test_flooding_commands_is_rate_limited(
    bot: CommandBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.control.core")
    for _ in range(10):
        await bot.say("/mysubs")
    slow_down = await bot.say("/mysubs")
    assert slow_down.text == "Too many commands at once: wait a few seconds."
    await bot.say_nothing_back("/mysubs")
    assert len(bot.tg.messages(USER)) == 11
    assert any(r.message == "command_flood" for r in caplog.records)
    bot.clock.advance(seconds=30)
    assert "No subscriptions" in (await bot.say("/mysubs")).text


async def test_an_updates_reader_that_takes_over_keeps_the_flood_counts(bot: CommandBot) -> None:
    for _ in range(10):
        await bot.say("/mysubs")
    takeover = Control(bot.deps)  # the reader of another process, on the same database
    caller = Caller(USER, Destination(USER), "private", None, is_chat_admin=_yes)
    reply = await takeover.command(caller, "mysubs", "")
    assert reply is not None and reply.message is not None
    assert reply.message.plain == "Too many commands at once: wait a few seconds."
    assert await takeover.command(caller, "mysubs", "") is None  # told once, across readers
    pressed = await takeover.callback(caller, "topics:0")
    assert pressed.notice is None and pressed.edit is None  # buttons share the count
    bot.clock.advance(seconds=30)
    reply = await takeover.command(caller, "mysubs", "")
    assert reply is not None and reply.message is not None
    assert "No subscriptions" in reply.message.plain


async def _yes() -> bool:
    return True


async def test_forged_or_stale_callback_data_changes_nothing(bot: CommandBot) -> None:
    listing = await bot.say("/topics")
    for data in ("sub:no-such-topic:0", "sub:../etc:0", "sub:taiwan:-1", "mute:taiwan:999d", "x"):
        answer = await bot.press(data, on=listing)
        assert answer["text"] == "This button is out of date. Send the command again."
    assert bot.store.subscriptions() == []
    assert bot.store.muted("taiwan", bot.clock()) == set()


async def test_ids_are_held_to_the_rules_limit_of_64_characters(bot: CommandBot) -> None:
    reply = await bot.say("/subscribe " + "a" * 65)
    assert reply.text.startswith("'" + "a" * 64 + "' is not an id")
    reply = await bot.say("/subscribe " + "a" * 64)
    assert "is not an id" not in reply.text
