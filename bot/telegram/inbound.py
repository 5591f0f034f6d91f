"""What an update says, in ``CommandHandler`` terms: the command and its arguments, the
caller, and the bot's own membership changes.

A command addressed to another bot (``/help@otherbot``) is none of ours.
``Caller.is_chat_admin`` asks getChatMember, except in a private chat and for a command an
anonymous admin wrote as the group itself.
"""

from __future__ import annotations

import logging

from telegram import Bot, Chat, ChatMemberUpdated, User
from telegram import Message as TgMessage
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.models import Destination
from bot.telegram.protocol import Caller, Membership

# The updates reader's events (reply_failed, chat_admin_check_failed, …) keep the one
# logger name they have always had, whichever module logs them.
log = logging.getLogger("bot.telegram.updates")

_ADMINS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
_PRESENT = (*_ADMINS, ChatMemberStatus.MEMBER)


def parse_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """``/sub@mybot a b`` -> ``("sub", "a b")``; None when addressed to another bot."""
    head, _, args = text.strip().partition(" ")
    if not head.startswith("/") or len(head) < 2:
        return None
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return name, args.strip()


def _thread(message: TgMessage | None) -> int | None:
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


def is_anonymous_admin(chat: Chat, message: TgMessage) -> bool:
    """A command an anonymous admin sent as the group itself: only a group's admins can.

    Never for a channel: every channel post carries the channel as its sender, whoever
    reads it, so there it proves nothing.
    """
    if chat.type not in (Chat.GROUP, Chat.SUPERGROUP) or message.sender_chat is None:
        return False
    return message.sender_chat.id == chat.id


def caller(
    bot: Bot, chat: Chat, user: User, message: TgMessage | None, *, anonymous_admin: bool = False
) -> Caller:
    """Who wrote (or pressed), where: the chat and the forum thread of ``message``."""

    async def is_chat_admin() -> bool:
        if chat.type == Chat.PRIVATE or anonymous_admin:
            return True
        try:
            member = await bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("chat_admin_check_failed", extra={"chat": chat.id, "error": exc.message})
            return False
        return member.status in _ADMINS

    return Caller(
        user_id=user.id,
        chat=Destination(chat.id, _thread(message)),
        chat_type=chat.type,
        language=user.language_code,
        is_chat_admin=is_chat_admin,
        username=chat.username,
    )


def membership(change: ChatMemberUpdated) -> Membership:
    """The bot added to a chat, removed from it, or blocked (``my_chat_member``)."""
    new = change.new_chat_member
    # A restricted bot may still be in the chat (``is_member``) or not.
    present = new.status in _PRESENT or (
        new.status == ChatMemberStatus.RESTRICTED and bool(getattr(new, "is_member", False))
    )
    return Membership(
        chat=change.chat.id,
        chat_type=change.chat.type,
        present=present,
        status=str(new.status),
        by=change.from_user.id,
        username=change.chat.username,
    )
