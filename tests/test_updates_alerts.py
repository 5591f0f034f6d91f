"""Subscriptions and mutes meet alerts: who gets the next matching alert, and who not.

The alert path here is the pipeline's (match, destinations, render, outbox, sender to
the fake Bot API), with ``alert_destinations`` deciding who gets each topic's alerts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.control import alert_destinations
from bot.delivery.sender import Sender
from bot.models import Alert, Destination, Item
from bot.telegram.render import topic_alert
from bot.telegram.send import TelegramSink
from tests.fakes.commands_harness import GROUP, OTHER, USER, CommandBot


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with CommandBot.start(tmp_path) as running:
        yield running


def news(key: str, title: str) -> Item:
    return Item("alpha", key, title, f"https://alpha.example/{key}", f"<p>{title}</p>")


async def deliver(bot: CommandBot, item: Item) -> int:
    """What the pipeline does for one new item; returns the number of alerts sent."""
    match = bot.rules.current().matcher.match(item, feed_tags=("en",))
    alerts = []
    for tm in match.topics:
        topic = bot.rules.current().rules.topic(tm.topic_id)
        assert topic is not None
        body = topic_alert(
            item=item,
            topic_id=topic.id,
            topic_name=topic.name,
            feed_name="Alpha News",
            match=tm,
            plain=match.plain,
            tz=ZoneInfo("UTC"),
        )
        for dest in alert_destinations(bot.store, topic.id, topic.channels, bot.clock()):
            alerts.append(Alert(item.feed_id, item.key, topic.id, dest, body, bot.clock()))
    bot.store.enqueue(alerts)
    sink = TelegramSink(bot.tg.token, api_url=bot.tg.url)
    try:
        return await Sender(bot.store, sink).drain()
    finally:
        await sink.aclose()


async def test_a_subscription_made_by_command_receives_the_next_matching_alert(
    bot: CommandBot,
) -> None:
    await bot.say("/subscribe russia-dprk")
    await bot.say("/subscribe russia-dprk", user=OTHER, chat=GROUP)
    before = len(bot.tg.messages(USER))
    assert await deliver(bot, news("a1", "Putin meets Kim Jong Un in Pyongyang")) == 2
    alert = bot.tg.messages(USER)[before]
    assert alert.text.startswith("🔔 俄朝关系")
    assert "Putin" in alert.text
    assert len(bot.tg.messages(GROUP)) == 2  # the reply to /subscribe, then the alert
    await deliver(bot, news("a2", "Taiwan weather is fine"))
    assert len(bot.tg.messages(USER)) == before + 1  # not subscribed to taiwan


async def test_the_mute_button_silences_the_topic_for_a_day_then_alerts_resume(
    bot: CommandBot,
) -> None:
    await bot.say("/subscribe russia-dprk")
    await deliver(bot, news("b1", "Putin speaks"))
    alert = bot.tg.last(USER)
    mute_data = next(b["callback_data"] for b in bot.buttons(alert) if "Mute" in b["text"])
    assert mute_data == "mute:russia-dprk"
    answer = await bot.press(mute_data, on=alert)
    assert (
        answer["text"] == "🔕 俄朝关系 · Russia–North Korea muted for 1 day. Press again to unmute."
    )
    count = len(bot.tg.messages(USER))
    assert await deliver(bot, news("b2", "Putin speaks again")) == 0
    assert len(bot.tg.messages(USER)) == count
    bot.clock.advance(days=1, seconds=1)
    assert await deliver(bot, news("b3", "Putin speaks a third time")) == 1


async def test_pressing_mute_again_unmutes(bot: CommandBot) -> None:
    await bot.say("/subscribe russia-dprk")
    await deliver(bot, news("c1", "Putin speaks"))
    alert = bot.tg.last(USER)
    await bot.press("mute:russia-dprk", on=alert)
    answer = await bot.press("mute:russia-dprk", on=alert, lang="zh")
    assert answer["text"] == "🔔 俄朝关系 · Russia–North Korea 已取消静音。"
    assert bot.store.muted("russia-dprk", bot.clock()) == set()


async def test_muting_a_channel_alert_needs_a_channel_admin_and_silences_the_rules_channel(
    bot: CommandBot,
) -> None:
    await deliver(bot, news("d1", "OpenAI releases a model"))
    alert = bot.tg.last("@kp_watch")
    channel = -1001000000001  # the id the channel's updates carry
    bot.tg.chat_members[(channel, OTHER)] = "member"
    refused = await bot.press("mute:tech-ai", on=alert, user=OTHER, username="kp_watch")
    assert refused["text"] == "Only this chat's admins can mute or unmute topics here."
    await bot.press("mute:tech-ai", on=alert, user=USER, username="kp_watch")
    assert Destination("@kp_watch") in bot.store.muted("tech-ai", bot.clock())
    assert await deliver(bot, news("d2", "OpenAI again")) == 0


async def test_mute_command_offers_durations_and_mutes_for_the_chosen_one(
    bot: CommandBot,
) -> None:
    await bot.say("/subscribe taiwan")
    choice = await bot.say("/mute taiwan")
    assert choice.text == "Mute Taiwan Strait here for how long?"
    labels = [b["text"] for b in bot.buttons(choice)]
    assert labels == ["30 min", "2 h", "8 h", "1 day", "7 days"]
    answer = await bot.press("mute:taiwan:30m", on=choice)
    assert "muted here until 2024-06-28 16:30 CST" in answer["text"]  # Asia/Shanghai
    until = bot.store.mutes_of(Destination(USER), bot.clock())["taiwan"]
    assert until == datetime(2024, 6, 28, 8, 30, tzinfo=UTC)
    mine = await bot.say("/mysubs")
    assert "muted until 2024-06-28 16:30 CST" in mine.text
    done = await bot.say("/mute taiwan 2h")
    assert done.text == "🔕 Taiwan Strait muted here until 2024-06-28 18:00 CST."
    assert (await bot.say("/unmute taiwan")).text == "🔔 Taiwan Strait unmuted here."
    assert (await bot.say("/unmute taiwan")).text == "Taiwan Strait is not muted here."


async def test_a_channel_viewer_who_is_not_an_admin_cannot_mute_the_channel(
    bot: CommandBot,
) -> None:
    # Every channel post is sent by the channel itself: that says nothing about the viewer
    # who presses its button; only getChatMember does.
    await deliver(bot, news("e1", "OpenAI releases a model"))
    alert = bot.tg.last("@kp_watch")
    channel = -1001000000001  # the id the channel's updates carry
    for status in ("member", "left"):
        bot.tg.chat_members[(channel, OTHER)] = status
        refused = await bot.press(
            "mute:tech-ai", on=alert, user=OTHER, username="kp_watch", channel=True
        )
        assert refused["text"] == "Only this chat's admins can mute or unmute topics here."
        assert bot.store.muted("tech-ai", bot.clock()) == set()
    assert len(bot.tg.calls_to(channel, "getChatMember")) == 2

    bot.tg.chat_members[(channel, USER)] = "creator"
    await bot.press("mute:tech-ai", on=alert, user=USER, username="kp_watch", channel=True)
    assert Destination("@kp_watch") in bot.store.muted("tech-ai", bot.clock())
    assert len(bot.tg.calls_to(channel, "getChatMember")) == 3


async def test_mute_buttons_name_a_topic_exactly_never_by_prefix(bot: CommandBot) -> None:
    await bot.say("/subscribe tech-ai")
    await deliver(bot, news("f1", "OpenAI releases a model"))
    alert = bot.tg.last(USER)
    for forged in ("mute:tech", "mute:t", "mute:tech-a", "mute:TECH-AI", "mute:tech:1d"):
        answer = await bot.press(forged, on=alert)
        assert answer["text"] == "This button is out of date. Send the command again."
    assert bot.store.mutes_of(Destination(USER), bot.clock()) == {}


async def test_topics_with_ids_too_long_for_callback_data_are_told_apart(
    bot: CommandBot,
) -> None:
    # Two ids of 64 characters that share their first 60: the rules allow both, and each
    # button must act on its own topic.
    first, second = "a" * 60 + "-one", "a" * 60 + "-two"
    topics = bot.rules_dir / "topics.yaml"
    topics.write_text(
        topics.read_text(encoding="utf-8")
        + f"\n  - id: {first}\n    any: [OpenAI]\n  - id: {second}\n    any: [Kremlin]\n",
        encoding="utf-8",
    )
    assert await bot.reload() is None
    await bot.say(f"/subscribe {first} {second}")
    await deliver(bot, news("g1", "OpenAI releases a model"))
    alert = bot.tg.last(USER)
    data = next(b["callback_data"] for b in bot.buttons(alert) if "Mute" in b["text"])
    assert len(data.encode()) <= 64
    await bot.press(data, on=alert)
    assert set(bot.store.mutes_of(Destination(USER), bot.clock())) == {first}

    choice = await bot.say(f"/mute {second}")
    durations = bot.buttons(choice)
    assert [b["text"] for b in durations] == ["30 min", "2 h", "8 h", "1 day", "7 days"]
    await bot.press(durations[0]["callback_data"], on=choice)
    assert set(bot.store.mutes_of(Destination(USER), bot.clock())) == {first, second}

    mine = await bot.say("/mysubs")
    leave = [b["callback_data"] for b in bot.buttons(mine)]
    assert all(len(d.encode()) <= 64 for d in leave)
    for data in leave:
        await bot.press(data, on=mine)
    assert bot.store.topics_of(Destination(USER)) == []
