"""Render a spike alert (DESIGN §4 "Spikes"): one function, from the surge's data.

Layout::

    📈 普京 · Vladimir Putin: 12 items in the last hour (usual 0.3)
    Surges in coverage · 10:00–11:00 UTC
    Top sources: VOA 中文 (4), BBC 中文 (3), RFI (2)
    • <title, linked> — <source>
    • …                                   (up to three, newest first)
    #surges

Values are cleaned and escaped as in ``bot.telegram.render``; every piece is capped, so
the message stays far below Telegram's 4,096 units (the hard cut there is the backstop).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.models import Button, Message
from bot.rules.model import Watched
from bot.spikes.detect import Story
from bot.spikes.windows import describe_rate, describe_window
from bot.telegram.protocol import topic_ref
from bot.telegram.render import (
    MAX_MESSAGE_UNITS,
    Doc,
    hard_cut,
    hashtag,
    one_line,
    safe_url,
    utf16_len,
)

MAX_TITLES = 3
MAX_SOURCES = 3
_TITLE_MAX = 200
_NAME_MAX = 120


def watched_label(watched: Watched) -> str:
    """``普京 · Vladimir Putin``: an entity's first alias and its name (once when they are
    alike); a keyword as written."""
    if watched.entity is None or not watched.terms:
        return watched.label
    alias = watched.terms[0].text
    if alias.casefold() in watched.label.casefold():
        return watched.label
    return f"{alias} · {watched.label}"


def headline(watched: Watched, window: float, count: int, mean: float) -> str:
    """``普京 · Vladimir Putin: 12 items in the last hour (usual 0.3)``: plain text, the
    alert's first line and a digest's line."""
    return f"{watched_label(watched)}: {_rate(window, count, mean)}"


def _rate(window: float, count: int, mean: float) -> str:
    items = "item" if count == 1 else "items"
    return f"{count} {items} in the last {describe_window(window)} (usual {describe_rate(mean)})"


def top_sources(stories: Sequence[Story], limit: int = MAX_SOURCES) -> list[tuple[str, int]]:
    """The sources with the most stories, most first (the earlier first among equals)."""
    counts = Counter(s.source for s in stories)
    order = {source: n for n, source in enumerate(dict.fromkeys(s.source for s in stories))}
    return sorted(counts.items(), key=lambda kv: (-kv[1], order[kv[0]]))[:limit]


def _span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M} {b.tzname() or ''}".rstrip()


def render_spike(
    *,
    spike_id: str,
    spike_name: str,
    watched: Watched,
    window: float,
    window_start: datetime,
    window_end: datetime,
    count: int,
    mean: float,
    stories: Sequence[Story],
    tz: ZoneInfo,
) -> Message:
    """The alert of one surge: count and usual rate, top sources, up to three linked titles,
    a mute button for the spike."""
    doc = Doc()
    doc.raw("📈 ", "📈 ")
    label = one_line(watched_label(watched), _NAME_MAX) or watched.key[:_NAME_MAX]
    doc.tag("b", label)
    doc.add(f": {_rate(window, count, mean)}\n")
    name = one_line(spike_name, _NAME_MAX) or spike_id[:64]
    doc.add(f"{name} · {_span(window_start, window_end, tz)}\n")
    sources = top_sources(stories)
    if sources:
        doc.tag("i", "Top sources:")
        shown = ", ".join(f"{one_line(s, _NAME_MAX) or '?'} ({n})" for s, n in sources)
        doc.add(f" {shown}\n")
    for story in list(reversed(stories))[:MAX_TITLES]:
        doc.add("• ")
        title = one_line(story.title, _TITLE_MAX) or "(untitled)"
        url = safe_url(story.link)
        if url:
            doc.tag("a", title, href=url)
        else:
            doc.add(title)
        doc.add(f" — {one_line(story.source, _NAME_MAX)}\n")
    doc.add(hashtag(spike_id))
    mute = Button(text="🔕 Mute", callback_data=f"mute:{topic_ref(spike_id)}")
    message = doc.message(((mute,),))
    if utf16_len(message.plain) > MAX_MESSAGE_UNITS:
        return hard_cut(message)
    return message
