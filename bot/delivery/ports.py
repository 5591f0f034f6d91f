"""What the sender needs of the world: a sink for messages and the outbox part of the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.delivery.kinds import Body
from bot.models import Destination, Message, OutboxEntry

__all__ = ["ChatGoneHook", "ChatMovedHook", "Sink", "StoreLike"]


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

    def set_body(self, entry_id: int, body: Body) -> None: ...

    def original_alert(
        self, topic_id: str, dest: Destination, feed_id: str, item_key: str
    ) -> OutboxEntry | None: ...

    def duplicates_of(
        self, topic_id: str, dest: Destination, ref_feed: str, ref_key: str
    ) -> list[OutboxEntry]: ...


ChatGoneHook = Callable[[Destination, str], Awaitable[None]]
ChatMovedHook = Callable[[Destination, int], Awaitable[None]]
