"""The composed app in-process: what happens around delivery that users notice."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import Role, load_settings
from bot.errors import StoreError
from bot.metrics import Metrics
from bot.models import Destination
from bot.service.app import App
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram import FakeTelegram
from tests.test_metrics import http
from tests.test_service import free_port

RULES = """
entities:
  putin: {name: Putin, aliases: [普京, Putin]}
topics:
  - {id: putin, name: Putin watch, any: ["@putin"]}
"""


def story(n: int) -> dict[str, str]:
    return {"title": f"普京 {n}", "link": f"https://x.example/{n}", "description": "普京"}


def make_app(
    tmp_path: Path,
    feed_server: FeedServer,
    telegram: FakeTelegram,
    topics: str = RULES,
    *,
    roles: tuple[Role, ...] | None = None,
    **options: Any,
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
        **options,
    )
    return App(settings, roles=roles)


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


async def test_a_database_deleted_under_the_running_service_is_reported_until_it_is_back(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    feed_server.route("/f.xml", rss_document([story(1)]))
    port = free_port()
    app = make_app(
        tmp_path, feed_server, telegram, roles=("poller", "sender"),
        backfill=1, metrics_addr=f"127.0.0.1:{port}",
    )  # fmt: skip
    assert isinstance(app.metrics, Metrics)
    app.store.subscribe(Destination(777), "putin")
    db, kept = tmp_path / "db.sqlite", tmp_path / "kept.sqlite"
    stop = asyncio.Event()
    service = asyncio.create_task(app.run(stop))
    try:
        assert await asyncio.to_thread(telegram.wait_for, 1, 777, 30)  # up and sending
        assert (await http(port, "/healthz")).status == 200

        os.link(db, kept)
        db.unlink()  # deleted while the service runs
        assert await asyncio.to_thread(telegram.wait_for, 1, 1, 30)
        health = await http(port, "/healthz")
        assert health.status == 503
        body = health.json()
        assert body["status"] == "down" and body["down"] == ["store"]
        error = body["checks"]["store"]["error"]  # type: ignore[index]
        assert f"the database file {db} was deleted or replaced" in error
        for _ in range(3):  # it goes on failing: admins are not told again
            with pytest.raises(StoreError):
                await app.db(app.store.outbox_depth)

        os.link(kept, db)  # the same file is back
        await app.db(app.store.outbox_depth)  # a transaction works again
        assert (await http(port, "/healthz")).status == 200
    finally:
        stop.set()
        await service
        await app.aclose()
    [notice] = telegram.texts(1)
    assert notice.startswith("mediabot cannot use its database: the database file")
    assert "restart to recreate it — queued alerts in the old file are lost" in notice
