"""The tiny HTTP/1.1 server behind ``MEDIABOT_METRICS_ADDR``: ``GET /metrics`` and
``GET /healthz``, one request per connection, asyncio streams, no web framework."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from bot.errors import ConfigError

log = logging.getLogger(__name__)

CONTENT_TYPE_METRICS = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_JSON = "application/json"
_MAX_REQUEST_HEAD = 16 * 1024
_READ_TIMEOUT = 10.0
Render = Callable[[], bytes]
Health = Callable[[], tuple[bool, dict[str, Any]]]


def split_addr(addr: str) -> tuple[str | None, int]:
    """``host:port`` / ``[::1]:port`` / ``:port`` -> (host or None for every interface, port)."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"metrics address: expected host:port, got {addr!r}")
    host = host.strip("[]")
    return (host or None), int(port)


class MetricsServer:
    """A minimal HTTP/1.1 server: one request per connection, GET/HEAD only."""

    def __init__(self, render: Render, health: Health, addr: str) -> None:
        self._render = render
        self._health = health
        self.addr = addr
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        assert self._server is not None, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        host, port = split_addr(self.addr)
        try:
            self._server = await asyncio.start_server(
                self._handle, host, port, limit=_MAX_REQUEST_HEAD
            )
        except OSError as exc:
            raise ConfigError(
                f"cannot serve metrics on {self.addr}: {exc.strerror or exc}"
            ) from None
        log.info("metrics_listening", extra={"addr": self.addr, "port": self.port})

    async def aclose(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._clients):  # an idle client must not hold up shutdown
            writer.close()
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            method, path = _request_line(head)
            status, ctype, body = await self._route(method, path)
            writer.write(_response(status, ctype, body, head_only=method == "HEAD"))
            await writer.drain()
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
        ):
            pass  # a client that went away or sent garbage gets nothing more
        except Exception:  # a bug here must never take the service down
            log.exception("metrics_request_failed")
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _route(self, method: str, path: str) -> tuple[int, str, bytes]:
        if not method:
            return 400, "text/plain; charset=utf-8", b"bad request\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"method not allowed\n"
        if path == "/metrics":
            # The outbox depth source may query the database: keep it off the event loop.
            return 200, CONTENT_TYPE_METRICS, await asyncio.to_thread(self._render)
        if path == "/healthz":
            healthy, body = self._health()
            data = json.dumps(body, sort_keys=True).encode() + b"\n"
            return (200 if healthy else 503), CONTENT_TYPE_JSON, data
        return 404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}


def _request_line(head: bytes) -> tuple[str, str]:
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return "", ""
    return parts[0].upper(), parts[1].split("?", 1)[0]


def _response(status: int, ctype: str, body: bytes, *, head_only: bool) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}",
        f"Content-Type: {ctype}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if status == 405:
        lines.append("Allow: GET, HEAD")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if head_only else head + body
