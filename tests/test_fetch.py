"""Fetching: conditional GET, caps, redirects, timeouts, Retry-After, the private-network guard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from bot.errors import FetchError, UnsafeURLError
from bot.feeds.fetch import Fetcher
from tests.fakes.feedserver import FeedServer, rss_document

FEED = rss_document([{"title": "A", "link": "https://example.com/a", "guid": "a"}])


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(allow_private_networks=True, timeout=5, connect_timeout=5) as f:
        yield f


async def test_fetch_returns_body_and_validators(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed.xml", FEED, etag='"v1"', last_modified="Wed, 01 May 2024 10:00:00 GMT")
    result = await fetcher.fetch(server.url("/feed.xml"))
    assert result.status == 200
    assert result.body == FEED
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert not result.not_modified
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert server.requests[-1].headers["user-agent"] == "mediabot"


async def test_etag_conditional_get_gives_not_modified(
    server: FeedServer, fetcher: Fetcher
) -> None:
    server.route("/feed.xml", FEED, etag='"v1"')
    result = await fetcher.fetch(server.url("/feed.xml"), etag='"v1"')
    assert result.not_modified and result.status == 304 and result.body == b""
    assert result.etag == '"v1"'
    assert server.requests[-1].headers["if-none-match"] == '"v1"'


async def test_last_modified_conditional_get_keeps_validators(
    server: FeedServer, fetcher: Fetcher
) -> None:
    stamp = "Wed, 01 May 2024 10:00:00 GMT"
    server.route("/feed.xml", FEED, last_modified=stamp)
    result = await fetcher.fetch(server.url("/feed.xml"), last_modified=stamp)
    assert result.not_modified
    assert result.last_modified == stamp
    assert server.requests[-1].headers["if-modified-since"] == stamp


async def test_changed_feed_is_sent_again(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed.xml", FEED, etag='"v2"')
    result = await fetcher.fetch(server.url("/feed.xml"), etag='"v1"')
    assert not result.not_modified and result.body == FEED and result.etag == '"v2"'


async def test_empty_200_counts_as_not_modified(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/empty", b"")
    result = await fetcher.fetch(server.url("/empty"))
    assert result.not_modified and result.status == 200


async def test_body_over_the_cap_is_refused(server: FeedServer) -> None:
    server.route("/big", b"x" * 100_000, repeat=30, omit_length=True)
    async with Fetcher(allow_private_networks=True, max_bytes=1_000_000) as f:
        with pytest.raises(FetchError, match=r"body larger than 1 MB"):
            await f.fetch(server.url("/big"))


async def test_declared_length_over_the_cap_is_refused(server: FeedServer) -> None:
    server.route("/big", b"x" * 2_000_000)
    async with Fetcher(allow_private_networks=True, max_bytes=1_000_000) as f:
        with pytest.raises(FetchError, match=r"body larger than 1 MB"):
            await f.fetch(server.url("/big"))


async def test_gzip_bomb_is_capped_after_decompression(server: FeedServer) -> None:
    route = server.route("/bomb", b"\0" * 1_000_000, repeat=20, gzip=True)
    async with Fetcher(allow_private_networks=True, max_bytes=5_000_000) as f:
        with pytest.raises(FetchError, match=r"body larger than 5 MB"):
            await f.fetch(server.url("/bomb"))
    assert route.gzip  # the wire body was tiny: the cap is on what it inflates to


async def test_gzip_body_is_decompressed(server: FeedServer, fetcher: Fetcher) -> None:
    server.route("/feed.xml", FEED, gzip=True)
    assert (await fetcher.fetch(server.url("/feed.xml"))).body == FEED


async def test_redirects_are_followed(server: FeedServer, fetcher: Fetcher) -> None:
    server.redirect("/old", "/new", status=301)
    server.route("/new", FEED)
    result = await fetcher.fetch(server.url("/old"))
    assert result.body == FEED
    assert result.url == server.url("/new")


async def test_too_many_redirects(server: FeedServer) -> None:
    for hop in range(4):
        server.redirect(f"/r{hop}", f"/r{hop + 1}")
    server.route("/r4", FEED)
    async with Fetcher(allow_private_networks=True, max_redirects=3) as f:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 3\)"):
            await f.fetch(server.url("/r0"))
        assert (await f.fetch(server.url("/r1"))).body == FEED


async def test_slow_server_times_out(server: FeedServer) -> None:
    server.route("/slow", FEED, delay=5)
    async with Fetcher(allow_private_networks=True, timeout=0.3) as f:
        with pytest.raises(FetchError, match=r"timed out after 0.3s"):
            await f.fetch(server.url("/slow"))


async def test_timeout_bounds_the_whole_body_not_each_read(server: FeedServer) -> None:
    # A byte every 0.1 s: no single read waits long, the whole body takes 5 s.
    server.route("/dribble", b"x" * 50, dribble=0.1)
    started = time.monotonic()
    async with Fetcher(allow_private_networks=True, timeout=1) as f:
        with pytest.raises(FetchError, match=r"^timed out after 1s$"):
            await f.fetch(server.url("/dribble"))
    assert time.monotonic() - started < 3


async def test_timeout_bounds_all_redirect_hops_together(server: FeedServer) -> None:
    # Each hop alone is within the timeout; the request as a whole is not.
    server.route("/old", status=302, redirect_to="/new", delay=0.6)
    server.route("/new", FEED, delay=0.6)
    async with Fetcher(allow_private_networks=True, timeout=1) as f:
        with pytest.raises(FetchError, match=r"^timed out after 1s$"):
            await f.fetch(server.url("/old"))
    assert [r.path for r in server.requests] == ["/old", "/new"]


async def test_waiting_for_a_slot_does_not_count_against_the_timeout(
    server: FeedServer,
) -> None:
    # One slot: the second fetch queues for 0.5 s, then works for 0.5 s; timeout 0.8 s.
    server.route("/feed.xml", FEED, delay=0.5)
    async with Fetcher(allow_private_networks=True, timeout=0.8, per_host_concurrency=1) as f:
        results = await asyncio.gather(*(f.fetch(server.url("/feed.xml")) for _ in range(2)))
    assert [r.body for r in results] == [FEED, FEED]


async def test_http_error_is_named(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"^HTTP 404 Not Found$") as info:
        await fetcher.fetch(server.url("/missing"))
    assert info.value.status == 404 and info.value.retry_after is None


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_reported(server: FeedServer, fetcher: Fetcher, status: int) -> None:
    server.route("/busy", b"slow down", status=status, headers={"Retry-After": "120"})
    with pytest.raises(FetchError) as info:
        await fetcher.fetch(server.url("/busy"))
    assert info.value.status == status and info.value.retry_after == 120.0


async def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    with FeedServer() as srv:
        url = srv.url("/feed.xml")
    with pytest.raises(FetchError, match=r"network error"):
        await fetcher.fetch(url)


async def test_loopback_is_refused_by_default(server: FeedServer) -> None:
    server.route("/feed.xml", FEED)
    async with Fetcher() as f:
        with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.1"):
            await f.fetch(server.url("/feed.xml"))
    assert server.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/feed",
        "http://10.1.2.3/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed",
        "http://[::ffff:192.168.0.1]/feed",
        "http://[2002:7f00:1::1]/feed",
    ],
)
async def test_private_addresses_are_refused(url: str) -> None:
    async with Fetcher() as f:
        with pytest.raises(UnsafeURLError):
            await f.fetch(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed", "feed.xml"])
async def test_only_http_urls(url: str) -> None:
    async with Fetcher() as f:
        with pytest.raises(FetchError, match=r"only http and https|unsupported"):
            await f.fetch(url)


async def test_redirect_to_a_private_address_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://127.0.0.1:8080/admin"})

    async with Fetcher(transport=httpx.MockTransport(handler)) as f:
        with pytest.raises(UnsafeURLError, match=r"127\.0\.0\.1"):
            await f.fetch("http://93.184.216.34/feed.xml")
    assert seen == ["http://93.184.216.34/feed.xml"]


async def test_per_host_concurrency_is_limited() -> None:
    gate = asyncio.Event()
    inflight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        inflight += 1
        peak = max(peak, inflight)
        await gate.wait()
        inflight -= 1
        return httpx.Response(200, content=FEED)

    async with Fetcher(transport=httpx.MockTransport(handler), per_host_concurrency=2) as f:
        tasks = [asyncio.create_task(f.fetch(f"http://93.184.216.34/{n}")) for n in range(6)]
        for _ in range(20):  # let every task run up to the semaphore
            await asyncio.sleep(0)
        assert inflight == 2
        gate.set()
        results = await asyncio.gather(*tasks)
    assert peak == 2 and all(r.body == FEED for r in results)


async def test_a_busy_host_does_not_hold_the_slots_other_hosts_need() -> None:
    busy_host, other_host = "93.184.216.34", "1.1.1.1"
    gate = asyncio.Event()
    busy_requests: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == busy_host:
            busy_requests.append(request.url.path)
            await gate.wait()
        return httpx.Response(200, content=FEED)

    transport = httpx.MockTransport(handler)
    async with Fetcher(transport=transport, max_concurrency=2, per_host_concurrency=1) as f:
        busy = [asyncio.create_task(f.fetch(f"http://{busy_host}/{n}")) for n in range(4)]
        for _ in range(20):  # let every busy task queue up
            await asyncio.sleep(0)
        other = asyncio.create_task(f.fetch(f"http://{other_host}/feed.xml"))
        done, _pending = await asyncio.wait({other}, timeout=5)
        try:
            assert other in done, "the other host waited for the busy host's queue"
            assert other.result().body == FEED
            assert busy_requests == ["/0"] and not any(task.done() for task in busy)
        finally:
            gate.set()
            results = await asyncio.gather(*busy, other)
    assert all(r.body == FEED for r in results)
