"""The matcher: every topic of a rule set against one item (DESIGN §4).

``compile_matcher`` turns a ``RuleSet`` into a ``Matcher`` once per rules version. For
each item the matcher makes the plain text of each field (the title as is, the content
through ``html_to_text``) and normalizes each field once (``bot.rules.prepare``), finds
every term with two automaton passes per field (``bot.rules.scan``), one over the text for
terms that need no word boundary and one over its word shape for the others, fuzzy pieces
included (see ``bot.rules.index``), and then evaluates only the topics that one of the
terms found can make fire (``bot.rules.plan``), in rule-file order. Evaluation order is
documented in ``bot.rules.model``.

Feed scope: a topic with ``feeds`` only fires on items of those feeds or of feeds with
one of its ``#tags``. When the item's feed is not in the rule set and no ``feed_tags``
are given (items read from a file in a dry run), the scope is ignored: there is nothing
to decide it by.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Sequence

from bot.models import FIELDS, Field, Item, ItemMatch, TopicMatch
from bot.rules.evaluate import (
    PatternHits,
    RawHit,
    TermHit,
    TermRef,
    TopicPlan,
    fires,
    gather,
    to_hits,
)
from bot.rules.index import PatternIndex
from bot.rules.model import RuleSet, Term, Topic
from bot.rules.patterns import Pattern
from bot.rules.plan import plan_topic, trigger_map
from bot.rules.prepare import Prepared, prepare_item
from bot.rules.scan import scan_fields


def _in_scope(topic: Topic, feed_id: str, tags: frozenset[str]) -> bool:
    if not topic.feeds:
        return True
    return any(s == feed_id or (s.startswith("#") and s[1:] in tags) for s in topic.feeds)


class Matcher:
    """A compiled rule set, safe to share between threads; build anew on reload.

    Its rules never change once built; all it learns while matching is which words are
    near its one-word fuzzy terms (``bot.rules.words``), which only saves work."""

    def __init__(self, rules: RuleSet, watched: Sequence[Topic] = ()) -> None:
        self.rules = rules
        self._patterns: dict[Pattern, int] = {}
        self._plans = [self._plan(topic) for topic in rules.topics]
        # pattern id -> topics that a hit of it may make fire (any/all, not none)
        self._triggers = trigger_map(self._plans)
        # Topics matched on the same scan but never reported by ``match``: what the rules'
        # spikes watch (``bot.spikes.watch``), asked for by ``watched_fired``.
        self._watched_plans = [self._plan(topic) for topic in watched]
        self._watched_triggers = trigger_map(self._watched_plans)
        # Built at the first scan: with watch patterns, pollers scan one index of the
        # topics' and the watches' (``bot.rules.watchset``) and never need this one.
        self._index_built: PatternIndex | None = None
        self._index_lock = threading.Lock()
        self._feed_tags = {f.id: frozenset(f.tags) for f in rules.feeds}
        self._topic_index = {topic.id: i for i, topic in enumerate(rules.topics)}

    def pattern_id(self, pattern: Pattern) -> int | None:
        """The id of ``pattern`` if a topic has it: watches reuse topics' hits."""
        return self._patterns.get(pattern)

    def _plan(self, topic: Topic) -> TopicPlan:
        return plan_topic(topic, lambda key: self._patterns.setdefault(key, len(self._patterns)))

    @property
    def pattern_count(self) -> int:
        return len(self._patterns)

    @property
    def patterns(self) -> list[Pattern]:
        """Every pattern the topics (and the spikes' watched topics) have, in id order."""
        return list(self._patterns)

    @property
    def index(self) -> PatternIndex:
        """The automata that find the patterns, built at the first scan (or ``build``)."""
        index = self._index_built
        if index is None:
            with self._index_lock:
                if self._index_built is None:
                    self._index_built = PatternIndex(list(self._patterns))
                index = self._index_built
        return index

    def build(self) -> Matcher:
        """This matcher with its automata built now, not at the first scan."""
        _ = self.index
        return self

    def prepare(self, item: Item) -> Prepared:
        """The plain and normalized text of each field of ``item`` (``prepare_item``)."""
        return prepare_item(item)

    def match(
        self,
        item: Item,
        *,
        feed_tags: Iterable[str] = (),
        topics: Collection[str] | None = None,
    ) -> ItemMatch:
        """Which topics fire on ``item``, and why (see the module docstring)."""
        prepared = self.prepare(item)
        return self.match_prepared(prepared, item.feed_id, feed_tags=feed_tags, topics=topics)

    def match_prepared(
        self,
        prepared: Prepared,
        feed_id: str,
        *,
        feed_tags: Iterable[str] = (),
        topics: Collection[str] | None = None,
        hits: PatternHits | None = None,
    ) -> ItemMatch:
        """``match`` for an item already through ``prepare`` (and ``hits``, if given)."""
        if hits is None:
            hits = self._scan(prepared)
        plain = {name: prepared[name].plain for name in FIELDS}
        fired = [
            TopicMatch(self.rules.topics[i].id, to_hits(found, plain))
            for i, found in self._fired(hits, feed_id, frozenset(feed_tags), topics)
        ]
        return ItemMatch(plain=plain, topics=tuple(fired))

    def _fired(
        self,
        hits: PatternHits,
        feed_id: str,
        feed_tags: frozenset[str],
        wanted: Collection[str] | None,
    ) -> Iterator[tuple[int, list[TermHit]]]:
        candidates: set[int] = set()
        triggers = self._triggers
        for pid in hits:
            if pid in triggers:
                candidates |= triggers[pid]
        tags = feed_tags | self._feed_tags.get(feed_id, frozenset())
        scoped = feed_id in self._feed_tags or bool(feed_tags)
        for index in sorted(candidates):
            plan = self._plans[index]
            topic = plan.topic
            if wanted is not None and topic.id not in wanted:
                continue
            if scoped and not _in_scope(topic, feed_id, tags):
                continue
            if fires(plan, hits):
                yield index, gather(plan, hits)

    def watched_fired(self, hits: PatternHits) -> list[str]:
        """The ids of the watched topics that fire on an item with these ``hits``."""
        candidates: set[int] = set()
        triggers = self._watched_triggers
        for pid in hits:
            if pid in triggers:
                candidates |= triggers[pid]
        plans = self._watched_plans
        return [plans[i].topic.id for i in sorted(candidates) if fires(plans[i], hits)]

    def hits(self, prepared: Prepared) -> PatternHits:
        """Every pattern's hits in an item through ``prepare``: for ``fires_with``."""
        return self._scan(prepared)

    def fires_with(self, hits: PatternHits, topic_id: str, term: Term, field: Field) -> bool:
        """Whether the topic would fire on an item with these ``hits`` if ``term`` (one of
        its own terms, outside any ``near``) also hit in ``field``: what a near-miss changes."""
        index = self._topic_index.get(topic_id)
        if index is None:
            return False
        plan = self._plans[index]
        refs = [r for r in plan.triggers if isinstance(r, TermRef) and r.term == term]
        extra = dict(hits)
        changed = False
        for ref in refs:
            if field in ref.fields:
                extra[ref.pid] = {**extra.get(ref.pid, {}), field: [RawHit(field, 0, 0, 1, 0, 0)]}
                changed = True
        return changed and fires(plan, extra)

    def _scan(self, prepared: Prepared) -> PatternHits:
        """Every pattern's hits per field, with plain-text offsets."""
        return scan_fields(self.index, prepared)


def compile_matcher(rules: RuleSet, watched: Sequence[Topic] = ()) -> Matcher:
    """Compile ``rules`` for matching, and ``watched`` topics on the same scan."""
    return Matcher(rules, watched)
