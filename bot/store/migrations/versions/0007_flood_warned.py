"""Flood control's "told to slow down" mark on the command calls.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-12

The flood counts moved into ``command_calls`` (DESIGN §9: an updates reader that takes
over keeps them); the one "slow down" answer per flood is a mark on the user's newest
call, so the reader that takes over does not say it again either.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("command_calls") as batch:
        batch.add_column(
            sa.Column("warned", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("command_calls") as batch:
        batch.drop_column("warned")
