"""The composed app in-process: what happens around delivery that users notice."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.models import Destination
from bot.settings import load_settings
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram import FakeTelegram

RULES = """
entities:
  putin: {name: Putin, aliases: [普京, Putin]}
topics:
  - {id: putin, name: Putin watch, any: ["@putin"]}
"""


def story(n: int) -> dict[str, str]:
    return {"title": f"普京 {n}", "link": f"https://x.example/{n}", "description": "普京"}


def make_app(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram, topics: str = RULES
) -> App:
    """An app on a temporary rules folder (one feed, /f.xml) and database; admin id 1."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "t.yaml").write_text(
        topics + f"feeds:\n  - {{id: f, url: '{feed_server.url('/f.xml')}'}}\n", encoding="utf-8"
    )
    settings = load_settings(
        rules_dir=rules,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        telegram_token=telegram.token,
        telegram_api_url=telegram.url,
        admin_ids="1",
        allow_private_networks=True,
    )
    return App(settings)


async def test_a_chat_that_blocks_the_bot_is_unsubscribed_and_admins_hear_once(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    route = feed_server.route("/f.xml", rss_document([story(1)]))
    app = make_app(tmp_path, feed_server, telegram)
    reader, other = Destination(777), Destination(888)
    try:
        app.store.subscribe(reader, "putin")
        app.store.subscribe(other, "putin")
        await app.once()  # first poll: marks the item seen (backfill 0)
        telegram.block(777)
        for n in (2, 3):
            route.body = rss_document([story(n), story(n - 1)])
            await app.once()
    finally:
        await app.aclose()
    assert app.store.subscribers("putin") == [other]
    assert len(telegram.texts(888)) == 2
    assert telegram.texts(777) == []
    notices = telegram.texts(1)
    assert len(notices) == 1 and "777" in notices[0]


async def test_a_migrated_group_is_followed_and_admins_are_told_once(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    route = feed_server.route("/f.xml", rss_document([story(1)]))
    topics = RULES.replace('any: ["@putin"]}', 'any: ["@putin"], channels: [-555]}')
    assert topics != RULES
    app = make_app(tmp_path, feed_server, telegram, topics)
    try:
        await app.once()
        telegram.migrate(-555, -100555)
        for n in (2, 3):
            route.body = rss_document([story(n), story(n - 1)])
            await app.once()
    finally:
        await app.aclose()
    assert len(telegram.texts(-100555)) == 2
    notices = telegram.texts(1)
    assert len(notices) == 1 and "-555" in notices[0] and "-100555" in notices[0]


async def test_a_chat_named_in_the_rules_that_blocks_the_bot_gets_nothing_more(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    """Measured before: such a chat answered 403 and was sent to 8 more times, across a
    restart. Now it is remembered as gone until an admin resumes it."""
    route = feed_server.route("/f.xml", rss_document([story(1)]))
    topics = RULES.replace('any: ["@putin"]}', 'any: ["@putin"], channels: [777, 888]}')
    app = make_app(tmp_path, feed_server, telegram, topics)
    try:
        await app.once()
        telegram.block(777)
        for n in (2, 3):
            route.body = rss_document([story(n), story(n - 1)])
            await app.once()
    finally:
        await app.aclose()
    restarted = App(app.settings)  # the same database and rules, as after a restart
    try:
        route.body = rss_document([story(4), story(3)])
        await restarted.once()
        assert [c for c, _, _ in restarted.store.gone_chats()] == [777]
        assert restarted.store.resume_chat(777), "an admin's /resumechat"
        telegram.clear_faults()
        route.body = rss_document([story(5), story(4)])
        await restarted.once()
    finally:
        await restarted.aclose()
    assert len(telegram.calls_to(777)) == 2, "the refused send, then only after /resumechat"
    assert len(telegram.texts(777)) == 1
    assert len(telegram.texts(888)) == 4
    notices = telegram.texts(1)
    assert len(notices) == 1 and "777" in notices[0], "admins hear once"
