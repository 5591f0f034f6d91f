"""Near-duplicates: fingerprints (bot.text.cluster) and "also:" edits of the first alert."""

from __future__ import annotations

from datetime import timedelta

import opencc

from bot.delivery.dedupe import MAX_ALSO, collapse_near_duplicates
from bot.delivery.kinds import ItemPart, TopicAlert
from bot.delivery.sender import Sender
from bot.models import Alert, Destination
from bot.store import Store
from bot.telegram.send import TelegramSink
from bot.text import cluster
from tests.fakes.outbox import START, FakeTime
from tests.fakes.telegram import FakeTelegram

TITLE = "俄朝签署全面战略伙伴关系条约 普京称将深化军事合作"
BODY = (
    "俄罗斯总统普京周三在平壤与朝鲜领导人金正恩签署全面战略伙伴关系条约。条约规定，"
    "如果一方遭到武装入侵，另一方将提供军事援助。分析人士认为，这是两国自冷战结束以来"
    "最重要的协议，将对东北亚安全格局产生深远影响。美国和韩国对此表示严重关切。"
)
OTHER_TITLE = "韩国总统尹锡悦访问中亚三国 签署能源协议"
OTHER_BODY = (
    "韩国总统尹锡悦本周访问土库曼斯坦、哈萨克斯坦和乌兹别克斯坦，与三国领导人讨论关键矿产"
    "和能源合作。双方签署了多项协议，涉及天然气田开发和铀矿供应。韩国希望借此分散供应链风险。"
)
FOOTER = "获取更多RSS：https://feedx.net"


def fp(title: str, body: str) -> cluster.Fingerprint:
    return cluster.fingerprint(title, body)


def test_traditional_edition_retitled_and_footer_are_the_same_story() -> None:
    s2t = opencc.OpenCC("s2t").convert
    first = fp(TITLE, BODY)
    assert cluster.near_duplicate(first, fp(s2t(TITLE), s2t(BODY)))
    assert cluster.near_duplicate(first, fp("【转载】普京金正恩签约", BODY))
    assert cluster.near_duplicate(first, fp(TITLE, BODY + "\n" + FOOTER))


def test_a_different_story_of_the_same_day_is_not() -> None:
    assert not cluster.near_duplicate(fp(TITLE, BODY), fp(OTHER_TITLE, OTHER_BODY))


def test_title_only_items_need_the_same_numbers() -> None:
    assert cluster.near_duplicate(
        fp("Putin arrives in Pyongyang", ""), fp("Putin arrives in Pyongyang.", "")
    )
    assert not cluster.near_duplicate(fp("Live updates 3", ""), fp("Live updates 4", ""))


def test_fingerprints_survive_the_store_format() -> None:
    original = fp(TITLE, BODY)
    assert cluster.decode(cluster.encode(original)) == original
    assert cluster.decode("not json") is None


CHAT = Destination(-100500)


def alert(feed: str, title: str, body: str, *, chat: Destination = CHAT, at: int = 0) -> Alert:
    item = ItemPart(title, f"https://{feed}.example/story?a=1&b=2", f"Feed {feed}")
    return Alert(
        feed_id=feed,
        item_key=f"{feed}:{title}",
        topic_id="topic",
        destination=chat,
        body=TopicAlert(item, "Topic", "UTC", summary=body[:40]),
        first_seen=START + timedelta(minutes=at),
        fingerprint=cluster.encode(fp(title, body)),
    )


async def test_duplicates_edit_the_first_message_with_their_sources(
    store: Store, tg: FakeTelegram, sink: TelegramSink
) -> None:
    s2t = opencc.OpenCC("s2t").convert
    time = FakeTime()
    sender = Sender(store, sink, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    queue = collapse_near_duplicates(store, [alert("voa", TITLE, BODY)], START)
    store.enqueue(queue)
    assert await sender.drain() == 1

    # Later polls: the Traditional edition and a syndicated copy, plus an unrelated story.
    later = [
        alert("rfa", s2t(TITLE), s2t(BODY), at=30),
        alert("wire", "【转载】普京金正恩签约", BODY + FOOTER, at=31),
        alert("kr", OTHER_TITLE, OTHER_BODY, at=32),
    ]
    queue = collapse_near_duplicates(store, later, START + timedelta(minutes=30))
    assert [a.kind for a in queue] == ["also", "also", "alert"]
    store.enqueue(queue)
    for _ in range(5):
        await sender.drain()
        time.advance(1)

    messages = tg.messages(CHAT.chat)
    assert len(messages) == 2, [m.text for m in messages]  # the first story, the other one
    first = messages[0]
    assert first.text.endswith("also: Feed rfa, Feed wire")
    assert len(first.edits) == 2
    assert 'href="https://wire.example/story?a=1&amp;b=2"' in first.source
    assert store.outbox_depth() == 0


async def test_duplicates_past_the_cap_and_outside_the_window(store: Store) -> None:
    store.enqueue(collapse_near_duplicates(store, [alert("voa", TITLE, BODY)], START))
    copies = [alert(f"copy{n}", TITLE, BODY, at=n + 1) for n in range(MAX_ALSO + 2)]
    queue = collapse_near_duplicates(store, copies, START + timedelta(hours=1))
    assert [a.kind for a in queue] == ["also"] * MAX_ALSO  # the rest are dropped
    # In another chat it is a first alert; after 72 hours it is news again.
    elsewhere = alert("rfa", TITLE, BODY, chat=Destination(42))
    assert collapse_near_duplicates(store, [elsewhere], START)[0].kind == "alert"
    late = collapse_near_duplicates(
        store, [alert("late", TITLE, BODY)], START + timedelta(hours=73)
    )
    assert late[0].kind == "alert"


async def test_duplicate_in_the_same_poll_waits_for_its_first_alert(
    store: Store, tg: FakeTelegram, sink: TelegramSink
) -> None:
    time = FakeTime()
    batch = [alert("voa", TITLE, BODY), alert("rfa", TITLE + "!", BODY, at=0)]
    queue = collapse_near_duplicates(store, batch, START)
    assert [a.kind for a in queue] == ["alert", "also"]
    store.enqueue(queue)
    sender = Sender(store, sink, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
    for _ in range(4):
        await sender.drain()
        time.advance(1)
    [message] = tg.messages(CHAT.chat)
    assert message.text.endswith("also: Feed rfa")
