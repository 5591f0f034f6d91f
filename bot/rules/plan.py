"""Topics made ready to evaluate: each term pointing at its pattern, and what can fire.

``plan_topic`` turns a ``Topic`` into a ``TopicPlan`` (``bot.rules.evaluate``) whose
terms carry the id of the pattern they look for (``bot.rules.patterns``), so a scan's
hits, keyed by pattern id, say directly which terms hit. ``trigger_map`` says, for each
pattern, which plans a hit of it may make fire: only those are evaluated for an item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.rules.evaluate import ClauseRef, NearRef, TermRef, TopicPlan, narrow
from bot.rules.model import Near, Term, Topic
from bot.rules.patterns import Pattern, term_pattern


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


def trigger_map(plans: Sequence[TopicPlan]) -> dict[int, set[int]]:
    """Pattern id -> the plans a hit of it may make fire (any/all, not none)."""
    triggers: dict[int, set[int]] = {}
    for index, plan in enumerate(plans):
        for ref in plan.triggers:
            for term_ref in (ref,) if isinstance(ref, TermRef) else ref.left + ref.right:
                triggers.setdefault(term_ref.pid, set()).add(index)
    return triggers
