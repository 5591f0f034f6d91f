"""From raw entries (as any parser reads them) to ``Item`` values with stable keys.

Every text an item carries is bounded here, whichever parser read it, because items are
stored, copied into alerts and matched: one feed with a 9 MB title must not cost
gigabytes. The limits are far above anything a real feed writes:

=========== ========== ==================================================================
field       at most    beyond it
=========== ========== ==================================================================
title       1,000      cut, ending with "…" (alerts show 500; also feed titles)
link        2,000      dropped: no browser or Telegram button takes such a link, and the
                       item's identity falls back to its title and date
content     500,000    cut (the body as received, HTML included; the longest of
                       content and summary)
guid        1,000      replaced by ``sha256:`` and the hex digest of the whole guid, so it
                       still identifies the item, in a bounded key
author      200        cut, ending with "…"
=========== ========== ==================================================================

Counts are characters (code points).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.feeds.identity import item_key
from bot.models import Item
from bot.text.clip import clip


@dataclass(frozen=True, slots=True)
class RawEntry:
    title: str
    link: str
    content: str
    published: datetime | None = None
    guid: str | None = None
    author: str | None = None


MAX_TITLE_CHARS = 1000
MAX_LINK_CHARS = 2000
MAX_CONTENT_CHARS = 500_000
MAX_GUID_CHARS = 1000
MAX_AUTHOR_CHARS = 200
MAX_SHOWN_GUID = 200


def bounded_title(title: str) -> str:
    """An item's or a feed's title within ``MAX_TITLE_CHARS``."""
    return clip(title, MAX_TITLE_CHARS)


def bounded(entry: RawEntry) -> RawEntry:
    """The entry with every field within its limit (see the module docstring)."""
    guid = entry.guid
    if guid is not None and len(guid) > MAX_GUID_CHARS:
        guid = "sha256:" + hashlib.sha256(guid.encode("utf-8", "surrogatepass")).hexdigest()
    author = entry.author
    return RawEntry(
        title=bounded_title(entry.title),
        link=entry.link if len(entry.link) <= MAX_LINK_CHARS else "",
        content=entry.content[:MAX_CONTENT_CHARS],
        published=entry.published,
        guid=guid,
        author=clip(author, MAX_AUTHOR_CHARS) if author is not None else None,
    )


def build_items(entries: Sequence[RawEntry], *, feed_id: str) -> tuple[Item, ...]:
    """Items in document order, each field bounded. A guid used twice in one document
    identifies nothing, so those entries fall back to their link (or title and date) for
    their key."""
    entries = [bounded(e) for e in entries]
    counts = Counter(e.guid.strip() for e in entries if e.guid and e.guid.strip())
    return tuple(_item(e, feed_id=feed_id, counts=counts) for e in entries)


def duplicate_guids(entries: Iterable[RawEntry]) -> list[str]:
    """The guids used more than once, as a warning shows them (cut to ``MAX_SHOWN_GUID``)."""
    counts = Counter(e.guid.strip() for e in entries if e.guid and e.guid.strip())
    return sorted(clip(g, MAX_SHOWN_GUID) for g, n in counts.items() if n > 1)


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
