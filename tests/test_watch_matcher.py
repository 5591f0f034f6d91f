"""The watch query language (bot.rules.query) and the watch matcher grown one watch at a
time (bot.rules.watchset): the same answers as compiling everything at once."""

from __future__ import annotations

import random

import pytest

from bot.models import Item
from bot.rules.match import compile_matcher
from bot.rules.model import Entity, RuleSet, Term, Topic
from bot.rules.query import QueryError, as_rules, compile_query, parse_query
from bot.rules.watchset import TAIL_PATTERNS, WatchMatcher
from bot.watches import watch_id_of, watch_key

PUTIN = Entity(
    "putin",
    "Vladimir Putin",
    ("普京", "Putin"),
    (Term("普京", entity="putin"), Term("Putin", entity="putin")),
)
ENTITIES = {"putin": PUTIN}
RULES = RuleSet(
    entities=ENTITIES,
    topics=(
        Topic(id="russia", name="Russia", any=PUTIN.terms),
        Topic(id="ai", name="AI", any=(Term("artificial intelligence"), Term("OpenAI"))),
    ),
)


@pytest.mark.parametrize(
    ("query", "rules"),
    [
        ("treaty", "any: [treaty]"),
        ("treaty OR 条约", "any: [treaty, 条约]"),
        ('@putin "north korea" -football', 'all: ["@putin", north korea]\nnone: [football]'),
        ("putin treaty OR 条约 missile", "all: [putin, [treaty, 条约], missile]"),
        ("“curly quotes” yes", 'all: [curly quotes, "yes"]'),
        ('-"round table" sanction*', 'any: ["sanction*"]\nnone: [round table]'),
        ("a:b c#d", 'all: ["a:b", "c#d"]'),
    ],
)
def test_queries_read_as_the_rules_language_writes_them(query: str, rules: str) -> None:
    assert as_rules(parse_query(query)) == rules


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("   ", "empty"),
        ("-a1 -b2", "only_exclusions"),
        ("x", "too_short"),
        ("treaty 7", "too_short"),
        ("OR treaty", "dangling_or"),
        ("treaty OR OR pact", "dangling_or"),
        ("treaty OR", "dangling_or"),
        ("-pact OR treaty", "or_exclusion"),
        ('"open', "unclosed"),
        ("t" * 201, "too_long"),
        ("**", "bad_wildcard"),
    ],
)
def test_bad_queries_say_why(query: str, reason: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(query)
    assert caught.value.reason == reason


def test_one_chinese_character_is_a_term_and_an_unknown_entity_suggests() -> None:
    assert parse_query("美").parts == parse_query("美").parts  # accepted
    with pytest.raises(QueryError) as caught:
        compile_query(parse_query("@putn"), ENTITIES, key="w")
    assert caught.value.values == {"entity": "putn", "closest": "@putin"}


def test_a_query_is_a_topic_with_the_same_matching() -> None:
    topic = compile_query(parse_query("@putin 条约 -football"), ENTITIES, key=watch_key(3))
    assert topic.id == "watch.3" and watch_id_of(topic.id) == 3
    assert topic.all == (PUTIN.terms, (Term("条约"),)) and topic.none == (Term("football"),)
    assert watch_id_of("russia") is None and watch_id_of("watch.x") is None


def _item(n: int, title: str, body: str = "") -> Item:
    return Item("f", f"k{n}", title, f"https://x.example/{n}", f"<p>{body}</p>")


ITEMS = [
    _item(1, "普京與金正恩簽署條約", "俄朝關係"),
    _item(2, "Putin signs a tretay", "with North Korea"),
    _item(3, "OpenAI releases a model", "artificial intelligence news"),
    _item(4, "Football treaty", "transfers"),
    _item(5, "Sanctions on Moscow", "new sanction rounds"),
    _item(6, "North Korean missiles", "missile tests"),
]


def _answers(watches: WatchMatcher) -> list[list[tuple[int, tuple[str, ...]]]]:
    matcher = watches.base
    out = []
    for item in ITEMS:
        prepared = matcher.prepare(item)
        fired = watches.match(prepared, matcher.hits(prepared))
        out.append([(h.watch_id, tuple(x.matched for x in h.hits)) for h in fired])
    return out


def _queries(count: int) -> dict[int, Topic]:
    rng = random.Random(5)  # noqa: S311 - a fixed mix of queries, nothing secret
    words = ["treaty", "条约", "@putin", '"north korea"', "missile", "sanction*", "OpenAI"]
    out = {}
    for i in range(count):
        # Each query has a word of its own, so the tail grows past its limit.
        query = " ".join([*rng.sample(words, rng.choice((1, 2))), f"OR word{i}"])
        out[i] = compile_query(parse_query(query), ENTITIES, key=watch_key(i))
    return out


def test_watches_added_one_by_one_match_as_if_compiled_at_once() -> None:
    matcher = compile_matcher(RULES)
    topics = _queries(3 * TAIL_PATTERNS)
    at_once = WatchMatcher(matcher, topics)
    grown = WatchMatcher(matcher)
    for watch_id, topic in topics.items():
        grown = grown.added(watch_id, topic)
    assert _answers(grown) == _answers(at_once)
    assert any(_answers(grown))
    # Removing watches: they stop firing, the others are untouched.
    removed = grown
    for watch_id in range(0, len(topics), 2):
        removed = removed.removed(watch_id)
    expected = [[a for a in row if a[0] % 2] for row in _answers(at_once)]
    assert _answers(removed) == expected
    assert _answers(grown) == _answers(at_once)  # the earlier matcher is unchanged


def test_watch_terms_that_topics_have_reuse_the_topics_patterns() -> None:
    matcher = compile_matcher(RULES)
    only_shared = compile_query(parse_query("@putin OR OpenAI"), ENTITIES, key="watch.1")
    watches = WatchMatcher(matcher).added(1, only_shared)
    assert watches.pattern_count == 0  # nothing to scan beyond the topics' own scan
    assert [row for row in _answers(watches) if row] == [
        [(1, ("普京",))],
        [(1, ("Putin",))],
        [(1, ("OpenAI",))],
    ]


def test_excluded_words_veto_and_phrases_keep_boundaries() -> None:
    matcher = compile_matcher(RULES)
    watches = WatchMatcher(matcher).added(
        1, compile_query(parse_query("treaty OR 条约 -football"), ENTITIES, key="watch.1")
    )
    watches = watches.added(
        2, compile_query(parse_query('"north korea" missile'), ENTITIES, key="watch.2")
    )
    fired = [[h[0] for h in row] for row in _answers(watches)]
    # Typo tolerance as for topic terms: "North Korean" is one edit from "north korea",
    # "missiles" one from "missile".
    assert fired == [[1], [1], [], [], [], [2]]


def _one_scan(watches: WatchMatcher) -> tuple[list[list[tuple[int, tuple[str, ...]]]], list]:
    """The watches' and the topics' answers from the one scan of ``watches.hits``."""
    matcher = watches.base
    fired, topics = [], []
    for item in ITEMS:
        prepared = matcher.prepare(item)
        hits = watches.hits(prepared)
        found = watches.fired(prepared, hits)
        fired.append([(h.watch_id, tuple(x.matched for x in h.hits)) for h in found])
        topics.append(matcher.match_prepared(prepared, item.feed_id, hits=hits).topics)
    return fired, topics


def test_one_scan_of_topics_and_watches_answers_as_two_scans() -> None:
    matcher = compile_matcher(RULES)
    topics = _queries(3 * TAIL_PATTERNS)
    at_once = WatchMatcher(matcher, topics)  # every pattern in the topics' index
    assert at_once.pattern_count > 0 and at_once.unfolded == 0 and not at_once.pending
    grown = WatchMatcher(matcher, {i: topics[i] for i in range(10)})
    for watch_id in range(10, len(topics)):
        grown = grown.added(watch_id, topics[watch_id])
    assert grown.unfolded > TAIL_PATTERNS and grown.pending  # main and tail beside it
    folded = grown.folded()
    assert folded.unfolded == 0 and not folded.pending
    two_scans = _answers(at_once)
    topics_alone = [matcher.match(item).topics for item in ITEMS]
    assert any(two_scans) and any(topics_alone)
    for watches in (at_once, grown, folded):
        assert _one_scan(watches) == (two_scans, topics_alone)
        assert _answers(watches) == two_scans


def test_a_fold_forgets_removed_watches_and_keeps_the_others() -> None:
    matcher = compile_matcher(RULES)
    topics = _queries(20)
    watches = WatchMatcher(matcher, topics)
    removed = watches
    for watch_id in range(0, 20, 2):
        removed = removed.removed(watch_id)
    assert removed.pending and removed.unfolded == 0  # their patterns are still scanned
    folded = removed.folded()
    assert folded.pattern_count < watches.pattern_count and not folded.pending
    expected = [[a for a in row if a[0] % 2] for row in _answers(watches)]
    assert any(expected)
    assert _one_scan(folded)[0] == expected == _one_scan(removed)[0]
    # Watches added after a fold get their own small index again, then fold in.
    again = folded.added(0, topics[0])
    assert again.unfolded == again.pattern_count - folded.pattern_count > 0
    back = [[a for a in row if a[0] % 2 or a[0] == 0] for row in _answers(watches)]
    assert _one_scan(again)[0] == back == _one_scan(again.folded())[0]
