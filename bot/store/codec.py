"""Conversions between the models and table rows (no I/O here), and the bounds on stored text.

Every text column has a bound, applied to every row written (``bounded``): a second line
behind the limits an item gets when its feed is parsed (``bot.feeds.entries``), so that
whatever reaches the store, no row grows without bound. Each bound is at least the
parse-time limit, so items from feeds are stored as they are. What a cut would make wrong
(a link, an ETag, a fingerprint, the buttons) is dropped instead; an item key, which must
stay unique, becomes its beginning and a digest of the whole (``bounded_key``), the same
way wherever keys are written or looked up.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from sqlalchemy import RowMapping

from bot.delivery.kinds import AlsoSource, Body, Rendered, TopicAlert
from bot.models import Alert, Button, Destination, FeedState, Message, OutboxEntry
from bot.store.parts import Bounds, body_from_json, body_to_json
from bot.text.clip import clip

_INTEGER = re.compile(r"^-?\d+$")
NO_THREAD = 0  # see bot.store.tables: 0 stands for "no forum thread"

Status = Literal["queued", "sent", "failed", "held"]

MAX_TITLE = 1000  # item and feed titles, an alert's source name
MAX_LINK = 2000  # item links; longer ones are dropped, as when a feed is parsed
MAX_KEY = 4096  # item keys (guid, canonical link or hash)
MAX_ERROR = 2000  # error messages kept for admins
MAX_HEADER = 1000  # ETag and Last-Modified as the server sent them
MAX_FINGERPRINT = 4096  # bot.text.cluster.encode: a 500-character title and a 512-digit sketch
# Rendered messages stay under Telegram's 4,096 characters plus the link in the markup.
MAX_MESSAGE = 65_536

BODY_BOUNDS = Bounds(text=MAX_MESSAGE, link=MAX_LINK)

_CUT = {
    "title": MAX_TITLE,
    "item_title": MAX_TITLE,
    "source": MAX_TITLE,
    "error": MAX_ERROR,
    "last_error": MAX_ERROR,
    "text": MAX_MESSAGE,
    "plain": MAX_MESSAGE,
    "summary_input": MAX_MESSAGE,
}
# Column -> (limit, what is stored instead of a longer value).
_DROP: dict[str, tuple[int, str | None]] = {
    "link": (MAX_LINK, ""),
    "item_link": (MAX_LINK, None),
    "etag": (MAX_HEADER, None),
    "last_modified": (MAX_HEADER, None),
    "fingerprint": (MAX_FINGERPRINT, None),
    "buttons": (MAX_MESSAGE, "[]"),
}
_KEYS = ("key", "item_key", "ref_key")


def bounded_key(key: str) -> str:
    """An item key as stored: itself up to ``MAX_KEY`` characters, else its beginning and
    the SHA-256 of the whole, ``MAX_KEY`` characters in all (so bounding is idempotent)."""
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[: MAX_KEY - len(digest) - 1]}#{digest}"


def bounded(values: Mapping[str, Any]) -> dict[str, Any]:
    """Row values with every text column within its bound (see the module docstring)."""
    out = dict(values)
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if name in _CUT:
            out[name] = clip(value, _CUT[name])
        elif name in _DROP and len(value) > _DROP[name][0]:
            out[name] = _DROP[name][1]
        elif name in _KEYS:
            out[name] = bounded_key(value)
    return out


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
    """The outbox columns that describe an alert (status and bookkeeping excluded).

    ``parts`` holds the body; ``source`` and the item columns repeat what near-duplicates
    and digests look up by query. The rendered-message columns stay empty: an alert is
    rendered when it is sent (rows written before 0011 keep theirs).
    """
    chat, thread = destination_key(alert.destination)
    values = {
        "feed_id": alert.feed_id,
        "item_key": alert.item_key,
        "topic_id": alert.topic_id,
        "chat": chat,
        "thread": thread,
        "parts": body_to_json(alert.body, BODY_BOUNDS),
        "first_seen": alert.first_seen,
        "kind": alert.kind,
        "fingerprint": alert.fingerprint,
        "source": source_of(alert.body),
        "ref_feed": alert.ref_feed,
        "ref_key": alert.ref_key,
        "deliver_at": alert.deliver_at,
        "summary_input": alert.summary_input,
    }
    return bounded(values)


def source_of(body: Body) -> str | None:
    if isinstance(body, TopicAlert):
        return body.item.source
    if isinstance(body, AlsoSource):
        return body.source
    return None


def item_of(body: Body) -> tuple[str, str | None] | None:
    """The item's title and link, where the body names an item."""
    if isinstance(body, TopicAlert):
        return body.item.title, body.item.link
    if isinstance(body, AlsoSource):
        return body.title, body.link
    return None


def body_of_row(row: RowMapping) -> Body:
    if row["parts"] is not None:
        return body_from_json(row["parts"], f"outbox entry {row['id']}")
    if row["kind"] == "also":  # an "also:" edit of an alert sent before the parts
        source = row["source"] or row["feed_id"]
        return AlsoSource(source, row["item_link"], row["item_title"] or "")
    buttons = buttons_from_json(row["buttons"] or "[]")
    message = Message(row["text"] or "", row["plain"] or "", buttons)
    return Rendered(message, was=row["kind"])


def entry_from_row(row: RowMapping) -> OutboxEntry:
    dest = Destination(chat_from_text(row["chat"]), thread_from_column(row["thread"]))
    alert = Alert(
        row["feed_id"],
        row["item_key"],
        row["topic_id"],
        dest,
        body_of_row(row),
        row["first_seen"],
        fingerprint=row["fingerprint"],
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
    return bounded(values)


def feed_state_from_row(row: RowMapping) -> FeedState:
    return FeedState(feed_id=row["feed_id"], **{name: row[name] for name in FEED_STATE_FIELDS})
