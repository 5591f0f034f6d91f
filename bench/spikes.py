"""Benchmark: what counting for spikes adds to ingest, with 1,000 watched entities.

Ingest is ``Pipeline.ingest.run`` as a poll runs it after parsing: identity and dedupe
against the store, matching every new item against the topics, rendering alerts, and the
one write transaction (seen items, alerts, and with spikes the counts). Two rule sets, the
same items, the same script:

- baseline: the shipped topics and entities, plus 1,000 entities in all (the shipped
  ones, the countries of ``../shared/data/entities`` in English, Simplified and
  Traditional Chinese, and made-up names in Latin and Chinese script to fill up);
- spikes: the same, plus one spike watching every entity (``watch: ["@*"]``).

Items: the archive's 1,022 real items (``../shared/data/archive``), in archive order,
spread over the three days before the last poll as a live service sees them, and polled
as feeds of 20 new items each, each poll at the time of its newest item, every feed past
its first poll (so every item is matched, as in the running service). Each round ingests
them all into a fresh SQLite store, baseline and spikes alternating; the figures are
medians over the rounds (CPU time, the steadier on a shared machine, and wall time), and
the ratio of the medians is the cost of spikes (goal: at most 1.1x).

Usage: ``python bench/spikes.py [--rounds 7] [--entities 1000]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.feeds.identity import item_key  # after the path tweak
from bot.ingest.pipeline import AlertOptions, Pipeline
from bot.models import FeedState, FetchResult, Item, ParsedFeed
from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules
from bot.rules.model import FeedRule
from bot.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
ITEMS = DATA / "archive" / "items.jsonl"
COUNTRIES = DATA / "entities" / "countries_en_zhHans_zhHant.csv"
PER_FEED = 20
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=3)
_SYLLABLES = ["ka", "ro", "ven", "til", "mar", "sud", "lek", "on", "bra", "ist", "qua", "zel"]
_HAN = "峰岚琛璇翊瑾璟珩昊晟钰铠烨煜灏骁"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def entities_yaml(total: int, shipped: set[str]) -> str:
    """Extra entities up to ``total`` with the shipped ones: countries, then made-up names."""
    lines = ["entities:"]
    count = len(shipped)
    with COUNTRIES.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            ident = f"c-{row['iso2'].lower()}"
            if count >= total or not row["iso2"] or ident in shipped:
                continue
            names = {row["en_cldr"], row["zh_Hans_CN_cldr"], row["zh_Hant_TW_cldr"]}
            names |= {row["zh_Hant_HK_cldr"], row["en_official_mledoze"]}
            aliases = ", ".join(_quote(n) for n in sorted(n for n in names if n))
            lines += [f"  {ident}:", f"    name: {_quote(row['en_cldr'])}"]
            lines.append(f"    aliases: [{aliases}]")
            count += 1
    rng = random.Random(16)  # made-up names, not security
    n = 0
    while count < total:
        first = "".join(rng.choice(_SYLLABLES) for _ in range(2)).title()
        last = "".join(rng.choice(_SYLLABLES) for _ in range(3)).title()
        han = "".join(rng.choice(_HAN) for _ in range(3))
        lines += [f"  p-{n}:", f"    name: {first} {last}"]
        lines.append(f"    aliases: [{_quote(first + ' ' + last)}, {_quote(last)}, {han}]")
        n += 1
        count += 1
    return "\n".join(lines) + "\n"


def make_rules(root: Path, entities: int, spikes: bool) -> RuleBook:
    rules = root / ("spikes" if spikes else "baseline")
    rules.mkdir()
    for name in ("entities.yaml", "topics.yaml"):
        (rules / name).write_text((ROOT / "rules" / name).read_text("utf-8"), "utf-8")
    shipped = set(load_rules(rules).rules.entities)
    (rules / "more.yaml").write_text(entities_yaml(entities, shipped), "utf-8")
    if spikes:
        (rules / "spikes.yaml").write_text(
            "spikes:\n  - id: surges\n    watch: ['@*']\n    window: 1h\n    baseline: 7d\n"
            "    channels: [-1001]\n",
            "utf-8",
        )
    book = RuleBook.build(load_rules(rules))
    assert len(book.rules.entities) == entities, len(book.rules.entities)
    return book


def archive_feeds() -> list[tuple[FeedRule, list[Item]]]:
    rows = [json.loads(line) for line in ITEMS.open(encoding="utf-8")]
    step = SPAN / len(rows)
    items = []
    for n, row in enumerate(rows):
        published = NOW - SPAN + step * (n + 1)
        link = row.get("link") or f"https://archive.example/{n}"
        items.append((row.get("title") or "", link, row.get("html") or "", published))
    feeds = []
    for start in range(0, len(items), PER_FEED):
        feed = FeedRule(id=f"f{start // PER_FEED}", url=f"https://f{start}.example/rss")
        batch = [
            Item(
                feed.id,
                item_key(guid=None, link=link, title=title, published=published),
                title,
                link,
                html,
                published,
            )
            for title, link, html, published in items[start : start + PER_FEED]
        ]
        feeds.append((feed, batch))
    return feeds


class _NoFetch:
    """What the pipeline reads of a fetcher when it is built; ingest fetches nothing."""

    max_concurrency = per_host_concurrency = 1


def ingest_all(
    book: RuleBook, feeds: list[tuple[FeedRule, list[Item]]], db: Path
) -> tuple[float, float]:
    """Wall and CPU seconds to ingest every feed into a fresh store (past each feed's
    first poll). CPU time is the steadier figure on a shared machine."""
    with Store(f"sqlite:///{db}") as store:
        store.migrate()
        pipeline = Pipeline(
            store=store,
            fetcher=_NoFetch(),  # type: ignore[arg-type]  # ingest never fetches
            rules=Rules(book),
            options=AlertOptions(backfill=0),
            clock=lambda: NOW,
        )
        result = FetchResult(url="https://example/rss", status=200)
        started, cpu = time.perf_counter(), time.process_time()
        for feed, items in feeds:
            now = max(i.published or NOW for i in items)  # polled as its newest item came
            state = FeedState(feed_id=feed.id, url=feed.url, first_success=now - SPAN)
            parsed = ParsedFeed(title=feed.id, items=tuple(items))
            report = pipeline.ingest.run(feed, state, parsed, result, now)
            assert report.ok and report.new_items, report  # (an archive's repeats are one item)
        return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--entities", type=int, default=1000)
    args = parser.parse_args()
    if not ITEMS.is_file() or not COUNTRIES.is_file():
        raise SystemExit(f"needs the shared test data beside the checkout: {DATA}")
    logging.disable(logging.INFO)  # a log line per feed would be measured too
    feeds = archive_feeds()
    item_count = sum(len(items) for _, items in feeds)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = make_rules(root, args.entities, spikes=False)
        spiky = make_rules(root, args.entities, spikes=True)
        assert spiky.spikes is not None
        print(
            f"{item_count} items in {len(feeds)} feeds; {len(base.rules.topics)} topics; "
            f"{spiky.spikes.watched_count} watched entities; {args.rounds} rounds"
        )
        ingest_all(base, feeds, root / "warm-a.db")  # imports, caches, first compile paths
        ingest_all(spiky, feeds, root / "warm-b.db")
        times: dict[str, list[tuple[float, float]]] = {"baseline": [], "spikes": []}
        for rnd in range(args.rounds):
            times["baseline"].append(ingest_all(base, feeds, root / f"a{rnd}.db"))
            times["spikes"].append(ingest_all(spiky, feeds, root / f"b{rnd}.db"))
        with Store(f"sqlite:///{root / f'b{args.rounds - 1}.db'}") as store:
            counted = sum(
                t.baseline_total + t.window_count
                for t in store.spike_trends("surges", 3600.0, 7 * 86400.0, NOW)
            )
            alerts = len([e for e in store.due(NOW, 10_000) if e.alert.topic_id == "surges"])
    walls = {k: statistics.median(w for w, _ in v) for k, v in times.items()}
    cpus = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    for name in times:
        print(
            f"{name:9} median wall {walls[name] * 1000:8.1f} ms, CPU {cpus[name] * 1000:8.1f} ms"
            f"   ({cpus[name] / item_count * 1e6:6.0f} µs CPU/item)"
        )
    print(f"spikes run: {counted} counts of (item, entity), {alerts} spike alerts queued")
    wall_ratio = walls["spikes"] / walls["baseline"]
    cpu_ratio = cpus["spikes"] / cpus["baseline"]
    print(f"ratio spikes/baseline: CPU {cpu_ratio:.3f}x, wall {wall_ratio:.3f}x (goal <= 1.1x)")


if __name__ == "__main__":
    main()
