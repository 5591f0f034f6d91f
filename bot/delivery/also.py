"""Edits at send time: "also: <source>" added to a story's first alert, and a sent alert
brought up to date (``new_version``).

Every source recorded against the story so far is listed (oldest first, up to this entry),
so an edit repeated after a crash says the same thing again. The first alert is rendered
from its parts with the sources in; one rendered before the outbox held parts gets the line
under its stored text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.delivery.kinds import AlsoSource, Source, TopicAlert
from bot.delivery.ports import StoreLike
from bot.models import Message, OutboxEntry
from bot.store.aio import Offload
from bot.telegram.render import render, with_also

__all__ = ["Edit", "NoStory", "NotYet", "new_version", "story_edit"]


@dataclass(frozen=True, slots=True)
class Edit:
    """Edit message ``message_id`` to ``message``."""

    message_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class NotYet:
    """The first alert is not sent yet: try again once it may have gone."""

    reason: str = "the first alert is not sent yet"


@dataclass(frozen=True, slots=True)
class NoStory:
    """There is no sent alert to add the source to (it failed, or is gone)."""

    reason: str = "no sent alert to add this source to"


async def story_edit(store: StoreLike, io: Offload, entry: OutboxEntry) -> Edit | NotYet | NoStory:
    """What the "also" entry ``entry`` asks for now."""
    alert = entry.alert
    ref = (alert.topic_id, alert.destination, alert.ref_feed or "", alert.ref_key or "")
    first = await io(store.original_alert, *ref)
    if first is None or first.status == "failed" or first.alert.kind != "alert":
        return NoStory()
    if first.status != "sent" or first.message_id is None:
        return NotYet()
    duplicates = await io(store.duplicates_of, *ref)
    sources = [
        (d.alert.body.source or d.alert.feed_id, d.item_link)
        for d in duplicates
        if isinstance(d.alert.body, AlsoSource) and d.alert.kind == "also" and d.id <= entry.id
    ]
    return Edit(first.message_id, with_sources(first, sources))


async def new_version(store: StoreLike, io: Offload, entry: OutboxEntry) -> Edit | NotYet | NoStory:
    """What an "edit" entry asks for: the sent alert it names, edited to say what this
    entry says (a spike whose count grew)."""
    alert = entry.alert
    ref = (alert.topic_id, alert.destination, alert.ref_feed or "", alert.ref_key or "")
    first = await io(store.original_alert, *ref)
    if first is None or first.status == "failed" or first.alert.kind != "alert":
        return NoStory("no sent alert to edit")
    if first.status != "sent" or first.message_id is None:
        return NotYet("the alert is not sent yet")
    return Edit(first.message_id, render(alert))


def with_sources(first: OutboxEntry, sources: list[Source]) -> Message:
    """The story's first alert with its "also:" line, as it is shown now."""
    body = first.alert.body
    if isinstance(body, TopicAlert):
        return render(replace(first.alert, body=replace(body, also=tuple(sources))))
    return with_also(render(first.alert), sources)  # rendered before the outbox held parts
