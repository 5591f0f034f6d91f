"""Near-misses for rule authors: a term one edit beyond what it allows."""

from __future__ import annotations

import pytest

from bot.models import Field
from bot.rules.explain import near_misses
from bot.rules.model import RuleSet, Term, Topic


def rules(*terms: Term, fuzzy: str | int = "auto") -> RuleSet:
    return RuleSet(topics=(Topic(id="t", name="T", any=tuple(terms), fuzzy=fuzzy),))


@pytest.mark.parametrize(
    ("term", "text", "matched", "edits"),
    [
        pytest.param("Trump", "President Trumpf spoke.", "Trumpf", 1, id="exact-term-off-by-one"),
        pytest.param("Pompeo", "Mike Pommpeio said", "Pommpeio", 2, id="one-edit-term-off-by-two"),
        pytest.param("Kim Jong Un", "met Kim Jang Uk", "Kim Jang Uk", 2, id="multi-word"),
        pytest.param("Trump", "ＴＲＵＭＰＦ", "ＴＲＵＭＰＦ", 1, id="full-width-as-written"),
    ],
)
def test_near_misses_are_found_as_written(term: str, text: str, matched: str, edits: int) -> None:
    plain: dict[Field, str] = {"title": "", "content": text}
    found = near_misses(rules(Term(term)), plain)
    assert [(m.term, m.matched, m.edits, m.field) for m in found] == [
        (term, matched, edits, "content")
    ]
    assert all(m.matched in text for m in found)


def test_hits_and_far_words_are_not_near_misses() -> None:
    plain: dict[Field, str] = {"title": "Trump", "content": "Pompeo and Pompei and trumpet"}
    assert near_misses(rules(Term("Trump"), Term("Pompeo")), plain) == []


def test_wildcards_and_chinese_terms_are_exact_and_never_near() -> None:
    plain: dict[Field, str] = {"title": "普丁 sanctioned", "content": ""}
    assert near_misses(rules(Term("普京"), Term("sanction*")), plain) == []
