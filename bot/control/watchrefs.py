"""Which of a chat's watches a command may name from where it is said.

Watch numbers count per chat, but a watch belongs to the forum thread it was made in: its
alerts go there, and there it is listed, muted and removed. From another thread of the
same group, ``/unwatch 3`` or ``/mute watch 3`` says where watch 3 lives instead of
reaching across. Outside forums every watch of a chat has the same (no) thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.control.context import Call
from bot.store import WatchRow


@dataclass(frozen=True, slots=True)
class Here:
    """A chat's watches split by thread: those of the caller's, and how many elsewhere."""

    rows: tuple[WatchRow, ...]
    elsewhere: tuple[WatchRow, ...]

    def number(self, number: int) -> WatchRow | None:
        return next((r for r in self.rows if r.number == number), None)

    def number_elsewhere(self, number: int) -> WatchRow | None:
        return next((r for r in self.elsewhere if r.number == number), None)


async def watches_here(call: Call) -> Here:
    thread = call.caller.chat.thread
    rows = await call.deps.db.watches_of(call.caller.chat.chat)
    return Here(
        tuple(r for r in rows if r.destination.thread == thread),
        tuple(r for r in rows if r.destination.thread != thread),
    )


async def missing(call: Call, here: Here, number: int) -> str:
    """Why watch ``number`` cannot be named from here."""
    if here.number_elsewhere(number) is not None:
        return call.t("unwatch.elsewhere", number=number)
    return call.t("unwatch.not", number=number)
