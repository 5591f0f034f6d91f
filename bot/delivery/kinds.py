"""What an alert says, one type per kind: the parts the outbox holds until the send.

An ``Alert`` (``bot.models``) is where and when; its ``body`` is what. The sender renders
the body at send time (``bot.telegram.render``), so a machine-written summary, the "also:"
sources of a near-duplicate or a grown count are changes to the data, never to text.

A new kind is a frozen dataclass here with a unique ``tag`` (its name in the stored JSON),
the outbox ``kind`` it is sent as, added to ``BODIES``, and one render function registered
for it in ``bot.telegram.render``; the store keeps any body as JSON of its fields
(``bot.store.parts``), so it needs no new column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from bot.models import Hit, Message

__all__ = [
    "BODIES",
    "AlsoSource",
    "Body",
    "DigestAlert",
    "DigestLine",
    "ItemPart",
    "Notice",
    "Rendered",
    "Source",
    "SpikeAlert",
    "SpikeStory",
    "TopicAlert",
]

Source = tuple[str, str | None]  # a source's display name and the item's link there


@dataclass(frozen=True, slots=True)
class ItemPart:
    """The news item as an alert shows it."""

    title: str
    link: str | None
    source: str  # the feed's display name
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class TopicAlert:
    """An item that fired a topic: title and source, summary with its hits in bold, why.

    ``summary`` is the extractive summary chosen when the item was matched (it fits
    Telegram's limit); ``machine_summary`` replaces it once written; ``also`` lists the
    near-duplicates seen since, shown under the alert. ``tz`` is the zone name the
    publication time is shown in.
    """

    kind: ClassVar[str] = "alert"
    tag: ClassVar[str] = "alert"
    item: ItemPart
    topic_name: str
    tz: str
    hits: tuple[Hit, ...] = ()
    summary: str = ""
    bold: tuple[tuple[int, int], ...] = ()
    machine_summary: str | None = None
    also: tuple[Source, ...] = ()
    mute_label: str | None = None  # the mute button's text, if not "Mute topic" (a watch's)


@dataclass(frozen=True, slots=True)
class AlsoSource:
    """A near-duplicate: one more source of a story told already (``Alert.ref_key``). It is
    no message of its own; it becomes an "also:" line of the first alert (or its digest
    line)."""

    kind: ClassVar[str] = "also"
    tag: ClassVar[str] = "also"
    source: str
    link: str | None
    title: str = ""


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One item in a digest: its topic, title, link, source, and near-duplicate sources."""

    topic_id: str
    topic_name: str
    title: str
    link: str | None
    source: str
    also: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestAlert:
    """One message of a digest: part ``part`` of ``parts``, its lines grouped by topic.
    ``continued``: the first topic runs over from the part before."""

    kind: ClassVar[str] = "digest"
    tag: ClassVar[str] = "digest"
    lines: tuple[DigestLine, ...]
    when: datetime
    tz: str
    part: int = 1
    parts: int = 1
    continued: bool = False


@dataclass(frozen=True, slots=True)
class Notice:
    """A plain-text note to an admin."""

    kind: ClassVar[str] = "notice"
    tag: ClassVar[str] = "notice"
    text: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message rendered before it was queued: rows written before the outbox held parts
    (still sent as they are, and sent ones still take "also:" lines), and test doubles."""

    kind: ClassVar[str] = "rendered"
    tag: ClassVar[str] = "rendered"
    message: Message
    was: str = "alert"  # the row's kind when it was written


@dataclass(frozen=True, slots=True)
class SpikeStory:
    """One of the items a spike counted, as its alert lists it."""

    title: str
    link: str
    source: str


@dataclass(frozen=True, slots=True)
class SpikeAlert:
    """A surge in coverage of a watched entity or keyword (``bot.spikes.surges``): its count in
    the window against the usual rate, the sources and the newest titles. A grown count is
    a new body for the same alert (an edit once it is sent: ``Alert.ref_key``)."""

    kind: ClassVar[str] = "alert"
    tag: ClassVar[str] = "spike"
    spike_name: str
    label: str  # the watched entity or keyword as shown (``render_spike.watched_label``)
    key: str  # the watched key
    window: float  # seconds
    window_start: datetime
    window_end: datetime
    count: int
    mean: float
    stories: tuple[SpikeStory, ...]
    tz: str


Body = TopicAlert | AlsoSource | DigestAlert | Notice | Rendered | SpikeAlert

BODIES: dict[str, type[Body]] = {
    body.tag: body for body in (TopicAlert, AlsoSource, DigestAlert, Notice, Rendered, SpikeAlert)
}
