"""Personal watches, and the recent items their previews read (``bot.store.watches``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.models import Destination
from bot.store import watches
from bot.store.database import Database


class Watches(Database):
    """Watches per chat, and the version pollers compare to know when to reload them."""

    def add_watch(
        self, dest: Destination, query: str, by: int | None, limit: int, now: datetime
    ) -> watches.WatchRow | None:
        """A new watch for the chat, or None when it already has ``limit``."""
        with self._write() as conn:
            return watches.add(conn, dest, query, by, limit, now)

    def remove_watch(
        self, chat: int | str, number: int, mute_key: Callable[[int], str] | None = None
    ) -> watches.WatchRow | None:
        """Remove the chat's watch ``number``; the watch removed, or None if none.
        ``mute_key``: what the watch's mutes are kept under (``bot.watches.watch_key``);
        they go with it, since a later watch may get its id again."""
        with self._write() as conn:
            return watches.remove(conn, chat, number, mute_key)

    def watches_of(self, chat: int | str) -> list[watches.WatchRow]:
        with self._read() as conn:
            return watches.of_chat(conn, chat)

    def all_watches(self) -> list[watches.WatchRow]:
        with self._read() as conn:
            return watches.every(conn)

    def watch_version(self) -> int:
        """Counted up by every change to watches (cheap: what pollers ask on each tick)."""
        with self._read() as conn:
            return watches.version(conn)

    def recent_items(self, since: datetime) -> list[watches.RecentItem]:
        """Items first seen since ``since`` with the start of their text, newest first."""
        with self._read() as conn:
            return watches.recent(conn, since)
