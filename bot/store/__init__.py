"""The state store: SQLAlchemy Core tables, Alembic migrations and the ``Store`` queries.

From the top down (imports point down only; ``tests/test_architecture.py``):

    store.py        ``Store``: every area below on one database, what the rest of mediabot uses
    aio.py          the same methods as coroutines, run off the event loop
    areas/          the methods, one class per area, each one short transaction
    database.py     the engine, its health, and the transactions the areas run in
    outbox.py  alerts.py  seen.py  leases.py  chats.py  subscriptions.py  mutes.py
    watches.py  spikes.py  spike_alerts.py  flood.py  processes.py  stats.py
                    the SQL, by the tables it owns: functions on one connection
                    (spikes.py's ledger lives as long as one transaction; spike_memo.py
                    keeps what a process remembers of spike windows between them)
    tables.py  codec.py  parts.py  sql.py
                    the schema, rows to models and back, dialect helpers
    engine.py  migrate.py  migrations/  health.py  notify.py  election.py
                    opening a database, the schema's revisions, failing and recovering,
                    wake-ups between processes, one leader per role
"""

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
