"""The Bot API methods behind ``tests.fakes.telegram.FakeTelegram``: state, faults, answers.

Kept apart from the HTTP plumbing so the behaviour reads in one place. Every method takes
the request's parameters (strings, as clients send forms) and returns the ``result`` or
raises ``ApiError`` with Telegram's status, description and ``parameters``.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram_html import HtmlRefused, ParsedText, parse_html, utf16_len

ChatKey = int | str
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "mediabot", "username": "mediabot_test_bot"}
_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)")
_SEND_METHODS = frozenset({"sendmessage", "editmessagetext", "sendphoto"})


def chat_key(value: Any) -> ChatKey:
    """``"-100123"`` -> ``-100123``; ``"@Name"`` -> ``"@name"``."""
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text.lower()


class ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        return out


@dataclass
class Fault:
    """One injected failure: answer ``status``/``description`` instead of the method.

    ``status == 0`` means no error, only the ``delay`` or ``gate``. ``times=None`` repeats
    forever. ``chat=None`` and ``method=None`` match any.
    """

    status: int
    description: str = ""
    parameters: dict[str, Any] | None = None
    method: str | None = "sendMessage"
    chat: ChatKey | None = None
    times: int | None = 1
    delay: float = 0.0
    gate: threading.Event | None = None

    def matches(self, method: str, chat: ChatKey | None) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat is None or self.chat == chat


@dataclass
class Sent:
    """A message Telegram accepted, as the chat now shows it."""

    chat: ChatKey
    message_id: int
    text: str
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    thread: int | None
    date: int
    method: str = "sendMessage"
    source: str = ""  # the text as sent, before entity parsing
    edits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    method: str
    chat: ChatKey | None
    status: int
    at: float


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value else value


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def chat_object(chat: ChatKey) -> dict[str, Any]:
    if isinstance(chat, str):
        fake_id = -1_000_000_000_000 - zlib.crc32(chat.encode()) % 1_000_000_000
        return {"id": fake_id, "type": "channel", "title": chat, "username": chat.lstrip("@")}
    if chat > 0:
        return {"id": chat, "type": "private", "first_name": "User"}
    # Supergroup and channel ids are -100 followed by ten or more digits.
    kind = "supergroup" if re.fullmatch(r"-100\d{10,}", str(chat)) else "group"
    return {"id": chat, "type": kind, "title": f"Chat {chat}"}


def _check_markup(markup: Any) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(https?|tg)://\S+$", url):
                raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


class Api:
    """State and methods; ``dispatch`` is the one entry for a request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self._cond = threading.Condition()
        self.closed = False
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.updates: list[dict[str, Any]] = []
        self.commands: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.chat_members: dict[tuple[ChatKey, int], str] = {}
        self.polling = 0  # getUpdates calls waiting for news right now
        # The kinds of update asked for by the last getUpdates that named them (Telegram
        # keeps the setting); None: Telegram's default.
        self.allowed_updates: list[str] | None = None
        self._ids: dict[ChatKey, int] = {}
        self._next_update = 1

    # -- faults -----------------------------------------------------------------------------

    def fault(self, fault: Fault) -> Fault:
        with self._cond:
            self.faults.append(fault)
        return fault

    def flood(
        self,
        chat: Any = None,
        retry_after: int = 3,
        times: int | None = 1,
        method: str | None = "sendMessage",
    ) -> Fault:
        key = None if chat is None else chat_key(chat)
        desc = f"Too Many Requests: retry after {retry_after}"
        params = {"retry_after": retry_after}
        return self.fault(Fault(429, desc, params, method=method, chat=key, times=times))

    def server_error(self, chat: Any = None, status: int = 500, times: int | None = 1) -> Fault:
        desc = "Internal Server Error" if status == 500 else "Bad Gateway"
        key = None if chat is None else chat_key(chat)
        return self.fault(Fault(status, desc, chat=key, times=times))

    def block(self, chat: Any) -> Fault:
        desc = "Forbidden: bot was blocked by the user"
        return self.fault(Fault(403, desc, chat=chat_key(chat), times=None, method=None))

    def chat_not_found(self, chat: Any) -> Fault:
        desc = "Bad Request: chat not found"
        return self.fault(Fault(400, desc, chat=chat_key(chat), times=None, method=None))

    def migrate(self, chat: Any, new_chat_id: int) -> Fault:
        desc = "Bad Request: group chat was upgraded to a supergroup chat"
        params = {"migrate_to_chat_id": new_chat_id}
        return self.fault(Fault(400, desc, params, chat=chat_key(chat), times=None))

    def delay(self, seconds: float, chat: Any = None, times: int | None = 1) -> Fault:
        key = None if chat is None else chat_key(chat)
        return self.fault(Fault(0, chat=key, times=times, delay=seconds))

    def gate(self, chat: Any = None, times: int | None = 1) -> threading.Event:
        """Requests to ``chat`` wait until the returned event is set (at most 10 s)."""
        event = threading.Event()
        key = None if chat is None else chat_key(chat)
        self.fault(Fault(0, chat=key, times=times, gate=event))
        return event

    def clear_faults(self) -> None:
        with self._cond:
            self.faults.clear()

    def _take_fault(self, method: str, chat: ChatKey | None) -> Fault | None:
        with self._cond:
            for fault in self.faults:
                if fault.matches(method, chat):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # -- queries ----------------------------------------------------------------------------

    def messages(self, chat: Any = None) -> list[Sent]:
        with self._cond:
            key = None if chat is None else chat_key(chat)
            return [s for s in self.sent if key is None or s.chat == key]

    def texts(self, chat: Any) -> list[str]:
        return [s.text for s in self.messages(chat)]

    def calls_to(self, chat: Any, method: str = "sendMessage") -> list[Call]:
        with self._cond:
            key = chat_key(chat)
            return [c for c in self.calls if c.chat == key and c.method == method]

    def wait_for(self, count: int, chat: Any = None, timeout: float = 5.0) -> bool:
        """Block until ``count`` messages were accepted (for ``chat``, or in all)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.messages(chat)) >= count, timeout)

    def push_update(self, update: dict[str, Any]) -> int:
        with self._cond:
            update = {"update_id": self._next_update, **update}
            self._next_update += 1
            self.updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    # -- dispatch ---------------------------------------------------------------------------

    def check_limits(self, chat: ChatKey) -> float | None:
        return None

    def dispatch(self, path: str, params: dict[str, Any]) -> Any:
        m = _PATH.fullmatch(path)
        if not m:
            raise ApiError(404, "Not Found")
        if m.group(1) != self.token:
            raise ApiError(401, "Unauthorized")
        method = m.group(2)
        handler = self._methods().get(method.lower())
        if handler is None:
            raise ApiError(404, "Not Found")
        chat = chat_key(params["chat_id"]) if params.get("chat_id") not in (None, "") else None
        try:
            result = self._run(method, chat, params, handler)
        except ApiError as err:
            self._record(method, chat, err.status)
            raise
        self._record(method, chat, 200)
        return result

    def _run(self, method: str, chat: ChatKey | None, params: dict[str, Any], handler: Any) -> Any:
        fault = self._take_fault(method, chat)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)  # simulated latency, on the server's own thread
            if fault.gate is not None:
                fault.gate.wait(10)
            if fault.status:
                raise ApiError(fault.status, fault.description, fault.parameters)
        with self._cond:
            if method.lower() in _SEND_METHODS and chat is not None:
                wait = self.check_limits(chat)
                if wait is not None:
                    after = max(1, int(wait + 0.999))
                    desc = f"Too Many Requests: retry after {after}"
                    raise ApiError(429, desc, {"retry_after": after})
            return handler(chat, params)

    def _record(self, method: str, chat: ChatKey | None, status: int) -> None:
        with self._cond:
            self.calls.append(Call(method, chat, status, time.monotonic()))
            self._cond.notify_all()

    def _methods(self) -> dict[str, Callable[[ChatKey | None, dict[str, Any]], Any]]:
        from tests.fakes import telegram_methods as m

        return {
            "getme": lambda chat, p: BOT_USER,
            "sendmessage": lambda chat, p: m.send_message(self, chat, p),
            "editmessagetext": lambda chat, p: m.edit_message_text(self, chat, p),
            "sendphoto": lambda chat, p: m.send_photo(self, chat, p),
            "answercallbackquery": lambda chat, p: m.remember(self.callback_answers, p),
            "setmycommands": lambda chat, p: m.set_commands(self, p),
            "getupdates": lambda chat, p: m.get_updates(self, p),
            "deletewebhook": lambda chat, p: True,
            "getchat": lambda chat, p: chat_object(m.need_chat(chat)),
            "getchatmember": lambda chat, p: m.chat_member(self, chat, p),
        }

    # -- helpers for the method module -----------------------------------------------------

    def next_id(self, chat: ChatKey) -> int:
        self._ids[chat] = self._ids.get(chat, 0) + 1
        return self._ids[chat]

    def parse(self, text: str, parse_mode: str | None, limit: int = 4096) -> ParsedText:
        mode = (parse_mode or "").lower()
        if mode not in ("", "html"):
            raise _bad(f"unsupported parse_mode {parse_mode}")
        try:
            parsed = parse_html(text) if mode == "html" else ParsedText(text)
        except HtmlRefused as err:
            raise ApiError(400, str(err)) from None
        if not parsed.text.strip():
            raise _bad("message text is empty")
        if utf16_len(parsed.text) > limit:
            raise _bad("message is too long" if limit == 4096 else "message caption is too long")
        return parsed

    def check_markup(self, markup: Any) -> None:
        _check_markup(markup)

    def load_json(self, value: Any) -> Any:
        return _json(value)
