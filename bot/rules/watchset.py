"""Watches in the matcher: compiled like topics, added and removed one at a time.

A watch is a topic (``bot.rules.query``) with its own chat. Rebuilding the topics'
``Matcher`` for each ``/watch`` would cost as much as loading the rules, so watches live
beside it, sharing its pattern ids:

- a watch term whose pattern a topic already has points at the topic matcher's id, and
  reuses the hits the topics' scan found anyway;
- every other pattern gets an id after the topics' ones and lives in one of two pattern
  indexes: the *main* one, and a small *tail* that holds the patterns of watches added
  since main was built. Adding a watch rebuilds only the tail; when the tail grows past
  ``TAIL_PATTERNS``, main is rebuilt from the watches alive then (which also drops the
  patterns of removed watches). Removing a watch drops its plan only.

So an item costs the topics' scan plus at most two more scans, and adding a watch costs
a tail rebuild, with one rebuild of the watches alone (never of the topics) every
``TAIL_PATTERNS`` new patterns. A ``WatchMatcher`` never changes once built: ``added``
and ``removed`` return a new one sharing what did not change, so pollers' threads can
keep matching with the one they hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.models import FIELDS, Field, Hit
from bot.rules.evaluate import PatternHits, TermRef, TopicPlan, fires, gather, to_hits
from bot.rules.match import Matcher, Prepared, plan_topic, scan_fields
from bot.rules.model import Topic
from bot.rules.patterns import Pattern, PatternIndex

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

    __slots__ = ("_main", "_patterns", "_plans", "_tail", "_triggers", "base")

    def __init__(self, base: Matcher, watches: Mapping[int, Topic] | None = None) -> None:
        self.base = base
        self._patterns: dict[Pattern, int] = {}  # watch-only patterns -> global id
        self._plans: dict[int, TopicPlan] = {}
        self._triggers: dict[int, frozenset[int]] = {}  # pattern id -> watch ids
        for watch_id, topic in (watches or {}).items():
            self._add(watch_id, topic)
        self._main = self._segment(0)
        self._tail: _Segment | None = None

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

    def _segment(self, first: int) -> _Segment | None:
        """An index of the watch-only patterns from the ``first``-th on."""
        patterns = list(self._patterns)[first:]
        if not patterns:
            return None
        return _Segment(PatternIndex(patterns), self.base.pattern_count + first)

    def _copy(self) -> WatchMatcher:
        other = WatchMatcher.__new__(WatchMatcher)
        other.base = self.base
        other._patterns = dict(self._patterns)
        other._plans = dict(self._plans)
        other._triggers = dict(self._triggers)
        other._main, other._tail = self._main, self._tail
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
        in_main = 0 if other._main is None else len(other._main.index.patterns)
        if len(other._patterns) - in_main > TAIL_PATTERNS:
            return WatchMatcher(self.base, other.topics())  # main anew, compacted
        other._tail = other._segment(in_main)
        return other

    def removed(self, watch_id: int) -> WatchMatcher:
        """This matcher without ``watch_id`` (its patterns stay until main is rebuilt)."""
        if watch_id not in self._plans:
            return self
        other = self._copy()
        del other._plans[watch_id]
        for pid, ids in self._triggers.items():
            if watch_id in ids:
                rest = ids - {watch_id}
                if rest:
                    other._triggers[pid] = rest
                else:
                    del other._triggers[pid]
        return other

    def topics(self) -> dict[int, Topic]:
        return {watch_id: plan.topic for watch_id, plan in self._plans.items()}

    def __len__(self) -> int:
        return len(self._plans)

    @property
    def pattern_count(self) -> int:
        return len(self._patterns)

    # --- matching -------------------------------------------------------------------------

    def match(self, prepared: Prepared, base_hits: PatternHits) -> list[WatchHit]:
        """The watches that fire on an item, given the topics matcher's hits on it (its
        ``hits(prepared)``), in watch id order."""
        if not self._plans:
            return []
        hits = base_hits
        own: PatternHits = {}
        for segment in (self._main, self._tail):
            if segment is not None:
                own.update(scan_fields(segment.index, prepared, segment.offset))
        if own:
            hits = {**base_hits, **own}
        return self._fired(hits, {name: prepared[name].plain for name in FIELDS})

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
