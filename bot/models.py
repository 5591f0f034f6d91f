"""Plain data passed between the stages.

Nothing here does I/O or knows about settings; every stage takes these and returns these.
Times are timezone-aware UTC ``datetime`` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

if TYPE_CHECKING:
    from bot.delivery.kinds import Body

Field = Literal["title", "content"]
FIELDS: tuple[Field, ...] = ("title", "content")


@dataclass(frozen=True, slots=True)
class Item:
    """One news item as read from a feed, an archive file or a JSON Lines record.

    ``key`` is the stable identity within its feed (see ``bot.feeds.identity``).
    ``title`` is plain text; ``content`` is the body as received (HTML or text).
    """

    feed_id: str
    key: str
    title: str
    link: str
    content: str
    published: datetime | None = None
    guid: str | None = None
    author: str | None = None
    # The input's own id, as given (a JSON Lines record's ``id``): what a dry run reports.
    source_id: str | int | None = None
    # ``bot.text.preview.preview_text`` of the content, when the parser made it.
    preview: str | None = None


class Hit(NamedTuple):
    """One term that hit one field of an item.

    ``matched`` is the text exactly as it stands in the field's plain text, which is
    ``plain[start:end]`` (offsets into ``ItemMatch.plain[field]``), so it can be bolded.
    A named tuple: an item can carry hundreds, and tuples are the cheapest to make.
    """

    term: str
    entity: str | None
    matched: str
    field: Field
    edits: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """A topic that fires on an item, with the hits that made it fire (strongest first)."""

    topic_id: str
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """The matcher's answer for one item: the plain text of each field and the topics."""

    plain: dict[Field, str]
    topics: tuple[TopicMatch, ...]


@dataclass(frozen=True, slots=True)
class Destination:
    """A Telegram chat (numeric id or ``@channelname``), optionally a forum topic thread."""

    chat: int | str
    thread: int | None = None

    def __str__(self) -> str:
        return f"{self.chat}/{self.thread}" if self.thread is not None else str(self.chat)


@dataclass(frozen=True, slots=True)
class Button:
    """An inline keyboard button: exactly one of ``url`` and ``callback_data`` is set."""

    text: str
    url: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered Telegram message: HTML ``text``, its plain-text fallback, and buttons.

    ``buttons`` is a list of rows.
    """

    text: str
    plain: str
    buttons: tuple[tuple[Button, ...], ...] = ()


AlertKind = Literal["alert", "also", "digest_item", "digest", "notice", "edit"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One item (or note) for one destination, as the outbox holds it until the send.

    ``body`` is what it says, one type per kind (``bot.delivery.kinds``), rendered at send
    time. ``kind`` says what the outbox does with it:

    - ``alert``: sent as a message of its own;
    - ``also``: a near-duplicate of the alert ``ref_key`` (an item key of ``ref_feed``) in
      the same topic and chat: that alert's message is edited to list it;
    - ``digest_item``: held until ``deliver_at``, then listed in one digest message;
    - ``digest``: one digest message (or one part of a long one);
    - ``notice``: a note to an admin (``item_key`` names it: one note per key and admin);
    - ``edit``: a new version of the sent alert ``ref_key`` of ``ref_feed`` in the same
      topic and chat (a spike whose count grew): ``message`` replaces that message.
    """

    feed_id: str
    item_key: str
    topic_id: str
    destination: Destination
    body: Body
    first_seen: datetime
    fingerprint: str | None = None  # bot.text.cluster.encode(...) of the item
    ref_feed: str | None = None
    ref_key: str | None = None
    deliver_at: datetime | None = None
    # Plain title and body for a machine-written summary at send time (None: not wanted).
    summary_input: str | None = None

    @property
    def kind(self) -> AlertKind:
        kind: str = getattr(self.body, "was", self.body.kind)  # a row from before the parts
        if self.deliver_at is not None and kind in ("alert", "also"):
            return "digest_item"
        if kind == "alert" and self.ref_key is not None:
            return "edit"  # a new version of the sent alert it names
        return cast(AlertKind, kind)


@dataclass(slots=True)
class OutboxEntry:
    """An alert as it stands in the outbox."""

    id: int
    alert: Alert
    status: Literal["queued", "sent", "failed", "held"]  # held: a digest item waiting
    attempts: int = 0
    message_id: int | None = None
    error: str | None = None
    not_before: datetime | None = None
    # When it was sent, and what the item was: near-duplicate edits and digests read them.
    sent_at: datetime | None = None
    item_title: str | None = None
    item_link: str | None = None


@dataclass(slots=True)
class FeedState:
    """What the store remembers about a feed between polls."""

    feed_id: str
    etag: str | None = None
    last_modified: str | None = None
    last_poll: datetime | None = None
    last_success: datetime | None = None
    first_success: datetime | None = None
    consecutive_errors: int = 0
    last_error: str | None = None
    next_poll_not_before: datetime | None = None
    title: str | None = None
    # Health memory (bot.feeds.policy): notices already given, and the feed's rhythm.
    failing_notified: bool = False
    silent_notified: bool = False
    last_new_item: datetime | None = None
    mean_gap_seconds: float | None = None
    # The URL these validators and this history belong to: a new URL starts afresh.
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    """A poller's hold on a feed (``bot.store.leases``): who holds it, and the database's
    time when it was taken, which is the poll's "now"."""

    holder: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched feed document. ``not_modified`` means 304 (or an empty 200): no body."""

    url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed document: its title and items in document order."""

    title: str | None
    items: tuple[Item, ...]
    ttl_seconds: int | None = None
    warnings: tuple[str, ...] = ()
