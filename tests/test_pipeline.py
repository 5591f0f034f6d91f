"""The orchestrator in-process: identity and dedupe, backfill, order, failures, atomicity."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.workers import FeedParsers
from bot.ingest.pipeline import AlertOptions, Pipeline, PollReport
from bot.models import ParsedFeed
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.rules.model import FeedRule
from bot.store import Store
from bot.telegram.render import render
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.parsing import spin_or_parse

RULES = """
entities:
  putin:
    name: Vladimir Putin
    aliases: [普京, 普丁, Vladimir Putin, Putin]
topics:
  - id: putin
    name: Putin watch
    any: ["@putin"]
    channels: ["@watch", {chat: -1001, thread: 7}]
"""

MakePipeline = Callable[..., Pipeline]
T0 = datetime(2024, 6, 28, 0, 0, tzinfo=UTC)


def story(n: int, title: str = "普京访问平壤", minutes: int | None = None) -> dict[str, object]:
    return {
        "title": f"{title} {n}",
        "link": f"https://news.example/{n}?utm_source=rss",
        "guid": f"story-{n}",
        "description": f"<p>第{n}篇：普京抵达平壤。</p>",
        "pubDate": T0 + timedelta(minutes=n if minutes is None else minutes),
    }


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def rules_dir(tmp_path: Path, feed_server: FeedServer) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "topics.yaml").write_text(RULES, encoding="utf-8")
    (rules / "feeds.yaml").write_text(
        "feeds:\n"
        f"  - {{id: a, url: '{feed_server.url('/a.xml')}', name: Feed A}}\n"
        f"  - {{id: b, url: '{feed_server.url('/b.xml')}'}}\n",
        encoding="utf-8",
    )
    return rules


@pytest.fixture
async def make(rules_dir: Path, tmp_path: Path) -> AsyncIterator[MakePipeline]:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    fetcher = Fetcher(allow_private_networks=True, timeout=5)
    rules = Rules(RuleBook.build(load_rules(rules_dir)))

    def build(backfill: int = 0, **kwargs: object) -> Pipeline:
        return Pipeline(
            store=store,
            fetcher=fetcher,
            rules=rules,
            options=AlertOptions(backfill=backfill),
            **kwargs,  # type: ignore[arg-type]
        )

    yield build
    await fetcher.aclose()
    store.close()


def feed(pipeline: Pipeline, fid: str) -> FeedRule:
    found = pipeline.rules.current().rules.feed(fid)
    assert found is not None
    return found


async def test_first_poll_alerts_on_backfill_newest_only(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", rss_document([story(3), story(2), story(1)]))
    pipeline = make(backfill=2)
    report = await pipeline.poll_feed(feed(pipeline, "a"))
    assert report.ok and report.new_items == 3
    assert report.alerts == 4  # the two newest items, each to two destinations
    titles = [render(e.alert).plain for e in pipeline.store.due(datetime.now(UTC))]
    assert sum("普京访问平壤 1" in t for t in titles) == 0
    # Oldest first: story 2 before story 3, for every destination.
    firsts = [t for t in titles if "普京访问平壤 2" in t or "普京访问平壤 3" in t]
    assert "普京访问平壤 2" in firsts[0]


async def test_second_poll_alerts_only_on_new_items(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    route = feed_server.route("/a.xml", rss_document([story(1)]))
    pipeline = make()
    assert (
        await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    ).alerts == 0  # backfill 0
    route.body = rss_document([story(2), story(1)])
    report = await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    assert (report.new_items, report.alerts) == (1, 2)
    report = await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    assert (report.new_items, report.alerts) == (0, 0)


async def test_retitled_or_retracked_items_do_not_realert(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    first = story(1)
    route = feed_server.route("/a.xml", rss_document([first]))
    pipeline = make(backfill=5)
    assert (await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)).alerts == 2
    changed = {
        **first,
        "title": "普京访问平壤（更新）",
        "link": "https://news.example/1?utm_medium=x",
    }
    route.body = rss_document([changed])
    assert (await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)).alerts == 0


async def test_guidless_items_are_identified_by_canonical_link(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    item = {k: v for k, v in story(1).items() if k != "guid"}
    route = feed_server.route("/a.xml", rss_document([item]))
    pipeline = make(backfill=5)
    assert (await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)).alerts == 2
    item["link"] = "https://news.example/1?utm_source=other#top"
    route.body = rss_document([item])
    assert (await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)).new_items == 0


async def test_conditional_get_is_used_and_304_is_quiet(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", rss_document([story(1)]), etag='"v1"')
    pipeline = make()
    await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    report = await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    assert report.ok and report.not_modified
    assert feed_server.requests_to("/a.xml")[-1].headers.get("if-none-match") == '"v1"'


async def test_a_poll_waits_for_the_store_off_the_event_loop(
    make: MakePipeline, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every store call of a poll (read, write, the failure's write) runs in a thread: on
    PostgreSQL each is a round trip, and the loop must go on fetching meanwhile."""
    feed_server.route("/a.xml", rss_document([story(1)]), etag='"v1"')
    feed_server.route("/b.xml", b"<html><body>not a feed</body></html>", content_type="text/html")
    pipeline = make()
    calls: list[tuple[str, int]] = []
    for name in ("feed_state", "save_feed_state", "unseen", "record_poll"):
        original = getattr(pipeline.store, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            calls.append((_name, threading.get_ident()))
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipeline.store, name, spy)
    for fid in ("a", "a", "b"):  # new items, then 304, then a failure
        await pipeline.poll_feed(feed(pipeline, fid), on_schedule=False)
    assert {name for name, _ in calls} == {"feed_state", "save_feed_state", "unseen", "record_poll"}
    assert threading.get_ident() not in {thread for _, thread in calls}


async def test_one_failing_feed_does_not_stop_the_others(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", b"<html><body>not a feed</body></html>", content_type="text/html")
    feed_server.route("/b.xml", rss_document([story(1)]))
    clock = Clock()
    pipeline = make(backfill=1, clock=clock)
    reports = {r.feed_id: r for r in await pipeline.poll_all()}
    assert not reports["a"].ok and reports["a"].error_kind == "parse"
    assert reports["b"].ok and reports["b"].alerts == 2
    state = pipeline.store.feed_state("a")
    assert state is not None and state.consecutive_errors == 1 and state.last_error
    clock.advance(hours=1)  # past the backoff
    await pipeline.poll_all()
    state = pipeline.store.feed_state("a")
    assert state is not None and state.consecutive_errors == 2


async def test_unmatched_items_are_seen_but_not_alerted(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route(
        "/a.xml",
        rss_document([{"title": "天气", "link": "https://w.example/1", "description": "晴"}]),
    )
    pipeline = make(backfill=5)
    report = await pipeline.poll_feed(feed(pipeline, "a"))
    assert (report.new_items, report.alerts) == (1, 0)
    assert pipeline.store.seen_count("a") == 1


async def test_subscribers_get_alerts_and_muted_chats_do_not(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    from bot.models import Destination

    feed_server.route("/a.xml", rss_document([story(1)]))
    pipeline = make(backfill=5)
    reader, channel = Destination(555), Destination("@watch")
    pipeline.store.subscribe(reader, "putin")
    pipeline.store.mute(channel, "putin", datetime.now(UTC) + timedelta(hours=2))
    report = await pipeline.poll_feed(feed(pipeline, "a"))
    dests = {e.alert.destination for e in pipeline.store.due(datetime.now(UTC))}
    assert report.alerts == 2
    assert dests == {reader, Destination(-1001, 7)}


async def test_failing_feed_backs_off_and_admins_hear_once(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", b"down", status=503, content_type="text/plain")
    clock, notices = Clock(), []

    async def on_notice(notice: object) -> None:
        notices.append(notice)

    pipeline = make(clock=clock, on_notice=on_notice)
    polled = 0
    for _ in range(40):  # ten hours of scheduler ticks every 15 minutes
        report = await pipeline.poll_feed(feed(pipeline, "a"))
        polled += not report.skipped
        clock.advance(minutes=15)
    assert 5 <= polled < 15, "a failing feed is polled less and less often"
    assert [n.kind for n in notices] == ["failing"]
    assert "503" in notices[0].text

    feed_server.route("/a.xml", rss_document([story(1)]))
    for _ in range(200):
        report = await pipeline.poll_feed(feed(pipeline, "a"))
        if not report.skipped:
            break
        clock.advance(minutes=15)
    assert report.ok and [n.kind for n in notices] == ["failing", "recovered"]


async def test_retry_after_is_honoured(make: MakePipeline, feed_server: FeedServer) -> None:
    feed_server.route(
        "/a.xml",
        b"slow down",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "7200"},
    )
    clock = Clock()
    pipeline = make(clock=clock)
    assert not (await pipeline.poll_feed(feed(pipeline, "a"))).ok
    clock.advance(minutes=90)
    assert (await pipeline.poll_feed(feed(pipeline, "a"))).skipped
    # `once` polls healthy feeds off schedule, but not one the server asked to wait.
    assert (await pipeline.poll_all(on_schedule=False))[0].skipped
    clock.advance(minutes=31)
    assert not (await pipeline.poll_feed(feed(pipeline, "a"))).skipped


async def test_healthy_feed_waits_for_its_interval(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", rss_document([story(1)]))
    clock = Clock()
    pipeline = make(clock=clock)
    assert not (await pipeline.poll_feed(feed(pipeline, "a"))).skipped
    clock.advance(minutes=2)
    assert (await pipeline.poll_feed(feed(pipeline, "a"))).skipped  # default interval 10 min
    assert not (await pipeline.poll_all(on_schedule=False))[0].skipped
    clock.advance(minutes=10)
    assert not (await pipeline.poll_feed(feed(pipeline, "a"))).skipped


async def test_backfill_larger_than_the_new_items_alerts_on_all(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", rss_document([story(3), story(2), story(1)]))
    pipeline = make(backfill=5)
    report = await pipeline.poll_feed(feed(pipeline, "a"))
    assert (report.new_items, report.alerts) == (3, 6)  # every item, two destinations each


async def test_a_guid_that_becomes_repeated_does_not_realert(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    old = {**story(1), "guid": "same"}
    route = feed_server.route("/a.xml", rss_document([old]))
    pipeline = make(backfill=5)
    assert (await pipeline.poll_feed(feed(pipeline, "a"))).alerts == 2
    new = {**story(2), "guid": "same"}  # a broken feed reuses the guid
    route.body = rss_document([new, old])
    report = await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    assert (report.new_items, report.alerts) == (1, 2)
    texts = [render(e.alert).plain for e in pipeline.store.due(datetime.now(UTC))]
    assert sum("普京访问平壤 2" in t for t in texts) == 2
    # And back: the guid is unique again; neither item is new.
    route.body = rss_document([old])
    report = await pipeline.poll_feed(feed(pipeline, "a"), on_schedule=False)
    assert report.new_items == 0


async def test_a_feed_moved_to_a_new_url_starts_afresh(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    from dataclasses import replace

    feed_server.route("/a.xml", rss_document([story(1)]), etag='"old"')
    feed_server.route("/new.xml", rss_document([story(4), story(3), story(2)]))
    pipeline = make(backfill=1)
    first = feed(pipeline, "a")
    await pipeline.poll_feed(first)
    moved = replace(first, url=feed_server.url("/new.xml"))
    report = await pipeline.poll_feed(moved)  # due at once: not the old URL's schedule
    assert not report.skipped
    assert (report.new_items, report.alerts) == (3, 2), "backfill applies to the new URL"
    assert "if-none-match" not in feed_server.requests_to("/new.xml")[-1].headers


async def test_documents_parsed_in_a_worker_process_alert_the_same(
    make: MakePipeline, feed_server: FeedServer
) -> None:
    feed_server.route("/a.xml", rss_document([story(2), story(1)]))
    parsers = FeedParsers(1)
    try:
        pipeline = make(backfill=2, parsers=parsers)
        report = await pipeline.poll_feed(feed(pipeline, "a"))
    finally:
        parsers.close()
    assert report.ok and report.new_items == 2 and report.alerts == 4


async def test_a_document_too_slow_to_parse_fails_its_feed_and_the_others_go_on(
    make: MakePipeline, feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.feeds.workers.parse_feed", spin_or_parse)
    feed_server.route("/a.xml", f"spin:{tmp_path / 'spinning'}".encode())
    feed_server.route("/b.xml", rss_document([story(1)]))
    parsers = FeedParsers(2, timeout=3)
    try:
        pipeline = make(parsers=parsers)
        reports = {r.feed_id: r for r in await pipeline.poll_all()}
    finally:
        parsers.close()
    assert reports["a"].error == "parsing took longer than 3 s" and not reports["a"].ok
    assert reports["b"].ok and reports["b"].new_items == 1
    state = pipeline.store.feed_state("a")
    assert state is not None and state.consecutive_errors == 1
    assert state.last_error == "parse: parsing took longer than 3 s"


class HeldParsers(FeedParsers):
    """Parses in this process, but only when released; tracks the documents it holds."""

    def __init__(self) -> None:
        super().__init__(0)
        self.release, self.arrived = asyncio.Event(), asyncio.Condition()
        self.held: list[str] = []
        self.most = 0

    async def parse(self, body: bytes, **kwargs: Any) -> ParsedFeed:
        async with self.arrived:
            self.held.append(kwargs["feed_id"])
            self.most = max(self.most, len(self.held))
            self.arrived.notify_all()
        await self.release.wait()
        self.held.remove(kwargs["feed_id"])
        return await super().parse(body, **kwargs)

    async def until(self, holds: Callable[[list[str]], bool]) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: holds(self.held)), 5)


BUSY, OTHER = "93.184.216.34", "1.1.1.1"  # public addresses: the guard lets them through


def one_story_each(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=rss_document([story(len(request.url.path))]))


async def held_cycle(
    rules_dir: Path, tmp_path: Path, feeds: list[FeedRule], check: Callable[..., Any], **limits: int
) -> list[PollReport]:
    parsers = HeldParsers()
    transport = httpx.MockTransport(one_story_each)
    with Store(f"sqlite:///{tmp_path / 'held.sqlite'}") as store:
        store.migrate()
        async with Fetcher(transport=transport, **limits) as fetcher:  # type: ignore[arg-type]
            rules = Rules(RuleBook.build(load_rules(rules_dir)))
            pipeline = Pipeline(store=store, fetcher=fetcher, rules=rules, parsers=parsers)
            cycle = asyncio.create_task(pipeline.poll_all(feeds))
            try:
                await check(pipeline, parsers)
            finally:
                parsers.release.set()
                reports = await cycle
    return reports


async def test_fetching_does_not_run_ahead_of_parsing(rules_dir: Path, tmp_path: Path) -> None:
    """Fetched documents waiting for a parser are bounded: the fetcher's connections plus
    two per worker (here 1 + 2), not every feed of the cycle."""
    feeds = [FeedRule(id=f"f{n}", url=f"http://{(BUSY, OTHER)[n % 2]}/{n}") for n in range(12)]

    async def check(pipeline: Pipeline, parsers: HeldParsers) -> None:
        await parsers.until(lambda held: len(held) == 3)
        # Every other poll waits for a place before it fetches.
        assert pipeline._in_flight is not None and pipeline._in_flight.overall.locked()

    reports = await held_cycle(
        rules_dir, tmp_path, feeds, check, max_concurrency=1, per_host_concurrency=3
    )
    assert all(r.ok and r.new_items == 1 for r in reports)


async def test_polls_queued_for_a_busy_site_leave_room_for_other_sites(
    rules_dir: Path, tmp_path: Path
) -> None:
    feeds = [FeedRule(id=f"busy{n}", url=f"http://{BUSY}/{n}") for n in range(6)]
    feeds.append(FeedRule(id="other", url=f"http://{OTHER}/feed"))

    async def check(pipeline: Pipeline, parsers: HeldParsers) -> None:
        # Places: 2 + 2 overall, 1 + 2 per host; the busy site's polls take their three.
        await parsers.until(lambda held: "other" in held and len(held) == 4)
        assert sorted(parsers.held) == ["busy0", "busy1", "busy2", "other"]

    reports = await held_cycle(
        rules_dir, tmp_path, feeds, check, max_concurrency=2, per_host_concurrency=1
    )
    assert all(r.ok and r.new_items == 1 for r in reports)
