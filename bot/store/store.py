"""The store: the one object the rest of mediabot uses to reach the database.

``Store`` is every area of ``bot.store.areas`` on one ``bot.store.database.Database``:
each method is one short transaction and raises ``StoreError`` when the database fails
(the message names the database with its password hidden). Times go in and come out as
aware UTC datetimes. The outcome of each is counted in ``Store.health``: failures that go
on make the store report itself failing (``Store.check``, ``bot.store.health``).
"""

from __future__ import annotations

from bot.store.areas.alerts import Alerts
from bot.store.areas.chats import Chats
from bot.store.areas.feeds import Feeds
from bot.store.areas.flood import Flood
from bot.store.areas.outbox import Outbox
from bot.store.areas.processes import Processes
from bot.store.areas.retention import Pruned, Retention
from bot.store.areas.spikes import SpikeCount, Spikes
from bot.store.areas.stats import Stats
from bot.store.areas.watches import Watches

__all__ = ["Pruned", "SpikeCount", "Store"]


class Store(Feeds, Outbox, Alerts, Chats, Watches, Spikes, Flood, Processes, Stats, Retention):
    """Feed state, seen items, the outbox, subscriptions and the rest, in SQLite or
    PostgreSQL: opened, migrated, checked and closed as a ``Database``; each area's
    methods from its class (no two areas name a method alike)."""
