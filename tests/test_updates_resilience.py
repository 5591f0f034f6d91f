"""The updates reader against a Bot API that misbehaves: it keeps reading, says it is down
while it cannot, and gets its replies through Telegram's limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery.ratelimit import Limits
from bot.metrics import Metrics
from bot.telegram.pacing import ReplyPacer
from tests.fakes.commands_harness import USER, CommandBot
from tests.fakes.telegram import Fault, SendLimits
from tests.fakes.telegram_updates import UpdatesTelegram, message_update
from tests.test_metrics import http

INTRO = "I watch news feeds"
SLOW_DOWN = "Too many commands at once: wait a few seconds."


class WatchedMetrics(Metrics):
    """Metrics whose health changes a test can await."""

    def __init__(self) -> None:
        super().__init__(process_metrics=False)
        self._changed = asyncio.Event()

    def heartbeat(self, loop_name: str) -> None:
        super().heartbeat(loop_name)
        self._changed.set()

    def loop_failing(self, loop_name: str, reason: str) -> None:
        super().loop_failing(loop_name, reason)
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def refused_polls(bot: CommandBot) -> int:
    return sum(1 for c in bot.tg.calls if c.method == "getUpdates" and c.status >= 400)


@pytest.mark.parametrize(
    ("status", "description"),
    [
        (401, "Unauthorized"),
        (502, "Bad Gateway"),
        (500, "Internal Server Error"),
        (409, "Conflict: terminated by other getUpdates request"),
    ],
)
async def test_commands_are_answered_again_after_telegram_refuses_polls_for_a_while(
    tmp_path: Path, status: int, description: str
) -> None:
    metrics = WatchedMetrics()
    async with (
        CommandBot.start(tmp_path, health=metrics) as bot,
        metrics.server("127.0.0.1:0") as server,
    ):
        assert (await bot.say("/start")).text.startswith(INTRO)
        bot.tg.fault(Fault(status, description, method="getUpdates", times=None))
        # A plain message ends the poll in flight; every poll after it is refused.
        bot.tg.push_update(message_update("hello", user=USER))
        await metrics.until(lambda: not metrics.health()[0])

        health = await http(server.port, "/healthz")
        assert health.status == 503
        body = health.json()
        assert body["status"] == "down" and body["down"] == ["updates"]
        assert isinstance(body["loops"], dict)
        error = body["loops"]["updates"]["error"]
        if status == 401:
            assert "the token was rejected: check MEDIABOT_TELEGRAM_TOKEN" in error
        assert bot.tg.token not in health.body.decode()

        answered = len(bot.tg.messages(USER))
        bot.tg.push_update(message_update("/start", user=USER))
        # python-telegram-bot's own loop gave up for good after one 401: this one goes on.
        await bot.wait(lambda: refused_polls(bot) >= 3)
        assert metrics.health()[0] is False
        assert len(bot.tg.messages(USER)) == answered

        bot.tg.clear_faults()  # Telegram is back
        await bot.wait(lambda: len(bot.tg.messages(USER)) > answered)
        assert bot.tg.messages(USER)[answered].text.startswith(INTRO)
        await metrics.until(lambda: metrics.health()[0])
        assert (await http(server.port, "/healthz")).status == 200


async def test_a_flood_of_commands_gets_every_reply_flood_control_allows(
    tmp_path: Path,
) -> None:
    # Telegram's limits a fifth of their length, and replies paced just inside them.
    tg = UpdatesTelegram(enforce_limits=True, limits=SendLimits(per_chat_interval=0.2))
    pace = Limits(per_chat_interval=0.25)
    async with CommandBot.start(tmp_path, tg=tg, limits=pace) as bot:
        for _ in range(100):
            bot.tg.push_update(message_update("/help", user=USER))
        # Ten answers, then one "slow down"; the other 89 are ignored (bot.control.flood).
        await bot.wait(lambda: len(bot.tg.messages(USER)) >= 11, within=30)
    # Stopped: every reply still being paced or retried has been sent or given up.
    texts = bot.tg.texts(USER)
    assert len(texts) == 11
    assert all(text.startswith(INTRO) for text in texts[:10])
    assert texts[10] == SLOW_DOWN


async def test_a_reply_refused_with_429_is_sent_again_after_retry_after(tmp_path: Path) -> None:
    async with CommandBot.start(tmp_path) as bot:
        bot.tg.flood(chat=USER, retry_after=1, times=2)
        reply = await bot.say("/help")
        assert reply.text.startswith(INTRO)
        calls = bot.tg.calls_to(USER)
        assert [c.status for c in calls] == [429, 429, 200]
        assert calls[1].at - calls[0].at >= 1.0 and calls[2].at - calls[1].at >= 1.0


class Refusing:
    """A Bot API call that Telegram answers with 429 every time."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> bool:
        self.calls += 1
        raise RetryAfter(self.retry_after)


async def _request(pacer: ReplyPacer, call: Refusing) -> None:
    await pacer.process_request(call, (), {}, "sendMessage", {"chat_id": 7}, None)


async def test_a_reply_is_tried_a_bounded_number_of_times() -> None:
    pacer = ReplyPacer(max_tries=4)
    await pacer.initialize()
    call = Refusing(retry_after=0)
    with pytest.raises(RetryAfter):
        await _request(pacer, call)
    assert call.calls == 4


async def test_a_wait_too_long_for_a_reply_or_a_stop_ends_the_retries() -> None:
    await ReplyPacer().initialize()
    long_wait = Refusing(retry_after=3600)
    with pytest.raises(RetryAfter):
        await _request(ReplyPacer(max_wait=60), long_wait)
    assert long_wait.calls == 1

    stop = asyncio.Event()
    stop.set()
    stopping = Refusing(retry_after=1)
    with pytest.raises(RetryAfter):
        await _request(ReplyPacer(stop=stop), stopping)
    assert stopping.calls == 1


class Sent:
    """A Bot API call that Telegram accepts; it keeps the texts in the order they went."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def __call__(self, text: str) -> bool:
        self.texts.append(text)
        return True


async def test_a_stop_ends_a_replys_wait_for_its_turn() -> None:
    """A reader that is stopping answers what it has read now, not when the chat's turn
    comes (here an hour away)."""
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        assert seconds > 3000  # the chat's turn, an hour after the first reply
        waiting.set()
        await asyncio.Event().wait()  # only a stop ends this wait

    stop = asyncio.Event()
    pacer = ReplyPacer(Limits(per_chat_interval=3600), stop=stop, sleep=sleep)
    sent = Sent()

    def reply(text: str) -> Any:
        return pacer.process_request(sent, (text,), {}, "sendMessage", {"chat_id": 7}, None)

    await reply("first")
    second = asyncio.create_task(reply("second"))
    await asyncio.wait_for(waiting.wait(), 10)
    assert sent.texts == ["first"]
    stop.set()
    assert await asyncio.wait_for(second, 10) is True
    assert sent.texts == ["first", "second"]
    assert await reply("third") is True  # once stopping, no turn is waited for
    assert sent.texts == ["first", "second", "third"]


async def test_a_reply_whose_html_is_refused_goes_out_as_plain_text(tmp_path: Path) -> None:
    """Any of Telegram's HTML refusals (not only "can't parse entities") gets the fallback."""
    async with CommandBot.start(tmp_path) as bot:
        bot.tg.fault(Fault(400, 'Bad Request: unsupported start tag "x" at byte offset 3'))
        reply = await bot.say("/start")
        assert reply.text.startswith(INTRO)
        assert reply.parse_mode is None  # sent again without markup


async def test_a_failed_reply_is_logged_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with CommandBot.start(tmp_path) as bot:
        bot.tg.fault(Fault(400, "Bad Request: message text is empty", times=2))
        bot.tg.push_update(message_update("/start", user=USER))
        await bot.wait(lambda: any(r.message == "reply_failed" for r in caplog.records))
    [record] = [r for r in caplog.records if r.message == "reply_failed"]
    assert record.exc_info is not None and "Message text is empty" in str(record.exc_info[1])
