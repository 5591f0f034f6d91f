"""Spike alerts: counts per window, the stories counted, one alert per window.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

``spike_counts`` holds the count of distinct items per (spike, watched key, window);
``spike_items`` the stories of recent windows (near-duplicates count once, and an alert
lists titles and sources); ``spike_alerts`` the alert given per (spike, key, window), its
primary key the promise of one alert per window across pollers and restarts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spike_counts",
        sa.Column("spike_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("spike_id", "key", "window_start", name="pk_spike_counts"),
    )
    op.create_index("ix_spike_counts_window_start", "spike_counts", ["window_start"])
    op.create_table(
        "spike_items",
        sa.Column("spike_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text()),
        sa.PrimaryKeyConstraint("spike_id", "key", "feed_id", "item_key", name="pk_spike_items"),
    )
    op.create_index(
        "ix_spike_items_spike_id_key_window_start",
        "spike_items",
        ["spike_id", "key", "window_start"],
    )
    op.create_index("ix_spike_items_window_start", "spike_items", ["window_start"])
    op.create_table(
        "spike_alerts",
        sa.Column("spike_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("fired_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("spike_id", "key", "window_start", name="pk_spike_alerts"),
    )
    op.create_index("ix_spike_alerts_window_start", "spike_alerts", ["window_start"])


def downgrade() -> None:
    for table in ("spike_alerts", "spike_items", "spike_counts"):
        op.drop_table(table)
