"""Machine-written summaries beside the send path: one remote call per item, any failure
harmless, and never in the way of another chat.

An alert carrying ``summary_input`` (the item's text) gets the summarizer's answer in place
of its extractive summary, labelled as machine-written. The sender asks for it the first
time it sees the alert (``start``) and sends other chats meanwhile; the call runs in a task
of its own, at most ``concurrency`` at once, and ends within ``timeout`` seconds of the
request, queueing for a free call included: on any error or at the timeout the extractive
alert goes out unchanged. The answer is stored with the entry, so a restart sends the same
text and "also:" edits keep it; it is kept per item so one call serves all the item's chats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol

from bot.delivery.kinds import Body, TopicAlert
from bot.models import OutboxEntry
from bot.store.aio import Offload

__all__ = ["MachineSummaries", "Summarizer", "with_machine_summary"]

log = logging.getLogger(__name__)

# Item text in, summary text out; may raise anything (it is a remote model).
Summarizer = Callable[[str], Awaitable[str]]
_KEPT = 1_000  # answers kept for items whose other chats may still be waiting
ItemKey = tuple[str, str]


class MachineSummaries:
    def __init__(
        self,
        summarizer: Summarizer,
        *,
        timeout: float = 20.0,
        concurrency: int = 4,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self._summarizer = summarizer
        self._timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._on_ready = on_ready
        self._tasks: dict[ItemKey, asyncio.Task[str | None]] = {}

    @staticmethod
    def wanted(entry: OutboxEntry) -> bool:
        """A topic alert asks for one with its item's text (alerts rendered before the
        outbox held parts cannot take one)."""
        return bool(entry.alert.summary_input) and isinstance(entry.alert.body, TopicAlert)

    def start(self, entry: OutboxEntry) -> bool:
        """Ask for the entry's summary unless asked already; True once the answer is in
        (``result`` has it), False while the call runs."""
        key = _key(entry)
        task = self._tasks.get(key)
        if task is None:
            self._forget_some()
            task = asyncio.ensure_future(self._summarize(entry))
            task.add_done_callback(lambda _task: self._on_ready())
            self._tasks[key] = task
        return task.done()

    def result(self, entry: OutboxEntry) -> str | None:
        """The summary text (None: none could be had); call once ``start`` says it is in."""
        task = self._tasks[_key(entry)]
        return task.result()

    async def wait_any(self) -> None:
        """Until one of the calls running now ends (at once when none runs)."""
        running = [t for t in self._tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)

    async def aclose(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()

    def _forget_some(self) -> None:
        if len(self._tasks) >= _KEPT:
            self._tasks = {k: t for k, t in self._tasks.items() if not t.done()}

    async def _summarize(self, entry: OutboxEntry) -> str | None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout), self._slots:
                text = await self._summarizer(entry.alert.summary_input or "")
        except Exception as exc:  # any failure: the extractive summary stands
            log.warning(
                "llm_summary_failed",
                extra={"entry_id": entry.id, "error": f"{type(exc).__name__}: {exc}"},
            )
            return None
        log.info(
            "llm_summary_made",
            extra={"entry_id": entry.id, "seconds": round(time.monotonic() - started, 3)},
        )
        return text.strip() or None


class BodyStore(Protocol):
    def set_body(self, entry_id: int, body: Body) -> None: ...


async def with_machine_summary(
    store: BodyStore, io: Offload, entry: OutboxEntry, text: str | None
) -> OutboxEntry:
    """The entry with its machine summary in (none: as it was), stored so a resend says
    the same and "also:" edits keep it."""
    alert = entry.alert
    body = alert.body
    if text and isinstance(body, TopicAlert):
        body = replace(body, machine_summary=text)
    await io(store.set_body, entry.id, body)
    return replace(entry, alert=replace(alert, body=body, summary_input=None))


def _key(entry: OutboxEntry) -> ItemKey:
    return entry.alert.feed_id, entry.alert.item_key
