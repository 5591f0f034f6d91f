"""Admin commands through the fake Bot API: reports, rule-file edits, dry runs, the chart."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

import bot.service.follow as follow_module
from bot.config.settings import load_settings
from bot.control import Control, Deps
from bot.delivery.kinds import Rendered
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.service.app import App
from bot.telegram.updates import run_updates
from tests.fakes.commands_harness import ADMIN, USER, CommandBot, write_rules
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram_updates import UpdatesTelegram, message_update

ADMIN_COMMANDS = ["status", "feeds", "addfeed", "removefeed", "pausefeed", "resumefeed"]
ADMIN_COMMANDS += ["rules", "reload", "test", "stats"]


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with CommandBot.start(tmp_path) as running:
        yield running


@pytest.fixture
def feeds():  # type: ignore[no-untyped-def]
    with FeedServer() as server:
        yield server


@pytest.mark.parametrize("name", ADMIN_COMMANDS)
async def test_non_admins_are_refused_politely_and_the_attempt_is_logged(
    bot: CommandBot, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.control.core")
    reply = await bot.say(f"/{name} x", user=USER, lang="zh")
    assert reply.text == f"抱歉,/{name} 仅限机器人管理员使用。"
    [record] = [r for r in caplog.records if r.message == "admin_command_refused"]
    assert (record.user_id, record.command) == (USER, name)  # type: ignore[attr-defined]


async def test_status_reports_health_counts_and_the_worst_feeds(bot: CommandBot) -> None:
    now = bot.clock()
    bot.store.save_feed_state(FeedState("alpha", last_poll=now, last_success=now))
    failing = FeedState("beta", last_poll=now - timedelta(minutes=5), consecutive_errors=4)
    failing.last_error = "fetch: HTTP 503 <b>Service Unavailable</b>"
    bot.store.save_feed_state(failing)
    item = Item("alpha", "k1", "Putin", "https://a/1", "")
    message = Message("x", "x")
    alert = Alert("alpha", "k1", "russia-dprk", Destination(USER), Rendered(message), now)
    bot.store.record_poll(FeedState("alpha", last_poll=now, last_success=now), [item], now, [alert])
    [entry] = bot.store.due(now)
    bot.store.mark_sent(entry.id, 1, now)
    reply = await bot.say("/status", user=ADMIN)
    text = reply.text
    assert "Up 3h 00m" in text
    assert f"Rules: version {bot.rules.current().version} (as loaded at start)" in text
    assert "Feeds: 1 ok · 1 failing · 0 paused · 0 not polled yet" in text
    assert "Alerts sent: 1 last hour · 1 last day" in text
    assert "Outbox: 0 queued" in text
    assert "Last poll: 2024-06-28 16:00 CST" in text
    assert "beta (4×) fetch: HTTP 503 <b>Service Unavailable</b>" in text  # escaped, shown


async def test_status_shows_when_held_digest_items_go_out(bot: CommandBot) -> None:
    now = bot.clock()
    assert "Digests:" not in (await bot.say("/status", user=ADMIN)).text
    slot = now + timedelta(hours=2)
    held = Alert(
        "alpha",
        "k2",
        "russia-dprk",
        Destination(USER),
        Rendered(Message("x", "x")),
        now,
        deliver_at=slot,
    )
    bot.store.enqueue([held])
    text = (await bot.say("/status", user=ADMIN)).text
    assert "Digests: 1 item held, next goes out 2024-06-28 18:00 CST" in text


async def test_feeds_lists_every_feed_with_its_state(bot: CommandBot) -> None:
    text = (await bot.say("/feeds", user=ADMIN)).text
    assert "🆕 alpha Alpha News · every default interval" in text
    assert "beta beta · every 10m" in text


async def test_addfeed_fetches_first_and_edits_the_rules_file_with_comments_intact(
    bot: CommandBot, feeds: FeedServer
) -> None:
    feeds.route("/world.xml", rss_document([{"title": "A", "link": "https://x/a"}], title="World"))
    url = feeds.url("/world.xml")
    reply = await bot.say(f"/addfeed {url} world 15m", user=ADMIN)
    assert reply.text.startswith("Added feed world (World, 1 items now) to feeds.yaml.")
    text = (bot.rules_dir / "feeds.yaml").read_text(encoding="utf-8")
    assert "# Keep this comment: editing commands must not lose it." in text
    assert "url: https://alpha.example/feed.xml  # Alpha's own feed" in text
    assert text.endswith(f"\n\n  - id: world\n    url: {url}\n    name: World\n    interval: 15m\n")
    assert await bot.reload() is None
    assert bot.rules.current().rules.feed("world") is not None


async def test_addfeed_refuses_a_page_that_is_not_a_feed_and_says_why(
    bot: CommandBot, feeds: FeedServer
) -> None:
    page = b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>"
    feeds.route("/home", page, content_type="text/html")
    before = (bot.rules_dir / "feeds.yaml").read_bytes()
    reply = await bot.say(f"/addfeed {feeds.url('/home')}", user=ADMIN)
    assert "is not a usable feed: not a feed: got an HTML page" in reply.text
    assert (await bot.say("/addfeed ftp://x/y", user=ADMIN)).text.startswith("Not a feed URL")
    assert (await bot.say("/addfeed", user=ADMIN)).text.startswith("Usage: /addfeed URL")
    assert (bot.rules_dir / "feeds.yaml").read_bytes() == before


async def test_addfeed_refuses_an_edit_that_would_make_the_rules_invalid(
    bot: CommandBot, feeds: FeedServer
) -> None:
    feeds.route("/f.xml", rss_document([{"title": "A", "link": "https://x/a"}]))
    reply = await bot.say(f"/addfeed {feeds.url('/f.xml')} fast 5s", user=ADMIN)
    assert "Not added: fast" in reply.text and "bad interval '5s'" in reply.text
    taken = await bot.say(f"/addfeed {feeds.url('/f.xml')} alpha", user=ADMIN)
    assert "a feed with id 'alpha' already exists" in taken.text


async def test_remove_pause_and_resume_edit_the_file(bot: CommandBot) -> None:
    path = bot.rules_dir / "feeds.yaml"
    assert "Paused feed beta in feeds.yaml." in (await bot.say("/pausefeed beta", user=ADMIN)).text
    assert (
        "  - id: beta\n    url: https://beta.example/rss\n    enabled: false\n" in path.read_text()
    )
    await bot.reload()
    assert "⏸ beta" in (await bot.say("/feeds", user=ADMIN)).text
    await bot.say("/resumefeed beta", user=ADMIN)
    assert "enabled" not in path.read_text()
    reply = await bot.say("/removefeed alpha", user=ADMIN)
    assert reply.text.startswith("Removed feed alpha in feeds.yaml.")
    text = path.read_text()
    assert "id: alpha" not in text and "Alpha is the first feed" not in text
    assert "# Keep this comment: editing commands must not lose it." in text
    unknown = await bot.say("/removefeed bta", user=ADMIN)
    assert unknown.text == "No feed bta in the rules. Did you mean: beta?\nSee /feeds."


async def test_rules_and_reload_show_the_state_of_the_last_reload(bot: CommandBot) -> None:
    text = (await bot.say("/rules", user=ADMIN)).text
    assert "Rules: 3 topics, 2 feeds" in text
    assert "to: @kp_watch" in text and "feeds: all feeds · delivery: instant" in text
    ok = await bot.say("/reload", user=ADMIN)
    assert ok.text == f"Rules reloaded: version {bot.rules.current().version} · 3 topics, 2 feeds"
    (bot.rules_dir / "broken.yaml").write_text("topics:\n  - id: Bad Id\n", encoding="utf-8")
    failed = await bot.say("/reload", user=ADMIN)
    assert failed.text.startswith("Reload failed: the last good rules stay in use.")
    assert "broken.yaml:2: error: bad topic id 'Bad Id'" in failed.text
    rules = (await bot.say("/rules", user=ADMIN)).text
    assert "FAILED" in rules and "broken.yaml:2" in rules


async def test_test_shows_the_topics_that_would_fire_with_highlighted_hits(
    bot: CommandBot,
) -> None:
    reply = await bot.say("/test Putin and Kim Jong Un sign a military treaty", user=ADMIN)
    assert "1 topic match(es)" in reply.text
    assert "▶ 俄朝关系 · Russia–North Korea russia-dprk" in reply.text
    assert "<b>Putin</b>" in reply.source and "<b>Kim Jong Un</b>" in reply.source
    none = await bot.say("/test the weather is fine", user=ADMIN)
    assert "no topic fires" in none.text


async def test_test_reads_a_feed_or_an_article_by_url(bot: CommandBot, feeds: FeedServer) -> None:
    items = [
        {"title": "台湾 军演 today", "link": "https://x/1"},
        {"title": "quiet", "link": "https://x/2"},
    ]
    feeds.route("/feed.xml", rss_document(items, title="Drills"))
    reply = await bot.say(f"/test {feeds.url('/feed.xml')}", user=ADMIN)
    assert "feed Drills · 2 item(s) · 1 topic match(es)" in reply.text
    assert "<b>台湾</b>" in reply.source
    page = b"<html><head><title>OpenAI news</title></head><body><p>OpenAI ships.</p></body></html>"
    feeds.route("/article", page, content_type="text/html")
    article = await bot.say(f"/test {feeds.url('/article')}", user=ADMIN)
    assert "article · 1 item(s) · 1 topic match(es)" in article.text and "tech-ai" in article.text


async def test_stats_sends_a_png_chart(bot: CommandBot) -> None:
    now = bot.clock()
    items = [Item("alpha", f"k{n}", "t", "https://a", "") for n in range(3)]
    bot.store.record_poll(FeedState("alpha"), items, now - timedelta(days=1), [])
    reply = await bot.say("/stats 7d", user=ADMIN)
    assert reply.method == "sendPhoto"
    assert reply.text == "Last 7 days: 0 alerts in 0 topics, 3 items from 1 feeds"
    [png] = bot.tg.photos
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width == 960
    assert (await bot.say("/stats forever", user=ADMIN)).text.startswith("Usage: /stats")


async def test_admin_commands_in_the_watchers_hands(
    tmp_path: Path, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/addfeed and /removefeed through a real App: its rules watcher picks the change up."""
    rules_dir = write_rules(tmp_path / "rules")
    settings = load_settings(
        rules_dir=rules_dir,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        allow_private_networks=True,
        admin_ids="1001",
    )
    app = App(settings)
    stop = asyncio.Event()
    reloaded = asyncio.Queue[object]()
    original = app.follower.reload

    async def reload_and_tell() -> object:
        result = await original()
        reloaded.put_nowait(result)
        return result

    app.follower.reload = reload_and_tell  # type: ignore[method-assign,assignment]
    feeds.route("/w.xml", rss_document([{"title": "A", "link": "https://x/a"}], title="W"))
    control = Control(
        Deps(
            store=app.store,
            admin_ids=frozenset(settings.admin_ids),
            rules=app.rules,
            reload=app.reload_rules,
            rules_dir=rules_dir,
            fetcher=app.fetcher,
        )
    )
    monkeypatch.setattr(follow_module, "RULES_POLL_SECONDS", 0.05)
    with UpdatesTelegram() as tg:
        tasks = [
            asyncio.create_task(run_updates(tg.token, tg.url, control, stop)),
            asyncio.create_task(app.follower.watch(stop)),
        ]
        try:
            tg.push_update(message_update(f"/addfeed {feeds.url('/w.xml')} w", user=ADMIN))
            assert await asyncio.to_thread(tg.wait_for, 1, ADMIN, 10)
            assert await asyncio.wait_for(reloaded.get(), 10) is None  # the watcher's reload
            assert app.rules.current().rules.feed("w") is not None
            tg.push_update(message_update("/removefeed w", user=ADMIN))
            assert await asyncio.to_thread(tg.wait_for, 2, ADMIN, 10)
            assert await asyncio.wait_for(reloaded.get(), 10) is None
            assert app.rules.current().rules.feed("w") is None
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            await app.aclose()
