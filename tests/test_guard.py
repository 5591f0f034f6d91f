"""The private-network guard: the address test (IPv4 carried inside IPv6 too), one URL
parse shared with the client, and the check made on the address actually connected to."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.errors import FetchError, UnsafeURLError
from bot.feeds import guard
from bot.feeds.fetch import Fetcher
from bot.feeds.guard import is_public_address
from tests.fakes.feedserver import FeedServer, rss_document

CASES = [
    ("ipv4-public", "93.184.216.34", True),
    ("ipv4-loopback", "127.0.0.1", False),
    ("ipv4-private", "10.1.2.3", False),
    ("ipv4-metadata", "169.254.169.254", False),
    ("ipv6-public", "2606:4700:4700::1111", True),
    ("ipv6-loopback", "::1", False),
    ("ipv6-link-local-with-zone", "fe80::1%eth0", False),
    ("ipv4-mapped-private", "::ffff:192.168.0.1", False),
    ("ipv4-mapped-public", "::ffff:93.184.216.34", True),
    ("nat64-of-loopback", "64:ff9b::7f00:1", False),
    ("6to4-of-public", "2002:808:808::1", True),
    ("6to4-of-loopback", "2002:7f00:1::1", False),
    ("6to4-of-private", "2002:a00:1::1", False),
    ("6to4-of-metadata", "2002:a9fe:a9fe::1", False),
    ("6to4-of-shared-cgnat", "2002:6440:1::1", False),
    ("6to4-of-unspecified", "2002::1", False),
    # Teredo: 2001:0:<server>:<flags>:<port>:<client XOR ffff:ffff>
    ("teredo-server-loopback", "2001:0:7f00:1:8000:63bf:f7f7:f7f7", False),
    ("teredo-client-private", "2001:0:808:808:8000:63bf:f5ff:fffe", False),
    ("teredo-both-public", "2001:0:808:808:8000:63bf:f7f7:f7f7", False),
    ("not-an-address", "example.com", False),
]


@pytest.mark.parametrize(
    ("address", "public"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


# --- One URL parse for the guard and the client ------------------------------------------

FEED = rss_document([{"title": "A", "link": "https://example.com/a", "guid": "a"}])


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34:80\\@1.1.1.1/feed.xml",  # backslash: a host or a path?
        "http://93.184.216.34:80#@1.1.1.1/feed.xml",  # a fragment, or user info?
        "http://93.184.216.34\\feed.xml",
        "http://user:secret@93.184.216.34/feed.xml",  # user info at all
        "http://93.184.216.34@1.1.1.1/feed.xml",
        "http://93.184.216.34/feed.xml\t",  # control characters and spaces
        "http://93.184.216.34 /feed.xml",
    ],
)
async def test_urls_that_parse_two_ways_are_refused_before_any_request(url: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=FEED)

    async with Fetcher(transport=httpx.MockTransport(handler)) as f:
        with pytest.raises(FetchError, match=r"^invalid URL"):
            await f.fetch(url)
    assert seen == []


async def test_a_redirect_that_parses_two_ways_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/feed.xml":
            location = "http://93.184.216.34:80#@1.1.1.1/next.xml"
            return httpx.Response(302, headers={"Location": location})
        return httpx.Response(200, content=FEED)

    async with Fetcher(transport=httpx.MockTransport(handler)) as f:
        with pytest.raises(FetchError, match=r"^invalid URL"):
            await f.fetch("http://93.184.216.34/feed.xml")
    assert seen == ["http://93.184.216.34/feed.xml"]


async def test_an_at_sign_in_the_path_is_fine() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "93.184.216.34" and request.url.path == "/@someone/feed"
        return httpx.Response(200, content=FEED)

    async with Fetcher(transport=httpx.MockTransport(handler)) as f:
        result = await f.fetch("http://93.184.216.34/@someone/feed#latest")
    assert result.body == FEED and result.url == "http://93.184.216.34/@someone/feed"


# --- The address checked is the address connected to ---------------------------------------


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        srv.route("/feed.xml", FEED)
        yield srv


def _port(server: FeedServer) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


async def test_a_rebinding_name_is_connected_to_the_address_that_was_checked(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name answers a harmless address when checked and an internal one
    right after. The request must go to the address checked, or nowhere; never a byte of
    it to the internal one. (127.0.0.2 stands for a public address here: nothing listens
    there, so connecting to it fails at once and offline.)"""
    answers = iter(["127.0.0.2", "127.0.0.1", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name != "rebind.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(name)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(guard, "is_public_address", lambda address: address != "127.0.0.1")
    async with Fetcher(timeout=5, connect_timeout=5) as f:
        with pytest.raises(FetchError):
            await f.fetch(f"http://rebind.test:{_port(server)}/feed.xml")
    assert server.requests == [], "the request reached an address that was never checked"
    assert lookups == ["rebind.test"], "the name was looked up more than once"


async def test_a_name_for_an_internal_address_is_refused_before_connecting(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def internal(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("feeds.internal.test", b"feeds.internal.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", int(port)))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", internal)
    async with Fetcher(timeout=5, connect_timeout=5) as f:
        with pytest.raises(UnsafeURLError, match=r"feeds\.internal\.test .*127\.0\.0\.1"):
            await f.fetch(f"http://feeds.internal.test:{_port(server)}/feed.xml")
    assert server.requests == []


PRIVATE_SPELLINGS = [
    "127.0.0.1",
    "localhost",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "127.000.000.001",
    "0.0.0.0",
    "0",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::]",
    "①②⑦.⓪.⓪.①",
]


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
async def test_every_spelling_of_a_local_address_is_refused(server: FeedServer, host: str) -> None:
    async with Fetcher(timeout=5, connect_timeout=5) as f:
        with pytest.raises(FetchError):
            await f.fetch(f"http://{host}:{_port(server)}/feed.xml")
    assert server.requests == []


async def test_private_networks_can_be_allowed(server: FeedServer) -> None:
    async with Fetcher(allow_private_networks=True, timeout=5, connect_timeout=5) as f:
        for host in ("127.0.0.1", "localhost", "2130706433"):
            result = await f.fetch(f"http://{host}:{_port(server)}/feed.xml")
            assert result.body == FEED
