"""Digests: slots in the configured zone, collection per chat, splitting at 4096, restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.dedupe import collapse_near_duplicates
from bot.delivery.digest import DigestCollector, next_slot
from bot.delivery.kinds import ItemPart, TopicAlert
from bot.models import Alert, Destination
from bot.store import Store
from bot.telegram.render import MAX_MESSAGE_UNITS, DigestLine, render, render_digest, utf16_len
from bot.text import cluster

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2024, 6, 28, 0, 53, tzinfo=UTC)  # 08:53 in Shanghai


def test_slots_are_local_times() -> None:
    assert next_slot("instant", T0, SHANGHAI) is None
    assert next_slot("hourly", T0, SHANGHAI) == datetime(2024, 6, 28, 1, 0, tzinfo=UTC)
    # daily@08:00 Shanghai has passed today: tomorrow 08:00 local = 00:00 UTC.
    assert next_slot("daily@08:00", T0, SHANGHAI) == datetime(2024, 6, 29, 0, 0, tzinfo=UTC)
    assert next_slot("daily@09:30", T0, SHANGHAI) == datetime(2024, 6, 28, 1, 30, tzinfo=UTC)
    # Across a DST change the local time is kept.
    berlin = ZoneInfo("Europe/Berlin")
    before = datetime(2024, 3, 30, 12, 0, tzinfo=UTC)
    slot = next_slot("daily@08:00", before, berlin)
    assert slot is not None and slot.astimezone(berlin).hour == 8


def test_long_digest_splits_between_lines_and_repeats_the_heading() -> None:
    lines = [
        DigestLine(
            topic_id="russia-dprk" if n < 90 else "ukraine",
            topic_name="俄朝关系 <Russia>",
            title=f"第{n}条 R&D <b>新闻</b> " + "长" * 40,
            link=f"https://example.com/{n}?a=1&b=2",
            source="VOA",
        )
        for n in range(120)
    ]
    parts = render_digest(lines, when=T0, tz=SHANGHAI)
    assert len(parts) > 1
    for n, part in enumerate(parts, start=1):
        assert utf16_len(part.plain) <= MAX_MESSAGE_UNITS
        assert part.plain.startswith(f"🗞 Digest · 2024-06-28 08:53 CST ({n}/{len(parts)})")
        assert "&lt;b&gt;" in part.text and "<b>新闻</b>" not in part.text
    text = "\n".join(p.plain for p in parts)
    assert all(f"第{n}条" in text for n in range(120))
    assert "(continued)" in parts[1].plain  # the topic runs over into the next part
    assert sum(p.plain.count("\n• ") for p in parts) == 120


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
def store(db: str) -> Iterator[Store]:
    with Store(db) as opened:
        opened.migrate()
        yield opened


def held(feed: str, n: int, chat: int, topic: str, slot: datetime, body: str) -> Alert:
    title = f"{topic} story {n} from {feed}"
    return Alert(
        feed_id=feed,
        item_key=f"{feed}-{n}",
        topic_id=topic,
        destination=Destination(chat),
        body=TopicAlert(ItemPart(title, f"https://{feed}.example/{n}", feed.upper()), topic, "UTC"),
        first_seen=T0,
        fingerprint=cluster.encode(cluster.fingerprint(title, body)),
        deliver_at=slot,
    )


def body(n: int) -> str:
    return f"Story number {n}: " + " ".join(f"word{n * 31 + k}" for k in range(40))


def test_digests_collect_per_chat_group_by_topic_and_survive_restarts(
    db: str, store: Store
) -> None:
    slot = datetime(2024, 6, 28, 1, 0, tzinfo=UTC)
    items = [held("voa", n, 11, "b-topic" if n % 2 else "a-topic", slot, body(n)) for n in range(4)]
    items += [held("rfa", 9, 22, "a-topic", slot, body(9))]
    # The Traditional edition of story 0 from another feed: a duplicate, listed as "also".
    items += [held("dw", 0, 11, "a-topic", slot, body(0))]
    store.enqueue(collapse_near_duplicates(store, items, T0))
    assert store.outbox_depth() == 0 and store.next_digest_time() == slot

    names = {"a-topic": "Topic A", "b-topic": "Topic B"}
    early = DigestCollector(
        store, tz=SHANGHAI, topic_name=names.get, clock=lambda: slot - timedelta(seconds=1)
    )
    assert early.collect() == 0

    # A restart: a new store object and collector on the same database, after the slot.
    with Store(db) as reopened:
        collector = DigestCollector(reopened, tz=SHANGHAI, topic_name=names.get, clock=lambda: slot)
        assert collector.collect() == 2  # one digest per chat
        assert collector.collect() == 0  # nothing twice
        due = reopened.due(slot + timedelta(seconds=1), limit=10)
    by_chat = {e.alert.destination.chat: render(e.alert).plain for e in due}
    digest = by_chat[11]
    assert digest.index("Topic A") < digest.index("Topic B")
    assert "a-topic story 0 from voa — VOA (also: DW)" in digest
    assert digest.count("• ") == 4
    assert "rfa" in by_chat[22] and "voa" not in by_chat[22]
    assert all(e.alert.kind == "digest" for e in due)
