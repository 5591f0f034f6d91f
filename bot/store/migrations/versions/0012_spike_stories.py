"""Spike stories stored once: ``spike_items`` splits into ``spike_stories`` and ``spike_hits``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

An item that names eight watched keys was stored eight times, title, link and fingerprint
each time. Now its story is one row of ``spike_stories`` (by feed and item key) and each
(spike, key, window) it counts in is a narrow row of ``spike_hits``, its key leading with
the window (what finds a window's stories and prunes old windows alike). Rows of
``spike_items`` are carried over: each story once (the values are the same in every copy),
each hit as it was. The downgrade puts them back together.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spike_stories",
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text()),
        sa.PrimaryKeyConstraint("feed_id", "item_key", name="pk_spike_stories"),
    )
    op.create_index("ix_spike_stories_at", "spike_stories", ["at"])
    op.create_table(
        "spike_hits",
        sa.Column("window_start", TS, nullable=False),
        sa.Column("spike_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("feed_id", sa.String(200), nullable=False),
        sa.Column("item_key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "window_start", "spike_id", "key", "feed_id", "item_key", name="pk_spike_hits"
        ),
    )
    op.execute(
        "INSERT INTO spike_stories (feed_id, item_key, at, title, link, source, fingerprint) "
        "SELECT feed_id, item_key, MIN(at), MIN(title), MIN(link), MIN(source), MIN(fingerprint) "
        "FROM spike_items GROUP BY feed_id, item_key"
    )
    op.execute(
        "INSERT INTO spike_hits (window_start, spike_id, key, feed_id, item_key) "
        "SELECT window_start, spike_id, key, feed_id, item_key FROM spike_items"
    )
    op.drop_table("spike_items")


def downgrade() -> None:
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
    op.execute(
        "INSERT INTO spike_items (spike_id, key, feed_id, item_key, window_start, at, title, "
        "link, source, fingerprint) "
        "SELECT h.spike_id, h.key, h.feed_id, h.item_key, h.window_start, s.at, s.title, "
        "s.link, s.source, s.fingerprint "
        "FROM spike_hits h JOIN spike_stories s "
        "ON s.feed_id = h.feed_id AND s.item_key = h.item_key"
    )
    op.drop_table("spike_hits")
    op.drop_table("spike_stories")
