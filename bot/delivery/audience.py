"""Who gets a topic's alerts: its configured channels plus the chats subscribed to it,
less the chats that muted it.

The pipeline calls ``alert_destinations`` for each topic that fires; a subscription to a
topic that is no longer in the rules is simply never asked about (dormant, not deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from bot.models import Destination


class AudienceStore(Protocol):
    def subscribers(self, topic_id: str) -> list[Destination]: ...

    def muted(self, topic_id: str, now: datetime) -> set[Destination]: ...


def merge_destinations(
    channels: Iterable[Destination],
    subscribers: Iterable[Destination],
    muted: set[Destination],
) -> tuple[Destination, ...]:
    """Channels first, then subscribers, each once, none of the muted ones."""
    out: dict[Destination, None] = {}
    for dest in (*channels, *subscribers):
        if dest not in muted:
            out.setdefault(dest, None)
    return tuple(out)


def alert_destinations(
    store: AudienceStore, topic_id: str, channels: Iterable[Destination], now: datetime
) -> tuple[Destination, ...]:
    return merge_destinations(channels, store.subscribers(topic_id), store.muted(topic_id, now))
