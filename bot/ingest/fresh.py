"""Which items of a parsed document are new, in which order they are taken, and what the
watch previews keep of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.feeds.identity import canonical_link, guid_key, link_key
from bot.models import Item
from bot.store import Store
from bot.store.watches import RecentItem
from bot.text.preview import preview_text


def fresh_items(store: Store, feed_id: str, items: Sequence[Item]) -> list[Item]:
    """The items seen for the first time, under any form of their identity.

    An item's key is its guid, or its canonical link when the guid is missing or
    repeated in the document. A guid can become repeated (or unique) between polls, so
    the key of one item can change: it counts as seen when its key, its link key, or
    its guid key recorded with the same link was seen before.
    """
    by_link = {i.key: link_key(i.link) for i in items}
    by_guid = {i.key: g for i in items if (g := _guid_fell_back(i)) is not None}
    wanted = {i.key for i in items} | {k for k in by_link.values() if k}
    unseen = store.unseen(feed_id, sorted(wanted))
    guid_links = store.seen_links(feed_id, sorted(set(by_guid.values())))
    fresh = []
    for item in items:
        by_its_link = by_link[item.key]
        recorded = guid_links.get(by_guid.get(item.key, ""))
        if (
            item.key in unseen
            and (by_its_link is None or by_its_link in unseen)
            and not (recorded is not None and _same_link(recorded, item.link))
        ):
            fresh.append(item)
    return fresh


def unique_by_key(items: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    out: list[Item] = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out


def oldest_first(items: Sequence[Item]) -> list[Item]:
    """Feeds list newest first: walk them backwards, then order by date where every item has one."""
    ordered = list(reversed(items))
    if ordered and all(i.published is not None for i in ordered):
        ordered.sort(key=lambda i: i.published or datetime.min.replace(tzinfo=UTC))
    return ordered


def recent(items: Sequence[Item], texts: dict[str, str], now: datetime) -> list[RecentItem]:
    """New items with the start of their normalized text (case kept), for watch previews:
    matching normalized the matched ones already, the parser workers a new feed's
    backlog (``Item.preview``); anything else is normalized here."""
    out = []
    for item in items:
        text = texts.get(item.key) or item.preview
        if text is None:
            text = preview_text(item.content)
        out.append(RecentItem(item.feed_id, item.key, item.title, item.link, text, now))
    return out


def _guid_fell_back(item: Item) -> str | None:
    """The guid key of an item keyed otherwise (its guid was repeated in the document)."""
    key = guid_key(item.guid)
    return key if key is not None and item.key != key else None


def _same_link(a: str, b: str) -> bool:
    return bool(a.strip() and b.strip()) and canonical_link(a) == canonical_link(b)
