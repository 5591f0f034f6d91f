"""A topic alert (``bot.delivery.kinds.TopicAlert``) as a Telegram message.

Layout::

    🔔 <topic name>
    <source> · 2024-06-28 08:53 CST
    <title, linked>

    <summary, hits in bold>          (or: 🤖 Machine-written summary: <text>)

    Why: 普京 (@putin · content); Kim Jong Un → Kim Jong-un (title · 1 edit)
    #russia_dprk

    also: <source>, <source> +2      (near-duplicates seen since)

Telegram measures its 4,096-unit limit on the plain text. The extractive summary is chosen
when the item is matched (``topic_alert``: shortened until the alert fits); should it not
fit at send time, the alert goes without it, then with a shorter title, without "Why:" and
the hashtag, and as a last resort the plain text cut at the limit. A machine summary is cut
to fit; "also:" shows fewer sources when it must. Every step is taken once: it always ends.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from bot.delivery.kinds import ItemPart, Source, TopicAlert
from bot.models import Button, Field, Hit, Item, Message, TopicMatch
from bot.telegram.doc import MAX_MESSAGE_UNITS, Doc, escape, one_line, safe_url, utf16_len
from bot.telegram.protocol import topic_ref
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
from bot.text.summarize import Summary, summarize

__all__ = ["MACHINE_LABEL", "render_topic", "topic_alert", "why", "with_also"]

MAX_WHY = 5
MACHINE_LABEL = "🤖 Machine-written summary:"
_TITLE_MAX = 500
_TERM_MAX = 60
_MIN_SUMMARY = 80
_MACHINE_MAX = 800


def _why_one(hit: Hit) -> str:
    term = one_line(hit.term, _TERM_MAX)
    matched = one_line(hit.matched, _TERM_MAX)
    label = term if matched.casefold() == term.casefold() or not matched else f"{term} → {matched}"
    details = [f"@{one_line(hit.entity, ID_MAX)}"] if hit.entity else []
    details.append(hit.field)
    if hit.edits > 0:
        details.append(f"{hit.edits} edit" + ("s" if hit.edits > 1 else ""))
    return f"{label} ({' · '.join(details)})"


def _distinct(hits: Sequence[Hit]) -> tuple[Hit, ...]:
    """The hits "Why:" tells apart, strongest first."""
    seen: dict[tuple[str, str, str | None, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.term.casefold(), hit.matched.casefold(), hit.entity, hit.field), hit)
    return tuple(seen.values())


def why(hits: Sequence[Hit], limit: int = MAX_WHY) -> str:
    """The hits as one readable line: deduplicated, strongest first, a few at most."""
    lines = [_why_one(hit) for hit in _distinct(hits)]
    text = "; ".join(lines[:limit])
    if len(lines) > limit:
        text += f"; +{len(lines) - limit} more"
    return text


MUTE_TOPIC = "🔕 Mute topic"


def _mute_data(topic_id: str) -> str:
    # Telegram allows 64 bytes of callback data: a long id travels as a digest, and the
    # command handler matches either form exactly (``bot.telegram.protocol.topic_ref``).
    return f"mute:{topic_ref(topic_id)}"


def _buttons(link: str | None, topic_id: str, mute: str) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    if link:
        rows.append((Button(text="🔗 Open", url=link),))
    rows.append((Button(text=mute, callback_data=_mute_data(topic_id)),))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class _Parts:
    """The alert's lines as shown (cleaned, capped), before the summary."""

    topic_name: str
    feed_name: str
    when: str | None
    title: str
    link: str | None
    why: str
    tag: str
    mute: str = MUTE_TOPIC


def _parts(body: TopicAlert, topic_id: str, feed_id: str) -> _Parts:
    return _Parts(
        topic_name=one_line(body.topic_name, NAME_MAX) or one_line(topic_id, ID_MAX),
        feed_name=one_line(body.item.source, NAME_MAX) or one_line(feed_id, ID_MAX),
        when=local_time(body.item.published, zone(body.tz)),
        title=one_line(body.item.title, _TITLE_MAX) or "(untitled)",
        link=safe_url(body.item.link or ""),
        why=why(body.hits),
        tag=hashtag(topic_id),
        mute=one_line(body.mute_label or "", NAME_MAX) or MUTE_TOPIC,
    )


def _summary_doc(summary: Summary) -> Doc | None:
    if not summary.text:
        return None
    doc, pos = Doc(), 0
    for start, end in summary.bold:
        if start < pos:
            continue
        doc.add(summary.text[pos:start]).bold(summary.text[start:end])
        pos = end
    return doc.add(summary.text[pos:])


def _compose(parts: _Parts, middle: Doc | None, topic_id: str) -> Message:
    doc = Doc().raw("🔔 ", "🔔 ").bold(parts.topic_name)
    doc.add("\n" + parts.feed_name + (f" · {parts.when}" if parts.when else "") + "\n")
    if parts.link:
        doc.raw(f'<a href="{escape(parts.link)}">', "").bold(parts.title).raw("</a>", "")
    else:
        doc.bold(parts.title)
    if middle is not None:
        doc.add("\n\n").extend(middle)
    doc.add("\n\n")
    if parts.why:
        doc.italic("Why:").add(f" {parts.why}\n")
    doc.add(parts.tag)
    return doc.whole(_buttons(parts.link, topic_id, parts.mute))


def _fits(message: Message) -> int:
    """How many units ``message`` is over the limit (0 or less: it fits)."""
    return utf16_len(message.plain) - MAX_MESSAGE_UNITS


def topic_alert(
    *,
    item: Item,
    topic_id: str,
    topic_name: str,
    feed_name: str,
    match: TopicMatch,
    plain: Mapping[Field, str],
    tz: ZoneInfo,
    max_summary: int = 600,
    mute_label: str | None = None,
) -> TopicAlert:
    """The alert's parts, with the longest extractive summary (at most ``max_summary``
    characters) with which it fits; none if even a short one does not. ``mute_label``:
    the mute button's text, when it mutes something other than a topic."""
    body = TopicAlert(
        item=ItemPart(item.title, item.link, feed_name, item.published),
        topic_name=topic_name,
        tz=tz.key,
        hits=_distinct(match.hits),
        mute_label=mute_label,
    )
    parts = _parts(body, topic_id, item.feed_id)
    budget = max_summary
    while budget > 0:
        summary = summarize(plain, match.hits, max_chars=budget)
        excess = _fits(_compose(parts, _summary_doc(summary), topic_id))
        if excess <= 0:
            return replace(body, summary=summary.text, bold=summary.bold)
        # UTF-16 units can be twice the characters (emoji); shrink by at least that much.
        budget = budget - excess if budget - excess >= _MIN_SUMMARY else 0
    return body


@functools.lru_cache(maxsize=1024)  # one item to many chats is rendered once
def render_topic(body: TopicAlert, topic_id: str, feed_id: str) -> Message:
    """The alert as it stands now: its summary (machine-written once there is one), and
    "also:" with the sources seen since."""
    parts = _parts(body, topic_id, feed_id)
    message = _with_machine_summary(parts, body.machine_summary or "", topic_id)
    if message is None:
        message = _compose(parts, _summary_doc(Summary(body.summary, body.bold)), topic_id)
        if _fits(message) > 0:
            message = _fit_without_summary(parts, topic_id)
    return with_also(message, body.also)


def _with_machine_summary(parts: _Parts, summary: str, topic_id: str) -> Message | None:
    """The alert with the machine summary, cut to fit; None if there is none or it cannot
    fit at all (the extractive alert stands)."""
    text = one_line(summary, _MACHINE_MAX)
    while text:
        message = _compose(parts, Doc().italic(MACHINE_LABEL).add(" " + text), topic_id)
        excess = _fits(message)
        if excess <= 0:
            return message
        if len(text) <= excess + 1:
            return None
        text = text[: len(text) - excess - 1].rstrip() + "…"
    return None


def with_also(message: Message, sources: Sequence[Source]) -> Message:
    """``message`` with an "also: <source>, <source>" line: where else the story appeared.

    ``sources`` are (feed name, item link) pairs, oldest first; a few are shown at most, and
    fewer if the message would pass Telegram's limit. The buttons stay as they were.
    """
    shown = list(sources[:MAX_ALSO_SHOWN])
    while shown:
        doc = Doc().raw(message.text, message.plain).add("\n\n").italic(ALSO_LABEL)
        for n, (source, link) in enumerate(shown):
            doc.add(", " if n else " ")
            source_link(doc, source, link)
        if len(sources) > len(shown):
            doc.add(f" +{len(sources) - len(shown)}")
        edited = doc.whole(message.buttons)
        if _fits(edited) <= 0:
            return edited
        shown.pop()
    return message


def _fit_without_summary(parts: _Parts, topic_id: str) -> Message:
    """The alert without a summary, made to fit by a fixed series of cuts.

    Topic and feed names are capped at a few hundred units, so the title alone usually
    settles it; the later steps keep even absurd input (ids from outside the rules) finite.
    """
    message = _compose(parts, None, topic_id)
    for cut in (_shorter_title, _without_why, _without_tag):
        excess = _fits(message)
        if excess <= 0:
            return message
        parts = cut(parts, excess)
        message = _compose(parts, None, topic_id)
    if _fits(message) <= 0:
        return message
    return hard_cut(message)


def _shorter_title(parts: _Parts, excess: int) -> _Parts:
    # Every character is at least one unit: cutting ``excess`` characters (and one for the
    # ellipsis) removes at least ``excess`` units, unless the title runs out first.
    keep = max(1, len(parts.title) - excess - 1)
    return replace(parts, title=parts.title[:keep] + "…")


def _without_why(parts: _Parts, excess: int) -> _Parts:
    return replace(parts, why="")


def _without_tag(parts: _Parts, excess: int) -> _Parts:
    return replace(parts, tag="")


def hard_cut(message: Message) -> Message:
    """The plain text cut to the limit (between code points, so never inside a surrogate
    pair), sent as escaped text without markup: a last resort that cannot fail to fit."""
    text, units = [], 0
    for char in message.plain:
        units += utf16_len(char)
        if units > MAX_MESSAGE_UNITS - 1:
            break
        text.append(char)
    plain = "".join(text).rstrip() + "…"
    return Message(text=escape(plain), plain=plain, buttons=message.buttons)
