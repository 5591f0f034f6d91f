"""Benchmark: personal watches beside 1,000 topics (the rules of ``bench/match.py``).

Builds ``bench/match.py``'s 1,000 topics from the real archive in ../shared/data, and
1,000 watches written as people write queries (one to three required parts, some with
``OR``, one in five with an exclusion, drawn from the same vocabulary), then prints:

- adding one watch at 1,000 topics + 1,000 watches (``WatchMatcher.added``: a rebuild of
  the small index of watches added since the last fold), median, 90th percentile and
  worst over the next ``ADDS`` watches; against the baseline of compiling everything from
  scratch (topics and watches in one ``Matcher``), the cost the issue rules out;
- a fold (``WatchMatcher.folded``: every watch's patterns into one index with the
  topics', what the ``watches-fold`` job does off the pollers' path), median of 3;
- ``bench/match.py``'s core throughput (``match_prepared`` on normalized items) with no
  watches, and with the 1,000 watches matched on the same scan (the pipeline's path):
  folded (nothing beside the combined index), right after adding 1 and 50 watches (their
  own index beside it), and the two scans of matching the watches apart (``match``, the
  path before folding existed); "the scan alone" is the folded one scan with the topics
  evaluated and the watches not, to tell the scan's cost from the watches' evaluation;
  interleaved per pass, medians and ratios to topics alone;
- a preview: one watch over the archive's items, as ``/watch`` runs it over the last week.

Usage: ``python bench/watches.py [ITEMS]`` (ITEMS defaults to 10,000, as bench/match.py).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from match import MIN_ITEMS, build_rules, load_items, throughput, vocabulary

from bot.rules.match import compile_matcher
from bot.rules.model import RuleSet, Topic
from bot.rules.prepare import Prepared
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

    def timed_fold() -> float:
        start = time.perf_counter()
        grown.folded()
        return time.perf_counter() - start

    folds = statistics.median(timed_fold() for _ in range(3))

    def from_scratch() -> float:
        every: tuple[Topic, ...] = rules.topics + tuple(topics[i] for i in range(WATCHES + 1))
        start = time.perf_counter()
        compile_matcher(RuleSet(feeds=rules.feeds, entities=rules.entities, topics=every)).build()
        return time.perf_counter() - start

    scratch = statistics.median(from_scratch() for _ in range(3))

    prepared: list[Prepared] = [matcher.prepare(item) for item in items]
    after_one = watches.added(WATCHES, topics[WATCHES])
    after_fifty = watches
    for i in range(WATCHES, WATCHES + 50):
        after_fifty = after_fifty.added(i, topics[i])

    def topics_only(p: object) -> None:
        assert isinstance(p, dict)
        matcher.match_prepared(p, "bench")

    def one_scan(compiled: WatchMatcher) -> Callable[[object], None]:
        def run(p: object) -> None:
            assert isinstance(p, dict)
            hits = compiled.hits(p)
            matcher.match_prepared(p, "bench", hits=hits)
            compiled.fired(p, hits)

        return run

    def scan_only(p: object) -> None:
        assert isinstance(p, dict)
        matcher.match_prepared(p, "bench", hits=watches.hits(p))

    # The same queries written as topics of the rule files: what watches cost beyond that.
    as_topics = rules.topics + tuple(topics[i] for i in range(WATCHES))
    together = compile_matcher(
        RuleSet(feeds=rules.feeds, entities=rules.entities, topics=as_topics)
    )

    def written_as_topics(p: object) -> None:
        assert isinstance(p, dict)
        together.match_prepared(p, "bench")

    def two_scans(p: object) -> None:
        assert isinstance(p, dict)
        hits = matcher.hits(p)
        matcher.match_prepared(p, "bench", hits=hits)
        watches.match(p, hits)

    runs: dict[str, Callable[[object], None]] = {
        "topics only": topics_only,
        f"+ {WATCHES} watches, folded": one_scan(watches),
        "  (the scan alone)": scan_only,
        "  just after adding 1": one_scan(after_one),
        "  just after adding 50": one_scan(after_fifty),
        f"+ {WATCHES} watches, two scans": two_scans,
        f"the {WATCHES} queries as topics": written_as_topics,
    }
    for p in prepared:  # a first pass each, so all meet the archive's words warm
        for run in runs.values():
            run(p)
    fired = sum(len(watches.fired(p, watches.hits(p))) for p in prepared)
    assert fired == sum(len(watches.match(p, matcher.hits(p))) for p in prepared)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(passes):
        for name, run in runs.items():
            rates[name].append(throughput(prepared, run))
    bases = rates["topics only"]

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
        f"(own patterns {watches.pattern_count}; compiled with the topics' in "
        f"{build_watches:.2f} s)"
    )
    print(f"adding one watch at {len(rules.topics)} topics + {WATCHES}+ watches, {ADDS} adds:")
    print(f"  median {ms(median_add)}   p90 {ms(adds[int(len(adds) * 0.9)])}   max {ms(adds[-1])}")
    print(f"  baseline, everything compiled from scratch: {ms(scratch)} (median of 3)")
    print(f"  from scratch / one add (medians): {scratch / median_add:,.0f}x")
    print(f"fold of {len(grown)} watches into the topics' index: {ms(folds)} (median of 3)")
    print(f"matching, {len(items) * passes} items ({passes} passes), watch alerts/pass {fired}:")
    for name, values in rates.items():
        ratio = statistics.median(b / v for b, v in zip(bases, values, strict=True))
        tail = "" if values is bases else f"   slowdown {ratio:.2f}x"
        print(f"  {name:<28} {statistics.median(values):10,.1f} items/s{tail}")
    print("  (medians over the passes; slowdown: median of per-pass ratios to topics only)")
    took = ms(statistics.median(times))
    print(f"preview of one watch over {len(recent)} items: {took} (median of 5)")


if __name__ == "__main__":
    main()
