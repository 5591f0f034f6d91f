"""The schema, as SQLAlchemy Core tables (the migrations create exactly these).

Portable SQL only: the same tables work on SQLite (the default) and PostgreSQL.

Two conventions hold across tables:

- Chat ids are text (``"-1001234567890"`` or ``"@channel"``); see ``bot.store.codec``.
- ``thread`` is ``0`` when there is no forum thread. Telegram thread ids are positive
  message ids, so ``0`` is never a real one, and a NOT NULL column keeps the unique keys
  honest: both SQLite and PostgreSQL treat NULLs as distinct in a unique constraint, which
  would let the same alert be queued twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every backend.

    SQLite keeps no time zone: values are stored as naive UTC and given back with
    ``tzinfo=UTC``. A naive value is refused, because guessing its zone would shift
    alerts by hours without anyone noticing.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store: use UTC")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


feed_state = Table(
    "feed_state",
    metadata,
    Column("feed_id", String(200), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_poll", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("first_success", UTCDateTime),
    Column("consecutive_errors", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_poll_not_before", UTCDateTime),
    Column("title", Text),
    # Health memory (bot.feeds.policy): notices given, when items last came, their rhythm.
    Column("failing_notified", Boolean, nullable=False, default=False, server_default=false()),
    Column("silent_notified", Boolean, nullable=False, default=False, server_default=false()),
    Column("last_new_item", UTCDateTime),
    Column("mean_gap_seconds", Float),
    Column("url", Text),
    # Scheduling (bot.store.leases): whether the current rules poll this feed, at what
    # interval, and which process holds it while a poll is in flight.
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    Column("interval_s", Float),
    Column("lease_until", UTCDateTime),
    Column("leased_by", String(200)),
    # lease_due's order, over the active feeds (NULLS FIRST on PostgreSQL: migration 0008)
    Index(
        "ix_feed_state_due",
        "next_poll_not_before",
        "feed_id",
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
)

seen_items = Table(
    "seen_items",
    metadata,
    Column("feed_id", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("link", Text, nullable=False, default=""),
    Column("published", UTCDateTime),
    Column("first_seen", UTCDateTime, nullable=False),
    # For pruning old rows and for "what came in lately" queries.
    Index("ix_seen_items_first_seen", "first_seen"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed_id", String(200), nullable=False),
    Column("item_key", Text, nullable=False),
    Column("topic_id", String(200), nullable=False),
    Column("chat", String(200), nullable=False),
    Column("thread", BigInteger, nullable=False, default=0),
    # What the alert says (bot.delivery.kinds, as JSON: bot.store.parts), rendered when
    # it is sent. Rows written before 0011 without parts keep their rendered message.
    Column("parts", Text),
    Column("text", Text),
    Column("plain", Text),
    Column("buttons", Text),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    # Digests and retries: not sent before this time.
    Column("not_before", UTCDateTime),
    # Near-duplicate edits need the sent message and what it was about.
    Column("message_id", BigInteger),
    Column("sent_at", UTCDateTime),
    Column("item_title", Text),
    Column("item_link", Text),
    # What the row is (bot.models.Alert.kind) and what near-duplicates and digests need.
    Column("kind", String(16), nullable=False, default="alert", server_default="alert"),
    Column("fingerprint", Text),
    Column("source", Text),
    Column("ref_feed", String(200)),
    Column("ref_key", Text),
    Column("deliver_at", UTCDateTime),
    Column("summary_input", Text),
    # The sender that is sending this entry right now, and when the last request for it
    # was made or answered: what a sender that starts or takes over knows of the last minute.
    Column("claimed_by", String(200)),
    Column("attempted_at", UTCDateTime),
    UniqueConstraint("feed_id", "item_key", "topic_id", "chat", "thread", name="uq_outbox_alert"),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    Index("ix_outbox_chat_status", "chat", "status"),
    Index("ix_outbox_topic_sent_at", "topic_id", "sent_at"),
    Index("ix_outbox_topic_chat_first_seen", "topic_id", "chat", "first_seen"),
    Index("ix_outbox_kind_status_deliver_at", "kind", "status", "deliver_at"),
    Index("ix_outbox_attempted_at", "attempted_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat", String(200), nullable=False),
    Column("thread", BigInteger, nullable=False, default=0),
    Column("topic_id", String(200), nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("muted_until", UTCDateTime),
    UniqueConstraint("chat", "thread", "topic_id", name="uq_subscriptions_destination_topic"),
    Index("ix_subscriptions_topic_id", "topic_id"),
)

# A topic silenced in one chat (or forum thread) until a time; see ``bot.store.mutes``.
# Apart from subscriptions because a topic's configured channels can be muted too.
mutes = Table(
    "mutes",
    metadata,
    Column("chat", String(200), primary_key=True),
    Column("thread", BigInteger, primary_key=True, default=0),
    Column("topic_id", String(200), primary_key=True),
    Column("until", UTCDateTime, nullable=False),
    Index("ix_mutes_topic_id_until", "topic_id", "until"),
)

# Every running mediabot process, for /status and rules-version skew (bot.store.processes).
processes = Table(
    "processes",
    metadata,
    Column("id", String(200), primary_key=True),  # host:pid:start, unique per process
    Column("roles", String(100), nullable=False),  # the roles it runs
    Column("active", String(100), nullable=False, default="", server_default=""),  # leads
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", UTCDateTime, nullable=False),
    Column("heartbeat", UTCDateTime, nullable=False),
    Column("rules_version", String(64)),
)

# Chats that blocked or removed the bot: nothing is queued or sent to them until they
# come back (a rule-file change naming them anew, /resumechat, the bot added back).
gone_chats = Table(
    "gone_chats",
    metadata,
    Column("chat", String(200), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("since", UTCDateTime, nullable=False),
    # Whether the rules loaded last name the chat: rules that name it anew bring it back.
    Column("named", Boolean, nullable=False, default=False, server_default=false()),
)

# Commands per user in the flood window, so a reader that takes over keeps the count.
command_calls = Table(
    "command_calls",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # The user was told to slow down after this call (once per flood; bot.store.flood).
    Column("warned", Boolean, nullable=False, default=False, server_default=false()),
    Index("ix_command_calls_user_id_at", "user_id", "at"),
)

# Spike alerts (bot.store.spikes): counts per (spike, watched key, window), the stories
# counted in recent windows (near-duplicates and the alert's titles), and the alert given
# per window: its unique key is what makes one alert per window across pollers.
spike_counts = Table(
    "spike_counts",
    metadata,
    Column("spike_id", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("count", Integer, nullable=False, default=0),
    Index("ix_spike_counts_window_start", "window_start"),
)

# Each story counted once (an item names many watched keys; its title, link and
# fingerprint are stored once), and which (spike, key, window) it was counted in.
spike_stories = Table(
    "spike_stories",
    metadata,
    Column("feed_id", String(200), primary_key=True),
    Column("item_key", Text, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("link", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("fingerprint", Text),
    Index("ix_spike_stories_at", "at"),
)

# Its key leads with the window: it finds a window's stories and prunes old windows alike.
spike_hits = Table(
    "spike_hits",
    metadata,
    Column("window_start", UTCDateTime, primary_key=True),
    Column("spike_id", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("feed_id", String(200), primary_key=True),
    Column("item_key", Text, primary_key=True),
)

spike_alerts = Table(
    "spike_alerts",
    metadata,
    Column("spike_id", String(200), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("window_start", UTCDateTime, primary_key=True),
    Column("count", Integer, nullable=False),  # the count the alert shows
    Column("fired_at", UTCDateTime, nullable=False),
    Index("ix_spike_alerts_window_start", "window_start"),
)

# Personal watches (``/watch``, bot.store.watches): a query of one chat, numbered per chat.
watches = Table(
    "watches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat", String(200), nullable=False),
    Column("thread", BigInteger, nullable=False, default=0),
    Column("number", Integer, nullable=False),  # what the chat calls it: /unwatch N
    Column("query", Text, nullable=False),
    Column("created", UTCDateTime, nullable=False),
    Column("created_by", BigInteger),
    UniqueConstraint("chat", "number", name="uq_watches_chat_number"),
)

# One row, counted up by every change to ``watches``: what pollers compare on each tick.
watch_version = Table(
    "watch_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False, default=0),
)

# Recently seen items with the start of their text, for a new watch's preview; kept
# ``bot.store.watches.RECENT_DAYS`` days (seen_items keeps titles only).
recent_items = Table(
    "recent_items",
    metadata,
    Column("feed_id", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("title", Text, nullable=False, default=""),
    Column("link", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("first_seen", UTCDateTime, nullable=False),
    Index("ix_recent_items_first_seen", "first_seen"),
)
