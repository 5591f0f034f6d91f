"""Spike alerts in the service: polls count real items in the store, a surge goes through
the outbox to the fake Bot API once, a growing surge edits its message, a restart in the
middle of the window sends nothing twice, and the mute button silences the spike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.delivery.sender import Sender
from bot.feeds.fetch import Fetcher
from bot.ingest.pipeline import AlertOptions, Pipeline
from bot.models import Destination
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.spikes.surges import SPIKE_FEED
from bot.store import Store
from bot.telegram.render import render
from bot.telegram.send import TelegramSink
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.outbox import FakeTime
from tests.fakes.telegram import FakeTelegram
from tests.spike_material import ENTITIES, Body, trump_bodies

NOW = datetime(2026, 11, 3, 10, 40, tzinfo=UTC)
WINDOW = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
DESK = -100900
FEEDS = "abcdefg"

SPIKES = f"""
spikes:
  - id: surges
    name: Surges in coverage
    watch: ["@trump"]
    window: 1h
    baseline: 1d
    factor: 3
    min_items: 5
    channels: [{DESK}]
"""


def entry(body: Body, n: int, at: datetime, feed: str) -> dict[str, object]:
    return {
        "title": body.title,
        "link": f"https://{feed}.example/{n}",
        "guid": f"{feed}-{n}",
        "description": body.html,
        "pubDate": at,
    }


@pytest.fixture
def rules_dir(tmp_path: Path, feed_server: FeedServer) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    feeds = "".join(
        f"  - {{id: {f}, url: '{feed_server.url(f'/{f}.xml')}', name: Outlet {f.upper()}}}\n"
        for f in FEEDS
    )
    (rules / "rules.yaml").write_text(ENTITIES + SPIKES + "feeds:\n" + feeds, encoding="utf-8")
    return rules


Make = Callable[[], Pipeline]


@pytest.fixture
async def make(rules_dir: Path, tmp_path: Path) -> AsyncIterator[Make]:
    """A pipeline on the store file; each call is a process (re)started on it."""
    fetcher = Fetcher(allow_private_networks=True, timeout=5)
    stores: list[Store] = []

    def build() -> Pipeline:
        for old in stores:
            old.close()
        store = Store(f"sqlite:///{tmp_path / 'state.db'}")
        store.migrate()
        stores.append(store)
        return Pipeline(
            store=store,
            fetcher=fetcher,
            rules=Rules(RuleBook.build(load_rules(rules_dir))),
            options=AlertOptions(),
            clock=lambda: NOW,
        )

    yield build
    await fetcher.aclose()
    for store in stores:
        store.close()


async def poll(
    pipeline: Pipeline, feed_server: FeedServer, feed: str, items: Sequence[dict[str, object]]
) -> None:
    feed_server.route(f"/{feed}.xml", rss_document(items, title=f"Outlet {feed}"))
    rule = pipeline.rules.current().rules.feed(feed)
    assert rule is not None
    report = await pipeline.poll_feed(rule, on_schedule=False)
    assert report.ok, report.error


def spike_rows(store: Store) -> list[tuple[str, str, str]]:
    queued = store.due(NOW + timedelta(days=1), limit=1000)
    sent = store.sent_alerts()
    return [
        (e.alert.kind, e.status, render(e.alert).plain)
        for e in sorted(queued + sent, key=lambda e: e.id)
        if e.alert.topic_id == "surges"
    ]


async def test_a_surge_alerts_once_grows_by_edits_and_survives_a_restart(
    make: Make, feed_server: FeedServer, tg: FakeTelegram, sink: TelegramSink
) -> None:
    bodies = trump_bodies(12)
    at = [WINDOW + timedelta(minutes=3 * n) for n in range(12)]
    pipeline = make()
    # Yesterday's item (a backlog) and two of this hour: counted, nothing fires.
    await poll(
        pipeline,
        feed_server,
        "a",
        [
            entry(bodies[0], 0, NOW - timedelta(hours=22), "a"),
            entry(bodies[1], 1, at[1], "a"),
            entry(bodies[2], 2, at[2], "a"),
        ],
    )
    assert spike_rows(pipeline.store) == []
    # Three more this hour, from another outlet: five, against a usual of 1/24 an hour.
    await poll(pipeline, feed_server, "b", [entry(bodies[n], n, at[n], "b") for n in (3, 4, 5)])
    rows = spike_rows(pipeline.store)
    assert len(rows) == 1
    kind, status, text = rows[0]
    assert (kind, status) == ("alert", "queued")
    assert text.startswith("📈 特朗普 · Donald Trump: 5 items in the last hour (usual <0.1)\n")
    assert "Top sources: Outlet B (3), Outlet A (2)" in text
    assert bodies[5].title[:20] in text  # the newest title is listed

    # The process restarts in the middle of the window; the story of item 1 comes again
    # through another outlet (a near-duplicate: no new count), and one new item: six.
    pipeline = make()
    await poll(
        pipeline,
        feed_server,
        "c",
        [
            entry(bodies[1], 101, at[6], "c"),
            entry(bodies[6], 6, at[6], "c"),
        ],
    )
    assert [r[2].split("\n")[0] for r in spike_rows(pipeline.store)] == [
        "📈 特朗普 · Donald Trump: 5 items in the last hour (usual <0.1)"
    ]  # six is not a quarter more than five: the alert stays as it is
    await poll(pipeline, feed_server, "d", [entry(bodies[7], 7, at[7], "d")])
    rows = spike_rows(pipeline.store)
    assert len(rows) == 1  # still one alert: rewritten while it waits, never a second
    assert rows[0][2].startswith("📈 特朗普 · Donald Trump: 7 items in the last hour")

    # It goes out; then the count grows again, and the sent message is edited.
    time = FakeTime(NOW)
    sender = Sender(pipeline.store, sink, clock=time.clock, sleep=time.sleep)
    assert await sender.drain() == 1
    assert len(tg.messages(DESK)) == 1
    await poll(pipeline, feed_server, "e", [entry(bodies[n], n, at[n], "e") for n in (8, 9)])
    rows = spike_rows(pipeline.store)
    assert [(k, s) for k, s, _ in rows] == [("alert", "sent"), ("edit", "queued")]
    assert await sender.drain() == 1
    (message,) = tg.messages(DESK)
    assert message.text.startswith("📈 特朗普 · Donald Trump: 9 items in the last hour")
    assert len(message.edits) == 1

    # Another restart, and the same items polled again: nothing counts twice, nothing is
    # sent again.
    pipeline = make()
    feed_server.route("/e.xml", rss_document([entry(bodies[n], n, at[n], "e") for n in (8, 9)]))
    await poll(pipeline, feed_server, "f", [entry(bodies[n], n, at[n], "e") for n in (8, 9)])
    sender = Sender(pipeline.store, sink, clock=time.clock, sleep=time.sleep)
    assert await sender.drain() == 0
    assert len(tg.messages(DESK)) == 1


async def test_a_muted_spike_sends_nothing_to_that_chat(
    make: Make, feed_server: FeedServer
) -> None:
    bodies = trump_bodies(6)
    pipeline = make()
    pipeline.store.mute(Destination(DESK), "surges", NOW + timedelta(days=1))
    await poll(pipeline, feed_server, "a", [entry(bodies[0], 0, NOW - timedelta(hours=5), "a")])
    at = [WINDOW + timedelta(minutes=n) for n in range(6)]
    await poll(pipeline, feed_server, "b", [entry(bodies[n], n, at[n], "b") for n in range(1, 6)])
    assert spike_rows(pipeline.store) == []
    rows = [e for e in pipeline.store.due(NOW) if e.alert.feed_id == SPIKE_FEED]
    assert rows == []


async def test_spikes_added_to_the_rules_count_from_the_next_poll(
    make: Make, feed_server: FeedServer, rules_dir: Path
) -> None:
    bodies = trump_bodies(7)
    rules_file = rules_dir / "rules.yaml"
    with_spikes = rules_file.read_text(encoding="utf-8")
    rules_file.write_text(with_spikes.replace(SPIKES, ""), encoding="utf-8")
    pipeline = make()
    assert not pipeline.rules.current().spikes
    at = [WINDOW + timedelta(minutes=n) for n in range(7)]
    await poll(pipeline, feed_server, "a", [entry(bodies[n], n, at[n], "a") for n in range(3)])
    # The rules change while the service runs: the reload swaps the book, as App does.
    rules_file.write_text(with_spikes, encoding="utf-8")
    pipeline.rules.swap(RuleBook.build(load_rules(rules_dir)))
    await poll(pipeline, feed_server, "b", [entry(bodies[0], 0, NOW - timedelta(hours=3), "b")])
    await poll(pipeline, feed_server, "c", [entry(bodies[n], n, at[n], "c") for n in range(3, 7)])
    # Counted from the reload on: four this hour (the three before it were not watched).
    assert spike_rows(pipeline.store) == []
    await poll(pipeline, feed_server, "d", [entry(trump_bodies(8)[7], 7, at[6], "d")])
    rows = spike_rows(pipeline.store)
    # The spike has counted for three windows (from 07:00): one item in them, 1/3 an hour.
    assert [r[2].split("\n")[0] for r in rows] == [
        "📈 特朗普 · Donald Trump: 5 items in the last hour (usual 0.3)"
    ]
