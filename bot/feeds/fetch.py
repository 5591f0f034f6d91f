"""Fetch feed documents over HTTP, politely and defensively.

One shared ``httpx.AsyncClient``; conditional GET; redirects followed here, one hop at a
time, so every hop passes the private-network guard (``bot.feeds.guard``: each URL is
parsed once and the client gets that parsed URL; each connection is checked by the
client's network layer before a byte is sent); the body is streamed and capped
after decompression (a 10 KB gzip can inflate to gigabytes); a global and a per-host
semaphore keep us from hammering anyone. ``timeout`` bounds the whole request (lookups,
connects, every redirect hop, headers and body), not each read: a server that sends a
byte a second would otherwise hold a slot for ever. Time spent queued for a slot does not
count. Every failure is a ``FetchError`` with a message an admin can act on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import httpx

from bot.errors import FetchError
from bot.feeds.guard import guarded_transport, parse_url
from bot.feeds.httputil import describe_size, retry_after_seconds
from bot.models import FetchResult

log = logging.getLogger(__name__)

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DRAIN_LIMIT = 64_000  # a redirect's body beyond this is not worth keeping the connection


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str


class _Budget:
    """The time one fetch may still spend working; waiting for a slot is not work."""

    def __init__(self, seconds: float) -> None:
        self._total = seconds
        self._left = seconds

    @asynccontextmanager
    async def spend(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = asyncio.timeout(max(self._left, 0.0))
        try:
            async with deadline:
                yield
        except TimeoutError:
            if not deadline.expired():
                raise
            raise FetchError(f"timed out after {self._total:g}s") from None
        finally:
            self._left -= loop.time() - started


class Fetcher:
    """Fetches feed URLs; use as ``async with Fetcher(...) as f`` or call ``aclose``."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        connect_timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        user_agent: str = "mediabot",
        allow_private_networks: bool = False,
        max_concurrency: int = 10,
        per_host_concurrency: int = 2,
        max_redirects: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = self.timeout = timeout  # the whole fetch's budget, redirects included
        self._max_bytes = max_bytes
        self._allow_private = allow_private_networks
        self._max_redirects = max_redirects
        self.max_concurrency, self.per_host_concurrency = max_concurrency, per_host_concurrency
        self._global = asyncio.Semaphore(max_concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"User-Agent": user_agent, "Accept": _ACCEPT},
            follow_redirects=False,
            # A transport given (tests) is the network; only literal addresses are checked.
            transport=transport or guarded_transport(allow_private=allow_private_networks),
            # Proxies from the environment would bypass the private-network guard.
            trust_env=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` (conditionally). Raises ``FetchError`` / ``UnsafeURLError``."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        budget = _Budget(self._timeout)
        current = parse_url(url, allow_private=self._allow_private)
        for _hop in range(self._max_redirects + 1):
            async with self._slot(current.host), budget.spend():
                outcome = await self._get(current, headers, etag, last_modified)
            if isinstance(outcome, FetchResult):
                return outcome
            current = parse_url(outcome.location, allow_private=self._allow_private, base=current)
            log.debug("feed_redirected", extra={"url": url, "location": str(current)})
        raise FetchError(f"too many redirects (more than {self._max_redirects})")

    @asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.per_host_concurrency))
        # Host first: a task holding a global slot while it queues for a busy host would
        # starve every other host (ten feeds on one site would take all the slots).
        async with per_host, self._global:
            yield

    async def _get(
        self, url: httpx.URL, headers: dict[str, str], etag: str | None, last_modified: str | None
    ) -> FetchResult | _Redirect:
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                return await self._handle(str(url), response, etag, last_modified)
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self._timeout:g}s") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"body could not be decompressed: {exc}") from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"invalid URL: {exc}") from None
        except httpx.TransportError as exc:
            raise FetchError(f"network error: {exc or type(exc).__name__}") from None

    async def _handle(
        self, url: str, response: httpx.Response, etag: str | None, last_modified: str | None
    ) -> FetchResult | _Redirect:
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location", status=status)
            await self._drain(response)
            return _Redirect(location)
        if status == 304:
            await self._drain(response)
            return self._result(url, response, b"", etag, last_modified)
        if not 200 <= status < 300:
            raise FetchError(
                f"HTTP {status} {response.reason_phrase}".strip(),
                status=status,
                retry_after=retry_after_seconds(response.headers.get("retry-after"))
                if status in (429, 503)
                else None,
            )
        body = await self._read_capped(response)
        return self._result(url, response, body, etag, last_modified)

    async def _drain(self, response: httpx.Response) -> None:
        """Read the (empty or tiny) rest of a 304 or redirect, so the connection goes back
        to the pool: a response closed before its end closes its connection, and every
        poll of a 304 feed would pay a new TCP (and TLS) handshake. A body of unknown or
        large size is not worth it: that connection is simply closed."""
        declared = response.headers.get(
            "content-length", "0" if response.status_code == 304 else ""
        )
        if declared.isdigit() and int(declared) <= _DRAIN_LIMIT:
            await response.aread()

    async def _read_capped(self, response: httpx.Response) -> bytes:
        limit = describe_size(self._max_bytes)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise FetchError(f"body larger than {limit}")
        chunks: list[bytes] = []
        size = 0
        # aiter_bytes yields decompressed bytes, so this caps gzip bombs as well.
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(f"body larger than {limit}")
            chunks.append(chunk)
        return b"".join(chunks)

    def _result(
        self,
        url: str,
        response: httpx.Response,
        body: bytes,
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        headers = {k.lower(): v for k, v in response.headers.items()}
        # A 304 may omit the validators; the ones we sent are still the current ones.
        return FetchResult(
            url=url,
            status=response.status_code,
            body=body,
            headers=headers,
            etag=headers.get("etag") or etag,
            last_modified=headers.get("last-modified") or last_modified,
            not_modified=not body,
        )
