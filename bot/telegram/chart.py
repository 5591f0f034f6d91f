"""The ``/stats`` chart as PNG bytes: alerts per topic per day, and items per feed.

Drawn with Pillow, no I/O: counts in, bytes out. The top panel stacks each day's alerts
by topic (the busiest topics get a colour each, the rest are "other"); the bottom panel
shows how many items each feed brought over the period. Labels are topic and feed ids,
which are ASCII, so the bundled font draws them on any machine.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

__all__ = ["StatsData", "draw_stats"]

WIDTH = 960
TOP_HEIGHT = 380
BAR_ROW = 26
MAX_TOPICS = 8
MAX_FEEDS = 15
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
)
OTHER = "other"
_INK, _GRID, _BG = "#222222", "#dddddd", "#ffffff"


@dataclass(frozen=True, slots=True)
class StatsData:
    title: str
    days: tuple[str, ...]  # labels, oldest first
    alerts: Mapping[str, Sequence[int]]  # topic id -> count per day
    items: Sequence[tuple[str, int]]  # (feed id, items), busiest first


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _top_topics(alerts: Mapping[str, Sequence[int]], days: int) -> dict[str, list[int]]:
    ranked = sorted(alerts.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    series = {topic: list(counts) for topic, counts in ranked[:MAX_TOPICS]}
    rest = ranked[MAX_TOPICS:]
    if rest:
        series[OTHER] = [sum(counts[d] for _, counts in rest) for d in range(days)]
    return series


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def _draw_alerts(draw: ImageDraw.ImageDraw, data: StatsData, top: int) -> None:
    left, right, bottom = 60, WIDTH - 220, top + TOP_HEIGHT - 40
    small = _font(12)
    draw.text((left, top), "Alerts per topic per day", fill=_INK, font=_font(16))
    series = _top_topics(data.alerts, len(data.days))
    totals = [sum(s[d] for s in series.values()) for d in range(len(data.days))]
    ceiling = _nice_max(max(totals, default=0) or 1)
    plot_top = top + 30
    for i in range(5):
        y = bottom - (bottom - plot_top) * i / 4
        draw.line((left, y, right, y), fill=_GRID)
        draw.text((left - 8, y), str(ceiling * i // 4), fill=_INK, font=small, anchor="rm")
    slot = (right - left) / max(1, len(data.days))
    every = max(1, -(-len(data.days) // 10))  # at most about ten day labels
    for d, label in enumerate(data.days):
        x0 = left + d * slot + slot * 0.15
        x1 = left + (d + 1) * slot - slot * 0.15
        y = float(bottom)
        for index, counts in enumerate(series.values()):
            height = (bottom - plot_top) * counts[d] / ceiling
            if height > 0:
                colour = PALETTE[index % len(PALETTE)]
                draw.rectangle((x0, y - height, x1, y), fill=colour)
                y -= height
        if d % every == 0:
            draw.text(((x0 + x1) / 2, bottom + 6), label, fill=_INK, font=small, anchor="mt")
    for index, (topic, counts) in enumerate(series.items()):
        y = plot_top + index * 22
        draw.rectangle((right + 20, y, right + 34, y + 14), fill=PALETTE[index % len(PALETTE)])
        name = topic if len(topic) <= 22 else topic[:21] + "…"
        draw.text(
            (right + 42, y + 7), f"{name} ({sum(counts)})", fill=_INK, font=small, anchor="lm"
        )
    if not series:
        draw.text(
            ((left + right) / 2, (plot_top + bottom) / 2), "no alerts", fill=_INK, anchor="mm"
        )


def _draw_items(draw: ImageDraw.ImageDraw, data: StatsData, top: int) -> None:
    small = _font(12)
    draw.text((60, top), "Items per feed", fill=_INK, font=_font(16))
    rows = list(data.items[:MAX_FEEDS])
    biggest = max((count for _, count in rows), default=0) or 1
    left, right = 220, WIDTH - 80
    for index, (feed, count) in enumerate(rows):
        y = top + 30 + index * BAR_ROW
        name = feed if len(feed) <= 28 else feed[:27] + "…"
        draw.text((left - 10, y + 9), name, fill=_INK, font=small, anchor="rm")
        width = (right - left) * count / biggest
        draw.rectangle((left, y + 2, left + max(1.0, width), y + 18), fill=PALETTE[0])
        draw.text((left + width + 6, y + 9), str(count), fill=_INK, font=small, anchor="lm")
    if not rows:
        draw.text((left, top + 40), "no items", fill=_INK, font=small)


def draw_stats(data: StatsData) -> bytes:
    """The chart as PNG bytes."""
    feed_rows = max(1, min(len(data.items), MAX_FEEDS))
    height = 40 + TOP_HEIGHT + 40 + feed_rows * BAR_ROW + 30
    image = Image.new("RGB", (WIDTH, height), _BG)
    draw = ImageDraw.Draw(image)
    draw.text((WIDTH / 2, 12), data.title, fill=_INK, font=_font(18), anchor="mt")
    _draw_alerts(draw, data, 40)
    _draw_items(draw, data, 40 + TOP_HEIGHT + 10)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
