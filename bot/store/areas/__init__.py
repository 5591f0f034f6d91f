"""The store's methods, one class per area, each a short transaction over that area's queries.

``bot.store.store.Store`` is all of them on one database (``bot.store.database``):

    feeds.py       a feed's state, its lease, the items seen, a poll's outcome in one write
    outbox.py      alerts queued for Telegram, claimed, sent, retried, failed; notes to admins
    alerts.py      near-duplicates of sent alerts, and digests held until their slot
    chats.py       subscriptions, mutes, chats gone, and chats that moved
    watches.py     personal watches and the recent items their previews read
    spikes.py      spike counts outside a poll, and the trends behind ``/trends``
    flood.py       command calls per user, against flooding
    processes.py   this process's heartbeat row, and every process running
    stats.py       counts and times for ``/stats``
    retention.py   deleting what is older than its retention period

The SQL lives in the modules of ``bot.store`` named after the tables (``bot.store.outbox``,
``bot.store.seen``, …): functions on a ``Connection``, which the areas combine into one
transaction where a change must be all or nothing.
"""
