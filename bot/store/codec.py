"""Conversions between the models and table rows (no I/O here)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal, cast

from sqlalchemy import RowMapping

from bot.models import Alert, Button, Destination, FeedState, Message, OutboxEntry

_INTEGER = re.compile(r"^-?\d+$")
NO_THREAD = 0  # see bot.store.tables: 0 stands for "no forum thread"

Status = Literal["queued", "sent", "failed", "held"]
Kind = Literal["alert", "also", "digest_item", "digest"]


def chat_to_text(chat: int | str) -> str:
    """A chat id as stored: ``-100123`` -> ``"-100123"``, ``"@name"`` stays as it is."""
    if isinstance(chat, bool):  # bool is an int; a True chat id is always a bug
        raise TypeError("a chat id cannot be a bool")
    return str(chat).strip()


def chat_from_text(text: str) -> int | str:
    """A stored chat id back: an int when it looks like one, else the ``@name``."""
    return int(text) if _INTEGER.match(text) else text


def thread_to_column(thread: int | None) -> int:
    return NO_THREAD if thread is None else thread


def thread_from_column(value: int) -> int | None:
    return None if value == NO_THREAD else value


def destination_key(dest: Destination) -> tuple[str, int]:
    return chat_to_text(dest.chat), thread_to_column(dest.thread)


def buttons_to_json(buttons: tuple[tuple[Button, ...], ...]) -> str:
    rows = [[_button_fields(b) for b in row] for row in buttons]
    return json.dumps(rows, ensure_ascii=False)


def _button_fields(button: Button) -> dict[str, str]:
    fields = {"text": button.text, "url": button.url, "callback_data": button.callback_data}
    return {k: v for k, v in fields.items() if v is not None}


def buttons_from_json(text: str) -> tuple[tuple[Button, ...], ...]:
    rows = cast(list[list[dict[str, str]]], json.loads(text))
    return tuple(
        tuple(
            Button(b["text"], url=b.get("url"), callback_data=b.get("callback_data")) for b in row
        )
        for row in rows
    )


def alert_values(alert: Alert) -> dict[str, Any]:
    """The outbox columns that describe an alert (status and bookkeeping excluded)."""
    chat, thread = destination_key(alert.destination)
    return {
        "feed_id": alert.feed_id,
        "item_key": alert.item_key,
        "topic_id": alert.topic_id,
        "chat": chat,
        "thread": thread,
        "text": alert.message.text,
        "plain": alert.message.plain,
        "buttons": buttons_to_json(alert.message.buttons),
        "first_seen": alert.first_seen,
        "kind": alert.kind,
        "fingerprint": alert.fingerprint,
        "source": alert.source,
        "ref_feed": alert.ref_feed,
        "ref_key": alert.ref_key,
        "deliver_at": alert.deliver_at,
        "summary_input": alert.summary_input,
    }


def entry_from_row(row: RowMapping) -> OutboxEntry:
    dest = Destination(chat_from_text(row["chat"]), thread_from_column(row["thread"]))
    message = Message(row["text"], row["plain"], buttons_from_json(row["buttons"]))
    alert = Alert(
        row["feed_id"],
        row["item_key"],
        row["topic_id"],
        dest,
        message,
        row["first_seen"],
        kind=cast(Kind, row["kind"]),
        fingerprint=row["fingerprint"],
        source=row["source"],
        ref_feed=row["ref_feed"],
        ref_key=row["ref_key"],
        deliver_at=row["deliver_at"],
        summary_input=row["summary_input"],
    )
    return OutboxEntry(
        id=row["id"],
        alert=alert,
        status=cast(Status, row["status"]),
        attempts=row["attempts"],
        message_id=row["message_id"],
        error=row["error"],
        not_before=row["not_before"],
        sent_at=row["sent_at"],
        item_title=row["item_title"],
        item_link=row["item_link"],
    )


FEED_STATE_FIELDS = (
    "etag",
    "last_modified",
    "last_poll",
    "last_success",
    "first_success",
    "consecutive_errors",
    "last_error",
    "next_poll_not_before",
    "url",
    "title",
    "failing_notified",
    "silent_notified",
    "last_new_item",
    "mean_gap_seconds",
)


def feed_state_values(state: FeedState) -> dict[str, Any]:
    values = {name: getattr(state, name) for name in FEED_STATE_FIELDS}
    values["feed_id"] = state.feed_id
    return values


def feed_state_from_row(row: RowMapping) -> FeedState:
    return FeedState(feed_id=row["feed_id"], **{name: row[name] for name in FEED_STATE_FIELDS})
