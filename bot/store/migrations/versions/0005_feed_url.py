"""The URL a feed's state belongs to.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

When a feed's URL changes in the rules, its validators (ETag, Last-Modified) and its
first-poll bookkeeping belong to the old URL: the pipeline starts the new one afresh, so
the backfill limit applies again. Existing rows have no URL and adopt the current one.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.add_column(sa.Column("url", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("feed_state") as batch:
        batch.drop_column("url")
