"""The state store: SQLAlchemy Core tables, Alembic migrations and the ``Store`` queries."""

from bot.store.store import Pruned, Store
from bot.store.tables import feed_state, metadata, mutes, outbox, seen_items, subscriptions
from bot.store.watches import RecentItem, WatchRow

__all__ = [
    "Pruned",
    "RecentItem",
    "Store",
    "WatchRow",
    "feed_state",
    "metadata",
    "mutes",
    "outbox",
    "seen_items",
    "subscriptions",
]
