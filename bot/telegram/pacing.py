"""Command replies within Telegram's limits, and retried when Telegram says "wait".

``ReplyPacer`` is the python-telegram-bot rate limiter of the updates reader. Every
message it sends, edits or posts as a photo waits for its chat's turn under the limits of
``bot.delivery.ratelimit`` (``RateLimiter.slot``, as the sender's do: one per second in a
chat, twenty a minute in a group, thirty a second overall), so a burst of commands is
answered at the pace Telegram accepts instead of being refused, and in the order the
commands came. A request Telegram still refuses with 429 is sent again after its
``retry_after``, a few times at most; a wait longer than ``max_wait`` is not worth holding
a reply for, and neither is any wait once the reader is stopping: a turn is taken at once
and a 429 goes up as is.

Per-user flood control (``bot.control.flood``) decides *whether* a command is answered;
this decides only *when*.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.ratelimit import ChatKey, Limits, RateLimiter, chat_key
from bot.telegram.send import retry_seconds

__all__ = ["ReplyPacer"]

log = logging.getLogger(__name__)

_DURATION_WARNING = r".*attribute `retry_after` will be of type"
_PACED = frozenset({"sendMessage", "sendPhoto", "editMessageText"})
Result = bool | dict[str, Any] | list[dict[str, Any]]


class ReplyPacer(BaseRateLimiter[None]):
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        max_tries: int = 4,
        max_wait: float = 60.0,
        stop: asyncio.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        # ``clock`` and ``sleep`` time the chats' turns (a stop cuts a turn's sleep short).
        self._book = RateLimiter(limits or Limits(), clock=clock, sleep=sleep)
        self._max_tries = max_tries
        self._max_wait = max_wait
        self._stop = stop or asyncio.Event()
        self._clock = clock
        self._chats: dict[ChatKey, tuple[asyncio.Lock, int]] = {}  # lock, requests using it

    async def initialize(self) -> None:
        # PTB 22 warns, inside every 429 it raises, that ``retry_after`` will become a
        # timedelta; ``retry_seconds`` reads both forms, so the warning tells us nothing.
        # A filter, not ``catch_warnings``: that one is not safe across concurrent tasks.
        warnings.filterwarnings("ignore", message=_DURATION_WARNING, category=PTBDeprecationWarning)

    async def shutdown(self) -> None:
        pass

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        chat = data.get("chat_id") if endpoint in _PACED else None
        if chat is None:
            return await self._send(callback, args, kwargs, endpoint, None)
        async with self._queue(chat):
            return await self._send(callback, args, kwargs, endpoint, chat)

    @contextlib.asynccontextmanager
    async def _queue(self, chat: int | str) -> AsyncIterator[None]:
        """One request at a time per chat, first come first served: replies arrive in the
        order of the commands, and a chat waiting out a 429 holds back only itself."""
        key = chat_key(chat)
        lock, users = self._chats.get(key, (asyncio.Lock(), 0))
        self._chats[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._chats[key]
            if users == 1:
                del self._chats[key]
            else:
                self._chats[key] = (lock, users - 1)

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        chat: int | str | None,
    ) -> Result:
        for attempt in range(1, self._max_tries + 1):
            try:
                return await self._call(callback, args, kwargs, chat)
            except RetryAfter as exc:
                after = retry_seconds(exc)
                if attempt == self._max_tries or after > self._max_wait or self._stop.is_set():
                    raise
                log.warning(
                    "reply_retry_after",
                    extra={"method": endpoint, "retry_after": after, "attempt": attempt},
                )
                if chat is None:
                    await self._wait(after)
                else:  # the chat's next turn comes after it; other chats go on
                    self._book.pause(chat, self._clock() + after)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _call(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        chat: int | str | None,
    ) -> Result:
        """One request, in its chat's turn under the limits (a stop ends the wait for it)."""
        if chat is None:
            return await callback(*args, **kwargs)
        async with self._book.slot(chat, stop=self._stop):
            return await callback(*args, **kwargs)

    async def _wait(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the reader is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
