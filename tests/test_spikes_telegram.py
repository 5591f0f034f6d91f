"""The spike alert as a chat shows it, /trends for everyone, the mute button, retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.delivery.audience import alert_destinations
from bot.models import Item
from bot.rules.model import Term, Watched
from bot.spikes.detect import Detector
from bot.spikes.ledger import Ledger
from bot.spikes.model import Story
from bot.spikes.surges import sighting
from bot.store import Store
from bot.telegram.render import utf16_len
from bot.telegram.render_spike import headline, render_spike, spike_alert
from tests.fakes.commands_harness import CommandBot
from tests.spike_material import ENTITIES, trump_bodies

PUTIN = Watched(
    "putin",
    "Vladimir Putin",
    tuple(Term(a, entity="putin") for a in ("普京", "Vladimir Putin", "Putin")),
    "putin",
)
START = datetime(2024, 6, 28, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def story(n: int, source: str, title: str | None = None, link: str | None = None) -> Story:
    return Story(
        feed_id=source.lower(),
        item_key=f"k{n}",
        at=START + timedelta(minutes=n),
        title=title or f"Story {n}",
        link=link if link is not None else f"https://news.example/{n}",
        source=source,
    )


def render(stories: Sequence[Story], count: int = 12, mean: float = 0.3) -> tuple[str, str]:
    body = spike_alert(
        spike_name="Surges in coverage",
        watched=PUTIN,
        window=3600.0,
        window_start=START,
        window_end=START + timedelta(hours=1),
        count=count,
        mean=mean,
        stories=stories,
        tz=ZoneInfo("Asia/Shanghai"),
    )
    message = render_spike(body, "surges")
    assert message.buttons[-1][0].callback_data == "mute:surges"
    return message.text, message.plain


def test_the_alert_reads_as_the_design_writes_it() -> None:
    stories = [story(n, s) for n, s in enumerate(["VOA", "BBC", "VOA", "RFI", "BBC", "VOA"])]
    text, plain = render(stories)
    lines = plain.split("\n")
    assert lines[0] == "📈 普京 · Vladimir Putin: 12 items in the last hour (usual 0.3)"
    assert lines[1] == "Surges in coverage · 2024-06-28 09:00–10:00 CST"
    assert lines[2] == "Top sources: VOA (3), BBC (2), RFI (1)"
    # Up to three titles, newest first, each linked.
    assert lines[3:6] == ["• Story 5 — VOA", "• Story 4 — BBC", "• Story 3 — RFI"]
    assert lines[6] == "#surges"
    assert '<a href="https://news.example/5">Story 5</a>' in text
    assert text.startswith("📈 <b>普京 · Vladimir Putin</b>: 12 items")


def test_hostile_titles_are_escaped_and_the_message_fits() -> None:
    hostile = 'R&D <b>Q3</b> "results" ' + "长" * 5000
    stories = [story(n, "<i>Feed</i>", hostile, "javascript:alert(1)") for n in range(5)]
    text, plain = render(stories)
    assert "<b>Q3</b>" not in text and "R&amp;D &lt;b&gt;Q3&lt;/b&gt;" in text
    assert "javascript:" not in text  # an unsafe link is shown as text, never an href
    assert "&lt;i&gt;Feed&lt;/i&gt;" in text
    assert utf16_len(plain) <= 4096


def test_headline_wording() -> None:
    assert headline(PUTIN, 1800, 1, 0.0) == (
        "普京 · Vladimir Putin: 1 item in the last 30 minutes (usual 0)"
    )
    term = Watched("俄朝", "俄朝", (Term("俄朝"),))
    assert headline(term, 86400, 40, 12.4) == "俄朝: 40 items in the last day (usual 12)"
    assert headline(term, 7200, 5, 0.02) == "俄朝: 5 items in the last 2 hours (usual <0.1)"
    same = Watched("x", "Putin", (Term("Putin", entity="x"),), "x")
    assert headline(same, 3600, 5, 1.25).startswith("Putin: 5 items")


SPIKES = """
spikes:
  - id: surges
    name: Surges in coverage
    watch: ["@trump", "@putin"]
    window: 1h
    baseline: 1d
    channels: [-100900]
"""


def count_items(bot: CommandBot, items: Sequence[Item]) -> None:
    """Count items into the store as polls at their own times do."""
    watch = bot.rules.current().spikes
    assert watch
    for it in items:
        assert it.published is not None
        seen = sighting(watch, it, watch.prepare(it), source=it.feed_id, first_seen=it.published)
        assert seen is not None

        def count(ledger: Ledger, batch=(seen,), at=it.published) -> list[object]:  # type: ignore[no-untyped-def]
            Detector(watch).observe(batch, ledger, at)
            return []

        bot.store.count_spikes(count)  # type: ignore[arg-type]


async def test_trends_lists_the_largest_rises_for_everyone(tmp_path: Path) -> None:
    bodies = trump_bodies(12)
    async with CommandBot.start(tmp_path) as bot:
        quiet = await bot.say("/trends")
        assert "No spikes are set up" in quiet.text
        (bot.rules_dir / "spikes.yaml").write_text(ENTITIES + SPIKES, encoding="utf-8")
        assert await bot.reload() is None
        bot.clock.now = now = datetime(2024, 6, 28, 8, 40, tzinfo=UTC)
        # Trump: one item five hours ago, then seven this hour.
        items = [
            Item(
                "wire",
                "k0",
                bodies[0].title,
                "https://w/0",
                bodies[0].html,
                now - timedelta(hours=5),
            )
        ]
        items += [
            Item(
                "wire",
                f"k{n}",
                bodies[n].title,
                f"https://w/{n}",
                bodies[n].html,
                now - timedelta(minutes=30 - n),
            )
            for n in range(1, 8)
        ]
        count_items(bot, items)
        reply = await bot.say("/trends")
        assert "📈 Surges in coverage: each hour against the day before" in reply.text
        assert "This hour:\n  特朗普 · Donald Trump: 7 (usual <0.1)" in reply.text
        assert "The last day:\n  特朗普 · Donald Trump: 8 (usual 1)" in reply.text
        assert "Putin" not in reply.text  # counted nowhere: no rise to show
        chinese = await bot.say("/trends", lang="zh")
        assert "当前窗口(1h):\n  特朗普 · Donald Trump:7(通常 <0.1)" in chinese.text


async def test_the_mute_button_of_a_spike_alert_mutes_the_spike(tmp_path: Path) -> None:
    async with CommandBot.start(tmp_path) as bot:
        (bot.rules_dir / "spikes.yaml").write_text(ENTITIES + SPIKES, encoding="utf-8")
        assert await bot.reload() is None
        anchor = await bot.say("/help")
        answer = await bot.press("mute:surges", on=anchor)
        assert answer is not None
        muted = bot.store.muted("surges", bot.clock.now)
        assert [d.chat for d in muted] == [bot.USER]
        assert "Surges in coverage" in (await bot.say("/unmute surges")).text
        assert bot.store.muted("surges", bot.clock.now) == set()


def test_retention_drops_old_counts_and_stories(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'r.db'}") as store:
        store.migrate()
        from bot.rules.load import load_rules
        from bot.spikes.watch import compile_watch

        rules = tmp_path / "rules"
        rules.mkdir()
        (rules / "r.yaml").write_text(ENTITIES + SPIKES, encoding="utf-8")
        watch = compile_watch(load_rules(rules).rules)
        bodies = trump_bodies(3)
        now = datetime(2026, 11, 3, 12, tzinfo=UTC)
        ages = [timedelta(days=100), timedelta(days=10), timedelta(hours=1)]
        for n, age in enumerate(ages):
            it = Item("wire", f"k{n}", bodies[n].title, f"https://w/{n}", bodies[n].html, now - age)
            seen = sighting(watch, it, watch.prepare(it), source="wire", first_seen=now - age)
            assert seen is not None

            def count(ledger: Ledger, batch=(seen,)) -> list[object]:  # type: ignore[no-untyped-def]
                Detector(watch).observe(batch, ledger, None)
                return []

            store.count_spikes(count)  # type: ignore[arg-type]
        pruned = store.prune(now, seen_days=0, outbox_days=0)
        # The 100-day-old count and story, and the 10-day-old story, went (a story is its
        # row and the row of each window it counts in); the counts of ten days and an hour
        # ago stay (within the 30-day baseline asked about).
        assert pruned.spikes == 5
        trends = store.spike_trends("surges", 3600.0, 30 * 86400.0, now)
        assert [(t.key, t.window_count, t.baseline_total) for t in trends] == [("trump", 0, 2)]


async def test_a_chat_subscribes_to_a_spike_as_to_a_topic(tmp_path: Path) -> None:
    async with CommandBot.start(tmp_path) as bot:
        (bot.rules_dir / "spikes.yaml").write_text(ENTITIES + SPIKES, encoding="utf-8")
        assert await bot.reload() is None
        # /trends says how, with a button.
        offer = await bot.say("/trends")
        assert "Alerts on these surges in this chat: /subscribe surges" in offer.text
        [button] = bot.buttons(offer)
        assert button["text"] == "➕ Surges in coverage"
        answer = await bot.press(button["callback_data"], on=offer)
        assert "Subscribed to Surges in coverage." in answer["text"]
        assert [d.chat for d in bot.store.subscribers("surges")] == [bot.USER]
        again = await bot.say("/trends")
        assert "This chat gets alerts on these surges (/unsubscribe surges" in again.text
        assert bot.buttons(again) == []
        assert (
            "Already subscribed to Surges in coverage." in (await bot.say("/subscribe surges")).text
        )
        mine = await bot.say("/mysubs")
        assert "Surges in coverage" in mine.text and "dormant" not in mine.text
        # The admin's /rules lists the spike with its audience next to the topics.
        rules = await bot.say("/rules", user=bot.ADMIN)
        assert "📈 Surges in coverage surges" in rules.text
        assert "watches: 2: 特朗普 · Donald Trump, 普京 · Vladimir Putin" in rules.text
        assert "each 1h against the 1d before · ×3, at least 5 items" in rules.text
        assert "to: -100900, 1 subscriber chat(s)" in rules.text
        # A typo is answered with the spike among the suggestions.
        typo = await bot.say("/subscribe surge")
        assert "There is no topic or spike surge." in typo.text and "surges" in typo.text
        assert "Unsubscribed" in (await bot.say("/unsubscribe surges")).text
        assert bot.store.subscribers("surges") == []


async def test_subscribers_of_a_spike_get_its_alerts(tmp_path: Path) -> None:
    async with CommandBot.start(tmp_path) as bot:
        (bot.rules_dir / "spikes.yaml").write_text(ENTITIES + SPIKES, encoding="utf-8")
        assert await bot.reload() is None
        assert "Subscribed" in (await bot.say("/subscribe surges")).text
        spike = bot.rules.current().rules.spike("surges")
        assert spike is not None
        chats = alert_destinations(bot.store, "surges", spike.channels, bot.clock.now)
        assert sorted(str(d.chat) for d in chats) == sorted(["-100900", str(bot.USER)])
