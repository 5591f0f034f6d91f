"""The state store: SQLAlchemy Core tables, Alembic migrations and the ``Store`` queries."""

from bot.store.store import Store
from bot.store.tables import feed_state, metadata, mutes, outbox, seen_items, subscriptions

__all__ = ["Store", "feed_state", "metadata", "mutes", "outbox", "seen_items", "subscriptions"]
