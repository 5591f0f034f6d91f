"""Feed documents parsed in worker processes give what parsing in-process gives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import feedparser
import feedparser.html
import feedparser.mixin
import pytest

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.feeds.workers import FeedParsers, default_processes
from tests.conftest import wait_until

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://example.com/</link>
<item><title>普京访问北京</title><link>https://example.com/a?utm_source=x</link>
<guid>a</guid><pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>
<description><![CDATA[<p>俄罗斯总统<b>普京</b>抵达北京。</p>]]></description></item>
<item><title>Second</title><link>https://example.com/b</link>
<description>Plain &amp; simple</description></item>
</channel></rss>""".encode()


@pytest.fixture
def parsers() -> Iterator[FeedParsers]:
    pool = FeedParsers(1)
    try:
        yield pool
    finally:
        pool.close()


def test_a_worker_parses_like_the_main_process(parsers: FeedParsers) -> None:
    here = parse_feed(RSS, feed_id="wire", url="https://example.com/feed")
    there = asyncio.run(parsers.parse(RSS, feed_id="wire", url="https://example.com/feed"))
    assert there == here
    assert [i.title for i in there.items] == ["普京访问北京", "Second"]


def test_parse_errors_come_back_from_the_worker_as_they_are(parsers: FeedParsers) -> None:
    page = b"<html><head><title>Shop</title></head><body>Buy now</body></html>"
    with pytest.raises(ParseError, match="not a feed"):
        asyncio.run(parsers.parse(page, feed_id="shop"))


def test_a_killed_worker_is_replaced_and_nothing_is_lost(parsers: FeedParsers) -> None:
    async def scenario() -> list[str]:
        await parsers.parse(RSS, feed_id="wire")  # the pool is up
        pool = parsers._pool
        assert pool is not None
        for pid in list(pool._processes):
            os.kill(pid, signal.SIGKILL)
        # Idle when killed: the pool is marked broken before the next document comes.
        assert wait_until(lambda: bool(pool._broken), timeout=10)
        again = await parsers.parse(RSS, feed_id="wire")
        return [i.title for i in again.items]

    assert asyncio.run(scenario()) == ["普京访问北京", "Second"]


def _die(*args: object, **kwargs: object) -> None:
    """A document that kills the worker parsing it (run in the worker)."""
    os._exit(3)


def test_a_document_that_kills_its_worker_alone_too_is_a_parse_error(
    parsers: FeedParsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> int:
        with monkeypatch.context() as patch:
            patch.setattr("bot.feeds.workers.parse_feed", _die)
            with pytest.raises(ParseError, match="kills the process that parses it"):
                await parsers.parse(RSS, feed_id="deadly")
        # The next document gets a fresh pool.
        return len((await parsers.parse(RSS, feed_id="wire")).items)

    assert asyncio.run(scenario()) == 2


def test_without_process_support_it_parses_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("[Errno 38] Function not implemented")  # as with no /dev/shm

    monkeypatch.setattr("bot.feeds.workers.ProcessPoolExecutor", refuse)
    parsers = FeedParsers(2)
    got = asyncio.run(parsers.parse(RSS, feed_id="wire"))
    assert len(got.items) == 2 and parsers.processes == 0


def test_no_workers_parses_in_a_thread() -> None:
    inline = FeedParsers(0)
    got = asyncio.run(inline.parse(RSS, feed_id="wire"))
    assert inline._pool is None
    assert len(got.items) == 2


def test_default_is_a_worker_per_core_but_none_on_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for cores, workers in ((1, 0), (2, 2), (3, 3), (16, 4)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert default_processes() == workers


def test_workers_do_not_outlive_a_killed_main_process(tmp_path: Path) -> None:
    """``kill -9`` of the bot leaves no parser processes behind."""
    script = textwrap.dedent(
        f"""
        import asyncio, os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from bot.feeds.workers import FeedParsers
        rss = {RSS!r}
        parsers = FeedParsers(1)
        asyncio.run(parsers.parse(rss, feed_id="wire"))
        print(*parsers._pool._processes, flush=True)
        sys.stdin.read()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as main:
        assert main.stdout is not None
        workers = [int(pid) for pid in main.stdout.readline().split()]
        assert workers
        main.kill()
        main.wait(timeout=10)
    for pid in workers:
        assert _exits(pid), f"parser worker {pid} outlived the main process"


def _exits(pid: int) -> bool:
    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")  # a zombie has exited; only its reaping is left
        return stat.exists() and stat.read_text().split()[2] == "Z"

    return wait_until(gone, timeout=10)


def test_the_faster_windows_1252_table_repairs_text_as_feedparser_does() -> None:
    """``bot.feeds.parse`` swaps feedparser's repair table for a faster one: same output."""
    shipped = feedparser.html._cp1252
    assert isinstance(shipped, dict) and feedparser.mixin._cp1252 is not shipped
    text = "".join(map(chr, range(0x70, 0xB0))) + "普京 \U0001f600 Ω"
    assert text.translate(feedparser.mixin._cp1252) == text.translate(shipped)
    doc = "<rss><channel><item><title>\u0080 100 \u0093ok\u0094</title></item></channel></rss>"
    assert feedparser.parse(doc.encode()).entries[0].title == "€ 100 “ok”"
