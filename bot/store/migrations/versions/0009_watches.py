"""Personal watches: the watches, their version counter, recent items for previews.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``/watch QUERY`` stores a chat's query in ``watches``; every change counts
``watch_version`` up, which every poller compares on each tick to pick up watches made
through another process. ``recent_items`` keeps the start of each new item's text for a
week, so a new watch can say what it would have caught.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("thread", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_watches"),
        sa.UniqueConstraint("chat", "number", name="uq_watches_chat_number"),
    )
    version = op.create_table(
        "watch_version",
        sa.Column("id", sa.Integer(), autoincrement=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_watch_version"),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "recent_items",
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed_id", "key", name="pk_recent_items"),
    )
    op.create_index("ix_recent_items_first_seen", "recent_items", ["first_seen"])


def downgrade() -> None:
    op.drop_index("ix_recent_items_first_seen", table_name="recent_items")
    op.drop_table("recent_items")
    op.drop_table("watch_version")
    op.drop_table("watches")
