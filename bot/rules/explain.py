"""Near-misses, for rule authors: Latin terms that were one edit too far to hit.

``mediabot match --explain`` shows, for each item, the places where a term came within
one more edit than it is allowed (an exact term off by one letter, a 6-letter term off by
two): the spelling variants a rule might want as an alias, or a fuzzy setting to loosen.

Only near-misses that would change the outcome are worth a reader's time: the topic did
not fire, and would have with that spelling (``would_fire`` decides; the matcher's
``fires_with`` answers it). Short terms are left out (under ``MIN_LETTERS`` Latin letters
nearly every short word is one edit from them: ``ban`` ~ ``an``, ``can``), as are the
terms of ``near`` and ``none`` clauses. This is a slow, thorough scan meant for a dry run,
never the matcher's path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.models import Field
from bot.rules.model import RuleSet, Term, Topic, allowed_edits
from bot.text.normalize import normalize, normalize_with_map, source_span
from bot.text.script import is_latin_term, latin_letter_count

MIN_LETTERS = 5

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class NearMiss:
    topic_id: str
    term: str  # as written in the rules
    entity: str | None
    matched: str  # as it stands in the field's plain text
    field: Field
    edits: int  # one more than the term allows
    allowed: int


def near_misses(
    rules: RuleSet,
    plain: Mapping[Field, str],
    topics: Collection[str] | None = None,
    *,
    fired: Collection[str] = (),
    would_fire: Callable[[str, Term, Field], bool] | None = None,
) -> list[NearMiss]:
    """The near-misses of the chosen topics that did not fire (``fired``) and would have
    (``would_fire(topic_id, term, field)``; unset: every near-miss counts)."""
    found: list[NearMiss] = []
    for topic in rules.topics:
        if (topics is not None and topic.id not in topics) or topic.id in fired:
            continue
        for term in dict.fromkeys(_terms(topic)):
            if not _worth_explaining(term):
                continue
            allowed = allowed_edits(term, topic.fuzzy)
            for field in topic.fields:
                if term.field not in (None, field):
                    continue
                miss = _closest(term, plain.get(field, ""), allowed + 1)
                if miss is None or (would_fire and not would_fire(topic.id, term, field)):
                    continue
                found.append(
                    NearMiss(topic.id, term.text, term.entity, miss, field, allowed + 1, allowed)
                )
                break  # one field is enough to show the spelling
    return found


def _worth_explaining(term: Term) -> bool:
    return (
        not term.wildcard
        and is_latin_term(term.text)
        and latin_letter_count(term.text) >= MIN_LETTERS
    )


def _terms(topic: Topic) -> Iterator[Term]:
    """The terms whose hit can make the topic fire: any and all, outside ``near``."""
    for clause in (*topic.any, *(c for group in topic.all for c in group)):
        if isinstance(clause, Term):
            yield clause


def _closest(term: Term, text: str, edits: int) -> str | None:
    """The first stretch of ``text`` exactly ``edits`` edits from ``term`` (whole words)."""
    if not text:
        return None
    wanted = normalize(term.text, casefold=not term.case)
    norm, index = normalize_with_map(text, casefold=not term.case)
    words = [(m.start(), m.end()) for m in _WORD.finditer(norm)]
    size = len(wanted.split())
    for width in range(max(1, size - 1), size + 2):
        for i in range(len(words) - width + 1):
            start, end = words[i][0], words[i + width - 1][1]
            if abs((end - start) - len(wanted)) > edits:
                continue
            if OSA.distance(norm[start:end], wanted, score_cutoff=edits) == edits:
                a, b = source_span(text, index, start, end)
                return text[a:b]
    return None
