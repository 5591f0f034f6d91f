"""The delivery loop: limits, per-chat pauses, fallbacks, gone and moved chats, the run loop."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.delivery.sender import Limits, Sender
from bot.errors import ChatGone, ParseModeRefused, PermanentSendError, RetryLater
from bot.models import Destination, Message
from bot.telegram.render import render
from bot.telegram.send import TelegramSink
from tests.fakes.outbox import FakeTime, MemoryOutbox, topic_body
from tests.fakes.telegram import FakeTelegram


class ScriptedSink:
    """Records each send with the fake time; raises the errors queued for a chat first."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.calls: list[tuple[float, Destination, str, bool]] = []
        self.errors: dict[int | str, list[Exception]] = {}
        self.delivered: list[tuple[float, Destination, str]] = []

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        at = self.time.now.timestamp()
        self.calls.append((at, dest, message.plain, as_plain))
        queued = self.errors.get(dest.chat)
        if queued:
            raise queued.pop(0)
        self.delivered.append((at, dest, message.plain))
        return len(self.delivered)

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        pass

    def texts(self, chat: int | str) -> list[str]:
        return [text for _, dest, text in self.delivered if dest.chat == chat]


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def outbox() -> MemoryOutbox:
    return MemoryOutbox()


def sender_for(outbox: MemoryOutbox, sink: object, time: FakeTime, **kw: object) -> Sender:
    return Sender(outbox, sink, clock=time.clock, sleep=time.sleep, **kw)  # type: ignore[arg-type]


async def drain_until_empty(
    sender: Sender, outbox: MemoryOutbox, time: FakeTime, step: float = 1.0
) -> int:
    """Drain, let fake time pass, drain again: what the run loop does, without real waits."""
    sent = 0
    for _ in range(2000):
        sent += await sender.drain()
        if outbox.outbox_depth() == 0:
            return sent
        time.advance(step)
    raise AssertionError("outbox never emptied")


async def test_burst_to_several_chats_arrives_complete_and_in_order(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox, time: FakeTime
) -> None:
    chats = [101, 102, -1001, "@channel"]
    for n in range(6):
        for chat in chats:
            outbox.add(chat, f"{chat} #{n}")
    sent = await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    assert sent == 24
    for chat in chats:
        assert tg.texts(chat) == [f"{chat} #{n}" for n in range(6)]
    assert [e.message_id for e in outbox.entries.values()][:4] == [1, 1, 1, 1]


async def test_limits_are_kept_without_any_429(outbox: MemoryOutbox, time: FakeTime) -> None:
    sink = ScriptedSink(time)
    groups, people = [-1001, -1002, "@news"], list(range(1, 41))
    for n in range(25):
        for chat in groups:
            outbox.add(chat, f"g{n}")
    for n in range(2):
        for chat in people:
            outbox.add(chat, f"p{n}")
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    times = [at for at, _, _ in sink.delivered]
    assert len(times) == 155
    for i in range(len(times) - 30):
        assert times[i + 30] - times[i] >= 1.0  # at most 30 in any second
    for chat in [*groups, *people]:
        mine = [at for at, dest, _ in sink.delivered if dest.chat == chat]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(mine))
        if chat in groups:
            assert all(mine[i + 20] - mine[i] >= 60.0 for i in range(len(mine) - 20))


async def test_429_pauses_only_that_chat(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox, time: FakeTime
) -> None:
    tg.flood(-1001, retry_after=30)
    for n in range(3):
        for chat in (-1001, 7, 8):
            outbox.add(chat, f"{chat} #{n}")
    sender = sender_for(outbox, sink, time)
    await sender.drain()
    assert tg.texts(7) == ["7 #0", "7 #1", "7 #2"]
    assert tg.texts(8) == ["8 #0", "8 #1", "8 #2"]
    assert tg.texts(-1001) == []
    first = outbox.entries[1]
    assert first.status == "queued" and first.attempts == 1
    assert first.not_before is not None and first.not_before - time.now >= timedelta(seconds=25)
    time.advance(10)
    await sender.drain()
    assert tg.texts(-1001) == []  # still waiting out retry_after; the later entries too
    time.advance(25)
    await drain_until_empty(sender, outbox, time)
    assert tg.texts(-1001) == ["-1001 #0", "-1001 #1", "-1001 #2"]


async def test_refused_html_falls_back_to_plain_text_once(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox, time: FakeTime
) -> None:
    entry = outbox.add(7, "", msg=Message(text="<b>broken", plain="broken & <raw>"))
    await sender_for(outbox, sink, time).drain()
    [sent] = tg.messages(7)
    assert (sent.text, sent.parse_mode) == ("broken & <raw>", None)
    assert entry.status == "sent" and entry.message_id == sent.message_id
    assert [c.status for c in tg.calls_to(7)] == [400, 200]


async def test_plain_text_refused_too_fails_the_entry(outbox: MemoryOutbox, time: FakeTime) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [ParseModeRefused("can't parse"), ParseModeRefused("can't parse")]
    entry = outbox.add(7, "x")
    outbox.add(7, "next")
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    assert [as_plain for _, _, _, as_plain in sink.calls] == [False, True, False]
    assert entry.status == "failed"
    assert sink.texts(7) == ["next"]


async def test_nothing_more_to_a_chat_after_403(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox, time: FakeTime
) -> None:
    tg.block(7)
    told: list[tuple[Destination, str]] = []

    async def on_gone(dest: Destination, reason: str) -> None:
        told.append((dest, reason))

    for n in range(5):
        outbox.add(7, f"blocked #{n}")
        outbox.add(8, f"fine #{n}")
    await drain_until_empty(sender_for(outbox, sink, time, on_chat_gone=on_gone), outbox, time)
    assert len(tg.calls_to(7)) == 1
    assert tg.texts(8) == [f"fine #{n}" for n in range(5)]
    assert [e.status for e in outbox.entries.values() if e.alert.destination.chat == 7] == [
        "failed"
    ] * 5
    assert told == [(Destination(7), "Forbidden: bot was blocked by the user")]


async def test_migrated_group_gets_its_alerts_at_the_new_id(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox, time: FakeTime
) -> None:
    tg.migrate(-4242, new_chat_id=-1004242)
    for n in range(3):
        outbox.add(-4242, f"#{n}", thread=None)
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    assert tg.texts(-1004242) == ["#0", "#1", "#2"]
    assert tg.texts(-4242) == []
    assert len(tg.calls_to(-4242)) == 1  # learnt once, never asked again
    assert {e.alert.destination.chat for e in outbox.entries.values()} == {-1004242}


async def test_network_errors_back_off_exponentially(outbox: MemoryOutbox, time: FakeTime) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [RetryLater("timed out", after=1.0) for _ in range(5)]
    entry = outbox.add(7, "x")
    sender = sender_for(outbox, sink, time, limits=Limits(backoff_base=2.0))
    delays = []
    for _ in range(5):
        await sender.drain()
        assert entry.not_before is not None and entry.status == "queued"
        delays.append((entry.not_before - time.now).total_seconds())
        time.now = entry.not_before
    await sender.drain()
    assert entry.status == "sent" and entry.attempts == 5
    assert delays[-1] > delays[0] * 4
    assert all(2.0 * 2**n * 0.5 <= d <= 2.0 * 2**n for n, d in enumerate(delays))


async def test_an_outage_never_empties_the_queue(outbox: MemoryOutbox, time: FakeTime) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [RetryLater("bad gateway", after=1.0) for _ in range(40)]
    entry = outbox.add(7, "x")
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time, step=600)
    assert entry.status == "sent", "40 failures over hours of outage, then delivered"
    assert len(sink.calls) == 41


async def test_gives_up_only_after_max_age(outbox: MemoryOutbox, time: FakeTime) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [RetryLater("bad gateway", after=1.0) for _ in range(100)]
    entry = outbox.add(7, "x")
    limits = Limits(max_age=3600.0)
    await drain_until_empty(sender_for(outbox, sink, time, limits=limits), outbox, time, step=60)
    assert entry.status == "failed" and entry.error is not None
    assert entry.error.startswith("gave up after") and "bad gateway" in entry.error
    assert (time.now - entry.alert.first_seen).total_seconds() >= 3600


async def test_permanent_refusal_fails_with_the_reason_and_others_go_on(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [PermanentSendError("message thread not found")]
    bad, good = outbox.add(7, "x"), outbox.add(7, "y")
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    assert (bad.status, bad.error) == ("failed", "message thread not found")
    assert good.status == "sent"


async def test_a_crashing_sink_does_not_lose_the_entry(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [RuntimeError("bug")]
    entry = outbox.add(7, "x")
    await drain_until_empty(sender_for(outbox, sink, time), outbox, time)
    assert entry.status == "sent" and entry.attempts == 1


async def test_chat_gone_hook_failure_does_not_stop_delivery(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    sink = ScriptedSink(time)
    sink.errors[7] = [ChatGone("chat not found")]

    async def broken(dest: Destination, reason: str) -> None:
        raise RuntimeError("admins unreachable")

    outbox.add(7, "x")
    outbox.add(8, "y")
    await drain_until_empty(sender_for(outbox, sink, time, on_chat_gone=broken), outbox, time)
    assert sink.texts(8) == ["y"]


async def test_run_sends_when_woken_and_stops(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox
) -> None:
    fast = Limits(per_chat_interval=0.0, idle=30.0)
    sender = Sender(outbox, sink, limits=fast)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0)
    outbox.add(7, "first")
    outbox.add(8, "second")
    sender.wake()
    assert await asyncio.to_thread(tg.wait_for, 2, None, 5.0)
    stop.set()
    await asyncio.wait_for(task, 5.0)
    assert tg.texts(7) == ["first"] and tg.texts(8) == ["second"]


async def test_run_retries_a_deferred_entry_when_it_is_due(
    tg: FakeTelegram, sink: TelegramSink, outbox: MemoryOutbox
) -> None:
    tg.server_error(7, status=502)
    # The fake outbox dates its alerts 2024; a real clock must not count them as expired.
    limits = Limits(per_chat_interval=0.0, backoff_base=0.05, max_age=1e12)
    sender = Sender(outbox, sink, limits=limits)
    outbox.add(7, "eventually")
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    assert await asyncio.to_thread(tg.wait_for, 1, 7, 5.0)
    stop.set()
    await asyncio.wait_for(task, 5.0)
    assert [c.status for c in tg.calls_to(7)] == [502, 200]


async def test_a_backlog_larger_than_a_batch_does_not_starve_other_chats(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    sink = ScriptedSink(time)
    for n in range(40):
        outbox.add(-1001, f"g{n}")
    outbox.add(7, "private")
    sender = sender_for(outbox, sink, time, limits=Limits(batch=10))
    await sender.drain()
    assert sink.texts(7) == ["private"]
    assert len(sink.texts(-1001)) == 20  # the group's minute is used up; the rest waits


async def test_entries_queued_during_a_long_drain_are_not_stuck_behind_it(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    class EnqueueingSink(ScriptedSink):
        async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
            if len(self.delivered) == 3:
                outbox.add(8, "late arrival")
            return await super().send(dest, message, as_plain=as_plain)

    sink = EnqueueingSink(time)
    for n in range(60):
        outbox.add(7, f"#{n}")
    await sender_for(outbox, sink, time, limits=Limits(round_seconds=10)).drain()
    order = [text for _, _, text in sink.delivered]
    assert len(order) == 61
    assert order.index("late arrival") < 20


async def until(condition: Callable[[], object]) -> None:
    """Let the loop run until ``condition`` holds (a guard turns a hang into a failure)."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 -- one condition over several sources
            await asyncio.sleep(0)


class SlowSummaries:
    """A summariser that answers each text only when the test says so."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, text: str) -> str:
        self.asked.append(text)
        await self.release.setdefault(text, asyncio.Event()).wait()
        return f"Machine summary of {text}"


async def test_a_slow_summary_holds_only_its_own_chat(outbox: MemoryOutbox, time: FakeTime) -> None:
    summaries = SlowSummaries()
    sink = ScriptedSink(time)
    a = outbox.add(1, "A", body=topic_body("A", "extract"))
    a.alert = replace(a.alert, summary_input="item A")
    outbox.add(2, "B")
    sender = sender_for(outbox, sink, time, summarizer=summaries, summary_timeout=60)
    drain = asyncio.create_task(sender.drain())
    await until(lambda: sink.texts(2))  # B goes out while A's summary is being written
    assert summaries.asked == ["item A"]
    assert sink.texts(1) == [] and not drain.done()
    summaries.release["item A"].set()
    assert await drain == 2
    [text] = sink.texts(1)
    assert "Machine summary of item A" in text and "extract" not in text
    assert render(outbox.entries[a.id].alert).plain == text  # a resend says the same


async def test_the_run_loop_sends_other_chats_while_a_summary_is_pending(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    summaries = SlowSummaries()
    sink = ScriptedSink(time)
    a = outbox.add(1, "A", body=topic_body("A", "extract"))
    a.alert = replace(a.alert, summary_input="item A")
    sender = sender_for(outbox, sink, time, summarizer=summaries, summary_timeout=60)
    stop = asyncio.Event()
    loop = asyncio.create_task(sender.run(stop))
    await until(lambda: summaries.asked)
    outbox.add(2, "B")  # queued later, for another chat
    sender.wake()
    await until(lambda: sink.texts(2))
    assert sink.texts(1) == []
    summaries.release["item A"].set()  # the summary's end wakes the loop
    await until(lambda: sink.texts(1))
    stop.set()
    await loop
    assert "Machine summary of item A" in sink.texts(1)[0]


async def test_a_summary_that_never_comes_waits_at_most_the_timeout(
    outbox: MemoryOutbox, time: FakeTime
) -> None:
    sink = ScriptedSink(time)
    a = outbox.add(1, "A", body=topic_body("A", "extract"))
    a.alert = replace(a.alert, summary_input="item A")
    sender = sender_for(outbox, sink, time, summarizer=SlowSummaries(), summary_timeout=0.05)
    assert await sender.drain() == 1
    assert sink.texts(1) == [render(a.alert).plain]  # the extractive alert, unchanged


async def test_a_slot_waits_for_the_chats_turn_and_counts_from_the_answer() -> None:
    from bot.delivery.ratelimit import RateLimiter

    time = FakeTime()
    limiter = RateLimiter(
        Limits(per_chat_interval=1.0), clock=lambda: time.now.timestamp(), sleep=time.sleep
    )
    start = time.now.timestamp()
    async with limiter.slot(5):
        time.advance(0.4)  # Telegram answers 0.4 s later
    async with limiter.slot(5):  # a full interval after the answer, not after the request
        assert time.now.timestamp() - start == pytest.approx(1.4)
    async with limiter.slot(6):  # another chat is not held up
        assert time.now.timestamp() - start == pytest.approx(1.4)
    with pytest.raises(RuntimeError):
        async with limiter.slot(5):  # a request that fails still counts
            raise RuntimeError("network")
    assert limiter.ready_at(5, time.now.timestamp()) == pytest.approx(time.now.timestamp() + 1.0)


async def test_a_stop_ends_the_wait_for_a_turn_and_the_request_goes_at_once() -> None:
    from bot.delivery.ratelimit import RateLimiter

    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waiting.set()
        await asyncio.Event().wait()  # only a stop ends this wait

    now = 1000.0
    limiter = RateLimiter(Limits(per_chat_interval=3600.0), clock=lambda: now, sleep=sleep)
    stop = asyncio.Event()
    async with limiter.slot(5, stop=stop):
        pass
    entered = asyncio.Event()

    async def second() -> None:
        async with limiter.slot(5, stop=stop):
            entered.set()

    task = asyncio.create_task(second())
    await asyncio.wait_for(waiting.wait(), 10)
    assert not entered.is_set()  # the chat's turn is an hour away
    stop.set()
    await asyncio.wait_for(task, 10)
    assert entered.is_set()
    assert limiter.ready_at(5, now) == now + 3600.0  # the request still counts
