"""Benchmark: the delivery loop and alert rendering.

Prints, in one run:

- real run: 1,000 queued alerts over 10 channels, sent by the real sender from a SQLite
  outbox through ``TelegramSink`` over HTTP to the fake Bot API, which enforces the limits
  and answers 429 to any breach. Telegram's limits are scaled down ``SCALE`` times on both
  sides (per-chat interval 1 s and group window 60 s divided by it, the overall rate
  multiplied) so the run takes seconds; the drain time is printed next to the minimum the
  scaled limits allow (target: within 10 %), with the sender's CPU time per alert (the
  event-loop thread: sender, store and HTTP client; the fake server's threads excluded);

- schedule: the simulated time the sender needs for a burst (200 chats, 10,000 alerts: a
  few busy channels, many private chats) against the lower bound Telegram's limits allow
  (30/s overall, 1/s per chat, 20/min per group or channel). 1.00 is a perfect schedule;
- overhead: real CPU time per alert spent in the sender (limits, ordering, outbox calls),
  against a bare loop that hands every entry straight to the sink;
- render: summary + HTML rendering per alert over the real archive (if ../shared/data is
  there), against building the same message with a bare ``html.escape`` of the lead.

The sink and outbox are in-memory, and time is simulated, so the run takes seconds.
Usage: ``python bench/deliver.py``.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.delivery.kinds import ItemPart, TopicAlert
from bot.delivery.ratelimit import Limits, is_group
from bot.delivery.sender import Sender
from bot.models import Alert, Destination, Hit, Item, Message, TopicMatch
from bot.store import Store
from bot.telegram.render import render, render_alert
from bot.telegram.send import TelegramSink
from tests.fakes.outbox import START, FakeTime, MemoryOutbox
from tests.fakes.telegram import FakeTelegram, SendLimits

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ALERTS = 10_000
RENDER_ITEMS = 1_000
REAL_ALERTS = 1_000
REAL_CHANNELS = 10
SCALE = 20.0  # Telegram's limits divided (intervals, windows) or multiplied (rates) by this


class NullSink:
    def __init__(self) -> None:
        self.count = 0

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        self.count += 1
        return self.count

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        return None

    async def aclose(self) -> None:
        return None


def burst(rng: random.Random) -> MemoryOutbox:
    outbox = MemoryOutbox()
    groups: list[int | str] = [-1_001_000_000_000 - n for n in range(10)] + ["@news"]
    people: list[int | str] = list(range(1, 190))
    for n in range(ALERTS):
        chat = rng.choice(groups) if rng.random() < 0.05 else rng.choice(people)
        outbox.add(chat, f"alert {n}")
    return outbox


def lower_bound(outbox: MemoryOutbox, limits: Limits) -> float:
    per_chat = Counter(e.alert.destination.chat for e in outbox.entries.values())
    bounds = [(len(outbox.entries) - 1) / limits.overall_per_second]
    for chat, n in per_chat.items():
        bounds.append((n - 1) * limits.per_chat_interval)
        if is_group(chat):
            bounds.append(((n - 1) // limits.group_per_minute) * 60.0)
    return max(bounds)


async def schedule() -> tuple[float, float, float]:
    """(simulated seconds, lower bound, CPU seconds) for the sender on one burst."""
    outbox, clock, sink, limits = burst(random.Random(7)), FakeTime(), NullSink(), Limits()
    bound = lower_bound(outbox, limits)
    sender = Sender(outbox, sink, limits=limits, clock=clock.clock, sleep=clock.sleep)
    start, cpu = clock.now, time.process_time()
    while outbox.outbox_depth():
        await sender.drain()
        if outbox.outbox_depth():
            clock.advance(0.5)  # the run loop's wait for the next free chat
    assert sink.count == ALERTS
    return (clock.now - start).total_seconds(), bound, time.process_time() - cpu


async def bare_loop() -> float:
    outbox, sink = burst(random.Random(7)), NullSink()
    cpu = time.process_time()
    for entry in outbox.due(FakeTime().now, limit=ALERTS):
        await sink.send(entry.alert.destination, render(entry.alert))
        outbox.mark_sent(entry.id, 1, FakeTime().now)
    return time.process_time() - cpu


def scaled_limits() -> tuple[Limits, SendLimits]:
    sender = Limits(
        overall_per_second=int(30 * SCALE),
        per_chat_interval=1.0 / SCALE,
        group_window=60.0 / SCALE,
        horizon=60.0 / SCALE,
        idle=1.0,
        max_age=1e12,  # the alerts are dated 2024: not expired on a real clock
    )
    fake = SendLimits(
        overall_per_second=int(30 * SCALE),
        per_chat_interval=1.0 / SCALE,
        group_per_minute=20,
        window=60.0 / SCALE,
    )
    return sender, fake


def channel_alerts() -> list[Alert]:
    channels = [-1_002_000_000_000 - n for n in range(REAL_CHANNELS)]
    return [
        Alert(
            feed_id="bench",
            item_key=f"item-{n // REAL_CHANNELS}",
            topic_id="bench",
            destination=Destination(channels[n % REAL_CHANNELS]),
            # Rendered when sent, as every alert is: the sender's CPU includes it.
            body=TopicAlert(
                ItemPart(f"alert {n} R&D", f"https://bench.example/{n}", "Bench", START),
                "Bench",
                "Asia/Shanghai",
                hits=(Hit("R&D", None, "R&D", "title", 0, 0, 3),),
                summary=f"Lead sentence of alert {n}, with R&D in it.",
                bold=(
                    (
                        len(f"Lead sentence of alert {n}, with "),
                        len(f"Lead sentence of alert {n}, with R&D"),
                    ),
                ),
            ),
            first_seen=START,
        )
        for n in range(REAL_ALERTS)
    ]


def real_lower_bound(alerts: list[Alert], limits: Limits) -> float:
    """The earliest the last alert can go: each channel's k-th message no sooner than one
    interval after its (k-1)-th and one window after its (k-20)-th, and the overall rate."""
    per_chat = Counter(a.destination.chat for a in alerts)
    bounds = [(len(alerts) - 1) / limits.overall_per_second]
    for n in per_chat.values():
        times: list[float] = []
        for k in range(n):
            at = times[-1] + limits.per_chat_interval if times else 0.0
            if k >= limits.group_per_minute:
                at = max(at, times[k - limits.group_per_minute] + limits.group_window)
            times.append(at)
        bounds.append(times[-1])
    return max(bounds)


async def real_run() -> tuple[float, float, float, int]:
    """(drain seconds, lower bound, sender CPU seconds, 429s) against the fake over HTTP."""
    limits, fake_limits = scaled_limits()
    alerts = channel_alerts()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeTelegram(enforce_limits=True, limits=fake_limits) as tg,
    ):
        store = Store(f"sqlite:///{tmp}/bench.db")
        store.migrate()
        store.enqueue(alerts)
        sink = TelegramSink(tg.token, api_url=tg.url)
        sender, stop = Sender(store, sink, limits=limits), asyncio.Event()
        start, cpu = time.perf_counter(), time.thread_time()
        loop = asyncio.create_task(sender.run(stop))
        done = await asyncio.to_thread(tg.wait_for, REAL_ALERTS, None, 300)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
        stop.set()
        await loop
        await sink.aclose()
        store.close()
        assert done, "the fake did not receive every alert"
        return elapsed, real_lower_bound(alerts, limits), cpu, tg.limit_violations


def archive_items() -> list[tuple[Item, str]]:
    path = DATA / "archive" / "items.jsonl"
    if not path.exists():
        return []
    from bot.text.html import html_to_text

    items = []
    with path.open(encoding="utf-8") as lines:
        for n, line in enumerate(lines):
            record = json.loads(line)
            item = Item("bench", str(n), record["title"], record["link"], record["html"] or "")
            items.append((item, html_to_text(item.content)))
    return (items * (RENDER_ITEMS // max(1, len(items)) + 1))[:RENDER_ITEMS]


def render_all(items: list[tuple[Item, str]]) -> tuple[float, float]:
    tz = ZoneInfo("Asia/Shanghai")
    start = time.perf_counter()
    for item, content in items:
        word = re.search(r"[\u4e00-\u9fff]{2}|[A-Za-z]{4,}", content[len(content) // 2 :])
        hits: tuple[Hit, ...] = ()
        if word:
            at = len(content) // 2 + word.start()
            hits = (
                Hit(word.group(), None, word.group(), "content", 0, at, at + len(word.group())),
            )
        render_alert(
            item=item,
            topic_id="bench",
            topic_name="Bench",
            feed_name="Archive",
            match=TopicMatch("bench", hits),
            plain={"title": item.title, "content": content},
            tz=tz,
        )
    ours = (time.perf_counter() - start) / len(items)
    start = time.perf_counter()
    for item, content in items:
        lead = content.split("\n", 1)[0][:600]
        Message(text=f"<b>{html.escape(item.title)}</b>\n{html.escape(lead)}", plain=lead)
    bare = (time.perf_counter() - start) / len(items)
    return ours, bare


def main() -> None:
    real, real_bound, real_cpu, refused = asyncio.run(real_run())
    print(
        f"real run: {REAL_ALERTS:,} alerts to {REAL_CHANNELS} channels over HTTP to the fake "
        f"Bot API, limits scaled down {SCALE:g}x (1 msg/{1 / SCALE:g} s per chat, "
        f"20 per {60 / SCALE:g} s per channel)"
    )
    print(f"  drain {real:.2f} s; minimum the limits allow {real_bound:.2f} s")
    print(f"  ratio to the minimum: {real / real_bound:.3f} (target <= 1.10); 429s: {refused}")
    print(f"  sender CPU: {real_cpu / REAL_ALERTS * 1e3:.2f} ms per alert")
    simulated, bound, cpu = asyncio.run(schedule())
    bare = asyncio.run(bare_loop())
    print(
        f"schedule: {simulated:,.0f} s simulated for {ALERTS:,} alerts; lower bound {bound:,.0f} s"
    )
    print(f"  ratio to the bound: {simulated / bound:.2f}")
    print(
        f"overhead: {cpu / ALERTS * 1e6:,.1f} µs per alert; bare loop {bare / ALERTS * 1e6:,.1f} µs"
    )
    print(f"  ratio to the bare loop: {cpu / max(bare, 1e-9):.1f}")
    items = archive_items()
    if not items:
        print("render: skipped (needs ../shared/data)")
        return
    ours, bare_render = render_all(items)
    print(f"render: {ours * 1e3:.2f} ms per alert; bare escape {bare_render * 1e3:.3f} ms")
    print(f"  ratio to bare escape: {ours / bare_render:.0f}")


if __name__ == "__main__":
    main()
