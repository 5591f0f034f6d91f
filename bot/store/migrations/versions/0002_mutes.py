"""Mutes: a topic silenced in one chat or forum thread until a time.

Revision ID: 0002
Revises: 0001
Create Date: 2024-07-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mutes",
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("thread", sa.BigInteger(), nullable=False),
        sa.Column("topic_id", sa.String(200), nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.PrimaryKeyConstraint("chat", "thread", "topic_id", name="pk_mutes"),
    )
    op.create_index("ix_mutes_topic_id_until", "mutes", ["topic_id", "until"])


def downgrade() -> None:
    op.drop_table("mutes")
