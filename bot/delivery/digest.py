"""Digests: a topic's alerts collected per chat and sent as one message at set times.

A topic with ``delivery: hourly`` or ``delivery: daily@HH:MM`` (in the configured time
zone) does not alert at once: the pipeline stores each of its alerts as a held digest item
with its slot (:func:`next_slot`). When a slot comes, :class:`DigestCollector` gathers the
held items per chat and slot, renders one digest (grouped by topic, one line per item with
its link, split at Telegram's limit) and queues it in the outbox in the same transaction
that marks the items sent. Everything lives in the store, so a restart loses nothing: a
slot that passed while the bot was down is collected on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import utc_now
from bot.delivery.kinds import AlsoSource, DigestLine, SpikeAlert, TopicAlert
from bot.models import Alert, Destination, OutboxEntry
from bot.telegram.render import split_digest
from bot.telegram.render_spike import spike_headline

__all__ = ["DigestCollector", "DigestStore", "next_slot"]

log = logging.getLogger(__name__)

RECHECK = 60.0  # seconds: new items may bring an earlier slot than the one waited for


def next_slot(delivery: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When an alert found at ``now`` goes out: None for instant, else the next slot (UTC).

    ``hourly`` is the next full hour of local time; ``daily@HH:MM`` the next such local
    time (tomorrow's when today's has passed).
    """
    if delivery == "hourly":
        local = now.astimezone(tz).replace(minute=0, second=0, microsecond=0)
        return local.astimezone(UTC) + timedelta(hours=1)
    if delivery.startswith("daily@"):
        hour, minute = (int(part) for part in delivery.removeprefix("daily@").split(":"))
        local = now.astimezone(tz)
        day = local.date()
        for _ in range(3):
            slot = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            if slot.astimezone(UTC) > now:
                return slot.astimezone(UTC)
            day += timedelta(days=1)
    return None


class DigestStore(Protocol):
    def held_digest_items(self, now: datetime) -> list[OutboxEntry]: ...

    def next_digest_time(self) -> datetime | None: ...

    def release_digests(
        self, digests: Sequence[Alert], item_ids: Sequence[int], now: datetime
    ) -> int: ...


TopicNames = Callable[[str], str | None]


class DigestCollector:
    """Builds the digests that are due and queues them; ``run`` keeps doing so."""

    def __init__(
        self,
        store: DigestStore,
        *,
        tz: ZoneInfo,
        topic_name: TopicNames = lambda _topic_id: None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._tz = tz
        self._topic_name = topic_name
        self._clock = clock

    def collect(self) -> int:
        """Queue every digest that is due; the number of messages queued."""
        now = self._clock()
        queued = 0
        held = self._store.held_digest_items(now)
        for (chat, thread, slot), group in groupby(held, key=_group_key):
            entries = list(group)
            digests = self._digests(Destination(chat, thread), slot, entries)
            queued += self._store.release_digests(digests, [e.id for e in entries], now)
            log.info(
                "digest_queued",
                extra={"chat": str(chat), "items": len(entries), "messages": len(digests)},
            )
        return queued

    def _digests(
        self, dest: Destination, slot: datetime, entries: list[OutboxEntry]
    ) -> list[Alert]:
        parts = split_digest(self._lines(entries), when=slot, tz=self._tz)
        first = min(e.id for e in entries)  # unique per digest, even for a late second batch
        return [
            Alert(
                feed_id="digest",
                item_key=f"{slot.isoformat()}#{first}-{part.part}",
                topic_id="digest",
                destination=dest,
                body=part,
                first_seen=slot,
            )
            for part in parts
        ]

    def _lines(self, entries: list[OutboxEntry]) -> list[DigestLine]:
        lines: dict[tuple[str, str, str], DigestLine] = {}
        for entry in entries:
            alert = entry.alert
            if alert.ref_key is None:
                title, link, source = _item(entry)
                name = self._topic_name(alert.topic_id) or alert.topic_id
                lines[(alert.topic_id, alert.feed_id, alert.item_key)] = DigestLine(
                    alert.topic_id, name, title, link, source
                )
        for entry in entries:
            alert = entry.alert
            key = (alert.topic_id, alert.ref_feed or "", alert.ref_key or "")
            line = lines.get(key)
            if alert.ref_key is not None and line is not None:
                _, link, source = _item(entry)
                lines[key] = replace(line, also=(*line.also, (source, link)))
            # A duplicate of an item that went out earlier is left out: it was told already.
        return list(lines.values())

    def seconds_to_next(self) -> float:
        """How long the loop may sleep: until the next held slot, at most ``RECHECK``."""
        upcoming = self._store.next_digest_time()
        if upcoming is None:
            return RECHECK
        return max(0.0, min(RECHECK, (upcoming - self._clock()).total_seconds()))

    async def run(self, stop: asyncio.Event, on_queued: Callable[[], None]) -> None:
        """Collect whenever a slot comes, until ``stop``; ``on_queued`` wakes the sender."""
        while not stop.is_set():
            delay = RECHECK
            try:
                # The store's transactions block: off the event loop, beside the sends.
                if await asyncio.to_thread(self.collect):
                    on_queued()
                delay = await asyncio.to_thread(self.seconds_to_next)
            except Exception:  # the store may be briefly unavailable; keep the loop alive
                log.exception("digest_collect_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(delay, 0.05))


def _item(entry: OutboxEntry) -> tuple[str, str | None, str]:
    """The held item's title, link and source (what the store recorded of it first)."""
    body = entry.alert.body
    title, link, source = "", None, entry.alert.feed_id
    if isinstance(body, TopicAlert):
        title, link, source = body.item.title, body.item.link, body.item.source or source
    elif isinstance(body, AlsoSource):
        title, link, source = body.title, body.link, body.source or source
    elif isinstance(body, SpikeAlert):
        newest = body.stories[-1].link if body.stories else None
        title, link, source = spike_headline(body), newest, body.spike_name or source
    return entry.item_title or title, entry.item_link or link, source


def _group_key(entry: OutboxEntry) -> tuple[int | str, int | None, datetime]:
    alert = entry.alert
    slot = alert.deliver_at or alert.first_seen
    return alert.destination.chat, alert.destination.thread, slot
