"""Create every table: feed state, seen items, outbox, subscriptions.

Revision ID: 0001
Revises:
Create Date: 2024-06-01

Written out by hand rather than from ``bot.store.tables`` so that this revision keeps
meaning the same schema when the tables change later. Datetimes are plain
``DateTime(timezone=True)`` here; the UTC handling lives in Python (``UTCDateTime``).
``thread`` is 0 for "no forum thread" so the unique keys hold (NULLs never collide).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feed_state",
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.Text()),
        sa.Column("last_poll", TS),
        sa.Column("last_success", TS),
        sa.Column("first_success", TS),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("next_poll_not_before", TS),
        sa.Column("title", sa.Text()),
        sa.PrimaryKeyConstraint("feed_id", name="pk_feed_state"),
    )
    op.create_table(
        "seen_items",
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("published", TS),
        sa.Column("first_seen", TS, nullable=False),
        sa.PrimaryKeyConstraint("feed_id", "key", name="pk_seen_items"),
    )
    op.create_index("ix_seen_items_first_seen", "seen_items", ["first_seen"])
    _create_outbox()
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("thread", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.String(200), nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("muted_until", TS),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint(
            "chat", "thread", "topic_id", name="uq_subscriptions_destination_topic"
        ),
    )
    op.create_index("ix_subscriptions_topic_id", "subscriptions", ["topic_id"])


def _create_outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("topic_id", sa.String(200), nullable=False),
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("thread", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("plain", sa.Text(), nullable=False),
        sa.Column("buttons", sa.Text(), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("created", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("not_before", TS),
        sa.Column("message_id", sa.BigInteger()),
        sa.Column("sent_at", TS),
        sa.Column("item_title", sa.Text()),
        sa.Column("item_link", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint(
            "feed_id", "item_key", "topic_id", "chat", "thread", name="uq_outbox_alert"
        ),
    )
    op.create_index("ix_outbox_status_not_before", "outbox", ["status", "not_before"])
    op.create_index("ix_outbox_chat_status", "outbox", ["chat", "status"])
    op.create_index("ix_outbox_topic_sent_at", "outbox", ["topic_id", "sent_at"])


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("outbox")
    op.drop_table("seen_items")
    op.drop_table("feed_state")
