"""A fake Telegram Bot API on 127.0.0.1 for tests: real envelopes, real status codes.

Start it with ``with FakeTelegram() as tg:`` and point a client at ``tg.url`` (the value for
``MEDIABOT_TELEGRAM_API_URL``; the token is ``tg.token``). It answers ``/bot<token>/<method>``
with form, JSON or multipart parameters, refuses HTML the way Telegram does
(``tests.fakes.telegram_html``), records every accepted message per chat, and can be told
to fail: ``flood``, ``server_error``, ``block``, ``chat_not_found``, ``migrate``, ``delay``,
``gate``. With ``enforce_limits`` it answers 429 to a client that breaks the send limits.
Waiting is Condition-based (``wait_for``), never a sleep loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.telegram_api import Api, ApiError, ChatKey, Fault, Sent, chat_key

__all__ = ["TOKEN", "ApiError", "FakeTelegram", "Fault", "SendLimits", "Sent", "chat_key"]

TOKEN = "123456:TEST-token-for-the-fake-api"  # a fake token for a fake server


@dataclass(frozen=True)
class SendLimits:
    """The limits ``enforce_limits`` applies (scaled down in tests to run fast)."""

    overall_per_second: int = 30
    per_chat_interval: float = 1.0
    group_per_minute: int = 20
    window: float = 60.0


@dataclass
class _Recent:
    overall: deque[float] = field(default_factory=deque)
    last: dict[ChatKey, float] = field(default_factory=dict)
    minute: dict[ChatKey, deque[float]] = field(default_factory=dict)


class FakeTelegram(Api):
    """The fake server. Thread-safe; every public method may be called from tests."""

    def __init__(
        self,
        token: str = TOKEN,
        *,
        enforce_limits: bool = False,
        limits: SendLimits | None = None,
    ) -> None:
        super().__init__(token)
        self.enforce_limits = enforce_limits
        self.limits = limits or SendLimits()
        self.limit_violations = 0
        self._recent = _Recent()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The Bot API base URL, token not included (``…/bot``)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeTelegram:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rate limits ------------------------------------------------------------------------

    def check_limits(self, chat: ChatKey) -> float | None:
        """Seconds the client should have waited, or None; records the send if allowed."""
        if not self.enforce_limits:
            return None
        now, lim, rec = time.monotonic(), self.limits, self._recent
        while rec.overall and rec.overall[0] <= now - 1.0:
            rec.overall.popleft()
        waits = []
        if len(rec.overall) >= lim.overall_per_second:
            waits.append(rec.overall[0] + 1.0 - now)
        if chat in rec.last and now - rec.last[chat] < lim.per_chat_interval:
            waits.append(rec.last[chat] + lim.per_chat_interval - now)
        minute = rec.minute.setdefault(chat, deque())
        while minute and minute[0] <= now - lim.window:
            minute.popleft()
        group = isinstance(chat, str) or chat < 0
        if group and len(minute) >= lim.group_per_minute:
            waits.append(minute[0] + lim.window - now)
        if waits:
            self.limit_violations += 1
            return max(waits)
        rec.overall.append(now)
        rec.last[chat] = now
        if group:
            minute.append(now)
        return None


def _params(handler: BaseHTTPRequestHandler, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(urlsplit(handler.path).query))
    ctype = handler.headers.get("Content-Type", "")
    if not body:
        return params
    if ctype.startswith("application/json"):
        params.update(json.loads(body))
    elif ctype.startswith("multipart/form-data"):
        head = f"Content-Type: {ctype}\r\n\r\n".encode()
        for part in message_from_bytes(head + body, policy=HTTP).iter_parts():
            name = part.get_param("name", header="content-disposition")
            data = part.get_payload(decode=True) or b""
            if part.get_filename():
                params[str(name)] = {"filename": part.get_filename(), "size": len(data)}
            else:
                params[str(name)] = data.decode("utf-8")
    else:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params


def _handler_for(fake: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                result = fake.dispatch(urlsplit(self.path).path, _params(self, body))
            except ApiError as err:
                self._answer(err.status, err.payload())
            else:
                self._answer(200, {"ok": True, "result": result})

        do_GET = _handle
        do_POST = _handle

    return Handler
