"""Outbox rows for near-duplicates, digests and machine-written summaries.

Revision ID: 0004
Revises: 0003
Create Date: 2024-07-20

``kind`` tells an alert from an "also:" edit, a held digest item and a digest message;
``fingerprint`` (``bot.text.cluster``) finds near-duplicates; ``ref_feed``/``ref_key`` name the
alert an edit belongs to; ``deliver_at`` is a digest item's slot; ``summary_input`` is the
item text a machine-written summary is made from at send time (cleared once sent).
Existing rows are plain alerts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="alert")
        )
        batch.add_column(sa.Column("fingerprint", sa.Text()))
        batch.add_column(sa.Column("source", sa.Text()))
        batch.add_column(sa.Column("ref_feed", sa.String(200)))
        batch.add_column(sa.Column("ref_key", sa.Text()))
        batch.add_column(sa.Column("deliver_at", TS))
        batch.add_column(sa.Column("summary_input", sa.Text()))
        batch.create_index(
            "ix_outbox_topic_chat_first_seen", ["topic_id", "chat", "first_seen"]
        )
        batch.create_index("ix_outbox_kind_status_deliver_at", ["kind", "status", "deliver_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_kind_status_deliver_at")
        batch.drop_index("ix_outbox_topic_chat_first_seen")
        for name in (
            "summary_input",
            "deliver_at",
            "ref_key",
            "ref_feed",
            "source",
            "fingerprint",
            "kind",
        ):
            batch.drop_column(name)
