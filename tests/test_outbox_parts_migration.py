"""Migration 0011: an outbox written before alerts were held as parts, upgraded in place.

Queued and held rows are converted and go out as they would have; a sent alert stays
readable, so a near-duplicate queued before the upgrade still adds its "also:" line to it.
Run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import insert

from bot.delivery.digest import DigestCollector
from bot.delivery.kinds import AlsoSource, Notice, Rendered, TopicAlert
from bot.delivery.sender import Sender
from bot.models import Destination, Message
from bot.store import Store
from bot.store.engine import build_engine, parse_url
from bot.store.migrate import alembic_config
from bot.store.tables import outbox
from tests.fakes.outbox import START, FakeTime

FIRST_HTML = (
    '🔔 <b>Topic</b>\nVOA · 2024-06-28 08:53 CST\n<a href="https://voa.example/1"><b>Title</b>'
    "</a>\n\nLead.\n\n<i>Why:</i> 普京 (content)\n#topic"
)
FIRST_PLAIN = "🔔 Topic\nVOA · 2024-06-28 08:53 CST\nTitle\n\nLead.\n\nWhy: 普京 (content)\n#topic"
QUEUED_HTML = "🔔 <b>Topic</b>\nVOA\n<b>Second</b>\n\n<i>Why:</i> x (title)\n#topic"
QUEUED_PLAIN = "🔔 Topic\nVOA\nSecond\n\nWhy: x (title)\n#topic"
BUTTONS = [[{"text": "🔕 Mute topic", "callback_data": "mute:topic"}]]
CHAT, OTHER, ADMIN = -100500, -100600, 42


@pytest.fixture
def url(any_store_url: str) -> str:
    return any_store_url


def row(n: int, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "feed_id": "voa",
        "item_key": f"k{n}",
        "topic_id": "topic",
        "chat": str(CHAT),
        "thread": 0,
        "text": "",
        "plain": "",
        "buttons": "[]",
        "first_seen": START,
        "created": START,
        "status": "queued",
        "attempts": 0,
        "kind": "alert",
    }
    return base | values


def old_outbox(url: str) -> None:
    """An outbox at revision 0010, as the previous version wrote it."""
    engine = build_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0010")
            rows = [
                row(1, text=FIRST_HTML, plain=FIRST_PLAIN, buttons=json.dumps(BUTTONS),
                    status="sent", message_id=77, sent_at=START, source="VOA",
                    item_title="Title", item_link="https://voa.example/1"),
                row(2, chat=str(OTHER), text=QUEUED_HTML, plain=QUEUED_PLAIN,
                    summary_input="Second\n\nbody"),
                row(3, feed_id="rfa", kind="also", text="<i>also:</i> RFA", plain="also: RFA",
                    source="RFA", ref_feed="voa", ref_key="k1", item_title="Title (RFA)",
                    item_link="https://rfa.example/1"),
                row(4, kind="digest_item", status="held", source="BBC", item_title="Held story",
                    item_link="https://bbc.example/4", deliver_at=START + timedelta(hours=1)),
                row(5, feed_id="", topic_id="", chat=str(ADMIN), kind="notice",
                    text="Feed &lt;voa&gt; is failing", plain="Feed <voa> is failing"),
            ]  # fmt: skip
            for values in rows:
                conn.execute(insert(outbox).values(**values))
    finally:
        engine.dispose()


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[Destination, Message]] = []
        self.edits: list[tuple[Destination, int, Message]] = []

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        self.sent.append((dest, message))
        return 100 + len(self.sent)

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        self.edits.append((dest, message_id, message))

    async def aclose(self) -> None:
        pass


async def test_queued_rows_are_converted_and_sent_ones_stay_readable(url: str) -> None:
    old_outbox(url)
    summaries: list[str] = []

    async def summarizer(text: str) -> str:
        summaries.append(text)
        return "never used"

    with Store(url) as store:
        store.migrate()
        due = {e.alert.item_key: e.alert.body for e in store.due(START + timedelta(minutes=1))}
        assert due["k2"] == Rendered(Message(QUEUED_HTML, QUEUED_PLAIN), was="alert")
        assert due["k3"] == AlsoSource("RFA", "https://rfa.example/1", "Title (RFA)")
        assert due["k5"] == Notice("Feed <voa> is failing")
        [held] = store.held_digest_items(START + timedelta(hours=2))
        assert isinstance(held.alert.body, TopicAlert)
        assert held.alert.body.item.title == "Held story" and held.alert.kind == "digest_item"

        time = FakeTime()
        sink = Sink()
        sender = Sender(store, sink, clock=time.clock, sleep=time.sleep, summarizer=summarizer)
        for _ in range(4):
            await sender.drain()
            time.advance(2)
        by_chat = {dest.chat: message for dest, message in sink.sent}
        assert by_chat[OTHER] == Message(QUEUED_HTML, QUEUED_PLAIN)  # as it was queued
        assert by_chat[ADMIN].plain == "Feed <voa> is failing"
        assert summaries == []  # a message rendered before cannot take a machine summary
        [(dest, message_id, edited)] = sink.edits
        assert (dest.chat, message_id) == (CHAT, 77)
        assert edited.plain == FIRST_PLAIN + "\n\nalso: RFA"
        assert edited.text.startswith(FIRST_HTML)
        assert '<a href="https://rfa.example/1">RFA</a>' in edited.text
        assert edited.buttons[0][0].callback_data == "mute:topic"
        assert store.outbox_depth() == 0

        collector = DigestCollector(
            store, tz=ZoneInfo("UTC"), clock=lambda: START + timedelta(hours=2)
        )
        assert collector.collect() == 1
        [digest] = store.due(START + timedelta(hours=2))
        await sender.drain()
        assert "Held story — BBC" in sink.sent[-1][1].plain
        assert digest.alert.kind == "digest"


def test_a_downgrade_gives_rows_with_parts_their_rendered_message(url: str) -> None:
    from sqlalchemy import select

    from bot.models import Alert
    from bot.telegram.render import render
    from tests.fakes.outbox import topic_body

    alert = Alert("voa", "k1", "topic", Destination(CHAT), topic_body(), START)
    with Store(url) as store:
        store.migrate()
        store.enqueue([alert])
    engine = build_engine(parse_url(url))
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0010")
        with engine.connect() as conn:
            [(text, plain)] = conn.execute(select(outbox.c.text, outbox.c.plain)).all()
    finally:
        engine.dispose()
    assert (text, plain) == (render(alert).text, render(alert).plain)
