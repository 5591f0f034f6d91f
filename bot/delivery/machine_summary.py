"""Machine-written summaries at send time: one remote call per item, any failure harmless.

An alert carrying ``summary_input`` (the item's text) gets the summarizer's answer in place
of its extractive summary, labelled as machine-written (``render.with_machine_summary``).
On any error, or after ``timeout`` seconds, the extractive alert goes out unchanged. The
answer is stored with the entry, so a restart sends the same text and "also:" edits keep
it; it is cached per item so one call serves all the item's chats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Protocol

from bot.models import Message, OutboxEntry
from bot.telegram.render import with_machine_summary

log = logging.getLogger(__name__)

# Item text in, summary text out; may raise anything (it is a remote model).
Summarizer = Callable[[str], Awaitable[str]]
_CACHE = 1_000


class MessageStore(Protocol):
    def set_message(self, entry_id: int, message: Message) -> None: ...


class MachineSummaries:
    def __init__(self, summarizer: Summarizer, *, timeout: float = 20.0) -> None:
        self._summarizer = summarizer
        self._timeout = timeout
        self._cache: dict[tuple[str, str], str | None] = {}

    async def apply(self, entry: OutboxEntry, store: MessageStore) -> OutboxEntry:
        """The entry with a machine-written summary, or as it was if none can be had."""
        alert = entry.alert
        key = (alert.feed_id, alert.item_key)
        if key not in self._cache:
            if len(self._cache) >= _CACHE:
                self._cache.clear()
            self._cache[key] = await self._summarize(entry)
        text = self._cache[key]
        message = with_machine_summary(alert.message, text) if text else alert.message
        store.set_message(entry.id, message)
        return replace(entry, alert=replace(alert, message=message, summary_input=None))

    async def _summarize(self, entry: OutboxEntry) -> str | None:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout):
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
