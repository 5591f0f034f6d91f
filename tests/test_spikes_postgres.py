"""Spike counts on real PostgreSQL with two pollers at once (DESIGN §9): every story counts
once, even a syndicated one arriving through both pollers in the same instant, and the
surge fires once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.delivery.kinds import SpikeAlert
from bot.feeds.fetch import Fetcher
from bot.ingest.pipeline import AlertOptions, Pipeline
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.store import Store
from bot.store.parts import body_from_json
from bot.telegram.render_spike import render_spike
from tests.fakes.feedserver import FeedServer, rss_document
from tests.spike_material import ENTITIES, trump_bodies

NOW = datetime(2026, 11, 3, 10, 40, tzinfo=UTC)
WINDOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
DESK = -100900
ROUNDS = 6


@pytest.fixture
def rules_dir(tmp_path: Path, feed_server: FeedServer) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    feeds = "".join(
        f"  - {{id: {f}, url: '{feed_server.url(f'/{f}.xml')}'}}\n"
        for f in ("warm", *(f"x{n}" for n in range(ROUNDS)), *(f"y{n}" for n in range(ROUNDS)))
    )
    spikes = (
        "spikes:\n  - id: surges\n    watch: ['@trump']\n    window: 1h\n    baseline: 1d\n"
        f"    factor: 3\n    min_items: 4\n    channels: [{DESK}, -100901]\n"
    )
    (rules / "rules.yaml").write_text(ENTITIES + spikes + "feeds:\n" + feeds, encoding="utf-8")
    return rules


@pytest.fixture
async def pollers(rules_dir: Path, postgres_url: str) -> AsyncIterator[list[Pipeline]]:
    fetcher = Fetcher(allow_private_networks=True, timeout=5)
    stores = [Store(postgres_url) for _ in range(2)]
    stores[0].migrate()
    rules = Rules(RuleBook.build(load_rules(rules_dir)))
    yield [
        Pipeline(store=s, fetcher=fetcher, rules=rules, options=AlertOptions(), clock=lambda: NOW)
        for s in stores
    ]
    await fetcher.aclose()
    for s in stores:
        s.close()


def entry(n: int, feed: str, at: datetime, body_index: int | None = None) -> dict[str, object]:
    body = trump_bodies(40)[n if body_index is None else body_index]
    return {
        "title": body.title,
        "link": f"https://{feed}.example/{n}",
        "guid": f"{feed}-{n}",
        "description": body.html,
        "pubDate": at,
    }


async def test_two_pollers_count_each_story_once_and_fire_once(
    pollers: list[Pipeline], feed_server: FeedServer, postgres_url: str
) -> None:
    a, b = pollers
    feed_server.route("/warm.xml", rss_document([entry(0, "warm", NOW - timedelta(hours=20))]))
    warm = a.rules.current().rules.feed("warm")
    assert warm is not None
    assert (await a.poll_feed(warm, on_schedule=False)).ok
    stories = 0
    for r in range(ROUNDS):
        at = WINDOW + timedelta(minutes=5 * r + 1)
        # Each round: one story of its own for each poller, and one story both carry.
        feed_server.route(
            f"/x{r}.xml",
            rss_document([entry(1 + 3 * r, f"x{r}", at), entry(3 + 3 * r, f"x{r}", at)]),
        )
        feed_server.route(
            f"/y{r}.xml",
            rss_document([entry(2 + 3 * r, f"y{r}", at), entry(3 + 3 * r, f"y{r}", at)]),
        )
        x, y = a.rules.current().rules.feed(f"x{r}"), b.rules.current().rules.feed(f"y{r}")
        assert x is not None and y is not None
        reports = await asyncio.gather(
            a.poll_feed(x, on_schedule=False), b.poll_feed(y, on_schedule=False)
        )
        assert all(rep.ok for rep in reports), [rep.error for rep in reports]
        stories += 3
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count FROM spike_counts WHERE spike_id='surges' AND window_start=:w"),
                {"w": WINDOW},
            ).scalar_one()
            fired = conn.execute(text("SELECT count(*) FROM spike_alerts")).scalar_one()
            rows = conn.execute(
                text(
                    "SELECT chat, kind, parts FROM outbox WHERE topic_id='surges' ORDER BY chat, id"
                )
            ).all()
    finally:
        engine.dispose()
    assert count == stories  # 18: the shared story of each round counted once
    assert fired == 1
    # One alert per chat, brought up to date while it waited: never a second message.
    assert sorted((chat, kind) for chat, kind, _ in rows) == [
        (str(DESK), "alert"),
        ("-100901", "alert"),
    ]
    for _, _, parts in rows:
        body = body_from_json(parts)
        assert isinstance(body, SpikeAlert)
        assert "items in the last hour" in render_spike(body, "surges").plain
