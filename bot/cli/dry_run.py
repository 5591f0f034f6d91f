"""``mediabot match``: the rule author's dry run over any number and size of inputs.

Items stream through one at a time (``bot.feeds.inputs.iter_inputs``): each is matched,
printed or tallied, and dropped, so a JSON Lines archive of any size runs in bounded
memory. Three outputs:

- a table of every (item, topic) that fires, with its hits (the default);
- ``--format jsonl``: one line per (item, topic) that fires (DESIGN §5);
- ``--stats``: instead of items, a report per topic and per term (``bot.rules.report``).

``--explain`` adds the near-misses that would have made a topic fire
(``bot.rules.explain``); with ``--format jsonl`` they are lines of their own, with
``"fired": false``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TextIO

from bot.config.settings import Settings
from bot.feeds.inputs import InputFailure, iter_inputs
from bot.models import Hit, Item, ItemMatch, TopicMatch
from bot.rules.explain import NearMiss, near_misses
from bot.rules.load import load_rules
from bot.rules.match import Matcher, compile_matcher
from bot.rules.model import RuleSet
from bot.rules.report import MatchReport
from bot.service.parts import make_fetcher

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Run:
    """One dry run: the rules, the chosen output, and what it has seen so far."""

    def __init__(
        self,
        rules: RuleSet,
        topics: Sequence[str],
        fmt: str,
        out: TextIO,
        *,
        explain: bool,
        stats: bool,
    ) -> None:
        self.rules, self.fmt, self.out = rules, fmt, out
        self.explain, self.stats = explain, stats
        self.matcher: Matcher = compile_matcher(rules)
        self.wanted = set(topics) or None
        self.report = MatchReport(rules, self.wanted) if stats else None
        self.items = self.fired = self.misses = 0
        self.failures: list[InputFailure] = []

    def item(self, item: Item) -> None:
        self.items += 1
        feed = self.rules.feed(item.feed_id)
        tags = feed.tags if feed else ()
        prepared = self.matcher.prepare(item)
        result = self.matcher.match_prepared(
            prepared, item.feed_id, feed_tags=tags, topics=self.wanted
        )
        self.fired += len(result.topics)
        if self.report is not None:
            self.report.add(item, result)
        else:
            for tm in result.topics:
                self._print_match(item, tm)
        if self.explain:
            hits = self.matcher.hits(prepared)
            misses = near_misses(
                self.rules,
                result.plain,
                self.wanted,
                fired={tm.topic_id for tm in result.topics},
                would_fire=lambda topic, term, field: self.matcher.fires_with(
                    hits, topic, term, field
                ),
            )
            self.misses += len(misses)
            if misses:
                self._print_misses(item, result, misses)

    def failure(self, failure: InputFailure) -> None:
        self.failures.append(failure)
        print(f"mediabot match: {failure.source}: {failure.reason}", file=sys.stderr)

    def _print_match(self, item: Item, tm: TopicMatch) -> None:
        if self.fmt == "jsonl":
            print(json.dumps(jsonl_row(item, tm), ensure_ascii=False), file=self.out)
        else:
            print_table_row(item, tm, self.rules, self.out)

    def _print_misses(self, item: Item, result: ItemMatch, misses: list[NearMiss]) -> None:
        if self.fmt == "jsonl":
            for topic in dict.fromkeys(m.topic_id for m in misses):
                row = _item_fields(item) | {"topic": topic, "fired": False}
                row["near_misses"] = [_miss_dict(m) for m in misses if m.topic_id == topic]
                print(json.dumps(row, ensure_ascii=False), file=self.out)
            return
        print(f"  near-misses in {item.title[:60]!r} (topic did not fire):", file=self.out)
        for m in misses:
            entity = f" (@{m.entity})" if m.entity else ""
            print(
                f"    {m.topic_id}: {m.term}{entity} ~ «{m.matched}»  [{m.field}, {m.edits} "
                f"edit{'s' if m.edits != 1 else ''}, {m.allowed} allowed] would fire it",
                file=self.out,
            )
        print("", file=self.out)

    def finish(self) -> None:
        if self.report is not None:
            if self.fmt == "jsonl":
                for row in self.report.rows():
                    print(json.dumps(row, ensure_ascii=False), file=self.out)
            else:
                for line in self.report.lines():
                    print(line, file=self.out)
        if self.fmt == "table":
            if self.explain and not self.misses:
                print("no near-misses: no topic was one spelling away from firing", file=self.out)
            unreadable = f", {len(self.failures)} unreadable inputs" if self.failures else ""
            print(f"{self.items} items, {self.fired} matches{unreadable}", file=self.out)


async def match(
    settings: Settings,
    specs: Sequence[str],
    topics: Sequence[str],
    fmt: str,
    out: TextIO,
    *,
    explain: bool = False,
    stats: bool = False,
) -> int:
    rules = load_rules(settings.rules_dir).rules
    unknown = [t for t in topics if rules.topic(t) is None]
    if unknown:
        known = ", ".join(t.id for t in rules.topics)
        print(
            f"mediabot match: unknown topic id(s): {', '.join(unknown)} (topics: {known})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    run = _Run(rules, topics, fmt, out, explain=explain, stats=stats)
    # A URL that is a feed of the rules is read as that feed, so its topic scopes apply.
    feed_of_url = {f.url: f.id for f in rules.feeds}
    progress = _Progress(sys.stderr)
    async with make_fetcher(settings) as fetcher:
        for spec in specs:
            async for read in iter_inputs([spec], fetcher):
                if isinstance(read, InputFailure):
                    progress.clear()
                    run.failure(read)
                    continue
                if spec in feed_of_url:
                    read = replace(read, feed_id=feed_of_url[spec])
                run.item(read)
                progress.step()
    progress.clear()
    run.finish()
    return EXIT_OK if run.items or not run.failures else EXIT_FAIL


class _Progress:
    """``matched N items`` on one refreshed stderr line, on a terminal only."""

    EVERY = 500

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.count, self.shown = stream, 0, False
        self.on = stream.isatty()

    def step(self) -> None:
        self.count += 1
        if self.on and self.count % self.EVERY == 0:
            self.stream.write(f"\rmatched {self.count} items")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False


def _miss_dict(miss: NearMiss) -> dict[str, Any]:
    return {**_hit_dict(miss), "allowed": miss.allowed}


def display_id(item: Item) -> str | int:
    """The input's own ``id`` (JSON Lines), as given; else the link, else the key."""
    if item.source_id is not None:
        return item.source_id
    return item.link or item.key


def _hit_dict(hit: Hit | NearMiss) -> dict[str, Any]:
    """A hit, or a near miss, as a row of the JSON Lines report."""
    return {
        "term": hit.term,
        "entity": hit.entity,
        "matched": hit.matched,
        "field": hit.field,
        "edits": hit.edits,
    }


def distinct_hits(hits: Sequence[Hit]) -> list[Hit]:
    """One hit per (term, matched text, field, edits), strongest first: the matcher reports
    every occurrence (for bolding), a reader wants each reason once."""
    seen: set[tuple[str, str | None, str, str, int]] = set()
    out: list[Hit] = []
    for hit in hits:
        key = (hit.term, hit.entity, hit.matched, hit.field, hit.edits)
        if key not in seen:
            seen.add(key)
            out.append(hit)
    return out


def _item_fields(item: Item) -> dict[str, Any]:
    return {"id": display_id(item), "link": item.link, "title": item.title, "feed": item.feed_id}


def jsonl_row(item: Item, tm: TopicMatch) -> dict[str, Any]:
    row = _item_fields(item)
    row["topic"] = tm.topic_id
    row["hits"] = [_hit_dict(h) for h in distinct_hits(tm.hits)]
    return row


def print_table_row(item: Item, tm: TopicMatch, rules: RuleSet, out: TextIO) -> None:
    bold = out.isatty()
    topic = rules.topic(tm.topic_id)
    name = f"  {topic.name}" if topic is not None else ""
    print(f"▶ {tm.topic_id}{name}", file=out)
    print(f"  {item.title}", file=out)
    print(f"  {item.link or item.key}  [{item.feed_id}]", file=out)
    for hit in distinct_hits(tm.hits):
        shown = f"\033[1m{hit.matched}\033[0m" if bold else f"«{hit.matched}»"
        entity = f" (@{hit.entity})" if hit.entity else ""
        edits = f", {hit.edits} edit{'s' if hit.edits > 1 else ''}" if hit.edits else ""
        print(f"    {hit.term}{entity} → {shown}  [{hit.field}{edits}]", file=out)
    print("", file=out)
