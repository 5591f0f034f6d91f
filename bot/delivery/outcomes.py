"""What the sender does once Telegram has answered (``bot.delivery.attempt``'s decision):

- ``Sent``: the entry is marked sent;
- ``Retry`` (429, network, 5xx): the entry is deferred for its ``after`` or an exponential
  backoff with jitter, whichever is longer, and only its chat pauses; past ``max_age`` it
  is given up;
- ``Refused`` (HTML): sent once more as plain text, then failed;
- ``Moved``: the chat's queue moves to the new id and the entry is resent there;
- ``Gone``: the chat's queue is dropped and ``on_chat_gone`` is told
  (``bot.delivery.chats``);
- ``Failed``: failed with Telegram's reason, never retried.

Each returns an ``Outcome`` that tells the sender's round what became of the chat's queue.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot.delivery.ports import ChatGoneHook, ChatMovedHook, StoreLike
from bot.delivery.ratelimit import Limits, RateLimiter
from bot.metrics import Recorder
from bot.models import Destination, OutboxEntry
from bot.store.aio import Offload

__all__ = ["Outcome", "Outcomes"]

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    PAUSED = "paused"  # the chat waits: skip its other entries for now
    DROPPED = "dropped"  # the chat is gone; its queue was dropped in the store
    MOVED = "moved"  # sent to the chat's new id; its queue changed in the store
    TAKEN = "taken"  # not queued any more, or another sender holds it: nothing was sent


class Outcomes:
    """The store writes, limiter pauses, metrics and hooks that follow a decision."""

    def __init__(
        self,
        store: StoreLike,
        *,
        limits: Limits,
        limiter: Callable[[], RateLimiter],
        metrics: Recorder,
        clock: Callable[[], datetime],
        rng: random.Random,
        offload: Offload,
        on_chat_gone: ChatGoneHook | None,
        on_chat_moved: ChatMovedHook | None,
    ) -> None:
        self._store = store
        self._limits = limits
        self._limiter = limiter
        self._metrics = metrics
        self._clock = clock
        self._rng = rng
        self._io = offload
        self._on_chat_gone = on_chat_gone
        self._on_chat_moved = on_chat_moved

    async def sent(
        self, entry: OutboxEntry, dest: Destination, message_id: int, *, moved: bool
    ) -> Outcome:
        sent_at = self._clock()
        await self._io(self._store.mark_sent, entry.id, message_id, sent_at)
        if entry.alert.kind == "also":
            log.info("alert_also_added", extra={"entry_id": entry.id, "chat": str(dest)})
            return Outcome.SENT
        if entry.alert.kind != "notice":  # a note to admins is no alert
            self._metrics.alert_sent((sent_at - entry.alert.first_seen).total_seconds())
        log.info("alert_sent", extra={"entry_id": entry.id, "chat": str(dest), "id": message_id})
        # After a move the rest of the chat's queue carries the old id: reread it from the store.
        return Outcome.SENT if not moved else Outcome.MOVED

    async def move(self, dest: Destination, new_chat: int) -> Destination:
        moved = await self._io(self._store.move_chat, dest.chat, new_chat)
        log.warning(
            "chat_moved", extra={"chat": str(dest.chat), "new_chat": new_chat, "entries": moved}
        )
        self._limiter().forget(dest.chat)
        if self._on_chat_moved is not None:
            try:
                await self._on_chat_moved(dest, new_chat)
            except Exception:  # telling admins is best effort; delivery goes on
                log.exception("chat_moved_hook_failed", extra={"chat": str(dest)})
        return replace(dest, chat=new_chat)

    def backoff(self, attempts: int) -> float:
        ceiling = min(
            self._limits.backoff_max, self._limits.backoff_base * 2.0 ** min(attempts, 30)
        )
        return ceiling * self._rng.uniform(0.5, 1.0)

    async def defer(
        self, entry: OutboxEntry, dest: Destination, error: str, after: float
    ) -> Outcome:
        age = (self._clock() - entry.alert.first_seen).total_seconds()
        if age >= self._limits.max_age:
            days = self._limits.max_age / 86400
            reason = f"gave up after {entry.attempts + 1} attempts over {days:g} days: {error}"
            return await self.fail(entry, dest, reason, kind="gave_up")
        delay = max(after, self.backoff(entry.attempts))
        until = self._clock() + timedelta(seconds=delay)
        await self._io(self._store.defer, entry.id, until, error, self._clock())
        self._limiter().pause(dest.chat, until.timestamp())
        log.warning(
            "send_deferred",
            extra={
                "entry_id": entry.id,
                "chat": str(dest),
                "delay": round(delay, 3),
                "error": error,
            },
        )
        return Outcome.PAUSED

    async def fail(
        self, entry: OutboxEntry, dest: Destination, reason: str, *, kind: str = "refused"
    ) -> Outcome:
        await self._io(self._store.mark_failed, entry.id, reason, self._clock())
        self._metrics.alert_failed(kind)
        log.warning("send_failed", extra={"entry_id": entry.id, "chat": str(dest), "error": reason})
        return Outcome.FAILED

    async def drop(self, entry: OutboxEntry, dest: Destination, reason: str) -> Outcome:
        dropped = await self._io(self._store.drop_chat, dest.chat, reason)
        self._metrics.alert_failed("chat_gone", max(dropped, 1))
        self._limiter().forget(dest.chat)
        log.warning("chat_gone", extra={"chat": str(dest), "error": reason, "dropped": dropped})
        if self._on_chat_gone is not None:
            try:
                await self._on_chat_gone(dest, reason)
            except Exception:  # telling admins is best effort; delivery goes on
                log.exception("chat_gone_hook_failed", extra={"chat": str(dest)})
        return Outcome.DROPPED
