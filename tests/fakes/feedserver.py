"""A local feed server for tests: stdlib HTTP on 127.0.0.1, a random port, in a thread.

Usable from sync tests (``with FeedServer() as srv``), async tests (``async with``) and
subprocess tests (the server runs in this process's thread; give the child ``srv.url``).
Fetching from it needs ``Fetcher(allow_private_networks=True)``.

    with FeedServer() as srv:
        srv.route("/feed.xml", rss_document([{"title": "A", "link": "https://x/a"}]),
                  etag='"v1"')
        url = srv.url("/feed.xml")
        ...
        assert srv.requests[-1].headers["if-none-match"] == '"v1"'
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = RSS_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the response starts (slow server)
    redirect_to: str | None = None
    repeat: int = 1  # body sent this many times, streamed: huge bodies without the memory
    gzip: bool = False  # send the body gzip-compressed with Content-Encoding: gzip
    omit_length: bool = False  # no Content-Length header (close-delimited body)
    dribble: float = 0.0  # seconds between body pieces of dribble_size bytes (slow body)
    dribble_size: int = 1


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: FeedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (a timeout test) breaks the pipe; that is expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, a keep-alive client's
    # delayed ACK stalls every response by ~40 ms. Real servers set TCP_NODELAY too.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    def do_HEAD(self) -> None:
        self.server.owner._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FeedServer:
    """Routes registered by path (query strings ignored); unknown paths get a 404."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FeedServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FeedServer:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, body: bytes = b"", **options: Any) -> Route:
        """Serve ``body`` at ``path``; options are ``Route`` fields."""
        route = Route(body=body, **options)
        with self._lock:
            self._routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 302) -> Route:
        return self.route(path, status=status, redirect_to=to)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    # -- serving -------------------------------------------------------------------------
    def _serve(self, handler: _Handler) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(handler.command, handler.path, headers))
            route = self._routes.get(handler.path.split("?", 1)[0])
        if route is None:
            return self._send(handler, 404, {"Content-Type": "text/plain"}, [b"not found"], 9)
        if route.delay and self._stopping.wait(route.delay):
            return None
        if route.redirect_to is not None:
            target = route.redirect_to
            location = target if "://" in target else self.url(target)
            return self._send(handler, route.status, {"Location": location}, [], 0)
        if self._not_modified(route, headers):
            return self._send(handler, 304, self._validators(route), [], None)
        return self._send_body(handler, route)

    @staticmethod
    def _not_modified(route: Route, headers: Mapping[str, str]) -> bool:
        if route.etag and "if-none-match" in headers:
            tags = [t.strip().removeprefix("W/") for t in headers["if-none-match"].split(",")]
            return route.etag.removeprefix("W/") in tags or "*" in tags
        if route.last_modified and "if-modified-since" in headers:
            return headers["if-modified-since"] == route.last_modified
        return False

    @staticmethod
    def _validators(route: Route) -> dict[str, str]:
        out = {}
        if route.etag:
            out["ETag"] = route.etag
        if route.last_modified:
            out["Last-Modified"] = route.last_modified
        return out

    def _send_body(self, handler: _Handler, route: Route) -> None:
        headers = {"Content-Type": route.content_type, **self._validators(route)}
        headers.update(route.headers)
        chunks: Iterable[bytes]
        if route.gzip:
            data = gzip.compress(route.body * route.repeat)
            chunks, length = [data], len(data)
            headers["Content-Encoding"] = "gzip"
        else:
            chunks = (route.body for _ in range(route.repeat))
            length = len(route.body) * route.repeat
        if route.dribble:
            chunks = self._dribbled(b"".join(chunks), route)
        self._send(handler, route.status, headers, chunks, None if route.omit_length else length)

    def _dribbled(self, data: bytes, route: Route) -> Iterator[bytes]:
        """``data`` in pieces with a pause before each but the first; stops on shutdown."""
        for start in range(0, len(data), route.dribble_size):
            if start and self._stopping.wait(route.dribble):
                return
            yield data[start : start + route.dribble_size]

    @staticmethod
    def _send(
        handler: _Handler,
        status: int,
        headers: Mapping[str, str],
        chunks: Iterable[bytes],
        length: int | None,
    ) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if status == 304:
            pass  # no body by definition
        elif length is not None:
            handler.send_header("Content-Length", str(length))
        else:  # the body ends when the connection closes
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        if handler.command == "HEAD" or status == 304:
            return
        try:
            for chunk in chunks:
                handler.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True


# -- documents -------------------------------------------------------------------------
def rss_document(
    items: Iterable[Mapping[str, str | datetime | None]],
    *,
    title: str = "Test feed",
    link: str = "https://example.com/",
    extra_channel: str = "",
) -> bytes:
    """An RSS 2.0 document; item keys: title, link, guid, description, pubDate, author.

    ``description`` is put in CDATA (it is HTML); a ``datetime`` pubDate is formatted as
    RFC 822.
    """
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>{escape(link)}</link>",
        "<description>test</description>",
        extra_channel,
    ]
    for item in items:
        parts.append("<item>" + "".join(_item_field(k, v) for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def _item_field(name: str, value: str | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = format_datetime(value, usegmt=True)
    if name == "description":
        return f"<description><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></description>"
    if name == "guid" and not value.startswith(("http://", "https://")):
        return f'<guid isPermaLink="false">{escape(value)}</guid>'
    return f"<{name}>{escape(value)}</{name}>"


def archive_item_rss(path: Path, *, title: str = "Relay feed") -> bytes:
    """A one-item RSS feed carrying the archived item at ``path`` (title, link, body, date)."""
    from bot.feeds.archive import read_archive_item

    item = read_archive_item(path)
    return rss_document(
        [
            {
                "title": item.title,
                "link": item.link,
                "guid": item.link,
                "description": item.content,
                "pubDate": item.published,
            }
        ],
        title=title,
    )
