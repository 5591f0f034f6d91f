"""Properties of the matcher that must hold for any text and any rule set."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

from bot.models import Item, ItemMatch
from bot.rules.match import compile_matcher
from bot.rules.model import RuleSet, Term, Topic
from bot.text.html import html_to_text, tidy_line
from bot.text.normalize import normalize

PIECES = [
    "Putin",
    "Vladmir Putin",
    "Pu\u200btin",
    "普京",
    "普丁",
    "Kim Jong-un",
    "kim jong un",
    "TikTok",
    "tik tok",
    "在TikTok上",
    "trumpet",
    "Trump",
    "ＴＲＵＭＰ",
    "US",
    "use",
    "sanctions",
    "Pompeu",
    "<b>Pom</b>peo",
    "<p>",
    "</p>",
    "<br>",
    "臺灣",
    "台湾",
    "—",
    "·",
    " ",
    "\n",
    "Straße",
    "ﬁnance",
    "cafe\u0301",
    "Kamla Haris",
    "&amp;",
    "x",
    "1",
]
TERMS = [
    Term("Putin", "putin"),
    Term("Vladimir Putin", "putin"),
    Term("普京", "putin"),
    Term("Kim Jong Un"),
    Term("TikTok"),
    Term("Trump"),
    Term("US", case=True),
    Term("sanction*"),
    Term("Pompeo"),
    Term("台湾"),
    Term("Kamala Harris"),
    Term("finance"),
    Term("café"),
    Term("Strasse", fuzzy=2),
    Term("tik", fuzzy=1),
]

texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
term_sets = st.lists(st.sampled_from(TERMS), min_size=1, max_size=4, unique=True).map(tuple)


def topic(tid: str, terms: tuple[Term, ...], fuzzy: str | int = "auto") -> Topic:
    return Topic(id=tid, name=tid, any=terms, fuzzy=fuzzy)


def run(topics: list[Topic], title: str, content: str) -> ItemMatch:
    matcher = compile_matcher(RuleSet(topics=tuple(topics)))
    return matcher.match(Item("f", "k", title, "", content))


@settings(max_examples=150, deadline=None)
@given(texts, texts, term_sets, st.sampled_from(["auto", 0, 1, 2]))
def test_every_hit_is_the_term_in_the_plain_text(
    title: str, content: str, terms: tuple[Term, ...], fuzzy: str | int
) -> None:
    result = run([topic("t", terms, fuzzy)], title, content)
    assert result.plain == {"title": tidy_line(title), "content": html_to_text(content)}
    for tm in result.topics:
        for hit in tm.hits:
            (term,) = [t for t in terms if t.text == hit.term]
            assert hit.matched == result.plain[hit.field][hit.start : hit.end]
            got = normalize(hit.matched, casefold=not term.case)
            want = normalize(term.stem, casefold=not term.case)
            if term.wildcard:
                assert got.startswith(want) and hit.edits == 0
            else:
                assert OSA.distance(got, want) == hit.edits


@settings(max_examples=100, deadline=None)
@given(texts, texts, term_sets, term_sets, term_sets)
def test_adding_a_topic_never_changes_another(
    title: str,
    content: str,
    first: tuple[Term, ...],
    second: tuple[Term, ...],
    extra: tuple[Term, ...],
) -> None:
    base = [topic("a", first), Topic(id="b", name="b", all=(second,), none=first[:1])]
    before = run(base, title, content)
    after = run([*base, topic("extra", extra, fuzzy=2)], title, content)
    assert [t for t in after.topics if t.topic_id != "extra"] == list(before.topics)
