"""Feed documents parsed in worker processes give what parsing in-process gives."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import feedparser.html
import feedparser.mixin
import pytest

from bot.errors import ParseError
from bot.feeds.parse import parse_feed
from bot.feeds.workers import FeedParsers, default_processes
from tests.conftest import Cli, running, wait_until
from tests.fakes.feedserver import FeedServer
from tests.fakes.parsing import die, hog_or_parse, spin_or_parse
from tests.test_e2e import base_env, write_feeds

ROOT = Path(__file__).resolve().parents[1]

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
        await parsers.parse(RSS, feed_id="wire")  # the worker is up
        workers = multiprocessing.active_children()
        assert workers
        for worker in workers:
            os.kill(worker.pid or 0, signal.SIGKILL)
            worker.join()
        again = await parsers.parse(RSS, feed_id="wire")
        return [i.title for i in again.items]

    assert asyncio.run(scenario()) == ["普京访问北京", "Second"]


def test_a_document_that_kills_its_worker_alone_too_is_a_parse_error(
    parsers: FeedParsers, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario() -> int:
        with monkeypatch.context() as patch:
            patch.setattr("bot.feeds.workers.parse_feed", die)
            with pytest.raises(ParseError, match="kills the process that parses it"):
                await parsers.parse(RSS, feed_id="deadly")
        # The next document gets a fresh pool.
        return len((await parsers.parse(RSS, feed_id="wire")).items)

    assert asyncio.run(scenario()) == 2


def test_without_process_support_it_parses_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("[Errno 38] Function not implemented")  # as with no /dev/shm

    monkeypatch.setattr("bot.feeds.workers.ParseWorker", refuse)
    parsers = FeedParsers(2)
    got = asyncio.run(parsers.parse(RSS, feed_id="wire"))
    assert len(got.items) == 2 and parsers.processes == 0


def test_no_workers_parses_in_a_thread() -> None:
    inline = FeedParsers(0)
    got = asyncio.run(inline.parse(RSS, feed_id="wire"))
    assert not inline._idle and inline._threads is None  # no worker was made
    assert len(got.items) == 2


def test_default_is_a_worker_per_core_and_one_on_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One worker even on one core: only in a worker can a parse be stopped."""
    for cores, workers in ((1, 1), (2, 2), (3, 3), (16, 4)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert default_processes() == workers


def test_workers_do_not_outlive_a_killed_main_process(tmp_path: Path) -> None:
    """``kill -9`` of the bot leaves no parser processes behind."""
    script = textwrap.dedent(
        f"""
        import asyncio, multiprocessing, os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from bot.feeds.workers import FeedParsers
        rss = {RSS!r}
        parsers = FeedParsers(1)
        asyncio.run(parsers.parse(rss, feed_id="wire"))
        print(*(p.pid for p in multiprocessing.active_children()), flush=True)
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


# --- Limits: time, memory, stopping ------------------------------------------------------


def test_a_document_that_parses_too_long_is_stopped_and_the_others_go_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.feeds.workers.parse_feed", spin_or_parse)
    parsers = FeedParsers(2, timeout=3)
    marker = tmp_path / "spinning"

    async def scenario() -> None:
        started = time.monotonic()
        spinning = asyncio.create_task(parsers.parse(f"spin:{marker}".encode(), feed_id="slow"))
        # While one worker spins, the other parses document after document.
        for _ in range(3):
            assert len((await parsers.parse(RSS, feed_id="wire")).items) == 2
        with pytest.raises(ParseError, match=r"^parsing took longer than 3 s$"):
            await spinning
        assert time.monotonic() - started >= 3
        # The spinning worker was replaced: both workers parse again.
        both = [parsers.parse(RSS, feed_id=f"wire-{n}") for n in range(4)]
        assert [len(p.items) for p in await asyncio.gather(*both)] == [2, 2, 2, 2]

    try:
        asyncio.run(scenario())
    finally:
        parsers.close()
    assert marker.exists()


def test_a_document_that_needs_too_much_memory_is_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("bot.feeds.workers.parse_feed", hog_or_parse)
    parsers = FeedParsers(1, max_memory_mb=64)

    async def scenario() -> None:
        with pytest.raises(ParseError, match=r"^parsing needed more than 64 MB$"):
            await parsers.parse(b"hog", feed_id="greedy")
        assert len((await parsers.parse(RSS, feed_id="wire")).items) == 2

    try:
        asyncio.run(scenario())
    finally:
        parsers.close()


def test_a_feed_too_big_for_the_memory_limit_is_a_parse_error() -> None:
    """The limit holds inside feedparser and expat too, not only in our own code."""
    items = "<item><title>a</title></item>" * 100_000
    body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    parsers = FeedParsers(1, max_memory_mb=32)
    try:
        with pytest.raises(ParseError, match=r"^parsing needed more than 32 MB$"):
            asyncio.run(parsers.parse(body, feed_id="big"))
        assert len(asyncio.run(parsers.parse(RSS, feed_id="wire")).items) == 2
    finally:
        parsers.close()


def test_closing_does_not_wait_for_a_busy_worker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("bot.feeds.workers.parse_feed", spin_or_parse)
    parsers = FeedParsers(1)
    marker = tmp_path / "spinning"
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            asyncio.run(parsers.parse(f"spin:{marker}".encode(), feed_id="slow"))
        except BaseException as exc:
            errors.append(exc)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        assert wait_until(marker.exists, timeout=60), "the worker never started the document"
        workers = multiprocessing.active_children()
        closing = threading.Thread(target=parsers.close)
        closing.start()
        closing.join(timeout=10)
        assert not closing.is_alive(), "close() waited for the document at hand"
        poller.join(timeout=10)
        assert not poller.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], ParseError), errors
        assert all(_exits(w.pid or 0) for w in workers)
    finally:
        for child in multiprocessing.active_children():
            child.kill()


def test_a_busy_worker_does_not_outlive_a_killed_main_process(tmp_path: Path) -> None:
    """``kill -9`` of the bot while a worker is deep in one long C call (holding the
    interpreter lock, so no thread of the worker can notice) leaves no worker behind."""
    marker = tmp_path / "spinning"
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(ROOT)!r})
        import bot.feeds.workers
        from tests.fakes.parsing import backtrack_or_parse
        bot.feeds.workers.parse_feed = backtrack_or_parse
        parsers = bot.feeds.workers.FeedParsers(1)
        asyncio.run(parsers.parse(b"spin:{marker}", feed_id="slow"))
        """
    )
    with subprocess.Popen([sys.executable, "-c", script]) as main:
        workers: list[int] = []
        try:
            assert wait_until(marker.exists, timeout=60), "the worker never started the document"
            workers = _children(main.pid)
            assert workers
            main.kill()
            main.wait(timeout=10)
            for pid in workers:
                assert _exits(pid), f"parser worker {pid} outlived the main process"
        finally:
            main.kill()
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


SPIN_SITECUSTOMIZE = """
import os
from pathlib import Path

if os.environ.get("SPIN_MARKER"):
    import bot.feeds.parse

    def spin(*args, **kwargs):
        Path(os.environ["SPIN_MARKER"]).touch()
        while True:
            pass

    bot.feeds.parse.parse_feed = spin
"""


def test_the_service_stops_promptly_while_a_worker_is_busy(
    cli: Cli, feed_server: FeedServer, shipped_rules: Path, tmp_path: Path
) -> None:
    """SIGTERM of ``mediabot run`` while a document is being parsed: the service stops
    within its usual time, and takes its workers with it."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SPIN_SITECUSTOMIZE)
    marker = tmp_path / "spinning"
    feed_server.route("/feed.xml", RSS)
    write_feeds(shipped_rules, {"wire": feed_server.url("/feed.xml")})
    env = {
        **base_env(shipped_rules),
        "MEDIABOT_PARSE_PROCESSES": "1",
        "SPIN_MARKER": str(marker),
        "PYTHONPATH": str(hooks) + os.pathsep + cli.env["PYTHONPATH"],
    }
    with running(cli, "run", **env) as service:
        workers: list[int] = []
        try:
            assert wait_until(marker.exists, timeout=60), service.output()
            workers = _children(service.proc.pid)
            assert workers
            assert service.stop(timeout=15) == 0, service.output()
            for pid in workers:
                assert _exits(pid), f"parser worker {pid} outlived the service"
        finally:
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_items_carry_their_preview_text_when_asked() -> None:
    from bot.feeds.parse import parse_feed
    from bot.text.preview import preview_text
    from tests.fakes.feedserver import rss_document

    body = "<p>Overnight, the harbour of <b>Sevastopol</b> was quiet.</p>" + "<p>Ｘ</p>" * 3000
    doc = rss_document([{"title": "T", "link": "https://x.example/1", "description": body}])
    plain = parse_feed(doc, feed_id="f")
    previewed = parse_feed(doc, feed_id="f", previews=True)
    assert [i.preview for i in plain.items] == [None]
    [item] = previewed.items
    assert item.preview == preview_text(item.content)
    assert item.preview.startswith("Overnight, the harbour of Sevastopol was quiet.")
    assert "Ｘ" not in item.preview and len(item.preview) <= 2000  # normalized, and cut
    assert previewed.items[0].content == plain.items[0].content
