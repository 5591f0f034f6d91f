"""The fake Bot API, plus what command tests need: updates as Telegram sends them, the
photos' bytes, every ``setMyCommands`` call, and waiting for any recorded call.

``UpdatesTelegram`` is a ``FakeTelegram`` that also keeps the bytes of each photo sent
(``photos``) and each menu registration (``command_sets``: scope, language, commands).
``message_update``, ``callback_update`` and ``member_update`` build the JSON Telegram
delivers through ``getUpdates``; push them with ``push_update``. Like Telegram, the fake
delivers only the kinds of update the reader asks for (``allowed_updates``).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.fakes.telegram import FakeTelegram, _handler_for, _params
from tests.fakes.telegram_api import BOT_USER, ApiError, Sent
from tests.fakes.telegram_methods import member_json

_ids = itertools.count(1000)


class UpdatesTelegram(FakeTelegram):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.photos: list[bytes] = []
        self.command_sets: list[dict[str, Any]] = []

    def start(self) -> UpdatesTelegram:
        super().start()
        assert self._server is not None
        self._server.RequestHandlerClass = _keeping_files(self)
        return self

    def _methods(self) -> dict[str, Callable[[Any, dict[str, Any]], Any]]:
        methods = super()._methods()
        register = methods["setmycommands"]

        def record(chat: Any, params: dict[str, Any]) -> Any:
            self.command_sets.append(
                {
                    "scope": self.load_json(params.get("scope")) or {"type": "default"},
                    "language_code": params.get("language_code") or None,
                    "commands": self.load_json(params.get("commands")),
                }
            )
            return register(chat, params)

        methods["setmycommands"] = record
        return methods

    def keep_file(self, content_type: str, body: bytes) -> None:
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        for part in message_from_bytes(head + body, policy=HTTP).iter_parts():
            if part.get_filename():
                with self._cond:
                    self.photos.append(part.get_payload(decode=True) or b"")

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Block until ``predicate()`` holds; rechecked whenever a call is recorded."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def answers(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self.callback_answers)

    def last(self, chat: Any) -> Sent:
        return self.messages(chat)[-1]


def _keeping_files(fake: UpdatesTelegram) -> type[BaseHTTPRequestHandler]:
    base: Any = _handler_for(fake)

    class Handler(base):  # type: ignore[misc]
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            ctype = self.headers.get("Content-Type", "")
            if ctype.startswith("multipart/form-data"):
                fake.keep_file(ctype, body)
            try:
                result = fake.dispatch(urlsplit(self.path).path, _params(self, body))
                answer = (200, {"ok": True, "result": result})
            except ApiError as err:
                answer = (err.status, err.payload())
            # A long poll still open when the client stops finds the socket closed.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(*answer)

        do_GET = _handle
        do_POST = _handle

    return Handler


def _user(user_id: int, lang: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    if lang:
        user["language_code"] = lang
    return user


def chat_json(
    chat_id: int, *, username: str | None = None, forum: bool = False, channel: bool = False
) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    kind = "channel" if channel else "supergroup" if str(chat_id).startswith("-100") else "group"
    chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
    if username:
        chat["username"] = username
    if forum:
        chat["is_forum"] = True
    return chat


def message_update(
    text: str,
    *,
    user: int,
    chat: int | None = None,
    lang: str | None = None,
    thread: int | None = None,
) -> dict[str, Any]:
    """A text message as Telegram delivers it; a leading ``/word`` is marked a command."""
    chat_id = user if chat is None else chat
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": chat_json(chat_id, forum=thread is not None),
        "from": _user(user, lang),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if thread is not None:
        message["message_thread_id"] = thread
        message["is_topic_message"] = True
    return {"message": message}


def callback_update(
    data: str,
    *,
    user: int,
    on: Sent,
    lang: str | None = None,
    username: str | None = None,
    channel: bool = False,
) -> dict[str, Any]:
    """A press of a button with ``data`` under the bot's message ``on``.

    With ``channel`` the message is a channel post, as Telegram shows one: sent by the
    channel itself (``sender_chat``), whoever presses the button (``from``).
    """
    chat_id = on.chat if isinstance(on.chat, int) else -1001000000001
    chat = chat_json(chat_id, username=username, channel=channel)
    message: dict[str, Any] = {
        "message_id": on.message_id,
        "date": on.date,
        "chat": chat,
        "text": on.text,
    }
    if channel:
        message["sender_chat"] = chat
    else:
        message["from"] = BOT_USER
    if on.thread is not None:
        message["message_thread_id"] = on.thread
        message["is_topic_message"] = True
    return {
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(user, lang),
            "chat_instance": "42",
            "data": data,
            "message": message,
        }
    }


def member_update(
    chat: int,
    status: str,
    *,
    by: int,
    old: str | None = None,
    username: str | None = None,
    channel: bool = False,
) -> dict[str, Any]:
    """The bot's own status in ``chat`` became ``status`` (``member``, ``administrator``,
    ``left``, ``kicked``, ...), changed by user ``by``: a ``my_chat_member`` update. In a
    private chat ``kicked`` is the user blocking the bot and ``member`` unblocking it."""
    if old is None:
        old = "left" if status in ("member", "administrator", "creator") else "member"
    return {
        "my_chat_member": {
            "chat": chat_json(chat, username=username, channel=channel),
            "from": _user(by, None),
            "date": int(time.time()),
            "old_chat_member": member_json(old, BOT_USER),
            "new_chat_member": member_json(status, BOT_USER),
        }
    }
