"""/test (a dry run of the matcher) and /stats (a chart of the last days)."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import date, datetime, time, timedelta

from bot.control.args import feed_url
from bot.control.context import Call
from bot.errors import FeedError
from bot.feeds.read import Page, read_url
from bot.models import Item
from bot.telegram.chart import StatsData, draw_stats
from bot.telegram.protocol import Photo, Reply
from bot.telegram.replies import Doc, TestHit, plain, test_result
from bot.watches import watch_id_of

TEST_USAGE = "Usage: /test TEXT, or /test URL (an article or a feed)"
MAX_ITEMS = 200

# --- /test -----------------------------------------------------------------------------------


def _text_item(text: str) -> Item:
    # The first line reads as a title, the whole text as the body, as in a news item.
    first = text.strip().splitlines()[0][:300]
    return Item(feed_id="test", key="test", title=first, link="", content=text)


async def _url_items(call: Call, url: str) -> tuple[str, list[Item]]:
    """The feed's items, or the page as one article; raises ``FeedError``."""
    known = next((f for f in call.deps.rules.current().rules.feeds if f.url == url), None)
    feed_id = known.id if known else "test"
    read = await read_url(call.deps.fetcher, url, feed_id=feed_id)
    if isinstance(read, Page):
        return "article", [Item(feed_id, url, read.title or url, url, read.html)]
    return f"feed {read.title or url}", list(read.items[:MAX_ITEMS])


async def test(call: Call, args: str) -> Reply:
    if not args:
        return Reply(message=plain(TEST_USAGE))
    book = call.deps.rules.current()
    url = feed_url(args) if " " not in args else None
    if url is not None:
        try:
            title, items = await _url_items(call, url)
        except FeedError as exc:
            return Reply(message=plain(f"Cannot read {url}: {exc}"))
    else:
        title, items = "text", [_text_item(args)]
    fired: list[TestHit] = []
    for item in items:
        feed = book.rules.feed(item.feed_id)
        match = book.matcher.match(item, feed_tags=feed.tags if feed else ())
        for tm in match.topics:
            topic = book.rules.topic(tm.topic_id)
            name = topic.name if topic and topic.name else tm.topic_id
            fired.append(TestHit(tm.topic_id, name, tm.hits, dict(match.plain)))
    return Reply(message=test_result(title, fired, len(items)))


# --- /stats ----------------------------------------------------------------------------------

DEFAULT_DAYS, MAX_DAYS = 7, 90
STATS_USAGE = "Usage: /stats [days], e.g. /stats 7d or /stats 30 (1..90)"


def _days(args: str) -> int | None:
    if not args:
        return DEFAULT_DAYS
    m = re.fullmatch(r"(\d{1,3})\s*d?", args.strip().lower())
    if not m or not 1 <= int(m.group(1)) <= MAX_DAYS:
        return None
    return int(m.group(1))


def _bucket(
    rows: list[tuple[str, datetime]], call: Call, first: date, days: int
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for key, when in rows:
        index = (when.astimezone(call.deps.tz).date() - first).days
        if 0 <= index < days:
            out.setdefault(key, [0] * days)[index] += 1
    return out


async def stats(call: Call, args: str) -> Reply:
    days = _days(args)
    if days is None:
        return Reply(message=plain(STATS_USAGE))
    tz = call.deps.tz
    today = call.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), tzinfo=tz)
    store = call.deps.db
    # Personal watches are many and each small: one series for all of them.
    times = [
        ("watches" if watch_id_of(key) is not None else key, when)
        for key, when in await store.alert_times(since)
    ]
    alerts = _bucket(times, call, first, days)
    items = Counter(feed for feed, _ in await store.item_times(since))
    labels = tuple(f"{first + timedelta(days=d):%m-%d}" for d in range(days))
    title = f"mediabot · last {days} days ({first:%Y-%m-%d} .. {today:%Y-%m-%d}, {tz.key})"
    data = StatsData(title, labels, alerts, sorted(items.items(), key=lambda kv: (-kv[1], kv[0])))
    png = await asyncio.to_thread(draw_stats, data)
    total_alerts = sum(sum(v) for v in alerts.values())
    caption = (
        Doc()
        .bold(f"Last {days} days")
        .add(
            f": {total_alerts} alerts in {len(alerts)} topics, {sum(items.values())} items "
            f"from {len(items)} feeds"
        )
    )
    return Reply(photo=Photo(png, caption.message()))
