"""Scale-out: feed leases, outbox claims, processes, gone chats, command calls.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Several processes share one PostgreSQL database (DESIGN §9): pollers lease due feeds,
the active sender claims what it sends and records when, each process reports itself,
and the chats that blocked the bot and the command flood counts are rows, not sets in
one process.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("interval_s", sa.Float()))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("leased_by", sa.String(200)))
        batch.create_index("ix_feed_state_active_next_poll", ["active", "next_poll_not_before"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200)))
        batch.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_outbox_attempted_at", ["attempted_at"])
    op.create_table(
        "processes",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("roles", sa.String(100), nullable=False),
        sa.Column("active", sa.String(100), nullable=False, server_default=""),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules_version", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_processes"),
    )
    op.create_table(
        "gone_chats",
        sa.Column("chat", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("named", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("chat", name="pk_gone_chats"),
    )
    op.create_table(
        "command_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_command_calls"),
    )
    op.create_index("ix_command_calls_user_id_at", "command_calls", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_command_calls_user_id_at", table_name="command_calls")
    op.drop_table("command_calls")
    op.drop_table("gone_chats")
    op.drop_table("processes")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_attempted_at")
        batch.drop_column("attempted_at")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("feed_state") as batch:
        batch.drop_index("ix_feed_state_active_next_poll")
        batch.drop_column("leased_by")
        batch.drop_column("lease_until")
        batch.drop_column("interval_s")
        batch.drop_column("active")
