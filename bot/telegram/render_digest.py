"""A digest (``bot.delivery.kinds.DigestAlert``) as Telegram messages.

Items are grouped by topic (in the order given), one line each, with links. A long digest
is split, only between lines, into as many parts as Telegram's limit needs; a topic that
runs over into the next part repeats its heading there, and every part is numbered::

    🗞 Digest · 2024-06-28 09:00 CST (1/2)

    俄朝关系 #russia_dprk
    • <title, linked> — VOA 中文 (also: RFA, BBC)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery.kinds import DigestAlert, DigestLine
from bot.models import Message
from bot.telegram.doc import MAX_MESSAGE_UNITS, Doc, one_line, safe_url
from bot.telegram.render_parts import (
    ALSO_LABEL,
    ID_MAX,
    MAX_ALSO_SHOWN,
    NAME_MAX,
    hashtag,
    local_time,
    source_link,
    zone,
)

__all__ = ["render_digest", "render_digest_part", "split_digest"]

_DIGEST_TITLE_MAX = 300
_HEADER_RESERVE = 120  # units kept free in every part for its header line


def _line(doc: Doc, line: DigestLine) -> None:
    doc.add("• ")
    title = one_line(line.title, _DIGEST_TITLE_MAX) or "(untitled)"
    url = safe_url(line.link or "")
    if url:
        doc.tag("a", title, href=url)
    else:
        doc.add(title)
    doc.add(" — " + (one_line(line.source, NAME_MAX) or "?"))
    if line.also:
        doc.add(f" ({ALSO_LABEL} ")
        for n, (source, link) in enumerate(line.also[:MAX_ALSO_SHOWN]):
            doc.add(", " if n else "")
            source_link(doc, source, link)
        doc.add(")")
    doc.add("\n")


def _block(line: DigestLine, heading: bool, more: bool) -> Doc:
    doc = Doc()
    if heading:
        doc.add("\n")
        doc.bold(one_line(line.topic_name, NAME_MAX) or one_line(line.topic_id, ID_MAX))
        doc.add(" " + hashtag(line.topic_id) + (" (continued)" if more else "") + "\n")
    _line(doc, line)
    return doc


def split_digest(lines: Sequence[DigestLine], *, when: datetime, tz: ZoneInfo) -> list[DigestAlert]:
    """The digest's parts: as many as Telegram's limit needs, split only between lines."""
    budget = MAX_MESSAGE_UNITS - _HEADER_RESERVE
    parts: list[tuple[list[DigestLine], bool]] = []
    current: list[DigestLine] = []
    continued, used, topic = False, 0, None
    for line in lines:
        size = _block(line, heading=line.topic_id != topic, more=False).plain_len()
        if used and used + size > budget:
            parts.append((current, continued))
            continued = line.topic_id == topic
            current, used = [], 0
            size = _block(line, heading=True, more=continued).plain_len()
        current.append(line)
        used += size
        topic = line.topic_id
    if used:
        parts.append((current, continued))
    return [
        DigestAlert(tuple(part), when, tz.key, n, len(parts), more)
        for n, (part, more) in enumerate(parts, start=1)
    ]


def render_digest_part(body: DigestAlert) -> Message:
    doc = Doc().raw("🗞 ", "🗞 ").bold("Digest")
    count = f" ({body.part}/{body.parts})" if body.parts > 1 else ""
    doc.add(f" · {local_time(body.when, zone(body.tz)) or ''}{count}\n")
    topic = None
    for n, line in enumerate(body.lines):
        first = n == 0
        doc.extend(
            _block(line, heading=first or line.topic_id != topic, more=first and body.continued)
        )
        topic = line.topic_id
    message = doc.whole()
    return Message(message.text.rstrip("\n"), message.plain.rstrip("\n"))


def render_digest(lines: Sequence[DigestLine], *, when: datetime, tz: ZoneInfo) -> list[Message]:
    """The digest as messages (see ``split_digest``)."""
    return [render_digest_part(part) for part in split_digest(lines, when=when, tz=tz)]
