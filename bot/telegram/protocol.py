"""What the Telegram updates reader hands to the command logic, and what it gets back.

``bot.telegram.application`` turns Telegram updates into calls on a ``CommandHandler``
and its ``Reply`` values into Bot API calls; the handler (``bot.control.Control``) never
sees python-telegram-bot. Plain data only: no I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.models import Destination, Message

__all__ = [
    "Caller",
    "CommandHandler",
    "Membership",
    "Menu",
    "Photo",
    "Reply",
    "find_topic",
    "topic_ref",
]

PRIVATE = "private"
# Callback data holds at most 64 bytes: ``unsub:<ref>:<page>`` must fit with the longest ref.
REF_MAX = 40
_DIGEST_BYTES = 9  # 72 bits, 18 hex digits: no two ids of one rules set share one


def topic_ref(topic_id: str) -> str:
    """How callback data names a topic: the id itself when it is at most ``REF_MAX`` bytes,
    else ``~`` and a digest of the whole id (``~`` is never part of an id)."""
    raw = topic_id.encode()
    if len(raw) <= REF_MAX:
        return topic_id
    return "~" + hashlib.blake2b(raw, digest_size=_DIGEST_BYTES).hexdigest()


def find_topic(ref: str, topic_ids: Iterable[str]) -> str | None:
    """The one id among ``topic_ids`` that ``ref`` names, or None.

    A ref names an id exactly (equal, or equal digests), never a prefix of it: a forged
    ``mute:p`` must not reach ``politics``.
    """
    for topic_id in topic_ids:
        if topic_ref(topic_id) == ref:
            return topic_id
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a command or pressed a button, and in which chat.

    ``chat`` is the chat the command was given in (or the button was under), with its
    forum thread: it is what a subscription or a mute applies to. It always comes from
    Telegram's update, never from callback data. ``is_chat_admin`` asks Telegram anew on
    every call whether the user administers that chat (always true in a private chat).
    """

    user_id: int
    chat: Destination
    chat_type: str  # private | group | supergroup | channel
    language: str | None
    is_chat_admin: Callable[[], Awaitable[bool]]
    # A public chat's @username: rules may name a channel that way, and a mute pressed
    # under its alert must silence what the rules send there.
    username: str | None = None

    @property
    def private(self) -> bool:
        return self.chat_type == PRIVATE

    def destinations(self) -> tuple[Destination, ...]:
        """The chat by id, and by ``@username`` when it has one (same thread)."""
        named = (Destination(f"@{self.username}", self.chat.thread),) if self.username else ()
        return (self.chat, *named)


@dataclass(frozen=True, slots=True)
class Photo:
    """A PNG image sent as a photo, with its caption."""

    png: bytes
    caption: Message


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a command or a button press.

    ``message`` and ``photo`` are sent to the caller's chat (and thread). For a button
    press, ``edit`` replaces the message the button was under, and ``notice`` is the short
    answer Telegram shows (as a dialog when ``alert``).
    """

    message: Message | None = None
    photo: Photo | None = None
    edit: Message | None = None
    notice: str | None = None
    alert: bool = False


@dataclass(frozen=True, slots=True)
class Membership:
    """The bot's own place in a chat changed (Telegram's ``my_chat_member`` update).

    ``present`` is True when the bot is in the chat now (a member, an admin, the owner,
    or restricted but still a member), False when it was removed or banned, or, in a
    private chat, blocked by the user. ``status`` is Telegram's word for the new state;
    ``by`` the user who made the change.
    """

    chat: int
    chat_type: str  # private | group | supergroup | channel
    present: bool
    status: str
    by: int | None = None
    username: str | None = None  # a public chat's @username, without the @

    @property
    def private(self) -> bool:
        return self.chat_type == PRIVATE

    def chats(self) -> tuple[int | str, ...]:
        """The chat by id, and by ``@username`` for a public group or channel: rules and
        alerts may name it either way."""
        named = () if self.private or not self.username else (f"@{self.username}",)
        return (self.chat, *named)


@dataclass(frozen=True, slots=True)
class Menu:
    """Commands for the ``/`` menu: for everyone (``chat_ids`` None) or for these chats."""

    language: str | None  # None: the default; else a two-letter code such as "zh"
    commands: tuple[tuple[str, str], ...]  # (command without slash, description)
    chat_ids: tuple[int, ...] | None = None


class CommandHandler(Protocol):
    """The command logic, as the updates reader sees it."""

    def menus(self) -> Sequence[Menu]: ...

    async def command(self, caller: Caller, name: str, args: str) -> Reply | None:
        """Run ``/name args``; None means say nothing (a flood being ignored)."""
        ...

    async def callback(self, caller: Caller, data: str) -> Reply:
        """A button press with its callback data (untrusted: validate it)."""
        ...

    async def membership(self, change: Membership) -> None:
        """The bot was added to, or removed from, a chat."""
        ...
