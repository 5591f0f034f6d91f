"""Telegram's send limits, kept on our side so 429s stay the exception.

Telegram documents about 30 messages per second overall, 20 per minute in one group or
channel, and about one per second in one chat. ``RateLimiter`` answers "when may the next
message to this chat go?" from the sends it has recorded, and holds per-chat pauses (a 429's
``retry_after``, a network backoff) so one slow chat never stops the others.

Times are plain float seconds from whatever clock the caller uses. ``slot`` is the one way
a request to Telegram is made, by the sender and by the command replies alike: it waits for
the chat's turn (with the sleep it is given, cut short by a stop event), counts the request,
and moves it to when the answer came.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

__all__ = ["ChatKey", "Limits", "RateLimiter", "chat_key", "is_group"]

ChatKey = int | str


@dataclass(frozen=True, slots=True)
class Limits:
    """Send limits and retry policy. The defaults follow Telegram's published limits."""

    overall_per_second: int = 30
    per_chat_interval: float = 1.0  # seconds between two messages to one chat
    group_per_minute: int = 20
    group_window: float = 60.0  # seconds of the per-group window (scaled down in tests)
    # A drain waits for a chat that becomes free within this many seconds; a chat blocked
    # for longer (a 429, a full minute window) is left for the next drain.
    horizon: float = 3.0
    backoff_base: float = 1.0
    backoff_max: float = 300.0
    # A transient failure (429, network, 5xx, a rejected token) is retried at the backoff cap
    # for as long as this; an outage of Telegram or of the network never empties the queue.
    max_age: float = 7 * 86400.0  # seconds since the item was first seen
    batch: int = 500  # entries read from the outbox per round
    round_seconds: float = 15.0  # reread the outbox at least this often while draining
    idle: float = 60.0  # the loop rechecks the outbox at least this often


def chat_key(chat: int | str) -> ChatKey:
    """One key per chat: ``@Channel`` and ``@channel`` are the same chat."""
    return chat.lower() if isinstance(chat, str) else chat


def is_group(chat: int | str) -> bool:
    """Groups, supergroups and channels have negative ids; ``@name`` is a public channel."""
    return isinstance(chat, str) or chat < 0


class RateLimiter:
    """Book-keeping of recent sends and pauses, per chat and overall."""

    def __init__(
        self,
        limits: Limits,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._overall: deque[float] = deque()
        self._last: dict[ChatKey, float] = {}
        self._minute: dict[ChatKey, deque[float]] = {}
        self._paused: dict[ChatKey, float] = {}

    def ready_at(self, chat: int | str, now: float) -> float:
        """The earliest time (>= now) a message to ``chat`` keeps every limit."""
        key = chat_key(chat)
        times = [now, self._paused.get(key, now)]
        if key in self._last:
            times.append(self._last[key] + self._limits.per_chat_interval)
        self._expire(self._overall, now - 1.0)
        if len(self._overall) >= self._limits.overall_per_second:
            times.append(self._overall[-self._limits.overall_per_second] + 1.0)
        window = self._minute.get(key)
        if window is not None:
            span = self._limits.group_window
            self._expire(window, now - span)
            if len(window) >= self._limits.group_per_minute:
                times.append(window[-self._limits.group_per_minute] + span)
        return max(times)

    @asynccontextmanager
    async def slot(
        self, chat: int | str, *, stop: asyncio.Event | None = None
    ) -> AsyncIterator[None]:
        """One request to ``chat``: wait for its turn, count it from now, and from the answer
        once the block ends (``settle``), whatever the request's outcome.

        Once ``stop`` is set the wait ends and the turn is taken at once: a process that is
        stopping sends what it has left to say now rather than hold its stop for a limit
        (Telegram may refuse it with a 429, which a stopping caller does not wait out)."""
        while True:
            sent = self._clock()
            ready = self.ready_at(chat, sent)
            if ready <= sent or (stop is not None and stop.is_set()):
                break
            await self._wait(ready - sent, stop)
        self.record(chat, sent)  # no await since the check: no one else takes the turn
        try:
            yield
        finally:
            self.settle(chat, sent, self._clock())

    async def _wait(self, seconds: float, stop: asyncio.Event | None) -> None:
        """Sleep ``seconds`` with the sleep given, or until ``stop``, whichever comes first."""
        if stop is None:
            await self._sleep(seconds)
            return
        waits = [asyncio.ensure_future(self._sleep(seconds)), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def record(self, chat: int | str, now: float) -> None:
        """Count one request to ``chat`` at ``now`` (Telegram counts refused ones too)."""
        key = chat_key(chat)
        self._overall.append(now)
        self._last[key] = now
        if is_group(chat):
            self._minute.setdefault(key, deque()).append(now)

    def settle(self, chat: int | str, sent: float, answered: float) -> None:
        """Move the request recorded at ``sent`` to ``answered``, when Telegram replied.

        Telegram counts a request when it arrives, somewhere between the two; counting from
        the answer keeps the next request to the chat a full interval after the arrival
        whatever the network did, at the cost of one round trip per interval.
        """
        key = chat_key(chat)
        if self._last.get(key) == sent:
            self._last[key] = answered
        for times in (self._overall, self._minute.get(key)):
            if times and sent in times:
                times.remove(sent)
                times.append(answered)

    def pause(self, chat: int | str, until: float) -> None:
        key = chat_key(chat)
        self._paused[key] = max(until, self._paused.get(key, until))

    def forget(self, chat: int | str) -> None:
        """Drop what is known about a chat that is gone or has a new id."""
        key = chat_key(chat)
        for table in (self._last, self._minute, self._paused):
            table.pop(key, None)

    @staticmethod
    def _expire(times: deque[float], before: float) -> None:
        while times and times[0] <= before:
            times.popleft()
