"""The matcher: every topic of a rule set against one item (DESIGN §4).

``compile_matcher`` turns a ``RuleSet`` into a ``Matcher`` once per rules version. For
each item the matcher makes the plain text of each field (the title as is, the content
through ``html_to_text``), normalizes each field once, finds every term with two automaton
passes per field, one over the text for terms that need no word boundary and one over its
word shape for the others, fuzzy pieces included (see ``bot.rules.patterns``), and then
evaluates only the topics that one of the terms found can make fire, in rule-file order.
Evaluation order is documented in ``bot.rules.model``.

Feed scope: a topic with ``feeds`` only fires on items of those feeds or of feeds with
one of its ``#tags``. When the item's feed is not in the rule set and no ``feed_tags``
are given (items read from a file in a dry run), the scope is ignored: there is nothing
to decide it by.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from unicodedata import combining

from bot.models import FIELDS, Field, Item, ItemMatch, TopicMatch
from bot.rules.evaluate import (
    ClauseRef,
    NearRef,
    PatternHits,
    RawHit,
    TermHit,
    TermRef,
    TopicPlan,
    fires,
    gather,
    narrow,
    new_tuple,
    to_hits,
)
from bot.rules.model import Near, RuleSet, Term, Topic, allowed_edits
from bot.rules.patterns import Pattern, PatternIndex, word_shape
from bot.rules.words import Span
from bot.text.html import html_to_text, tidy_line
from bot.text.normalize import normalize, normalize_both, source_span

MAX_FIELD_CHARS = 200_000


class PreparedField:
    """One field of an item: its plain text and normalized forms with their source maps."""

    __slots__ = ("_shape", "cased", "folded", "folded_map", "plain")

    def __init__(self, plain: str) -> None:
        self.plain = plain
        self.cased, (self.folded, self.folded_map) = normalize_both(plain)
        self._shape: str | None = None

    @classmethod
    def from_normalized(cls, text: str) -> PreparedField:
        """A field from text normalized already with its case kept (a ``cased`` text):
        what matching needs without normalizing again. Spans then index ``text`` itself;
        casefolding that is normalizing, but for a rare letter whose folded form NFKC
        would change again."""
        field = cls.__new__(cls)
        field.plain = text
        field.cased = (text, list(range(len(text))))
        field.folded = text.casefold()
        field.folded_map = list(range(len(field.folded)))
        field._shape = None
        return field

    @property
    def shape(self) -> str:
        """The casefolded text's word shape, made once for every index that scans it
        (the topics' and the watches')."""
        if self._shape is None:
            self._shape = word_shape(self.folded)
        return self._shape


Prepared = dict[Field, PreparedField]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(text: str) -> str:
    """``text`` with any lone surrogate (a JSON feed's ``"\\ud800"``) made U+FFFD: they
    cannot be encoded, and the automata walk the text's UTF-8."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


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
        self._triggers = _trigger_map(self._plans)
        # Topics matched on the same scan but never reported by ``match``: what the rules'
        # spikes watch (``bot.spikes.watch``), asked for by ``watched_fired``.
        self._watched_plans = [self._plan(topic) for topic in watched]
        self._watched_triggers = _trigger_map(self._watched_plans)
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
        """The plain and normalized text of each field of ``item``.

        Fields are matched up to ``MAX_FIELD_CHARS`` characters of plain text: far beyond
        any real article, and a bound on the work a hostile feed can ask for.
        """
        texts: dict[Field, str] = {
            "title": _scrub(tidy_line(item.title)[:MAX_FIELD_CHARS]),
            "content": _scrub(html_to_text(item.content)[:MAX_FIELD_CHARS]),
        }
        return {name: PreparedField(texts[name]) for name in FIELDS}

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


def term_pattern(topic: Topic, term: Term) -> Pattern:
    """What the matcher looks for when ``term`` of ``topic`` is to be found."""
    return Pattern(
        text=normalize(term.stem, casefold=not term.case),
        case=term.case,
        wildcard=term.wildcard,
        edits=allowed_edits(term, topic.fuzzy),
    )


def plan_topic(topic: Topic, pattern_id: Callable[[Pattern], int]) -> TopicPlan:
    """``topic`` with each term pointing at its pattern's id (``pattern_id`` assigns them)."""

    def term_ref(term: Term) -> TermRef:
        return TermRef(term, pattern_id(term_pattern(topic, term)), narrow(topic, term.field))

    def ref(clause: Term | Near) -> ClauseRef:
        if isinstance(clause, Near):
            left = tuple(map(term_ref, clause.left))
            right = tuple(map(term_ref, clause.right))
            return NearRef(left, right, clause.within, narrow(topic, clause.field))
        return term_ref(clause)

    return TopicPlan(
        topic,
        tuple(map(ref, topic.any)),
        tuple(tuple(map(ref, group)) for group in topic.all),
        tuple(map(ref, topic.none)),
    )


def scan_fields(index: PatternIndex, prepared: Prepared, offset: int = 0) -> PatternHits:
    """Every pattern of ``index`` found in each field, keyed by its id plus ``offset``
    (so several indexes can share one id space), with plain-text offsets."""
    out: PatternHits = {}
    for name in FIELDS:
        pf = prepared[name]
        found, probed = index.scan(pf.folded, case=False, shape=pf.shape)
        _collect(out, name, pf, found, pf.folded_map, offset)
        if probed:
            text, cased_map = pf.cased
            _collect(out, name, pf, index.scan(text, case=True)[0], cased_map, offset)
    return out


def _collect(
    out: PatternHits,
    name: Field,
    pf: PreparedField,
    found: dict[int, list[Span]],
    index: list[int],
    offset: int,
) -> None:
    plain, folded = pf.plain, index is pf.folded_map
    size = len(plain)
    for pid, spans in found.items():
        raw = []
        for ns, ne, edits in spans:
            start, end = index[ns], index[ne - 1] + 1
            if end < size and combining(plain[end]):
                start, end = source_span(plain, index, ns, ne)
            if not folded:  # ``within`` is counted in the casefolded text
                ns = bisect_left(pf.folded_map, start)
                ne = bisect_left(pf.folded_map, end)
            raw.append(new_tuple(RawHit, (name, start, end, edits, ns, ne)))
        key = pid + offset
        if key in out:
            out[key][name] = raw
        else:
            out[key] = {name: raw}


def _trigger_map(plans: Sequence[TopicPlan]) -> dict[int, set[int]]:
    """Pattern id -> the plans a hit of it may make fire (any/all, not none)."""
    triggers: dict[int, set[int]] = {}
    for index, plan in enumerate(plans):
        for ref in plan.triggers:
            for term_ref in (ref,) if isinstance(ref, TermRef) else ref.left + ref.right:
                triggers.setdefault(term_ref.pid, set()).add(index)
    return triggers


def compile_matcher(rules: RuleSet, watched: Sequence[Topic] = ()) -> Matcher:
    """Compile ``rules`` for matching, and ``watched`` topics on the same scan."""
    return Matcher(rules, watched)
