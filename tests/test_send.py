"""TelegramSink against the fake Bot API: what arrives, and how each refusal is classified."""

from __future__ import annotations

import pytest

from bot.errors import (
    ChatGone,
    ChatMoved,
    ParseModeRefused,
    PermanentSendError,
    RetryLater,
    TokenRejected,
)
from bot.models import Button, Destination, Message
from bot.telegram import answers, send
from bot.telegram.send import TelegramSink
from tests.fakes.telegram import FakeTelegram

MESSAGE = Message(
    text='<b>R&amp;D</b> <a href="https://example.com/?a=1&amp;b=2">link</a>',
    plain="R&D link",
    buttons=(
        (Button("🔗 Open", url="https://example.com/"),),
        (Button("🔕 Mute topic", callback_data="mute:russia-dprk"),),
    ),
)


async def test_send_delivers_html_with_buttons_and_no_preview(
    tg: FakeTelegram, sink: TelegramSink
) -> None:
    first = await sink.send(Destination(-1001), MESSAGE)
    second = await sink.send(Destination(-1001), MESSAGE)
    assert (first, second) == (1, 2)
    [sent, _] = tg.messages(-1001)
    assert sent.text == "R&D link"
    assert sent.parse_mode == "HTML"
    assert {
        "type": "text_link",
        "offset": 4,
        "length": 4,
        "url": "https://example.com/?a=1&b=2",
    } in sent.entities
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "🔗 Open", "url": "https://example.com/"}],
            [{"text": "🔕 Mute topic", "callback_data": "mute:russia-dprk"}],
        ]
    }
    assert tg.calls_to(-1001)[0].method == "sendMessage"


async def test_forum_topic_thread_and_channel_names(tg: FakeTelegram, sink: TelegramSink) -> None:
    await sink.send(Destination(-100555, thread=12), MESSAGE)
    await sink.send(Destination("@kp_watch"), MESSAGE)
    assert tg.messages(-100555)[0].thread == 12
    assert tg.texts("@kp_watch") == ["R&D link"]


async def test_plain_send_has_no_parse_mode(tg: FakeTelegram, sink: TelegramSink) -> None:
    await sink.send(Destination(7), Message(text="<oops", plain="<oops"), as_plain=True)
    [sent] = tg.messages(7)
    assert (sent.text, sent.parse_mode) == ("<oops", None)


async def test_edit_replaces_the_text_and_ignores_not_modified(
    tg: FakeTelegram, sink: TelegramSink
) -> None:
    message_id = await sink.send(Destination(7), MESSAGE)
    edited = Message(text=MESSAGE.text + "\nalso: BBC", plain="", buttons=MESSAGE.buttons)
    await sink.edit(Destination(7), message_id, edited)
    await sink.edit(Destination(7), message_id, edited)  # same content: Telegram says 400
    [sent] = tg.messages(7)
    assert sent.text == "R&D link\nalso: BBC"
    assert sent.edits == ["R&D link"]


async def test_429_is_retry_later_with_telegrams_delay(
    tg: FakeTelegram, sink: TelegramSink
) -> None:
    tg.flood(7, retry_after=17)
    with pytest.raises(RetryLater) as caught:
        await sink.send(Destination(7), MESSAGE)
    assert caught.value.after == 17


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_retry_later(
    tg: FakeTelegram, sink: TelegramSink, status: int
) -> None:
    tg.server_error(7, status=status)
    with pytest.raises(RetryLater) as caught:
        await sink.send(Destination(7), MESSAGE)
    assert 0 < caught.value.after <= 5


async def test_refused_html_is_parse_mode_refused(tg: FakeTelegram, sink: TelegramSink) -> None:
    with pytest.raises(ParseModeRefused):
        await sink.send(Destination(7), Message(text="a <b>b", plain="a b"))
    assert tg.messages(7) == []


async def test_blocked_bot_is_chat_gone(tg: FakeTelegram, sink: TelegramSink) -> None:
    tg.block(7)
    with pytest.raises(ChatGone, match="blocked"):
        await sink.send(Destination(7), MESSAGE)


async def test_chat_not_found_is_chat_gone(tg: FakeTelegram, sink: TelegramSink) -> None:
    tg.chat_not_found(-100999)
    with pytest.raises(ChatGone, match="not found"):
        await sink.send(Destination(-100999), MESSAGE)


async def test_migrated_group_is_chat_moved(tg: FakeTelegram, sink: TelegramSink) -> None:
    tg.migrate(-4242, new_chat_id=-1004242)
    with pytest.raises(ChatMoved) as caught:
        await sink.send(Destination(-4242), MESSAGE)
    assert caught.value.new_chat_id == -1004242


async def test_other_bad_request_is_permanent(tg: FakeTelegram, sink: TelegramSink) -> None:
    with pytest.raises(PermanentSendError, match="too long"):
        await sink.send(Destination(7), Message(text="x" * 5000, plain="x" * 5000))


async def test_wrong_token_keeps_the_queue(tg: FakeTelegram) -> None:
    sink = TelegramSink("999:wrong", api_url=tg.url)
    try:
        with pytest.raises(TokenRejected) as caught:
            await sink.send(Destination(7), MESSAGE)
    finally:
        await sink.aclose()
    assert isinstance(caught.value, RetryLater)  # the sender keeps the alert queued
    assert str(caught.value).startswith("the token was rejected: check MEDIABOT_TELEGRAM_TOKEN")
    assert "999:wrong" not in str(caught.value)


async def test_unreachable_server_is_not_a_rejected_token() -> None:
    with FakeTelegram() as fake:
        url, token = fake.url, fake.token
    sink = TelegramSink(token, api_url=url)  # the fake is closed: connection refused
    try:
        with pytest.raises(RetryLater) as caught:
            await sink.send(Destination(7), MESSAGE)
    finally:
        await sink.aclose()
    assert not isinstance(caught.value, TokenRejected)


async def test_unreachable_server_is_retry_later() -> None:
    with FakeTelegram() as fake:
        url, token = fake.url, fake.token
    sink = TelegramSink(token, api_url=url)  # the fake is closed: connection refused
    try:
        with pytest.raises(RetryLater):
            await sink.send(Destination(7), MESSAGE)
    finally:
        await sink.aclose()


def test_command_replies_share_the_senders_keyboard_and_not_modified_check() -> None:
    # One definition of each, so alerts and command replies cannot drift apart.
    assert answers.markup is send.markup
    assert answers.NOT_MODIFIED is send.NOT_MODIFIED
    assert not hasattr(answers, "_markup") and not hasattr(answers, "_NOT_MODIFIED")
    keyboard = send.markup(MESSAGE)
    assert keyboard is not None
    assert [[b.text for b in row] for row in keyboard.inline_keyboard] == [
        ["🔗 Open"],
        ["🔕 Mute topic"],
    ]
    assert keyboard.inline_keyboard[1][0].callback_data == "mute:russia-dprk"
    assert send.markup(Message(text="x", plain="x")) is None
