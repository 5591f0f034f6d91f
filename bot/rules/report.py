"""The rule author's report (``mediabot match --stats``): what each topic and term caught.

Per topic: the items it fired on, their share of the input, a few sample titles. Per
term (an entity's aliases count as ``@entity``): the items it hit in among those, the
words it matched as they stand in the text (where ``ban*`` shows ``bank``), a sample
title, and the terms that never hit. Memory grows with the rules, never with the input:
a term keeps its distinct matched words, at most ``MAX_FORMS`` of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any
from unicodedata import east_asian_width

from bot.models import Item, ItemMatch
from bot.rules.model import Near, RuleSet, Term, Topic

SAMPLES = 3
MAX_FORMS = 1000
SHOWN_FORMS = 6


@dataclass(slots=True)
class TermTally:
    items: int = 0
    forms: Counter[str] = field(default_factory=Counter)
    sample: str = ""


@dataclass(slots=True)
class TopicTally:
    topic: Topic
    items: int = 0
    samples: list[str] = field(default_factory=list)
    terms: dict[str, TermTally] = field(default_factory=dict)


def term_label(term: Term) -> str:
    return f"@{term.entity}" if term.entity else term.text


def topic_terms(topic: Topic) -> list[str]:
    """The labels of the terms that can make ``topic`` fire, in rule order, once each."""
    labels: dict[str, None] = {}
    for clause in (*topic.any, *(c for group in topic.all for c in group)):
        terms = (*clause.left, *clause.right) if isinstance(clause, Near) else (clause,)
        for term in terms:
            labels[term_label(term)] = None
    return list(labels)


class MatchReport:
    """Tallies fed one item at a time (``add``), read at the end (``lines``, ``rows``)."""

    def __init__(self, rules: RuleSet, topics: Collection[str] | None = None) -> None:
        chosen = [t for t in rules.topics if topics is None or t.id in topics]
        self.tallies = {t.id: TopicTally(t) for t in chosen}
        self.items = 0

    def add(self, item: Item, result: ItemMatch) -> None:
        self.items += 1
        title = item.title or item.link or item.key
        for tm in result.topics:
            tally = self.tallies.get(tm.topic_id)
            if tally is None:
                continue
            tally.items += 1
            if len(tally.samples) < SAMPLES:
                tally.samples.append(title)
            seen: set[str] = set()
            for hit in tm.hits:
                label = f"@{hit.entity}" if hit.entity else hit.term
                term = tally.terms.setdefault(label, TermTally())
                form = hit.matched.casefold()
                if form in term.forms or len(term.forms) < MAX_FORMS:
                    term.forms[form] += 1
                if label not in seen:
                    seen.add(label)
                    term.items += 1
                    term.sample = term.sample or title

    def share(self, count: int) -> float:
        return count / self.items if self.items else 0.0

    def rows(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready record per topic."""
        for tally in self.tallies.values():
            terms = sorted(tally.terms.items(), key=lambda kv: -kv[1].items)
            yield {
                "topic": tally.topic.id,
                "items": tally.items,
                "share": round(self.share(tally.items), 6),
                "samples": tally.samples,
                "terms": [
                    {
                        "term": label,
                        "items": t.items,
                        "share": round(self.share(t.items), 6),
                        "matched": dict(t.forms.most_common(SHOWN_FORMS)),
                        "sample": t.sample,
                    }
                    for label, t in terms
                ],
                "never_hit": [x for x in topic_terms(tally.topic) if x not in tally.terms],
            }

    def lines(self) -> Iterator[str]:
        """The report as text, busiest topic first."""
        yield f"{self.items} items read"
        for row in sorted(self.rows(), key=lambda r: -r["items"]):
            topic = self.tallies[row["topic"]].topic
            yield ""
            yield (f"{row['topic']}  {topic.name}: {row['items']} items ({_pct(row['share'])})")
            for title in row["samples"]:
                yield f"    e.g. {_clip(title)}"
            width = max((_width(t["term"]) for t in row["terms"]), default=4)
            for t in row["terms"]:
                forms = ", ".join(f"{form} {n}" for form, n in t["matched"].items())
                yield (
                    f"  {_pad(t['term'], width)}  {t['items']:>7} items {_pct(t['share']):>7}"
                    f"  as: {forms}"
                )
                yield f"  {'':<{width}}  e.g. {_clip(t['sample'])}"
            if row["never_hit"]:
                yield "  never hit: " + ", ".join(row["never_hit"])


def _width(text: str) -> int:
    """Columns on a terminal: CJK characters take two."""
    return sum(2 if east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _clip(text: str, size: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 1] + "…"
