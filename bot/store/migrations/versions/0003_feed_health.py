"""Feed health memory: failing/silent notices given, last new item, usual gap.

Revision ID: 0003
Revises: 0002
Create Date: 2024-07-15

Read and written by ``bot.feeds.policy`` through ``FeedState``. Existing rows start with
no notice given and no rhythm known yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.add_column(
            sa.Column("failing_notified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("silent_notified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("last_new_item", TS))
        batch.add_column(sa.Column("mean_gap_seconds", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.drop_column("mean_gap_seconds")
        batch.drop_column("last_new_item")
        batch.drop_column("silent_notified")
        batch.drop_column("failing_notified")
