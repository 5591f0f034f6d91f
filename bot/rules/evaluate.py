"""Evaluating one topic from the hits of its patterns (the order is in ``bot.rules.model``).

Topics are compiled into plans whose terms point at pattern ids, with the fields each
term may hit in (the topic's ``fields`` narrowed by the term's own ``field``), so deciding
whether a topic fires is a few dictionary lookups; the hits are only gathered for topics
that fire.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate
from typing import NamedTuple

from bot.models import Field, Hit
from bot.rules.model import Term, Topic


class RawHit(NamedTuple):
    """A pattern's occurrence in one field: plain-text span, edits, normalized span.

    A named tuple: items carry hundreds of these, and tuples are the cheapest to make."""

    field: Field
    start: int
    end: int
    edits: int
    nstart: int  # in the casefolded normalized text, where ``within`` is counted
    nend: int


# ``new_tuple(RawHit, (...))`` makes a named tuple without the Python-level ``__new__`` of
# ``NamedTuple``: half the cost, for the hundreds of hits an item can have.
new_tuple = tuple.__new__

PatternHits = dict[int, dict[Field, list[RawHit]]]  # pattern id -> field -> hits
TermHit = tuple[Term, RawHit]
_FIELD_RANK = {"title": 0, "content": 1}


@dataclass(frozen=True, slots=True)
class TermRef:
    term: Term
    pid: int
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class NearRef:
    left: tuple[TermRef, ...]
    right: tuple[TermRef, ...]
    within: int
    fields: tuple[Field, ...]


ClauseRef = TermRef | NearRef


@dataclass(frozen=True, slots=True)
class TopicPlan:
    topic: Topic
    any: tuple[ClauseRef, ...]
    all: tuple[tuple[ClauseRef, ...], ...]
    none: tuple[ClauseRef, ...]
    # The clauses whose hits can make the topic fire: any, then all (flattened).
    triggers: tuple[ClauseRef, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        triggers = self.any + tuple(c for group in self.all for c in group)
        object.__setattr__(self, "triggers", triggers)


def narrow(topic: Topic, field: Field | None) -> tuple[Field, ...]:
    return tuple(f for f in topic.fields if field is None or f == field)


def _near_hits(ref: NearRef, hits: PatternHits) -> list[TermHit]:
    out: list[TermHit] = []
    for f in ref.fields:
        left = [(t.term, h) for t in ref.left for h in hits.get(t.pid, {}).get(f, ())]
        right = [(t.term, h) for t in ref.right for h in hits.get(t.pid, {}).get(f, ())]
        if left and right:
            out.extend(_pairs(left, right, ref.within))
    return out


def _pairs(left: list[TermHit], right: list[TermHit], within: int) -> list[TermHit]:
    """Every hit on either side with a partner at most ``within`` characters away.

    Two spans are at most ``within`` apart when ``max(starts) - min(ends) <= within``,
    which (spans being ``start <= end`` and ``within`` positive) is: the partner starts at
    most ``within`` after this hit ends, and ends at least ``within`` before it starts.
    So each side is checked against the other in one sorted pass, O(n log n) in the number
    of hits however large ``within`` is, instead of visiting every pair in reach.
    """
    paired: dict[tuple[str, int, int], TermHit] = {}
    for term, hit in _with_partner(left, right, within) + _with_partner(right, left, within):
        paired[(term.text, hit.start, hit.end)] = (term, hit)
    return list(paired.values())


def _with_partner(mine: list[TermHit], theirs: list[TermHit], within: int) -> list[TermHit]:
    """The hits of ``mine`` that have a hit of ``theirs`` at most ``within`` away."""
    by_start = sorted((h.nstart, h.nend) for _, h in theirs)
    starts = [s for s, _ in by_start]
    furthest = list(accumulate((e for _, e in by_start), max))  # furthest end among the first k
    found: list[TermHit] = []
    for term, hit in mine:
        # Among the partners starting at most ``within`` after this hit ends, does one end
        # at least ``within`` before this hit starts?
        reach = bisect_right(starts, hit.nend + within)
        if reach and furthest[reach - 1] >= hit.nstart - within:
            found.append((term, hit))
    return found


def _any_hits(refs: tuple[ClauseRef, ...], hits: PatternHits) -> bool:
    # Plain loops with the term case inline, not any() over a generator of calls: this runs
    # for every candidate topic of every item, and calls cost more than the lookups.
    for ref in refs:
        if isinstance(ref, TermRef):
            found = hits.get(ref.pid)
            if found is not None:
                for f in ref.fields:
                    if f in found:
                        return True
        elif _near_hits(ref, hits):
            return True
    return False


def fires(plan: TopicPlan, hits: PatternHits) -> bool:
    """Whether the topic fires: any (if given), every all group, and no none."""
    if plan.any and not _any_hits(plan.any, hits):
        return False
    for group in plan.all:
        if not _any_hits(group, hits):
            return False
    return not _any_hits(plan.none, hits)


def gather(plan: TopicPlan, hits: PatternHits) -> list[TermHit]:
    """The hits of a topic that fires: those of its any and all clauses."""
    found: list[TermHit] = []
    for ref in plan.triggers:
        if isinstance(ref, TermRef):  # inline, as in ``_any_hits``
            by_field = hits.get(ref.pid)
            if by_field:
                term = ref.term
                for f in ref.fields:
                    if f in by_field:
                        found.extend([(term, h) for h in by_field[f]])
        else:
            found.extend(_near_hits(ref, hits))
    return found


def to_hits(found: list[TermHit], plain: dict[Field, str]) -> tuple[Hit, ...]:
    """Public hits, strongest first: exact before fuzzy, title before content, position.

    Duplicates go, and so does a hit inside a longer hit of the same entity (the exact
    ``Putin`` inside a fuzzy ``Vladmir Putin``), which would only repeat it.
    """
    unique: dict[tuple[str, Field, int, int], Hit] = {}
    for term, (name, start, end, edits, _, _) in found:
        key = (term.text, name, start, end)
        if key not in unique:
            hit = (term.text, term.entity, plain[name][start:end], name, edits, start, end)
            unique[key] = new_tuple(Hit, hit)
    hits = list(unique.values())
    if len(hits) > 1:
        for h in hits:
            if h.entity is not None:
                hits = _drop_covered(hits)
                break
        hits.sort(key=_strength)
    return tuple(hits)


def _strength(h: Hit) -> tuple[bool, int, int, int, int]:
    return (h.edits > 0, _FIELD_RANK[h.field], h.start, -h.end, h.edits)


def _drop_covered(hits: list[Hit]) -> list[Hit]:
    """Drop each entity hit whose span lies within an earlier-starting one of that entity."""
    kept: list[Hit] = []
    reach: dict[tuple[str, Field], int] = {}  # furthest end so far per entity and field
    for h in sorted(hits, key=lambda h: (h.start, -h.end, h.edits)):
        if h.entity is None:
            kept.append(h)
            continue
        key = (h.entity, h.field)
        if reach.get(key, -1) >= h.end:
            continue
        reach[key] = max(reach.get(key, -1), h.end)
        kept.append(h)
    return kept
