"""What delivery does about a chat that is gone or has moved (Telegram's answers to a send).

A chat is gone when the bot was blocked, kicked or the chat deleted: it is remembered as
gone (nothing more is queued or sent to it), its subscriptions end and the admins are told
once. A group that became a supergroup has a new id: its alerts follow it, and the admins
are told that rule files naming the old id should be updated.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from bot.models import Destination
from bot.store.aio import Offload, to_thread

__all__ = ["ChatPolicy", "gone_notice", "moved_notice"]

log = logging.getLogger(__name__)

Notify = Callable[..., Awaitable[None]]  # (text, *, key) -> a note to every admin


class GoneStore(Protocol):
    def mark_gone(
        self, chat: int | str, reason: str, named: bool = False
    ) -> tuple[datetime, list[str]]: ...


def gone_notice(
    chat: int | str, reason: str, topics: list[str], since: datetime
) -> tuple[str, str]:
    """(key, text) of the admins' note that a chat is gone: one note per time it went."""
    ended = f" and ended its {len(topics)} subscription(s)" if topics else ""
    text = (
        f"Stopped sending to {chat}{ended}: {reason}. "
        f"It gets nothing until /resumechat {chat}, the bot is added back, or a "
        "rule file names it anew."
    )
    return f"chat-gone:{chat}:{since.isoformat()}", text


def moved_notice(old_chat: int | str, new_chat: int) -> tuple[str, str]:
    """(key, text) of the admins' note that a group became a supergroup."""
    text = (
        f"Telegram moved chat {old_chat} to {new_chat} (a group became a supergroup). "
        f"Alerts now go to {new_chat}; rule files that name {old_chat} in `channels` "
        "should be updated."
    )
    return f"chat-moved:{old_chat}:{new_chat}", text


class ChatPolicy:
    """The sender's ``on_chat_gone`` and ``on_chat_moved``.

    ``named_chats`` gives the chats the current rule files name in a topic's ``channels``
    (a gone chat named there is remembered as such, so /resumechat can tell).
    """

    def __init__(
        self,
        store: GoneStore,
        notify: Notify,
        named_chats: Callable[[], set[int | str]],
        *,
        offload: Offload = to_thread,
    ) -> None:
        self._store = store
        self._notify = notify
        self._named_chats = named_chats
        self._io = offload

    async def gone(self, dest: Destination, reason: str) -> None:
        named = dest.chat in self._named_chats()
        since, topics = await self._io(self._store.mark_gone, dest.chat, reason, named)
        log.warning("chat_gone_remembered", extra={"chat_id": str(dest), "topics": len(topics)})
        key, text = gone_notice(dest.chat, reason, topics, since)
        await self._notify(text, key=key)

    async def moved(self, dest: Destination, new_chat: int) -> None:
        key, text = moved_notice(dest.chat, new_chat)
        await self._notify(text, key=key)
