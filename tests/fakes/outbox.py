"""An in-memory outbox with the store's delivery methods, and a clock that sleeps instantly."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.delivery.kinds import Body, ItemPart, Rendered, TopicAlert
from bot.models import Alert, Destination, Hit, Message, OutboxEntry

START = datetime(2024, 6, 28, 0, 53, tzinfo=UTC)


class FakeTime:
    """A clock for the sender; ``sleep`` moves it forward instead of waiting."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


def message(text: str) -> Message:
    return Message(text=f"<b>{text}</b>", plain=text)


def topic_body(title: str = "Title", summary: str = "Lead sentence with 普京.") -> TopicAlert:
    """A topic alert as the pipeline makes one: VOA's item, one hit shown in bold."""
    start = summary.find("普京")
    hits = (Hit("普京", "putin", "普京", "content", 0, 0, 2),)
    return TopicAlert(
        ItemPart(title, "https://x/1", "VOA", START),
        "Topic",
        "Asia/Shanghai",
        hits=hits,
        summary=summary,
        bold=((start, start + 2),) if start >= 0 else (),
    )


class MemoryOutbox:
    """Entries by id; ``due`` returns queued entries oldest first, like the store."""

    def __init__(self) -> None:
        self.entries: dict[int, OutboxEntry] = {}
        self.claims: dict[int, str] = {}  # entry id -> the sender sending it
        self.attempts: dict[int, datetime] = {}  # entry id -> last request made or answered
        self._next_id = 1

    def add(
        self,
        chat: int | str,
        text: str,
        *,
        thread: int | None = None,
        msg: Message | None = None,
        body: Body | None = None,
    ) -> OutboxEntry:
        alert = Alert(
            feed_id="feed",
            item_key=f"item{self._next_id}",
            topic_id="topic",
            destination=Destination(chat, thread),
            body=body or Rendered(msg or message(text)),
            first_seen=START,
        )
        entry = OutboxEntry(id=self._next_id, alert=alert, status="queued")
        self.entries[entry.id] = entry
        self._next_id += 1
        return entry

    def by_status(self, status: str) -> list[OutboxEntry]:
        return [e for e in self.entries.values() if e.status == status]

    def due(self, now: datetime, limit: int = 100) -> list[OutboxEntry]:
        ready = [
            e
            for e in self.entries.values()
            if e.status == "queued" and (e.not_before is None or e.not_before <= now)
        ]
        return [replace(e) for e in sorted(ready, key=lambda e: e.id)[:limit]]

    def _queued(self, entry_id: int) -> OutboxEntry:
        entry = self.entries[entry_id]
        assert entry.status == "queued", f"entry {entry_id} is {entry.status}"
        return entry

    def mark_sent(self, entry_id: int, message_id: int, sent_at: datetime) -> None:
        entry = self._queued(entry_id)
        entry.status, entry.message_id = "sent", message_id
        self._answered(entry_id, sent_at)

    def mark_failed(self, entry_id: int, error: str, at: datetime | None = None) -> None:
        entry = self._queued(entry_id)
        entry.status, entry.error = "failed", error
        self._answered(entry_id, at)

    def defer(
        self, entry_id: int, not_before: datetime, error: str | None, at: datetime | None = None
    ) -> None:
        entry = self._queued(entry_id)
        entry.not_before, entry.error = not_before, error
        entry.attempts += 1
        self._answered(entry_id, at)

    def _answered(self, entry_id: int, at: datetime | None) -> None:
        self.claims.pop(entry_id, None)
        if at is not None:
            self.attempts[entry_id] = at

    def claim(self, entry_id: int, claimant: str, at: datetime) -> bool:
        entry = self.entries[entry_id]
        if entry.status != "queued" or self.claims.get(entry_id, claimant) != claimant:
            return False
        self.claims[entry_id] = claimant
        self.attempts[entry_id] = at
        return True

    def release_claims(self, claimant: str) -> int:
        others = [i for i, c in self.claims.items() if c != claimant]
        for entry_id in others:
            del self.claims[entry_id]
        return len(others)

    def recent_attempts(self, since: datetime) -> list[tuple[int | str, datetime, bool]]:
        return sorted(
            (
                (self.entries[i].alert.destination.chat, at, i in self.claims)
                for i, at in self.attempts.items()
                if at >= since
            ),
            key=lambda row: row[1],
        )

    def move_chat(self, old_chat: int | str, new_chat: int) -> int:
        moved = 0
        for entry in self.by_status("queued"):
            dest = entry.alert.destination
            if dest.chat == old_chat:
                entry.alert = replace(entry.alert, destination=replace(dest, chat=new_chat))
                moved += 1
        return moved

    def drop_chat(self, chat: int | str, reason: str) -> int:
        dropped = [e for e in self.by_status("queued") if e.alert.destination.chat == chat]
        for entry in dropped:
            entry.status, entry.error = "failed", reason
        return len(dropped)

    def outbox_depth(self) -> int:
        return len(self.by_status("queued"))

    def next_due_time(self) -> datetime | None:
        times = [e.not_before for e in self.by_status("queued") if e.not_before is not None]
        return min(times) if times else None

    def set_body(self, entry_id: int, body: Body) -> None:
        entry = self._queued(entry_id)
        entry.alert = replace(entry.alert, body=body, summary_input=None)

    def original_alert(
        self, topic_id: str, dest: Destination, feed_id: str, item_key: str
    ) -> OutboxEntry | None:
        for entry in self.entries.values():
            alert = entry.alert
            if (alert.topic_id, alert.destination, alert.feed_id, alert.item_key) == (
                topic_id,
                dest,
                feed_id,
                item_key,
            ):
                return entry
        return None

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]:
        return [
            e
            for e in self.entries.values()
            if (e.alert.topic_id, e.alert.destination, e.alert.ref_feed, e.alert.ref_key)
            == (topic_id, dest, ref_feed, ref_key)
        ]
