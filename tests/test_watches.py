"""Personal watches through the fake Bot API: /watch, /watches, /unwatch, their preview,
and their alerts through the real pipeline (a local feed server) and sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import Any

import pytest

from bot.delivery.sender import Sender
from bot.ingest.pipeline import AlertOptions, Pipeline
from bot.rules.book import RuleBook
from bot.rules.load import load_rules
from bot.rules.model import FeedRule
from bot.telegram.send import TelegramSink
from bot.watches import FOLD_AFTER, WatchBook
from tests.fakes.commands_harness import ADMIN, GROUP, OTHER, USER, CommandBot
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.outbox import FakeTime

ENTITIES = """\
entities:
  xi-jinping:
    name: Xi Jinping
    aliases: [习近平, Xi Jinping]
  putin:
    name: Vladimir Putin
    aliases: [普京, Putin]
"""

BODY = "<p>{title}</p>"


@dataclass
class Rig:
    """The command bot, a pipeline on its store and rules, and two feeds to publish to."""

    bot: CommandBot
    server: FeedServer
    pipeline: Pipeline
    items: dict[str, list[dict[str, object]]]
    serial: int = 0

    def feed(self, fid: str) -> FeedRule:
        return FeedRule(id=fid, url=self.server.url(f"/{fid}.xml"), name=f"Feed {fid}")

    async def publish(self, title: str, *, fid: str = "a", body: str | None = None) -> int:
        """A new item in feed ``fid``; poll it; send what was queued. Returns alerts queued."""
        self.serial += 1
        n = self.serial
        self.items.setdefault(fid, []).insert(
            0,
            {
                "title": title,
                "link": f"https://{fid}.example/{n}",
                "guid": f"{fid}-{n}",
                "description": body if body is not None else BODY.format(title=title),
            },
        )
        self.server.route(f"/{fid}.xml", rss_document(self.items[fid]))
        report = await self.pipeline.poll_feed(self.feed(fid), on_schedule=False)
        assert report.ok, report.error
        await self.send()
        return report.alerts

    async def send(self) -> None:
        time = FakeTime()
        sink = TelegramSink(self.bot.tg.token, api_url=self.bot.tg.url)
        sender = Sender(self.bot.store, sink, clock=time.clock, sleep=time.sleep)  # type: ignore[arg-type]
        try:
            for _ in range(4):  # "also" edits wait for their first alert's message id
                await sender.drain()
                time.advance(2)
        finally:
            await sink.aclose()

    def alerts(self, chat: int) -> list[Any]:
        # An alert, not a reply such as "🔔 … unmuted here.": alerts carry a "Why:" line.
        return [
            m for m in self.bot.tg.messages(chat) if m.text.startswith("🔔") and "Why:" in m.text
        ]


@pytest.fixture
async def rig(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[Rig]:
    async with CommandBot.start(tmp_path) as bot:
        yield await _rig(bot, feed_server)


async def _rig(bot: CommandBot, server: FeedServer) -> Rig:
    (bot.rules_dir / "entities.yaml").write_text(ENTITIES, encoding="utf-8")
    assert await bot.reload() is None
    bot.deps.watches = WatchBook(bot.store, bot.rules.current)
    bot.deps.max_watches = 3
    pipeline = Pipeline(
        store=bot.store,
        fetcher=bot.fetcher,
        rules=bot.rules,
        options=AlertOptions(),
        clock=bot.clock,
        watches=bot.deps.watches,
    )
    rig = Rig(bot, server, pipeline, {})
    # A first poll of each feed marks what is there seen (no backfill): the feeds are known.
    for fid in ("a", "b"):
        server.route(f"/{fid}.xml", rss_document([]))
        await pipeline.poll_feed(rig.feed(fid), on_schedule=False)
    return rig


async def test_a_watch_previews_then_alerts_only_the_chat_that_made_it(rig: Rig) -> None:
    bot = rig.bot
    await rig.publish("Putin and Kim sign a defence treaty")
    await rig.publish("普京與金正恩簽署條約")  # Traditional: 条约 in Simplified
    await rig.publish("Weather in Moscow")
    await bot.say("/subscribe russia-dprk", user=OTHER)

    reply = await bot.say("/watch treaty OR 条约 -football")
    assert "Watch 1 saved: treaty OR 条约 -football" in reply.text
    assert "any: [treaty, 条约]\nnone: [football]" in reply.text
    assert "In the last 7 days it would have caught 2 items:" in reply.text
    assert "• 普京與金正恩簽署條約" in reply.text
    assert "• Putin and Kim sign a defence treaty" in reply.text

    before_user, before_other = len(rig.alerts(USER)), len(rig.alerts(OTHER))
    await rig.publish("俄朝簽訂新條約 Putin in Pyongyang")
    [alert] = rig.alerts(USER)[before_user:]
    assert alert.text.startswith("🔔 👁 treaty OR 条约 -football")
    assert "Why: 条约 → 條約 (title)" in alert.text
    assert "Feed a" in alert.text
    # The other user follows a topic that fires too: they get the topic's alert, not the watch's.
    [other] = rig.alerts(OTHER)[before_other:]
    assert other.text.startswith("🔔 俄朝关系")

    await rig.publish("Football treaty on transfers")  # excluded
    await rig.publish("A treatise on nothing")  # not the word
    assert len(rig.alerts(USER)) == before_user + 1
    assert rig.alerts(USER)[before_user].edits == []  # not folded in as "also" either


async def test_the_same_story_through_another_feed_becomes_an_also_edit(rig: Rig) -> None:
    await rig.bot.say("/watch 习近平 访问")
    title = "习近平抵达莫斯科开始国事访问 与普京举行会谈"
    await rig.publish(title, fid="a")
    await rig.publish(title, fid="b")
    [alert] = rig.alerts(USER)
    assert alert.text.endswith("also: Feed b")


async def test_list_remove_by_button_and_by_number(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch sanction*")
    await bot.say('/watch "north korea" missile')
    listing = await bot.say("/watches")
    assert "Watches here (2/3)" in listing.text
    assert "1. sanction*" in listing.text and '2. "north korea" missile' in listing.text
    data = [b["callback_data"] for b in bot.buttons(listing)]
    assert data == ["unwatch:1", "unwatch:2"]
    answer = await bot.press("unwatch:1", on=listing)
    assert answer["text"] == "Watch 1 removed: sanction*"
    await bot.wait(lambda: "sanction*" not in listing.text)
    assert await rig.publish("New sanctions on Moscow") == 0

    assert (await bot.say("/unwatch 2")).text == 'Watch 2 removed: "north korea" missile'
    assert (await bot.say("/unwatch 2")).text == "There is no watch 2 here; /watches lists them."
    assert (await bot.say("/watches")).text.startswith("This chat has no watches.")
    # Numbers are not reused while the chat has watches: a new one is 1 again only when empty.
    assert "Watch 1 saved" in (await bot.say("/watch missile")).text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "Send /watch and what to look for"),
        ("-football -soccer", "not only -exclusions"),
        (
            "@puttin treaty",
            "There is no entity @puttin in the rules. Nothing was saved. Did you mean @putin?",
        ),
        ("x" * 201, "That query is too long (201 characters; at most 200)"),
        ("a treaty", "“a” is too short to be useful"),
        ('"north korea', "A quote is not closed"),
        ("treaty OR", "OR needs a word on each side"),
        ("treaty OR -football", "an -exclusion cannot be one of them"),
    ],
)
async def test_bad_queries_are_explained_and_nothing_is_stored(
    rig: Rig, query: str, expected: str
) -> None:
    reply = await rig.bot.say(f"/watch {query}".strip())
    assert expected in reply.text
    assert rig.bot.store.watches_of(USER) == []


async def test_the_limit_per_chat(rig: Rig) -> None:
    bot = rig.bot
    for word in ("alpha", "bravo", "charlie"):
        assert "saved" in (await bot.say(f"/watch {word}")).text
    refused = await bot.say("/watch delta")
    assert "already has 3 watches, the most allowed" in refused.text
    assert [w.query for w in bot.store.watches_of(USER)] == ["alpha", "bravo", "charlie"]
    assert "saved" in (await bot.say("/watch delta", user=OTHER)).text  # per chat


async def test_an_entity_watch_fires_through_an_alias_in_the_other_script(rig: Rig) -> None:
    reply = await rig.bot.say("/watch @xi-jinping")
    assert 'any: ["@xi-jinping"]' in reply.text
    await rig.publish("習近平會見來訪外賓")  # Traditional, the alias is Simplified
    await rig.publish("Xi Jinpign meets visiting leaders")  # a typo, within one edit
    alerts = rig.alerts(USER)
    assert len(alerts) == 2
    assert "Why: 习近平 → 習近平 (@xi-jinping · title)" in alerts[0].text
    assert "Why: Xi Jinping → Xi Jinpign (@xi-jinping · title · 1 edit)" in alerts[1].text


async def test_english_phrase_words_and_boundaries(rig: Rig) -> None:
    await rig.bot.say('/watch "north korea" ICBM')
    await rig.publish("North Korea tests an ICBM", body="<p>Launch seen from Japan.</p>")
    # Too short for typo tolerance, ICBM needs its word boundaries: ICBMs is another word.
    await rig.publish("North Korea parades ICBMs", body="<p>A parade in the capital.</p>")
    await rig.publish("An ICBM test in Nevada", body="<p>No word of the peninsula.</p>")
    await rig.publish("North-Korea: ICBM launch", body="<p>Dashes are spaces.</p>")
    assert [a.text.split("\n")[2] for a in rig.alerts(USER)] == [
        "North Korea tests an ICBM",
        "North-Korea: ICBM launch",
    ]


async def test_the_mute_button_mutes_the_watch(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch Putin")
    await rig.publish("Putin speaks")
    alert = rig.alerts(USER)[-1]
    labels = [b["text"] for b in bot.buttons(alert)]
    assert labels == ["🔗 Open", "🔕 Mute watch"]  # not "Mute topic": there is no topic
    data = next(b["callback_data"] for b in bot.buttons(alert) if "Mute" in b["text"])
    answer = await bot.press(data, on=alert)
    assert answer["text"] == "🔕 👁 Putin muted for 1 day. Press again to unmute."
    assert "muted until" in (await bot.say("/watches")).text
    await rig.publish("Putin speaks again")
    assert len(rig.alerts(USER)) == 1
    bot.clock.advance(days=1, minutes=1)
    await rig.publish(
        "Putin opens a bridge in Siberia", body="<p>A new road bridge over the Ob river.</p>"
    )
    assert len(rig.alerts(USER)) == 2


async def test_in_a_group_only_its_admins_add_or_remove_watches(rig: Rig) -> None:
    bot = rig.bot
    bot.tg.chat_members[(GROUP, OTHER)] = "member"
    refused = await bot.say("/watch treaty", user=OTHER, chat=GROUP)
    assert "only the group's admins" in refused.text
    assert bot.store.watches_of(GROUP) == []
    bot.tg.chat_members[(GROUP, OTHER)] = "administrator"
    assert "Watch 1 saved" in (await bot.say("/watch treaty", user=OTHER, chat=GROUP)).text
    bot.tg.chat_members[(GROUP, USER)] = "member"
    refused = await bot.say("/unwatch 1", user=USER, chat=GROUP)
    assert "only the group's admins" in refused.text
    assert len(bot.store.watches_of(GROUP)) == 1
    await rig.publish("A new treaty")
    assert len(rig.alerts(GROUP)) == 1 and rig.alerts(USER) == []


async def test_admins_list_and_remove_every_chats_watches(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch treaty")
    await bot.say("/watch missile", user=OTHER)
    assert "for the bot's admins only" in (await bot.say("/watches all")).text
    assert "for the bot's admins only" in (await bot.say(f"/unwatch {OTHER} 1")).text
    every = await bot.say("/watches all", user=ADMIN)
    assert "Every chat's watches (2)" in every.text
    assert f"{USER} 1. treaty" in every.text and f"{OTHER} 1. missile" in every.text
    done = await bot.say(f"/unwatch {OTHER} 1", user=ADMIN)
    assert done.text == "Watch 1 removed: missile"
    assert bot.store.watches_of(OTHER) == []


async def test_help_lists_the_watch_commands(rig: Rig) -> None:
    text = (await rig.bot.say("/help")).text
    assert "/watch — a personal alert: /watch QUERY" in text
    assert "/watches" in text and "/unwatch" in text


async def test_watches_survive_a_restart(tmp_path: Path, feed_server: FeedServer) -> None:
    async with CommandBot.start(tmp_path) as first:
        await _rig(first, feed_server)
        await first.say("/watch 条约")
    async with CommandBot.start(tmp_path) as second:
        rig = await _rig(second, feed_server)
        assert "1. 条约" in (await second.say("/watches")).text
        assert rig.pipeline.watches is not None
        rig.pipeline.watches.refresh()  # what a poller does at start and on every tick
        await rig.publish("俄朝簽署條約")
        assert len(rig.alerts(USER)) == 1


async def test_preview_only_looks_back_a_week(rig: Rig) -> None:
    await rig.publish("An old treaty")
    rig.bot.clock.advance(days=8)
    reply = await rig.bot.say("/watch treaty")
    assert "In the last 7 days it would have caught nothing" in reply.text


async def test_stats_count_every_watch_as_one_series(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch treaty")
    await bot.say("/watch treaty", user=OTHER)
    await rig.publish("A treaty is signed")
    reply = await bot.say("/stats 7d", user=ADMIN)
    assert reply.text.startswith("Last 7 days: 2 alerts in 1 topics")


async def test_a_chinese_watch_alert_says_mute_in_chinese(rig: Rig) -> None:
    await rig.bot.say("/watch 条约", lang="zh")
    await rig.publish("俄朝簽署條約")
    [alert] = rig.alerts(USER)
    assert "🔕 静音此个人提醒" in [b["text"] for b in rig.bot.buttons(alert)]


async def test_mute_and_unmute_a_watch_by_its_number(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch treaty")
    await bot.say("/watch missile")
    assert "/mute watch N" in (await bot.say("/watches")).text
    done = await bot.say("/mute watch 2 2h")
    assert done.text.startswith("🔕 👁 missile muted here until")
    assert "muted until" in (await bot.say("/watches")).text.split("2. missile")[1]
    await rig.publish("A missile treaty")
    assert [a.text.split("\n")[0] for a in rig.alerts(USER)] == ["🔔 👁 treaty"]
    assert (await bot.say("/unmute watch 2")).text == "🔔 👁 missile unmuted here."
    assert (await bot.say("/unmute watch 2")).text == "👁 missile is not muted here."
    await rig.publish("Another missile test")
    assert len(rig.alerts(USER)) == 2

    # Without a duration: the same choice of buttons as for a topic.
    choose = await bot.say("/mute watch 1")
    assert choose.text == "Mute 👁 treaty here for how long?"
    answer = await bot.press(bot.buttons(choose)[0]["callback_data"], on=choose)
    assert answer["text"].startswith("🔕 👁 treaty muted here until")
    await rig.publish("A treaty is signed")
    assert len(rig.alerts(USER)) == 2

    bot.clock.advance(minutes=1)  # past the command flood limit
    assert (await bot.say("/mute watch 7 2h")).text == (
        "There is no watch 7 here; /watches lists them."
    )
    assert "/mute watch N" in (await bot.say("/mute watch")).text  # no topic "watch" either
    assert "not a duration" in (await bot.say("/mute watch 1 forever")).text


async def test_in_a_forum_each_thread_lists_and_removes_its_own_watches(rig: Rig) -> None:
    bot = rig.bot
    assert "Watch 1 saved" in (await bot.say("/watch treaty", chat=GROUP, thread=77)).text
    assert "Watch 2 saved" in (await bot.say("/watch missile", chat=GROUP, thread=88)).text
    listing = await bot.say("/watches", chat=GROUP, thread=77)
    assert listing.thread == 77
    assert "Watches in this thread (1)" in listing.text and "1. treaty" in listing.text
    assert "missile" not in listing.text
    assert "1 more in other threads of this group" in listing.text
    assert "(2/3 in all)" in listing.text
    assert [b["callback_data"] for b in bot.buttons(listing)] == ["unwatch:1"]

    # Alerts go to each watch's own thread.
    await rig.publish("A treaty and a missile")
    assert [(a.thread, a.text.split("\n")[0]) for a in rig.alerts(GROUP)] == [
        (77, "🔔 👁 treaty"),
        (88, "🔔 👁 missile"),
    ]

    # Thread 77 cannot remove or mute thread 88's watch: it is told where it lives.
    elsewhere = await bot.say("/unwatch 2", chat=GROUP, thread=77)
    assert "Watch 2 was made in another thread of this group" in elsewhere.text
    assert "another thread" in (await bot.say("/mute watch 2 1h", chat=GROUP, thread=77)).text
    assert len(bot.store.watches_of(GROUP)) == 2
    none_here = await bot.say("/watches", chat=GROUP)  # the General thread has none
    assert none_here.text.startswith("No watches in this thread; 2 in other threads")
    every = await bot.say("/watches all", user=ADMIN)
    assert f"{GROUP} 2. missile — forum thread 88" in every.text
    done = await bot.say("/unwatch 2", chat=GROUP, thread=88)
    assert done.text == "Watch 2 removed: missile"


async def test_the_same_watch_twice_is_refused_not_doubled(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch treaty OR 条约")
    # The same query in another order, case and script would send every alert twice.
    again = await bot.say("/watch 條約 OR Treaty")
    assert again.text == "Watch 1 here already looks for that (treaty OR 条约); nothing was saved."
    assert len(bot.store.watches_of(USER)) == 1
    assert "Watch 2 saved" in (await bot.say("/watch treaty -football")).text  # narrower


async def test_a_new_watch_does_not_inherit_a_removed_ones_mute(rig: Rig) -> None:
    bot = rig.bot
    await bot.say("/watch treaty")
    assert "muted here until" in (await bot.say("/mute watch 1 7d")).text
    assert "removed" in (await bot.say("/unwatch 1")).text
    # The new watch is number 1 again and may get the removed one's id (SQLite reuses the
    # highest): the old mute must not silence it.
    await bot.say("/watch missile")
    assert "muted" not in (await bot.say("/watches")).text.split("\n")[1]
    await rig.publish("A missile test")
    assert len(rig.alerts(USER)) == 1


async def test_watches_fold_into_the_topics_index_and_keep_alerting(rig: Rig) -> None:
    bot, book = rig.bot, rig.pipeline.watches
    assert book is not None
    await bot.say("/watch treaty")
    await bot.say("/watch 条约 missile", user=OTHER)
    compiled = book.matcher(rig.bot.rules.current())
    assert compiled.unfolded > 0  # matched through their own small index so far
    await rig.publish("A treaty on missiles, 条约")
    assert len(rig.alerts(USER)) == 1 and len(rig.alerts(OTHER)) == 1
    # Not due: a few patterns, and the watches changed a moment ago.
    assert not book.fold(force=False, now=float("-inf"))
    assert book.fold(force=False, now=monotonic() + FOLD_AFTER)
    folded = book.matcher(rig.bot.rules.current())
    assert folded is not compiled and folded.unfolded == 0 and len(folded) == 2
    assert not book.fold()  # nothing left to fold
    await rig.publish("Another treaty")
    await rig.publish("导弹条约")  # 条约 without "missile": not for the second watch
    assert len(rig.alerts(USER)) == 2 and len(rig.alerts(OTHER)) == 1
    # A removed watch stops at once, and its patterns go with the next fold.
    await bot.say("/unwatch 1")
    assert book.matcher(rig.bot.rules.current()).pending
    assert book.fold()
    await rig.publish("One more treaty")
    assert len(rig.alerts(USER)) == 2
    await rig.publish("新条约 missile")
    assert len(rig.alerts(OTHER)) == 2


async def test_reloaded_rules_get_the_watches_compiled_before_the_swap(rig: Rig) -> None:
    bot, book = rig.bot, rig.pipeline.watches
    assert book is not None
    await bot.say("/watch treaty")
    current = bot.rules.current()
    fresh = RuleBook.build(load_rules(bot.rules_dir))
    book.prepare(fresh)  # what the service does before it swaps the new rules in
    assert book.matcher(current).base is current.matcher  # the pollers carry on meanwhile
    await bot.say("/watch missile", user=OTHER)  # a change between the compile and the swap
    bot.rules.swap(fresh)
    compiled = book.matcher(fresh)
    assert compiled.base is fresh.matcher and len(compiled) == 2 and compiled.unfolded == 0
    await rig.publish("A missile treaty")
    assert len(rig.alerts(USER)) == 1 and len(rig.alerts(OTHER)) == 1


async def test_a_new_feeds_backlog_is_previewed_by_its_body(rig: Rig) -> None:
    """A first poll marks a new feed's backlog seen without matching it; the parser
    workers make its preview text, so a watch added later counts it by its body."""
    backlog = [
        {
            "title": f"Morning briefing {n}",
            "link": f"https://c.example/backlog/{n}",
            "guid": f"c-backlog-{n}",
            "description": f"<p>Overnight, {place} was quiet.</p><p>More at eight.</p>",
        }
        for n, place in enumerate(["the harbour of Sevastopol", "Kharkiv", "Odesa"])
    ]
    rig.server.route("/c.xml", rss_document(backlog))
    asked: list[bool] = []
    parse = rig.pipeline.parsers.parse

    async def spy(body: bytes, **kwargs: Any) -> Any:
        asked.append(bool(kwargs.get("previews")))
        return await parse(body, **kwargs)

    rig.pipeline.parsers.parse = spy  # type: ignore[method-assign]
    report = await rig.pipeline.poll_feed(rig.feed("c"), on_schedule=False)
    assert report.ok and report.alerts == 0
    await rig.publish("Evening briefing", fid="c", body="<p>Sevastopol again.</p>")
    assert asked == [True, False]  # previews asked of the first poll only
    reply = await rig.bot.say("/watch sevastopol")
    assert "In the last 7 days it would have caught 2 items:" in reply.text
    assert "• Morning briefing 0" in reply.text
