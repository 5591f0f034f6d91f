"""The delivery loop: outbox entries out to Telegram, within its limits, oldest first.

The outbox is the source of truth. An entry is only ever sent after it was read from the
store, and marked sent only after Telegram accepted it, so a crash between the two sends it
again (at least once) but never loses it. It is rendered from its parts at the send. Every
request is one ``attempt`` (``bot.delivery.attempt``) made in the chat's ``slot`` of the
rate limiter, and its decision is acted on in one place (``Sender._request``, with
``bot.delivery.outcomes``). A near-duplicate ("also") is an edit of its story's first
alert (``bot.delivery.also``); an alert that asks for a machine-written summary waits for it
at most the summary timeout (``bot.delivery.machine_summary``).

Chats interleave: each step sends to the chat that may receive soonest, so a paused,
rate-limited or summary-waiting chat never holds up the others.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.clock import utc_now
from bot.delivery.also import Edit, NoStory, NotYet, new_version, story_edit
from bot.delivery.attempt import Failed, Gone, Moved, Refused, Retry, Sent, attempt
from bot.delivery.machine_summary import MachineSummaries, Summarizer, with_machine_summary
from bot.delivery.outcomes import Outcome, Outcomes
from bot.delivery.ports import ChatGoneHook, ChatMovedHook, Sink, StoreLike
from bot.delivery.ratelimit import ChatKey, Limits, RateLimiter, chat_key
from bot.metrics import NullMetrics, Recorder
from bot.models import Destination, Message, OutboxEntry
from bot.store.aio import Offload, to_thread
from bot.store.processes import process_id
from bot.telegram.render import render

__all__ = ["Limits", "Sender", "Sink", "StoreLike", "Summarizer", "utc_now"]

log = logging.getLogger(__name__)


_MAX_BATCH = 50_000


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
            MachineSummaries(summarizer, timeout=summary_timeout, on_ready=self.wake)
            if summarizer
            else None
        )
        self._store = store
        self._sink = sink
        self._limits = limits or Limits()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not security
        self._limiter = self._new_limiter()
        self._outcomes = Outcomes(
            store,
            limits=self._limits,
            limiter=lambda: self._limiter,
            metrics=self._metrics,
            clock=clock,
            rng=self._rng,
            offload=offload,
            on_chat_gone=on_chat_gone,
            on_chat_moved=on_chat_moved,
        )
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._blocked_until: float | None = None
        self._stop: asyncio.Event | None = None  # set by run(): stop between two sends

    def _new_limiter(self) -> RateLimiter:
        return RateLimiter(self._limits, clock=self._now, sleep=self._sleep)

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
        self._limiter = self._new_limiter()
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

    def _awaits_summary(self, entry: OutboxEntry) -> bool:
        """True while the entry's machine summary is being written (the chat waits)."""
        summaries = self._summaries
        return summaries is not None and summaries.wanted(entry) and not summaries.start(entry)

    async def _send_round(self, queues: dict[ChatKey, deque[OutboxEntry]]) -> tuple[int, int]:
        """Send one batch, interleaving chats; returns (attempted, sent).

        A round ends after ``round_seconds`` so entries queued meanwhile for other chats
        are read before a long backlog to one chat is worked off. A chat whose next alert
        waits for its machine summary is passed over until the summary is in.
        """
        attempted = sent = 0
        deadline = self._now() + self._limits.round_seconds
        while queues and not (self._stop is not None and self._stop.is_set()):
            now = self._now()
            ready = {
                k: self._limiter.ready_at(q[0].alert.destination.chat, now)
                for k, q in queues.items()
                if not self._awaits_summary(q[0])
            }
            if not ready:  # every chat left waits for a summary
                if self._stop is not None or self._summaries is None:
                    break  # the loop: a summary's end wakes it
                await self._summaries.wait_any()
                continue
            key = min(ready, key=ready.__getitem__)
            if ready[key] - now > self._limits.horizon:
                self._note_blocked(ready[key])
                break
            if ready[key] > deadline and attempted:
                break
            if ready[key] > now:
                await self._sleep(ready[key] - now)
                continue
            outcome = await self._deliver(queues[key].popleft())
            self._metrics.heartbeat("sender")
            attempted += 1
            sent += outcome in (Outcome.SENT, Outcome.MOVED)
            if not queues[key] or outcome not in (Outcome.SENT, Outcome.FAILED, Outcome.TAKEN):
                del queues[key]
        return attempted, sent

    async def _deliver(self, entry: OutboxEntry) -> Outcome:
        if entry.alert.kind in ("also", "edit"):
            return await self._deliver_edit(entry)
        if self._summaries is not None and self._summaries.wanted(entry):
            text = self._summaries.result(entry)
            entry = await with_machine_summary(self._store, self._io, entry, text)
        return await self._request(entry, entry.alert.destination, render(entry.alert))

    async def _request(
        self, entry: OutboxEntry, dest: Destination, message: Message, edit_of: int | None = None
    ) -> Outcome:
        """Send ``message`` (or edit message ``edit_of`` to it) and act on the decision: a
        refused send goes once more as plain text, a moved chat's once more to its new id."""
        as_plain = moved = False
        while True:
            if not await self._io(self._store.claim, entry.id, self.claimant, self._clock()):
                log.info("send_skipped_taken", extra={"entry_id": entry.id})
                return Outcome.TAKEN
            async with self._limiter.slot(dest.chat):
                request = self._call(dest, message, edit_of, as_plain=as_plain)
                decision = await attempt(request, {"entry_id": entry.id, "chat": str(dest)})
            match decision:
                case Sent(message_id):
                    return await self._outcomes.sent(entry, dest, message_id, moved=moved)
                case Refused(reason) if edit_of is None and not as_plain:
                    log.warning("send_html_refused", extra={"entry_id": entry.id, "error": reason})
                    as_plain = True
                case Moved(_, new_chat) if edit_of is None and not moved:
                    dest, moved = await self._outcomes.move(dest, new_chat), True
                case Retry(reason, after):
                    return await self._outcomes.defer(entry, dest, reason, after)
                case Gone(reason):
                    return await self._outcomes.drop(entry, dest, reason)
                case Failed(reason) | Refused(reason) | Moved(reason, _):
                    # A second refusal or move; for an edit: deleted, too old to edit.
                    return await self._outcomes.fail(entry, dest, reason)

    async def _call(
        self, dest: Destination, message: Message, edit_of: int | None, *, as_plain: bool
    ) -> int:
        if edit_of is None:
            return await self._sink.send(dest, message, as_plain=as_plain)
        await self._sink.edit(dest, edit_of, message)
        return edit_of

    async def _deliver_edit(self, entry: OutboxEntry) -> Outcome:
        """Edit a sent message: the story's first alert to list every source seen since,
        or a sent alert to what it says now."""
        dest = entry.alert.destination
        wanted = story_edit if entry.alert.kind == "also" else new_version
        match await wanted(self._store, self._io, entry):
            case Edit(message_id, message):
                return await self._request(entry, dest, message, message_id)
            case NotYet(reason):  # the first alert is queued still (a retry)
                wait = self._limits.per_chat_interval
                return await self._outcomes.defer(entry, dest, reason, wait)
            case NoStory(reason):
                return await self._outcomes.fail(entry, dest, reason)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then sleep until ``wake()``, the next due entry or a freed chat; until stop."""
        self._stop = stop
        failures = 0
        try:
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
                    delay = self._outcomes.backoff(failures)
                await self._wait(stop, delay)
        finally:
            if self._summaries is not None:  # summaries still being written are not waited for
                await self._summaries.aclose()

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


def _by_chat(entries: list[OutboxEntry]) -> dict[ChatKey, deque[OutboxEntry]]:
    """Entries per chat, each queue oldest first (the store returns them in that order)."""
    queues: dict[ChatKey, deque[OutboxEntry]] = {}
    for entry in entries:
        queues.setdefault(chat_key(entry.alert.destination.chat), deque()).append(entry)
    return queues
