"""Evaluating one topic from the hits of its terms (the order is in ``bot.rules.model``)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from bot.models import Field, Hit
from bot.rules.model import Clause, Near, Term, Topic


@dataclass(frozen=True, slots=True)
class RawHit:
    """A pattern's occurrence in one field: plain-text span, edits, normalized span."""

    field: Field
    start: int
    end: int
    edits: int
    nstart: int  # in the casefolded normalized text, where ``within`` is counted
    nend: int


TermHit = tuple[Term, RawHit]
TermHits = Callable[[Term], dict[Field, list[RawHit]]]
_FIELD_RANK = {"title": 0, "content": 1}


def _fields(topic: Topic, narrowed: Field | None) -> tuple[Field, ...]:
    return tuple(f for f in topic.fields if narrowed is None or f == narrowed)


def _term_hits(topic: Topic, term: Term, lookup: TermHits) -> list[TermHit]:
    found = lookup(term)
    return [(term, h) for f in _fields(topic, term.field) for h in found.get(f, ())]


def _near_hits(topic: Topic, near: Near, lookup: TermHits) -> list[TermHit]:
    out: list[TermHit] = []
    for f in _fields(topic, near.field):
        left = [(t, h) for t in near.left for h in lookup(t).get(f, ())]
        right = [(t, h) for t in near.right for h in lookup(t).get(f, ())]
        if not left or not right:
            continue
        right.sort(key=lambda th: th[1].nstart)
        starts = [h.nstart for _, h in right]
        longest = max(h.nend - h.nstart for _, h in right)
        paired: dict[tuple[str, int, int], TermHit] = {}
        for lt, lh in left:
            lo = bisect_left(starts, lh.nstart - near.within - longest)
            hi = bisect_right(starts, lh.nend + near.within)
            for rt, rh in right[lo:hi]:
                gap = max(lh.nstart, rh.nstart) - min(lh.nend, rh.nend)
                if gap <= near.within:
                    paired[(lt.text, lh.start, lh.end)] = (lt, lh)
                    paired[(rt.text, rh.start, rh.end)] = (rt, rh)
        out.extend(paired.values())
    return out


def clause_hits(topic: Topic, clause: Clause, lookup: TermHits) -> list[TermHit]:
    """The hits of one clause within the topic's fields."""
    if isinstance(clause, Near):
        return _near_hits(topic, clause, lookup)
    return _term_hits(topic, clause, lookup)


def evaluate_topic(topic: Topic, lookup: TermHits) -> list[TermHit] | None:
    """The hits that make ``topic`` fire, or None when it does not fire."""
    if not topic.any and not topic.all:
        return None
    found: list[TermHit] = []
    if topic.any:
        for clause in topic.any:
            found.extend(clause_hits(topic, clause, lookup))
        if not found:
            return None
    for group in topic.all:
        group_hits = [h for clause in group for h in clause_hits(topic, clause, lookup)]
        if not group_hits:
            return None
        found.extend(group_hits)
    for clause in topic.none:
        if clause_hits(topic, clause, lookup):
            return None
    return found


def to_hits(found: list[TermHit], plain: dict[Field, str]) -> tuple[Hit, ...]:
    """Public hits, strongest first: exact before fuzzy, title before content, position.

    Duplicates go, and so does a hit inside a longer hit of the same entity (the exact
    ``Putin`` inside a fuzzy ``Vladmir Putin``), which would only repeat it.
    """
    unique: dict[tuple[str, Field, int, int], Hit] = {}
    for term, raw in found:
        key = (term.text, raw.field, raw.start, raw.end)
        if key not in unique:
            matched = plain[raw.field][raw.start : raw.end]
            unique[key] = Hit(
                term.text, term.entity, matched, raw.field, raw.edits, raw.start, raw.end
            )
    hits = _drop_covered(list(unique.values()))
    hits.sort(key=lambda h: (h.edits > 0, _FIELD_RANK[h.field], h.start, -h.end, h.edits))
    return tuple(hits)


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
