"""The outbox holds what an alert says (its parts), rendered when it is sent.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

A new ``parts`` column holds the alert's body as JSON (``bot.store.parts``); the rendered
message columns become optional. Queued and held rows are converted:

- a near-duplicate ("also") becomes its source, link and title, as new ones are;
- a held digest item becomes its item (title, link, source), which is all a digest shows;
- a note to admins becomes its text;
- a queued alert or digest message keeps the message it was rendered as, and goes out as
  it was queued (an alert rendered before cannot take a machine summary: it is sent with
  its extractive one).

Sent and failed rows keep their rendered message and stay readable: a near-duplicate of an
alert sent before the upgrade still adds its "also:" line to that message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("feed_id", sa.String),
    sa.column("topic_id", sa.String),
    sa.column("kind", sa.String),
    sa.column("status", sa.String),
    sa.column("text", sa.Text),
    sa.column("plain", sa.Text),
    sa.column("buttons", sa.Text),
    sa.column("source", sa.Text),
    sa.column("ref_key", sa.Text),
    sa.column("item_title", sa.Text),
    sa.column("item_link", sa.Text),
    sa.column("parts", sa.Text),
    sa.column("summary_input", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parts", sa.Text()))
        for name in ("text", "plain", "buttons"):
            batch.alter_column(name, existing_type=sa.Text(), nullable=True)
    conn = op.get_bind()
    waiting = sa.select(_OUTBOX).where(_OUTBOX.c.status.in_(("queued", "held")))
    for row in conn.execute(waiting).mappings().all():
        parts = json.dumps(_parts(row), ensure_ascii=False)
        change = sa.update(_OUTBOX).where(_OUTBOX.c.id == row["id"])
        conn.execute(change.values(parts=parts, summary_input=None))


def _parts(row: Any) -> dict[str, Any]:
    """The row's body as ``bot.store.parts`` writes it."""
    source = row["source"] or row["feed_id"]
    if row["kind"] == "also" or (row["kind"] == "digest_item" and row["ref_key"] is not None):
        also = {"source": source, "link": row["item_link"], "title": row["item_title"] or ""}
        return {"kind": "also", **also}
    if row["kind"] == "digest_item":
        item = {"title": row["item_title"] or "", "link": row["item_link"], "source": source}
        return {"kind": "alert", "item": item, "topic_name": "", "tz": "UTC"}
    if row["kind"] == "notice":
        return {"kind": "notice", "text": row["plain"]}
    message = {
        "text": row["text"],
        "plain": row["plain"],
        "buttons": json.loads(row["buttons"] or "[]"),
    }
    return {"kind": "rendered", "message": message, "was": row["kind"]}


def downgrade() -> None:
    """Rows written with parts get their rendered message back (as it would be sent now)."""
    from datetime import UTC, datetime

    from bot.models import Alert, Destination
    from bot.store.codec import body_of_row, buttons_to_json
    from bot.telegram.render import render

    conn = op.get_bind()
    rows = sa.select(_OUTBOX).where(_OUTBOX.c.parts.is_not(None))
    now = datetime.now(UTC)
    for row in conn.execute(rows).mappings().all():
        body = body_of_row(row)
        message = render(Alert(row["feed_id"], "", row["topic_id"], Destination(0), body, now))
        buttons = buttons_to_json(message.buttons)
        change = sa.update(_OUTBOX).where(_OUTBOX.c.id == row["id"])
        conn.execute(change.values(text=message.text, plain=message.plain, buttons=buttons))
    with op.batch_alter_table("outbox") as batch:
        for name in ("text", "plain", "buttons"):
            batch.alter_column(name, existing_type=sa.Text(), nullable=False)
        batch.drop_column("parts")
