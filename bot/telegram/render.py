"""Render an alert as a Telegram message: the only place that builds HTML.

Every value goes through ``html.escape`` (after control characters and bidirectional
overrides are dropped: ``clean``) and the plain-text fallback is built from the very
same pieces, so ``Message.plain`` is exactly the text Telegram shows after parsing
``Message.text``. That is also what Telegram measures against its 4,096-unit limit (UTF-16
code units), so the length check runs on ``plain``; when it is over, the summary is shortened
first, then the title, then the "Why" line and the hashtag are left out; should even that be
too long, the plain text is cut at the limit. Every step is taken once: rendering always ends.

Layout::

    🔔 <topic name>
    <source> · 2024-06-28 08:53 CST
    <title, linked>

    <summary, hits in bold>

    Why: 普京 (@putin · content); Kim Jong Un → Kim Jong-un (title · 1 edit)
    #russia_dprk
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from bot.models import Button, Field, Hit, Item, Message, TopicMatch
from bot.summarize import Summary, summarize
from bot.telegram.protocol import topic_ref

__all__ = [
    "MAX_MESSAGE_UNITS",
    "DigestLine",
    "clean",
    "hashtag",
    "render_alert",
    "render_also",
    "render_digest",
    "utf16_len",
    "with_machine_summary",
]

MAX_MESSAGE_UNITS = 4096
MAX_WHY = 5

_TITLE_MAX = 500
_NAME_MAX = 120
_TERM_MAX = 60
_ID_MAX = 64  # rule ids are at most 64 characters (bot.rules.schema.MAX_ID)
_MIN_SUMMARY = 80

# C0/C1 controls (except tab and newline), lone surrogates and non-characters break the
# Bot API's JSON or UTF-8 handling; they never carry meaning in a news item. Bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows
# them, up to the end of the line: a title could make itself, a link or a source read
# as something else ("Trojan Source"). The marks U+200E/U+200F/U+061C are kept: they change
# the direction of neighbouring punctuation only, and right-to-left text needs them.
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
_SPACES = re.compile(r"\s+")
_NOT_HASHTAG = re.compile(r"[^0-9A-Za-z_]+")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """``text`` without what must never reach a chat (see ``_UNSAFE``): every value shown,
    from a feed, the rules or a command, goes through here before it is escaped."""
    return _UNSAFE.sub("", text)


def _one_line(text: str, limit: int) -> str:
    line = _SPACES.sub(" ", clean(text)).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def hashtag(topic_id: str) -> str:
    """``russia-dprk`` -> ``#russia_dprk`` (hashtags allow only letters, digits and _)."""
    tag = _NOT_HASHTAG.sub("_", topic_id[:_ID_MAX]).strip("_")
    if not any(ch.isalpha() for ch in tag):
        tag = f"topic_{tag}".rstrip("_")  # Telegram does not link an all-digit hashtag
    return f"#{tag}"


def _safe_url(url: str) -> str | None:
    """The link if Telegram will accept it in an href and a button, else None."""
    url = url.strip()
    if not url or _UNSAFE.search(url) or any(ch.isspace() for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Non-ASCII paths (Chinese slugs) are percent-encoded so buttons take them; existing
    # escapes are kept as they are, never encoded twice.
    return quote(url, safe=_URL_SAFE)


@dataclass(slots=True)
class _Doc:
    """HTML and plain text built side by side from the same pieces."""

    html: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.html.append(html.escape(text, quote=True))
        self.plain.append(text)

    def tag(self, name: str, text: str, href: str | None = None) -> None:
        attrs = f' href="{html.escape(href, quote=True)}"' if href else ""
        self.html.append(f"<{name}{attrs}>{html.escape(text, quote=True)}</{name}>")
        self.plain.append(text)

    def raw(self, html_text: str, plain_text: str) -> None:
        self.html.append(html_text)
        self.plain.append(plain_text)

    def message(self, buttons: tuple[tuple[Button, ...], ...]) -> Message:
        return Message(text="".join(self.html), plain="".join(self.plain), buttons=buttons)


def _published(when: datetime | None, tz: ZoneInfo) -> str | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # the models promise UTC
    local = when.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".rstrip()


def _summary_pieces(doc: _Doc, summary: Summary) -> None:
    pos = 0
    for start, end in summary.bold:
        if start < pos:
            continue
        doc.add(clean(summary.text[pos:start]))
        doc.tag("b", clean(summary.text[start:end]))
        pos = end
    doc.add(clean(summary.text[pos:]))


def _why_one(hit: Hit) -> str:
    term = _one_line(hit.term, _TERM_MAX)
    matched = _one_line(hit.matched, _TERM_MAX)
    label = term if matched.casefold() == term.casefold() or not matched else f"{term} → {matched}"
    details = [f"@{_one_line(hit.entity, _ID_MAX)}"] if hit.entity else []
    details.append(hit.field)
    if hit.edits > 0:
        details.append(f"{hit.edits} edit" + ("s" if hit.edits > 1 else ""))
    return f"{label} ({' · '.join(details)})"


def why(hits: Sequence[Hit], limit: int = MAX_WHY) -> str:
    """The hits as one readable line: deduplicated, strongest first, a few at most."""
    seen: set[tuple[str, str, str | None, str]] = set()
    lines: list[str] = []
    for hit in hits:
        key = (hit.term.casefold(), hit.matched.casefold(), hit.entity, hit.field)
        if key not in seen:
            seen.add(key)
            lines.append(_why_one(hit))
    text = "; ".join(lines[:limit])
    if len(lines) > limit:
        text += f"; +{len(lines) - limit} more"
    return text


def _mute_data(topic_id: str) -> str:
    # Telegram allows 64 bytes of callback data: a long id travels as a digest, and the
    # command handler matches either form exactly (``bot.telegram.protocol.topic_ref``).
    return f"mute:{topic_ref(topic_id)}"


def _buttons(link: str | None, topic_id: str) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    if link:
        rows.append((Button(text="🔗 Open", url=link),))
    rows.append((Button(text="🔕 Mute topic", callback_data=_mute_data(topic_id)),))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class _Parts:
    topic_name: str
    feed_name: str
    when: str | None
    title: str
    link: str | None
    why: str
    tag: str


def _compose(parts: _Parts, summary: Summary, topic_id: str) -> Message:
    doc = _Doc()
    doc.raw("🔔 ", "🔔 ")
    doc.tag("b", parts.topic_name)
    doc.add("\n" + parts.feed_name + (f" · {parts.when}" if parts.when else "") + "\n")
    if parts.link:
        doc.raw(f'<a href="{html.escape(parts.link, quote=True)}">', "")
        doc.tag("b", parts.title)
        doc.raw("</a>", "")
    else:
        doc.tag("b", parts.title)
    if summary.text:
        doc.add("\n\n")
        _summary_pieces(doc, summary)
    doc.add("\n\n")
    if parts.why:
        doc.tag("i", "Why:")
        doc.add(f" {parts.why}\n")
    doc.add(parts.tag)
    return doc.message(_buttons(parts.link, topic_id))


def render_alert(
    *,
    item: Item,
    topic_id: str,
    topic_name: str,
    feed_name: str,
    match: TopicMatch,
    plain: Mapping[Field, str],
    tz: ZoneInfo,
    max_summary: int = 600,
) -> Message:
    """One alert as a Telegram HTML message with its plain-text fallback and buttons."""
    parts = _Parts(
        topic_name=_one_line(topic_name, _NAME_MAX) or _one_line(topic_id, _ID_MAX),
        feed_name=_one_line(feed_name, _NAME_MAX) or _one_line(item.feed_id, _ID_MAX),
        when=_published(item.published, tz),
        title=_one_line(item.title, _TITLE_MAX) or "(untitled)",
        link=_safe_url(item.link),
        why=why(match.hits),
        tag=hashtag(topic_id),
    )
    budget = max_summary
    while budget > 0:
        summary = summarize(plain, match.hits, max_chars=budget)
        message = _compose(parts, summary, topic_id)
        excess = utf16_len(message.plain) - MAX_MESSAGE_UNITS
        if excess <= 0:
            return message
        # UTF-16 units can be twice the characters (emoji); shrink by at least that much.
        budget = budget - excess if budget - excess >= _MIN_SUMMARY else 0
    return _fit_without_summary(parts, topic_id)


def render_watch_alert(
    *,
    item: Item,
    watch_key: str,
    query: str,
    feed_name: str,
    match: TopicMatch,
    plain: Mapping[Field, str],
    tz: ZoneInfo,
    max_summary: int = 600,
) -> Message:
    """A personal watch's alert: a topic alert with the query as its heading, the same
    summary and "Why:" line, and a mute button that mutes the watch (``watch_key``)."""
    return render_alert(
        item=item,
        topic_id=watch_key,
        topic_name="👁 " + query,
        feed_name=feed_name,
        match=match,
        plain=plain,
        tz=tz,
        max_summary=max_summary,
    )


def _fit_without_summary(parts: _Parts, topic_id: str) -> Message:
    """The alert without a summary, made to fit by a fixed series of cuts.

    Topic and feed names are capped at a few hundred units, so the title alone usually
    settles it; the later steps keep even absurd input (ids from outside the rules) finite.
    """
    message = _compose(parts, Summary(""), topic_id)
    for cut in (_shorter_title, _without_why, _without_tag):
        excess = utf16_len(message.plain) - MAX_MESSAGE_UNITS
        if excess <= 0:
            return message
        parts = cut(parts, excess)
        message = _compose(parts, Summary(""), topic_id)
    if utf16_len(message.plain) <= MAX_MESSAGE_UNITS:
        return message
    return _hard_cut(message)


def _shorter_title(parts: _Parts, excess: int) -> _Parts:
    # Every character is at least one unit: cutting ``excess`` characters (and one for the
    # ellipsis) removes at least ``excess`` units, unless the title runs out first.
    keep = max(1, len(parts.title) - excess - 1)
    return replace(parts, title=parts.title[:keep] + "…")


def _without_why(parts: _Parts, excess: int) -> _Parts:
    return replace(parts, why="")


def _without_tag(parts: _Parts, excess: int) -> _Parts:
    return replace(parts, tag="")


def _hard_cut(message: Message) -> Message:
    """The plain text cut to the limit (between code points, so never inside a surrogate
    pair), sent as escaped text without markup: a last resort that cannot fail to fit."""
    text, units = [], 0
    for char in message.plain:
        units += utf16_len(char)
        if units > MAX_MESSAGE_UNITS - 1:
            break
        text.append(char)
    plain = "".join(text).rstrip() + "…"
    return Message(text=html.escape(plain, quote=True), plain=plain, buttons=message.buttons)


# --- near-duplicates: "also: <source>" under the first alert ---------------------------------

MAX_ALSO_SHOWN = 5
ALSO_LABEL = "also:"


def _source_link(doc: _Doc, source: str, link: str | None) -> None:
    name = _one_line(source, _NAME_MAX) or "source"
    url = _safe_url(link or "")
    if url:
        doc.tag("a", name, href=url)
    else:
        doc.add(name)


def render_also(message: Message, sources: Sequence[tuple[str, str | None]]) -> Message:
    """``message`` with an "also: <source>, <source>" line: where else the story appeared.

    ``sources`` are (feed name, item link) pairs, oldest first; a few are shown at most, and
    fewer if the message would pass Telegram's limit. The buttons stay as they were.
    """
    shown = list(sources[:MAX_ALSO_SHOWN])
    while shown:
        doc = _Doc(html=[message.text], plain=[message.plain])
        doc.add("\n\n")
        doc.tag("i", ALSO_LABEL)
        for n, (source, link) in enumerate(shown):
            doc.add(", " if n else " ")
            _source_link(doc, source, link)
        if len(sources) > len(shown):
            doc.add(f" +{len(sources) - len(shown)}")
        edited = doc.message(message.buttons)
        if utf16_len(edited.plain) <= MAX_MESSAGE_UNITS:
            return edited
        shown.pop()
    return message


def also_note(source: str, link: str | None) -> Message:
    """What an "also" row records: the one source it adds (shown only in logs and the store)."""
    doc = _Doc()
    doc.tag("i", ALSO_LABEL)
    doc.add(" ")
    _source_link(doc, source, link)
    return doc.message(())


# --- machine-written summaries -----------------------------------------------------------------

MACHINE_LABEL = "🤖 Machine-written summary:"
_MACHINE_MAX = 800


def with_machine_summary(message: Message, summary: str) -> Message:
    """An alert from :func:`render_alert` with its summary replaced by a labelled one.

    The alert's layout puts the summary between the first blank line (after the title) and
    the last one (before "Why:"); every other part is a single line, so both are found by
    position. An alert without a summary gets one in that place; ``message`` comes back
    unchanged when the summary is empty or its layout is not an alert's.
    """
    text = _one_line(summary, _MACHINE_MAX)
    head, tail = message.text.find("\n\n"), message.text.rfind("\n\n")
    phead, ptail = message.plain.find("\n\n"), message.plain.rfind("\n\n")
    if not text or head < 0 or phead < 0:
        return message
    while True:
        doc = _Doc(html=[message.text[:head]], plain=[message.plain[:phead]])
        doc.add("\n\n")
        doc.tag("i", MACHINE_LABEL)
        doc.add(" " + text)
        doc.raw(message.text[tail:], message.plain[ptail:])
        out = doc.message(message.buttons)
        excess = utf16_len(out.plain) - MAX_MESSAGE_UNITS
        if excess <= 0:
            return out
        if len(text) <= excess + 1:
            return message
        text = text[: len(text) - excess - 1].rstrip() + "…"


# --- digests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestLine:
    """One item in a digest: its topic, title, link, source, and near-duplicate sources."""

    topic_id: str
    topic_name: str
    title: str
    link: str | None
    source: str
    also: tuple[tuple[str, str | None], ...] = ()


_DIGEST_TITLE_MAX = 300
_HEADER_RESERVE = 120  # units kept free in every part for its header line


def _digest_line(doc: _Doc, line: DigestLine) -> None:
    doc.add("• ")
    title = _one_line(line.title, _DIGEST_TITLE_MAX) or "(untitled)"
    url = _safe_url(line.link or "")
    if url:
        doc.tag("a", title, href=url)
    else:
        doc.add(title)
    doc.add(" — " + (_one_line(line.source, _NAME_MAX) or "?"))
    if line.also:
        doc.add(f" ({ALSO_LABEL} ")
        for n, (source, link) in enumerate(line.also[:MAX_ALSO_SHOWN]):
            doc.add(", " if n else "")
            _source_link(doc, source, link)
        doc.add(")")
    doc.add("\n")


def _topic_heading(doc: _Doc, line: DigestLine, more: bool) -> None:
    doc.add("\n")
    doc.tag("b", _one_line(line.topic_name, _NAME_MAX) or _one_line(line.topic_id, _ID_MAX))
    doc.add(" " + hashtag(line.topic_id) + (" (continued)" if more else "") + "\n")


def _block(line: DigestLine, heading: bool, more: bool) -> _Doc:
    doc = _Doc()
    if heading:
        _topic_heading(doc, line, more)
    _digest_line(doc, line)
    return doc


def render_digest(lines: Sequence[DigestLine], *, when: datetime, tz: ZoneInfo) -> list[Message]:
    """A digest: items grouped by topic (in the order given), one line each, with links.

    Split into as many messages as Telegram's limit needs, only between lines; a topic that
    runs over into the next message repeats its heading there. Every part is numbered.
    """
    budget = MAX_MESSAGE_UNITS - _HEADER_RESERVE
    parts: list[_Doc] = []
    current, used, topic = _Doc(), 0, None
    for line in lines:
        block = _block(line, heading=line.topic_id != topic, more=False)
        size = utf16_len("".join(block.plain))
        if used and used + size > budget:
            parts.append(current)
            current, used = _Doc(), 0
            block = _block(line, heading=True, more=line.topic_id == topic)
            size = utf16_len("".join(block.plain))
        current.html += block.html
        current.plain += block.plain
        used += size
        topic = line.topic_id
    if used:
        parts.append(current)
    stamp = _published(when, tz) or ""
    messages = []
    for n, body in enumerate(parts, start=1):
        doc = _Doc()
        doc.raw("🗞 ", "🗞 ")
        doc.tag("b", "Digest")
        count = f" ({n}/{len(parts)})" if len(parts) > 1 else ""
        doc.add(f" · {stamp}{count}\n")
        doc.html += body.html
        doc.plain += body.plain
        message = doc.message(())
        messages.append(Message(message.text.rstrip("\n"), message.plain.rstrip("\n")))
    return messages


# --- shared with the spike alert (bot.telegram.render_spike) -----------------------------------

Doc = _Doc
one_line = _one_line
safe_url = _safe_url
hard_cut = _hard_cut
