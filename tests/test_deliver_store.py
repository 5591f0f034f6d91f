"""The sender on the real store and the fake Bot API: durable, exactly what was queued."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.delivery.kinds import Rendered
from bot.delivery.sender import Sender
from bot.models import Alert, Destination, Message
from bot.telegram.send import TelegramSink
from tests.fakes.outbox import START, FakeTime
from tests.fakes.telegram import FakeTelegram

store_module = pytest.importorskip("bot.store.store")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[object]:
    with store_module.Store(f"sqlite:///{tmp_path / 'bot.db'}") as opened:
        opened.migrate()
        yield opened


def alert(chat: int | str, n: int, thread: int | None = None) -> Alert:
    return Alert(
        feed_id="voa",
        item_key=f"item-{n}",
        topic_id="russia-dprk",
        destination=Destination(chat, thread),
        body=Rendered(Message(text=f"<b>alert {n}</b> R&amp;D", plain=f"alert {n} R&D")),
        first_seen=START,
    )


async def test_queued_alerts_are_sent_once_and_marked_with_telegrams_ids(
    store: object, tg: FakeTelegram, sink: TelegramSink
) -> None:
    time = FakeTime()
    store.enqueue([alert(-1001, n) for n in range(3)] + [alert(7, n, thread=4) for n in range(2)])  # type: ignore[attr-defined]
    sender = Sender(store, sink, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert await sender.drain() == 5
    assert tg.texts(-1001) == ["alert 0 R&D", "alert 1 R&D", "alert 2 R&D"]
    assert [s.thread for s in tg.messages(7)] == [4, 4]
    assert store.outbox_depth() == 0  # type: ignore[attr-defined]
    restarted = Sender(store, sink, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    assert await restarted.drain() == 0
    assert len(tg.messages()) == 5


async def test_migration_and_blocked_chat_on_the_real_store(
    store: object, tg: FakeTelegram, sink: TelegramSink
) -> None:
    time = FakeTime()
    tg.migrate(-4242, new_chat_id=-1004242)
    tg.block(9)
    store.enqueue([alert(-4242, n) for n in range(2)] + [alert(9, n) for n in range(2)])  # type: ignore[attr-defined]
    gone: list[Destination] = []

    async def on_gone(dest: Destination, reason: str) -> None:
        gone.append(dest)

    sender = Sender(store, sink, clock=time.clock, sleep=time.sleep, on_chat_gone=on_gone)  # type: ignore[arg-type]
    for _ in range(5):
        await sender.drain()
        time.advance(1)
    assert tg.texts(-1004242) == ["alert 0 R&D", "alert 1 R&D"]
    assert len(tg.calls_to(9)) == 1 and gone == [Destination(9)]
    assert store.outbox_depth() == 0  # type: ignore[attr-defined]


async def test_a_chat_that_blocked_the_bot_is_remembered_and_admins_are_told(
    store: object, tg: FakeTelegram, sink: TelegramSink
) -> None:
    """The policy the sender follows (``bot.delivery.chats``): the chat is gone for good,
    its subscriptions end, nothing more is queued for it, and admins get one note; a
    group that became a supergroup is followed, and admins are told to fix the rules."""
    from bot.delivery.chats import ChatPolicy

    notes: list[tuple[str, str]] = []

    async def notify(text: str, *, key: str) -> None:
        notes.append((key, text))

    time = FakeTime()
    tg.block(9)
    tg.migrate(-4242, new_chat_id=-1004242)
    store.subscribe(Destination(9), "russia-dprk")  # type: ignore[attr-defined]
    store.enqueue([alert(9, 1), alert(-4242, 1)])  # type: ignore[attr-defined]
    policy = ChatPolicy(store, notify, named_chats=lambda: {-4242})  # type: ignore[arg-type]
    sender = Sender(
        store,  # type: ignore[arg-type]
        sink,
        clock=time.clock,
        sleep=time.sleep,
        on_chat_gone=policy.gone,
        on_chat_moved=policy.moved,
    )
    await sender.drain()
    assert store.is_gone(9) and store.subscribers("russia-dprk") == []  # type: ignore[attr-defined]
    assert store.enqueue([alert(9, 2)]) == 0  # type: ignore[attr-defined]
    assert tg.texts(-1004242) == ["alert 1 R&D"]
    gone = [text for key, text in notes if key.startswith("chat-gone:9:")]
    assert len(gone) == 1 and "Stopped sending to 9 and ended its 1 subscription(s)" in gone[0]
    moved = [text for key, text in notes if key == "chat-moved:-4242:-1004242"]
    assert len(moved) == 1 and "rule files that name -4242" in moved[0]
