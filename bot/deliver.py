"""The delivery loop: outbox entries out to Telegram, within its limits, oldest first.

The outbox is the source of truth. An entry is only ever sent after it was read from the
store, and marked sent only after Telegram accepted it, so a crash between the two sends it
again (at least once) but never loses it. Per failure (see ``bot.errors``):

- ``RetryLater`` (429, network, 5xx): the entry is deferred for its ``after`` or an
  exponential backoff with jitter, whichever is longer, and only its chat pauses;
- ``ParseModeRefused``: sent once more as plain text, then failed;
- ``ChatMoved``: the chat's queue moves to the new id and the entry is resent there;
- ``ChatGone``: the chat's queue is dropped and ``on_chat_gone`` is told;
- ``PermanentSendError``: failed with Telegram's reason, never retried.

Two kinds of entry are more than a send (``bot.models.Alert.kind``):

- ``also`` (a near-duplicate, ``bot.dedupe``): the earlier alert's message is edited to
  list every source recorded against it so far ("also: <source link>"), so a repeated edit
  after a crash says the same thing again;
- an alert with ``summary_input``, when a ``summarizer`` is given: a machine-written summary
  replaces the extractive one, labelled as such; on any error or after ``summary_timeout``
  the extractive alert goes out unchanged. One summary per item serves all its chats.

Chats interleave: each step sends to the chat that may receive soonest, so a paused or
rate-limited chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import utc_now
from bot.errors import ChatGone, ChatMoved, ParseModeRefused, RetryLater, SendError
from bot.machine_summary import MachineSummaries, Summarizer
from bot.metrics import NullMetrics, Recorder
from bot.models import Destination, Message, OutboxEntry
from bot.ratelimit import ChatKey, Limits, RateLimiter, chat_key
from bot.store.aio import Offload, to_thread
from bot.store.processes import process_id
from bot.telegram.render import render_also

__all__ = ["Limits", "Sender", "Sink", "StoreLike", "Summarizer", "utc_now"]

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where messages go: Telegram, or the console in a dry run."""

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int: ...

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None: ...

    async def aclose(self) -> None: ...


class StoreLike(Protocol):
    """The outbox part of the store that delivery needs (short, synchronous transactions)."""

    def due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]: ...

    def mark_sent(self, entry_id: int, message_id: int, sent_at: datetime) -> None: ...

    def mark_failed(self, entry_id: int, error: str, at: datetime | None = None) -> None: ...

    def defer(
        self, entry_id: int, not_before: datetime, error: str | None, at: datetime | None = None
    ) -> None: ...

    def claim(self, entry_id: int, claimant: str, at: datetime) -> bool: ...

    def release_claims(self, claimant: str) -> int: ...

    def recent_attempts(self, since: datetime) -> list[tuple[int | str, datetime, bool]]: ...

    def move_chat(self, old_chat: int | str, new_chat: int) -> int: ...

    def drop_chat(self, chat: int | str, reason: str) -> int: ...

    def outbox_depth(self) -> int: ...

    def next_due_time(self) -> datetime | None: ...

    def set_message(self, entry_id: int, message: Message) -> None: ...

    def original_alert(
        self, topic_id: str, dest: Destination, feed_id: str, item_key: str
    ) -> OutboxEntry | None: ...

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]: ...


_MAX_BATCH = 50_000
ChatGoneHook = Callable[[Destination, str], Awaitable[None]]
ChatMovedHook = Callable[[Destination, int], Awaitable[None]]


class _Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"
    PAUSED = "paused"  # the chat waits: skip its other entries for now
    DROPPED = "dropped"  # the chat is gone; its queue was dropped in the store
    MOVED = "moved"  # sent to the chat's new id; its queue changed in the store
    TAKEN = "taken"  # not queued any more, or another sender holds it: nothing was sent


class Sender:
    """Sends what the outbox holds, politely. ``drain`` once, or ``run`` as a loop."""

    def __init__(
        self,
        store: StoreLike,
        sink: Sink,
        *,
        limits: Limits | None = None,
        on_chat_gone: ChatGoneHook | None = None,
        on_chat_moved: ChatMovedHook | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        summarizer: Summarizer | None = None,
        summary_timeout: float = 20.0,
        metrics: Recorder | None = None,
        claimant: str | None = None,
        offload: Offload = to_thread,
    ) -> None:
        self._io = offload
        self.claimant = claimant or process_id()
        self._prepared = False
        self._metrics: Recorder = metrics or NullMetrics()
        self._summaries = (
            MachineSummaries(summarizer, timeout=summary_timeout) if summarizer else None
        )
        self._store = store
        self._sink = sink
        self._limits = limits or Limits()
        self._on_chat_gone = on_chat_gone
        self._on_chat_moved = on_chat_moved
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not security
        self._limiter = RateLimiter(self._limits)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._blocked_until: float | None = None
        self._stop: asyncio.Event | None = None  # set by run(): stop between two sends

    def wake(self) -> None:
        """New entries are in the outbox: drain now instead of at the next timer."""
        self._wake.set()

    def _now(self) -> float:
        return self._clock().timestamp()

    async def prepare(self) -> None:
        """Start from what the store knows of the last minute's sends (by any sender, this
        one before a restart included), so a quick restart or a takeover keeps Telegram's
        limits. A request still marked in flight may have reached Telegram at any moment up
        to now: it counts as made now. Claims of earlier senders are cleared.
        """
        now = self._clock()
        span = max(self._limits.group_window, 1.0, self._limits.per_chat_interval)
        attempts = await self._io(self._store.recent_attempts, now - timedelta(seconds=span))
        released = await self._io(self._store.release_claims, self.claimant)
        times = sorted(
            (now.timestamp() if in_flight else at.timestamp(), chat)
            for chat, at, in_flight in attempts
        )
        # A fresh book: on a second takeover this process's own earlier sends are in the
        # store's view already, and counting them twice would hold chats back for nothing.
        self._limiter = RateLimiter(self._limits)
        for at, chat in times:
            self._limiter.record(chat, at)
        self._prepared = True
        log.info(
            "sender_prepared",
            extra={"recent_sends": len(times), "claims_released": released},
        )

    async def drain(self) -> int:
        """Send everything due now within the limits; return how many were sent."""
        async with self._lock:
            if not self._prepared:
                await self.prepare()
            self._blocked_until = None
            sent, limit = 0, self._limits.batch
            while True:
                entries = await self._io(self._store.due, self._clock(), limit=limit)
                queues = self._sendable(entries)
                if not queues:
                    if len(entries) < limit or limit >= _MAX_BATCH:
                        return sent
                    # Every chat in view is blocked (one chat's backlog can fill a batch):
                    # look further down the queue so the other chats are not starved.
                    limit *= 4
                    continue
                attempted, delivered = await self._send_round(queues)
                sent += delivered
                if attempted == 0:
                    return sent

    def _sendable(self, entries: list[OutboxEntry]) -> dict[ChatKey, deque[OutboxEntry]]:
        """Entries per chat (oldest first), leaving out chats blocked beyond the horizon."""
        now = self._now()
        queues: dict[ChatKey, deque[OutboxEntry]] = {}
        for key, queue in _by_chat(entries).items():
            ready = self._limiter.ready_at(queue[0].alert.destination.chat, now)
            if ready - now > self._limits.horizon:
                self._note_blocked(ready)
            else:
                queues[key] = queue
        return queues

    def _note_blocked(self, ready: float) -> None:
        if self._blocked_until is None or ready < self._blocked_until:
            self._blocked_until = ready

    async def _send_round(self, queues: dict[ChatKey, deque[OutboxEntry]]) -> tuple[int, int]:
        """Send one batch, interleaving chats; returns (attempted, sent).

        A round ends after ``round_seconds`` so entries queued meanwhile for other chats
        are read before a long backlog to one chat is worked off.
        """
        attempted = sent = 0
        deadline = self._now() + self._limits.round_seconds
        while queues and not (self._stop is not None and self._stop.is_set()):
            now = self._now()
            key, ready = min(
                (
                    (k, self._limiter.ready_at(q[0].alert.destination.chat, now))
                    for k, q in queues.items()
                ),
                key=lambda pair: pair[1],
            )
            if ready - now > self._limits.horizon:
                self._note_blocked(ready)
                break
            if ready > deadline and attempted:
                break
            if ready > now:
                await self._sleep(ready - now)
                continue
            entry = queues[key].popleft()
            outcome = await self._deliver(entry)
            self._metrics.heartbeat("sender")
            attempted += 1
            sent += outcome in (_Outcome.SENT, _Outcome.MOVED)
            if not queues[key] or outcome not in (_Outcome.SENT, _Outcome.FAILED, _Outcome.TAKEN):
                del queues[key]
        return attempted, sent

    async def _claim(self, entry: OutboxEntry) -> bool:
        """Record the request about to be made, before it is made (see ``prepare``)."""
        return await self._io(self._store.claim, entry.id, self.claimant, self._clock())

    async def _send(self, entry: OutboxEntry, dest: Destination, *, as_plain: bool) -> int:
        if not await self._claim(entry):
            raise _Taken
        sent = self._now()
        self._limiter.record(dest.chat, sent)
        try:
            return await self._sink.send(dest, entry.alert.message, as_plain=as_plain)
        finally:
            self._limiter.settle(dest.chat, sent, self._now())

    async def _deliver(self, entry: OutboxEntry) -> _Outcome:
        if entry.alert.kind == "also":
            return await self._deliver_also(entry)
        if entry.alert.kind == "edit":
            return await self._deliver_edit(entry)
        if self._summaries is not None and entry.alert.summary_input:
            entry = await self._summaries.apply(entry, self._store)
        dest = entry.alert.destination
        try:
            return await self._deliver_alert(entry, dest)
        except _Taken:
            log.info("send_skipped_taken", extra={"entry_id": entry.id})
            return _Outcome.TAKEN

    async def _deliver_alert(self, entry: OutboxEntry, dest: Destination) -> _Outcome:
        moved = False
        try:
            try:
                message_id = await self._send(entry, dest, as_plain=False)
            except ParseModeRefused as exc:
                log.warning("send_html_refused", extra={"entry_id": entry.id, "error": str(exc)})
                await self._wait_for_chat(dest.chat)
                message_id = await self._send(entry, dest, as_plain=True)
            except ChatMoved as exc:
                dest, moved = await self._move(dest, exc.new_chat_id), True
                message_id = await self._send(entry, dest, as_plain=False)
        except RetryLater as exc:
            return await self._defer(entry, dest, exc)
        except ChatGone as exc:
            return await self._drop(entry, dest, str(exc))
        except SendError as exc:  # PermanentSendError, a second refusal or a second move
            return await self._fail(entry, dest, str(exc) or type(exc).__name__)
        except _Taken:
            raise
        except Exception as exc:  # a bug in a sink must not stop delivery to everyone
            log.exception("send_crashed", extra={"entry_id": entry.id, "chat": str(dest)})
            return await self._defer(entry, dest, RetryLater(repr(exc), after=0.0))
        sent_at = self._clock()
        await self._io(self._store.mark_sent, entry.id, message_id, sent_at)
        if entry.alert.kind != "notice":  # a note to admins is no alert
            self._metrics.alert_sent((sent_at - entry.alert.first_seen).total_seconds())
        log.info("alert_sent", extra={"entry_id": entry.id, "chat": str(dest), "id": message_id})
        # After a move the rest of the chat's queue carries the old id: reread it from the store.
        return _Outcome.SENT if not moved else _Outcome.MOVED

    async def _deliver_also(self, entry: OutboxEntry) -> _Outcome:
        """Edit the story's first message to list every source seen since."""
        alert = entry.alert
        dest = alert.destination
        first = await self._io(
            self._store.original_alert,
            alert.topic_id,
            dest,
            alert.ref_feed or "",
            alert.ref_key or "",
        )
        if first is None or first.status == "failed" or first.alert.kind != "alert":
            return await self._fail(entry, dest, "no sent alert to add this source to")
        if first.status != "sent" or first.message_id is None:
            # The first alert is still queued (a retry): try again once it may have gone.
            wait = RetryLater(
                "the first alert is not sent yet", after=self._limits.per_chat_interval
            )
            return await self._defer(entry, dest, wait)
        duplicates = await self._io(
            self._store.duplicates_of,
            alert.topic_id,
            dest,
            alert.ref_feed or "",
            alert.ref_key or "",
        )
        sources = [
            (d.alert.source or d.alert.feed_id, d.item_link)
            for d in duplicates
            if d.alert.kind == "also" and d.id <= entry.id
        ]
        message = render_also(first.alert.message, sources)
        if not await self._claim(entry):
            return _Outcome.TAKEN
        sent = self._now()
        self._limiter.record(dest.chat, sent)
        try:
            await self._sink.edit(dest, first.message_id, message)
        except RetryLater as exc:
            return await self._defer(entry, dest, exc)
        except ChatGone as exc:
            return await self._drop(entry, dest, str(exc))
        except SendError as exc:  # the message was deleted, or is too old to edit
            return await self._fail(entry, dest, str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("edit_crashed", extra={"entry_id": entry.id, "chat": str(dest)})
            return await self._defer(entry, dest, RetryLater(repr(exc), after=0.0))
        finally:
            self._limiter.settle(dest.chat, sent, self._now())
        await self._io(self._store.mark_sent, entry.id, first.message_id, self._clock())
        log.info(
            "alert_also_added",
            extra={"entry_id": entry.id, "chat": str(dest), "id": first.message_id},
        )
        return _Outcome.SENT

    async def _deliver_edit(self, entry: OutboxEntry) -> _Outcome:
        """Replace a sent alert's message with the row's (a spike whose count grew)."""
        alert = entry.alert
        dest = alert.destination
        first = await self._io(
            self._store.original_alert,
            alert.topic_id,
            dest,
            alert.ref_feed or "",
            alert.ref_key or "",
        )
        if first is None or first.status == "failed" or first.alert.kind != "alert":
            return await self._fail(entry, dest, "no sent alert to edit")
        if first.status != "sent" or first.message_id is None:
            wait = RetryLater("the alert is not sent yet", after=self._limits.per_chat_interval)
            return await self._defer(entry, dest, wait)
        if not await self._claim(entry):
            return _Outcome.TAKEN
        sent = self._now()
        self._limiter.record(dest.chat, sent)
        try:
            await self._sink.edit(dest, first.message_id, alert.message)
        except RetryLater as exc:
            return await self._defer(entry, dest, exc)
        except ChatGone as exc:
            return await self._drop(entry, dest, str(exc))
        except SendError as exc:  # the message was deleted, or is too old to edit
            return await self._fail(entry, dest, str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception("edit_crashed", extra={"entry_id": entry.id, "chat": str(dest)})
            return await self._defer(entry, dest, RetryLater(repr(exc), after=0.0))
        finally:
            self._limiter.settle(dest.chat, sent, self._now())
        await self._io(self._store.mark_sent, entry.id, first.message_id, self._clock())
        log.info("alert_edited", extra={"entry_id": entry.id, "chat": str(dest)})
        return _Outcome.SENT

    async def _wait_for_chat(self, chat: int | str) -> None:
        now = self._now()
        ready = self._limiter.ready_at(chat, now)
        if ready > now:
            await self._sleep(ready - now)

    async def _move(self, dest: Destination, new_chat: int) -> Destination:
        moved = await self._io(self._store.move_chat, dest.chat, new_chat)
        log.warning(
            "chat_moved", extra={"chat": str(dest.chat), "new_chat": new_chat, "entries": moved}
        )
        self._limiter.forget(dest.chat)
        if self._on_chat_moved is not None:
            try:
                await self._on_chat_moved(dest, new_chat)
            except Exception:  # telling admins is best effort; delivery goes on
                log.exception("chat_moved_hook_failed", extra={"chat": str(dest)})
        return replace(dest, chat=new_chat)

    def _backoff(self, attempts: int) -> float:
        ceiling = min(
            self._limits.backoff_max, self._limits.backoff_base * 2.0 ** min(attempts, 30)
        )
        return ceiling * self._rng.uniform(0.5, 1.0)

    async def _defer(self, entry: OutboxEntry, dest: Destination, exc: RetryLater) -> _Outcome:
        age = (self._clock() - entry.alert.first_seen).total_seconds()
        if age >= self._limits.max_age:
            days = self._limits.max_age / 86400
            reason = f"gave up after {entry.attempts + 1} attempts over {days:g} days: {exc}"
            return await self._fail(entry, dest, reason, kind="gave_up")
        delay = max(exc.after, self._backoff(entry.attempts))
        until = self._clock() + timedelta(seconds=delay)
        await self._io(self._store.defer, entry.id, until, str(exc), self._clock())
        self._limiter.pause(dest.chat, until.timestamp())
        log.warning(
            "send_deferred",
            extra={
                "entry_id": entry.id,
                "chat": str(dest),
                "delay": round(delay, 3),
                "error": str(exc),
            },
        )
        return _Outcome.PAUSED

    async def _fail(
        self, entry: OutboxEntry, dest: Destination, reason: str, *, kind: str = "refused"
    ) -> _Outcome:
        await self._io(self._store.mark_failed, entry.id, reason, self._clock())
        self._metrics.alert_failed(kind)
        log.warning("send_failed", extra={"entry_id": entry.id, "chat": str(dest), "error": reason})
        return _Outcome.FAILED

    async def _drop(self, entry: OutboxEntry, dest: Destination, reason: str) -> _Outcome:
        dropped = await self._io(self._store.drop_chat, dest.chat, reason)
        self._metrics.alert_failed("chat_gone", max(dropped, 1))
        self._limiter.forget(dest.chat)
        log.warning("chat_gone", extra={"chat": str(dest), "error": reason, "dropped": dropped})
        if self._on_chat_gone is not None:
            try:
                await self._on_chat_gone(dest, reason)
            except Exception:  # telling admins is best effort; delivery goes on
                log.exception("chat_gone_hook_failed", extra={"chat": str(dest)})
        return _Outcome.DROPPED

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then sleep until ``wake()``, the next due entry or a freed chat; until stop."""
        self._stop = stop
        failures = 0
        while not stop.is_set():
            self._metrics.heartbeat("sender")
            self._wake.clear()
            try:
                await self.drain()
                failures = 0
                delay = await self._idle_delay()
            except Exception:  # the store may be briefly unavailable; keep the loop alive
                failures += 1
                log.exception("deliver_loop_failed", extra={"failures": failures})
                delay = self._backoff(failures)
            await self._wait(stop, delay)

    async def _idle_delay(self) -> float:
        now = self._clock()
        delays = [self._limits.idle]
        next_due = await self._io(self._store.next_due_time)
        if next_due is not None:
            delays.append((next_due - now).total_seconds())
        if self._blocked_until is not None:
            delays.append(self._blocked_until - now.timestamp())
        return max(0.0, min(delays))

    async def _wait(self, stop: asyncio.Event, delay: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


class _Taken(Exception):
    """The entry may not be sent by this sender (see ``Sender._claim``)."""


def _by_chat(entries: list[OutboxEntry]) -> dict[ChatKey, deque[OutboxEntry]]:
    """Entries per chat, each queue oldest first (the store returns them in that order)."""
    queues: dict[ChatKey, deque[OutboxEntry]] = {}
    for entry in entries:
        queues.setdefault(chat_key(entry.alert.destination.chat), deque()).append(entry)
    return queues
