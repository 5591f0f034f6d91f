"""The bot added to or removed from a chat (``my_chat_member``): gone chats follow it.

Removed, banned or blocked: the chat is remembered as gone (``bot.store.chats``), its
queued alerts are failed and its subscriptions end, so nothing more is queued for it, and
admins are told once. Added back: a gone chat is resumed. A public group or channel is
handled by id and by ``@username``, the two ways rules and alerts name it.
"""

from __future__ import annotations

import logging

from bot.control.context import Deps
from bot.delivery.chats import gone_notice
from bot.telegram.protocol import Membership

__all__ = ["bot_added", "bot_removed", "removal_reason"]

log = logging.getLogger(__name__)


def removal_reason(change: Membership) -> str:
    if change.private:
        return "the user blocked the bot"
    if change.status == "kicked":
        return "the bot was removed from the chat and banned"
    return "the bot was removed from the chat"


async def bot_removed(deps: Deps, change: Membership) -> None:
    reason = removal_reason(change)
    named = {d.chat for t in deps.rules.current().rules.topics for d in t.channels}
    for chat in change.chats():
        since, topics = await deps.db.mark_gone(chat, reason, chat in named)
        dropped = await deps.db.drop_chat(chat, reason)
        log.warning(
            "chat_gone_remembered",
            extra={
                "chat_id": str(chat),
                "topics": len(topics),
                "alerts": dropped,
                "by": change.by,
                "status": change.status,
            },
        )
        if deps.notify is not None:
            key, text = gone_notice(chat, reason, topics, since)
            await deps.notify(text, key=key)


async def bot_added(deps: Deps, change: Membership) -> None:
    for chat in change.chats():
        if not await deps.db.resume_chat(chat):
            continue
        log.info(
            "chat_resumed",
            extra={"chat_id": str(chat), "by": "added_back", "user_id": change.by},
        )
        if deps.notify is not None:
            await deps.notify(f"The bot was added back to {chat}: alerts go there again.")
