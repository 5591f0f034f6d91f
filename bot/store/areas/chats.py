"""Who gets what: subscriptions, mutes, chats the bot may no longer post to, and chats
that moved (``bot.store.subscriptions``, ``.mutes``, ``.chats``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.clock import utc_now
from bot.models import Destination
from bot.store import chats, mutes, outbox, subscriptions, watches
from bot.store.database import Database, log


class Chats(Database):
    """Subscriptions, mutes and the life of a chat."""

    # subscriptions

    def subscribe(self, dest: Destination, topic_id: str) -> bool:
        """True when this is a new subscription."""
        with self._write() as conn:
            return subscriptions.subscribe(conn, dest, topic_id, utc_now())

    def unsubscribe(self, dest: Destination, topic_id: str) -> bool:
        """True when there was a subscription to remove."""
        with self._write() as conn:
            return subscriptions.unsubscribe(conn, dest, topic_id)

    def subscriptions(self, topic_id: str | None = None) -> list[tuple[Destination, str]]:
        """(destination, topic id) pairs, by topic then age; one topic's if given."""
        with self._read() as conn:
            return subscriptions.listing(conn, topic_id)

    def subscribers(self, topic_id: str) -> list[Destination]:
        """Every chat (or forum thread) subscribed to a topic, oldest first."""
        return [dest for dest, _ in self.subscriptions(topic_id)]

    def topics_of(self, dest: Destination) -> list[str]:
        """The topic ids a chat (or forum thread) is subscribed to, oldest first."""
        with self._read() as conn:
            return subscriptions.topics_of(conn, dest)

    # mutes

    def mute(self, dest: Destination, topic_id: str, until: datetime) -> None:
        """Silence a topic in one chat until ``until`` (replacing any earlier mute)."""
        with self._write() as conn:
            mutes.mute(conn, dest, topic_id, until)

    def unmute(self, dest: Destination, topic_id: str, now: datetime) -> bool:
        """Lift a mute; True when one was in force at ``now``."""
        with self._write() as conn:
            return mutes.unmute(conn, dest, topic_id, now)

    def muted(self, topic_id: str, now: datetime) -> set[Destination]:
        """The chats in which a topic is muted at ``now``."""
        with self._read() as conn:
            return mutes.muted(conn, topic_id, now)

    def mutes_of(self, dest: Destination, now: datetime) -> dict[str, datetime]:
        """Topic id -> muted until, for the mutes in force in one chat."""
        with self._read() as conn:
            return mutes.mutes_of(conn, dest, now)

    # chats gone, and chats moved

    def mark_gone(
        self, chat: int | str, reason: str, named: bool = False
    ) -> tuple[datetime, list[str]]:
        """The bot may no longer post to ``chat``: remember it, end its subscriptions.
        Returns when it went (the first time) and the topics it was subscribed to."""
        with self._write() as conn:
            return chats.mark_gone(conn, chat, reason, named, utc_now())

    def resume_chat(self, chat: int | str) -> bool:
        """Send to a gone chat again (``/resumechat``, the bot added back); True if it was."""
        with self._write() as conn:
            return chats.resume(conn, chat)

    def is_gone(self, chat: int | str) -> bool:
        with self._read() as conn:
            return chats.gone(conn, chat)

    def gone_chats(self) -> list[tuple[int | str, str, datetime]]:
        """(chat, reason, since) of every chat the bot may not post to, oldest first."""
        with self._read() as conn:
            return chats.listing(conn)

    def rules_name_chats(self, named: Collection[int | str]) -> list[int | str]:
        """New rules name these chats: gone chats they name anew come back (returned)."""
        with self._write() as conn:
            return chats.rules_named(conn, named)

    def drop_chat(self, chat: int | str, reason: str) -> int:
        """Fail every queued alert and held digest item for a chat we may no longer post
        to; how many."""
        with self._write() as conn:
            dropped = outbox.drop_chat(conn, chat, reason)
        log.info("chat_dropped", extra={"chat": chat, "alerts": dropped, "reason": reason})
        return dropped

    def move_chat(self, old_chat: int | str, new_chat: int) -> int:
        """A group became a supergroup: queued alerts, subscriptions and watches follow it,
        in one transaction. Returns the number of queued alerts moved."""
        with self._write() as conn:
            moved = outbox.move_chat(conn, old_chat, new_chat)
            subscriptions.move_chat(conn, old_chat, new_chat)
            watches.move_chat(conn, old_chat, new_chat)
        log.info("chat_moved", extra={"old_chat": old_chat, "new_chat": new_chat, "alerts": moved})
        return moved
