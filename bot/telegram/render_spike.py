"""Render a spike alert (DESIGN §4 "Spikes"): one function, from the surge's data.

Layout::

    📈 普京 · Vladimir Putin: 12 items in the last hour (usual 0.3)
    Surges in coverage · 10:00–11:00 UTC
    Top sources: VOA 中文 (4), BBC 中文 (3), RFI (2)
    • <title, linked> — <source>
    • …                                   (up to three, newest first)
    #surges

Values are cleaned and escaped by ``bot.telegram.doc``; every piece is capped, so the
message stays far below Telegram's 4,096 units (the hard cut is the backstop). The outbox
holds the surge's parts (``bot.delivery.kinds.SpikeAlert``); ``spike_alert`` makes them and
``render_spike`` renders them when they are sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery.kinds import SpikeAlert, SpikeStory
from bot.models import Button, Message
from bot.rules.model import Watched
from bot.spikes.model import Story
from bot.spikes.windows import describe_rate, describe_window
from bot.telegram.doc import MAX_MESSAGE_UNITS, Doc, one_line, safe_url, utf16_len
from bot.telegram.protocol import topic_ref
from bot.telegram.render_parts import hashtag, zone
from bot.telegram.render_topic import hard_cut

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


def top_sources(
    stories: Sequence[Story | SpikeStory], limit: int = MAX_SOURCES
) -> list[tuple[str, int]]:
    """The sources with the most stories, most first (the earlier first among equals)."""
    counts = Counter(s.source for s in stories)
    order = {source: n for n, source in enumerate(dict.fromkeys(s.source for s in stories))}
    return sorted(counts.items(), key=lambda kv: (-kv[1], order[kv[0]]))[:limit]


def _span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M} {b.tzname() or ''}".rstrip()


def spike_alert(
    *,
    spike_name: str,
    watched: Watched,
    window: float,
    window_start: datetime,
    window_end: datetime,
    count: int,
    mean: float,
    stories: Sequence[Story],
    tz: ZoneInfo,
) -> SpikeAlert:
    """The parts of one surge's alert."""
    return SpikeAlert(
        spike_name=spike_name,
        label=watched_label(watched),
        key=watched.key,
        window=window,
        window_start=window_start,
        window_end=window_end,
        count=count,
        mean=mean,
        stories=tuple(SpikeStory(s.title, s.link, s.source) for s in stories),
        tz=tz.key,
    )


def spike_headline(body: SpikeAlert) -> str:
    """The alert's first line as plain text (a digest's line)."""
    return f"{body.label}: {_rate(body.window, body.count, body.mean)}"


def render_spike(body: SpikeAlert, spike_id: str) -> Message:
    """The alert of one surge: count and usual rate, top sources, up to three linked titles,
    a mute button for the spike."""
    doc = Doc().raw("📈 ", "📈 ")
    label = one_line(body.label, _NAME_MAX) or body.key[:_NAME_MAX]
    doc.bold(label).add(f": {_rate(body.window, body.count, body.mean)}\n")
    name = one_line(body.spike_name, _NAME_MAX) or spike_id[:64]
    doc.add(f"{name} · {_span(body.window_start, body.window_end, zone(body.tz))}\n")
    sources = top_sources(body.stories)
    if sources:
        doc.italic("Top sources:")
        shown = ", ".join(f"{one_line(s, _NAME_MAX) or '?'} ({n})" for s, n in sources)
        doc.add(f" {shown}\n")
    for story in list(reversed(body.stories))[:MAX_TITLES]:
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
    message = doc.whole(((mute,),))
    if utf16_len(message.plain) > MAX_MESSAGE_UNITS:
        return hard_cut(message)
    return message
