"""Watches in the matcher: compiled like topics, added and removed one at a time.

A watch is a topic (``bot.rules.query``) with its own chat. Its terms get pattern ids in
the topics' id space: a term whose pattern a topic already has points at the topic
matcher's id; every other pattern gets an id after the topics' ones. A ``WatchMatcher``
keeps those watch-only patterns in up to three pattern indexes:

- the *combined* index: the topics' patterns and those of the watches alive when it was
  built (on construction, that is when the rules load, and on every ``folded``). One scan
  of it finds what the topics and those watches need, so matching costs what matching
  the topics alone costs;
- the patterns of watches added since, in a small *tail*, rebuilt on each ``added``; when
  the tail grows past ``TAIL_PATTERNS`` its patterns move to a *main* index of every
  pattern outside the combined one, so an add never costs more than indexing those.

``folded`` makes a new matcher with everything in one combined index again (which also
drops the patterns of removed watches). It costs what compiling the rules costs, so the
caller runs it off the hot path (``bot.watches.WatchBook.fold``) and swaps the result in.
A ``WatchMatcher`` never changes once built: ``added``, ``removed`` and ``folded`` return
a new one sharing what did not change, so pollers' threads keep matching with the one
they hold; the hits of one matcher are only meaningful to that matcher (``hits``/``fired``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.models import FIELDS, Field, Hit
from bot.rules.evaluate import PatternHits, TermRef, TopicPlan, fires, gather, to_hits
from bot.rules.index import PatternIndex
from bot.rules.match import Matcher
from bot.rules.model import Topic
from bot.rules.patterns import Pattern
from bot.rules.plan import plan_topic
from bot.rules.prepare import Prepared
from bot.rules.scan import scan_fields

TAIL_PATTERNS = 64


@dataclass(frozen=True, slots=True)
class WatchHit:
    """A watch that fires on an item, and why."""

    watch_id: int
    hits: tuple[Hit, ...]


@dataclass(frozen=True, slots=True)
class _Segment:
    index: PatternIndex
    offset: int  # the id of its first pattern


class WatchMatcher:
    """Watches (``id -> topic``) compiled against one topics ``Matcher``."""

    __slots__ = (
        "_combined",
        "_dropped",
        "_folded",
        "_main",
        "_own",
        "_patterns",
        "_plans",
        "_tail",
        "_triggers",
        "base",
    )

    def __init__(self, base: Matcher, watches: Mapping[int, Topic] | None = None) -> None:
        self.base = base
        self._patterns: dict[Pattern, int] = {}  # watch-only patterns -> global id
        self._plans: dict[int, TopicPlan] = {}
        self._triggers: dict[int, frozenset[int]] = {}  # pattern id -> watch ids
        for watch_id, topic in (watches or {}).items():
            self._add(watch_id, topic)
        # The first ``_folded`` watch-only patterns are in the combined index (with none,
        # it is the topics matcher's own). Built now, not at the first item's scan.
        self._folded = len(self._patterns)
        self._combined = (
            PatternIndex([*base.patterns, *self._patterns]) if self._patterns else base.index
        )
        self._main: _Segment | None = None
        self._tail: _Segment | None = None
        self._dropped = 0  # watches removed since the combined index was built
        self._own: list[_Segment | None] = []  # the folded patterns alone, made if asked

    # --- building -------------------------------------------------------------------------

    def _pid(self, key: Pattern) -> int:
        shared = self.base.pattern_id(key)
        if shared is not None:
            return shared
        found = self._patterns.get(key)
        if found is None:
            found = self._patterns[key] = self.base.pattern_count + len(self._patterns)
        return found

    def _add(self, watch_id: int, topic: Topic) -> None:
        plan = plan_topic(topic, self._pid)
        self._plans[watch_id] = plan
        for ref in plan.triggers:
            for term_ref in (ref,) if isinstance(ref, TermRef) else ref.left + ref.right:
                known = self._triggers.get(term_ref.pid, frozenset())
                self._triggers[term_ref.pid] = known | {watch_id}

    def _segment(self, first: int, stop: int | None = None) -> _Segment | None:
        """An index of the watch-only patterns from the ``first``-th on (to ``stop``)."""
        patterns = list(self._patterns)[first:stop]
        if not patterns:
            return None
        return _Segment(PatternIndex(patterns), self.base.pattern_count + first)

    def _copy(self) -> WatchMatcher:
        other = WatchMatcher.__new__(WatchMatcher)
        other.base = self.base
        other._patterns = dict(self._patterns)
        other._plans = dict(self._plans)
        other._triggers = dict(self._triggers)
        other._combined, other._folded, other._own = self._combined, self._folded, self._own
        other._main, other._tail, other._dropped = self._main, self._tail, self._dropped
        return other

    def added(self, watch_id: int, topic: Topic) -> WatchMatcher:
        """This matcher with one more watch (or ``watch_id`` compiled anew)."""
        if watch_id in self._plans:
            return self.removed(watch_id).added(watch_id, topic)
        other = self._copy()
        before = len(other._patterns)
        other._add(watch_id, topic)
        if len(other._patterns) == before:
            return other
        in_main = other._folded + (0 if other._main is None else len(other._main.index.patterns))
        if len(other._patterns) - in_main > TAIL_PATTERNS:
            other._main, other._tail = other._segment(other._folded), None
        else:
            other._tail = other._segment(in_main)
        return other

    def removed(self, watch_id: int) -> WatchMatcher:
        """This matcher without ``watch_id`` (its patterns stay until the next fold)."""
        if watch_id not in self._plans:
            return self
        other = self._copy()
        del other._plans[watch_id]
        other._dropped += 1
        for pid, ids in self._triggers.items():
            if watch_id in ids:
                rest = ids - {watch_id}
                if rest:
                    other._triggers[pid] = rest
                else:
                    del other._triggers[pid]
        return other

    def folded(self) -> WatchMatcher:
        """The same watches with every pattern in one combined index with the topics'
        (the removed watches' patterns gone): costs a compile of them all, off the hot path."""
        return WatchMatcher(self.base, self.topics())

    def topics(self) -> dict[int, Topic]:
        return {watch_id: plan.topic for watch_id, plan in self._plans.items()}

    def __len__(self) -> int:
        return len(self._plans)

    @property
    def pattern_count(self) -> int:
        """How many patterns the watches have that no topic has."""
        return len(self._patterns)

    @property
    def unfolded(self) -> int:
        """How many of those are outside the combined index (scanned on their own)."""
        return len(self._patterns) - self._folded

    @property
    def pending(self) -> bool:
        """Whether ``folded`` would change anything: patterns outside the combined index,
        or removed watches' patterns still in it."""
        return self.unfolded > 0 or self._dropped > 0

    # --- matching -------------------------------------------------------------------------

    def hits(self, prepared: Prepared) -> PatternHits:
        """Every pattern's hits in an item, the topics' and the watches': one scan of the
        combined index, and of the small indexes beside it if watches were added since.
        The topics matcher takes them as they are (``match_prepared(..., hits=)``)."""
        hits = scan_fields(self._combined, prepared)
        for segment in (self._main, self._tail):
            if segment is not None:
                hits.update(scan_fields(segment.index, prepared, segment.offset))
        return hits

    def fired(self, prepared: Prepared, hits: PatternHits) -> list[WatchHit]:
        """The watches that fire on an item, given this matcher's ``hits(prepared)``, in
        watch id order."""
        if not self._plans:
            return []
        return self._fired(hits, {name: prepared[name].plain for name in FIELDS})

    def match(self, prepared: Prepared, base_hits: PatternHits) -> list[WatchHit]:
        """``fired``, given the topics matcher's own hits on an item (its ``hits``): the
        watches' patterns are scanned apart, a second scan that ``hits`` saves."""
        if not self._plans:
            return []
        own: PatternHits = {}
        for segment in (self._own_segment(), self._main, self._tail):
            if segment is not None:
                own.update(scan_fields(segment.index, prepared, segment.offset))
        hits = {**base_hits, **own} if own else base_hits
        return self._fired(hits, {name: prepared[name].plain for name in FIELDS})

    def _own_segment(self) -> _Segment | None:
        """The combined index's watch patterns alone, made the first time they are asked
        for (and shared by the matchers grown from this one)."""
        if not self._folded:
            return None
        if not self._own:
            self._own.append(self._segment(0, self._folded))
        return self._own[0]

    def _fired(self, hits: PatternHits, plain: dict[Field, str]) -> list[WatchHit]:
        candidates: set[int] = set()
        triggers = self._triggers
        for pid in hits:
            found = triggers.get(pid)
            if found is not None:
                candidates |= found
        out = []
        for watch_id in sorted(candidates):
            plan = self._plans[watch_id]
            if fires(plan, hits):
                out.append(WatchHit(watch_id, to_hits(gather(plan, hits), plain)))
        return out
