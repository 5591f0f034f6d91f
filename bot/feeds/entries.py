"""From raw entries (as any parser reads them) to ``Item`` values with stable keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.feeds.identity import item_key
from bot.models import Item


@dataclass(frozen=True, slots=True)
class RawEntry:
    title: str
    link: str
    content: str
    published: datetime | None = None
    guid: str | None = None
    author: str | None = None


def build_items(entries: Sequence[RawEntry], *, feed_id: str) -> tuple[Item, ...]:
    """Items in document order. A guid used twice in one document identifies nothing,
    so those entries fall back to their link (or title and date) for their key."""
    counts = Counter(e.guid.strip() for e in entries if e.guid and e.guid.strip())
    return tuple(_item(e, feed_id=feed_id, counts=counts) for e in entries)


def duplicate_guids(entries: Iterable[RawEntry]) -> list[str]:
    counts = Counter(e.guid.strip() for e in entries if e.guid and e.guid.strip())
    return sorted(g for g, n in counts.items() if n > 1)


def _item(entry: RawEntry, *, feed_id: str, counts: Counter[str]) -> Item:
    guid = entry.guid.strip() if entry.guid and entry.guid.strip() else None
    key = item_key(
        guid=guid,
        link=entry.link,
        title=entry.title,
        published=entry.published,
        guid_unique=guid is not None and counts[guid] == 1,
    )
    return Item(
        feed_id=feed_id,
        key=key,
        title=entry.title,
        link=entry.link,
        content=entry.content,
        published=entry.published,
        guid=guid,
        author=entry.author,
    )
