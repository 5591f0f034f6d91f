"""Benchmark: personal watches beside 1,000 topics (the rules of ``bench/match.py``).

Builds ``bench/match.py``'s 1,000 topics from the real archive in ../shared/data, and
1,000 watches written as people write queries (one to three required parts, some with
``OR``, one in five with an exclusion, drawn from the same vocabulary), then prints:

- adding one watch at 1,000 topics + 1,000 watches (``WatchMatcher.added``: a tail
  rebuild, and now and then a rebuild of the watches alone), median, 90th percentile and
  worst over the next ``ADDS`` watches; against the baseline of compiling everything from
  scratch (topics and watches in one ``Matcher``), the cost the issue rules out;
- ``bench/match.py``'s core throughput (``match_prepared`` on normalized items) with no
  watches, and with the 1,000 watches matched on the same hits (the pipeline's path),
  interleaved per pass; medians and the ratio;
- a preview: one watch over the archive's items, as ``/watch`` runs it over the last week.

Usage: ``python bench/watches.py [ITEMS]`` (ITEMS defaults to 10,000, as bench/match.py).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from match import MIN_ITEMS, build_rules, load_items, throughput, vocabulary

from bot.rules.match import Prepared, compile_matcher
from bot.rules.model import RuleSet, Topic
from bot.rules.query import QueryError, compile_query, parse_query
from bot.rules.watchset import WatchMatcher
from bot.store import RecentItem
from bot.watches import preview, watch_key

WATCHES = 1_000
ADDS = 200


def queries(vocab: dict[str, list[str]], count: int, rng: random.Random) -> list[str]:
    def word() -> str:
        kind = rng.choice(("cjk", "cjk", "word", "name"))
        text = rng.choice(vocab[kind])
        return f'"{text}"' if " " in text else text

    out: list[str] = []
    while len(out) < count:
        parts = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            parts.append(f"{word()} OR {word()}" if rng.random() < 0.25 else word())
        if rng.random() < 0.2:
            parts.append("-" + rng.choice(vocab["cjk"]))
        query = " ".join(parts)
        try:
            parse_query(query)
        except QueryError:
            continue
        out.append(query)
    return out


def main() -> None:
    items = load_items()
    wanted = int(sys.argv[1]) if len(sys.argv) > 1 else MIN_ITEMS
    passes = -(-wanted // len(items))
    rules = build_rules(items)
    vocab = vocabulary(items, random.Random(7))
    rng = random.Random(20261205)
    texts = queries(vocab, WATCHES + ADDS, rng)
    topics = {
        i: compile_query(parse_query(q), rules.entities, key=watch_key(i))
        for i, q in enumerate(texts)
    }

    matcher = compile_matcher(rules)
    start = time.perf_counter()
    watches = WatchMatcher(matcher, {i: topics[i] for i in range(WATCHES)})
    build_watches = time.perf_counter() - start

    adds = []
    grown = watches
    for i in range(WATCHES, WATCHES + ADDS):
        start = time.perf_counter()
        grown = grown.added(i, topics[i])
        adds.append(time.perf_counter() - start)
    adds.sort()

    def from_scratch() -> float:
        every: tuple[Topic, ...] = rules.topics + tuple(topics[i] for i in range(WATCHES + 1))
        start = time.perf_counter()
        compile_matcher(RuleSet(feeds=rules.feeds, entities=rules.entities, topics=every))
        return time.perf_counter() - start

    scratch = statistics.median(from_scratch() for _ in range(3))

    prepared: list[Prepared] = [matcher.prepare(item) for item in items]

    def topics_only(p: object) -> None:
        assert isinstance(p, dict)
        matcher.match_prepared(p, "bench")

    def with_watches(p: object) -> None:
        assert isinstance(p, dict)
        hits = matcher.hits(p)
        matcher.match_prepared(p, "bench", hits=hits)
        watches.match(p, hits)

    for p in prepared:  # a first pass each, so both meet the archive's words warm
        topics_only(p)
        with_watches(p)
    fired = sum(len(watches.match(p, matcher.hits(p))) for p in prepared)
    bases, withs = [], []
    for _ in range(passes):
        bases.append(throughput(prepared, topics_only))
        withs.append(throughput(prepared, with_watches))
    base, both = statistics.median(bases), statistics.median(withs)
    ratio = statistics.median(b / w for b, w in zip(bases, withs, strict=True))

    now = datetime.now(UTC)
    recent = [
        RecentItem(i.feed_id, i.key, i.title, i.link, p["content"].cased[0][:2000], now)
        for i, p in zip(items, prepared, strict=True)
    ]
    times = []
    for i in range(5):
        start = time.perf_counter()
        preview(topics[i], rules, recent)
        times.append(time.perf_counter() - start)

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:9.2f} ms"

    median_add = statistics.median(adds)
    print(
        f"topics {len(rules.topics)} (patterns {matcher.pattern_count})  watches {WATCHES} "
        f"(own patterns {watches.pattern_count}; compiled in {build_watches:.2f} s)"
    )
    print(f"adding one watch at {len(rules.topics)} topics + {WATCHES}+ watches, {ADDS} adds:")
    print(f"  median {ms(median_add)}   p90 {ms(adds[int(len(adds) * 0.9)])}   max {ms(adds[-1])}")
    print(f"  baseline, everything compiled from scratch: {ms(scratch)} (median of 3)")
    print(f"  from scratch / one add (medians): {scratch / median_add:,.0f}x")
    print(f"matching, {len(items) * passes} items ({passes} passes), watch alerts/pass {fired}:")
    print(f"  topics only               {base:10,.1f} items/s")
    print(f"  topics + {WATCHES} watches     {both:10,.1f} items/s")
    print(f"  slowdown: {ratio:.2f}x (median of per-pass ratios)")
    took = ms(statistics.median(times))
    print(f"preview of one watch over {len(recent)} items: {took} (median of 5)")


if __name__ == "__main__":
    main()
