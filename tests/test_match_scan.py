"""The scanning shortcuts give the same spans as the plain definitions they stand for."""

from __future__ import annotations

import pytest
from rapidfuzz.distance import OSA

from bot.rules.index import PatternIndex
from bot.rules.patterns import Pattern
from bot.rules.shape import word_shape
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS


def spans(pattern: Pattern, text: str) -> list[tuple[int, int, int]]:
    found, _ = PatternIndex([pattern]).scan(text, case=pattern.case)
    return found.get(0, [])


def exact(term: str, wildcard: bool = False) -> Pattern:
    return Pattern(normalize(term), case=False, wildcard=wildcard, edits=0)


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        # The automata walk UTF-8 bytes; offsets are characters, also after
        # characters beyond U+FFFF and accented Latin letters.
        ("😀😀普京说", "普京", [(2, 4, 0)]),
        ("café 𠀀 普京 普京", "普京", [(7, 9, 0), (10, 12, 0)]),
        ("普京", "普京", [(0, 2, 0)]),
        # Word-bounded terms in the word shape: boundaries hold, other characters are
        # compared as they are.
        ("在tiktok上", "tiktok", [(1, 7, 0)]),
        ("tiktoks tiktok", "tiktok", [(8, 14, 0)]),
        ("the u.s. army", "U.S.", [(4, 8, 0)]),
        ("the u.s, army and u s", "U.S.", []),
        ("donald,trump donald trump", "Donald Trump", [(13, 25, 0)]),
        ("在tiktok上", "在TikTok", [(0, 7, 0)]),
        ("x在tiktoks", "在TikTok", []),
    ],
)
def test_exact_spans(text: str, term: str, expected: list[tuple[int, int, int]]) -> None:
    assert spans(exact(term), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sanctions, sanctioned; unsanctioned", [(0, 9, 0), (11, 21, 0)]),
        ("sanction", [(0, 8, 0)]),
        ("“sanctionsé” 制裁", [(1, 11, 0)]),
    ],
)
def test_wildcard_runs_to_the_end_of_the_word(
    text: str, expected: list[tuple[int, int, int]]
) -> None:
    assert spans(exact("sanction", wildcard=True), text) == expected


def test_word_shape_keeps_word_characters_only() -> None:
    text = "Café—“x1” 在TikTok上, ǅ ß"
    assert word_shape(text) == " " + "".join(c if c in WORD_CHARS else " " for c in text) + " "
    assert len(word_shape(text)) == len(text) + 2


@pytest.mark.parametrize(
    "text",
    [
        "vladimir putin said",
        "vladmir putin said",
        "xvladimir putin",
        "vladimir putins",
        "the vladimir  putin",
        "vladimir putin vladimir putin",
    ],
)
def test_fuzzy_spans_are_within_the_edits_and_on_word_boundaries(text: str) -> None:
    pattern = Pattern("vladimir putin", case=False, wildcard=False, edits=2)
    for start, end, edits in spans(pattern, text):
        assert OSA.distance(pattern.text, text[start:end]) == edits <= 2
        assert start == 0 or text[start - 1] not in WORD_CHARS
        assert end == len(text) or text[end] not in WORD_CHARS
    if text.startswith("vladimir putin "):
        assert spans(pattern, text)[0] == (0, 14, 0)


def _reference(term: str, text: str) -> list[tuple[int, int, int]]:
    """The definition: word-bounded spans within one edit, fewest edits, then leftmost,
    then shortest, none overlapping."""
    bounded = [
        (a, b, OSA.distance(term, text[a:b]))
        for a in range(len(text))
        for b in range(a + 1, len(text) + 1)
        if text[a] in WORD_CHARS
        and text[b - 1] in WORD_CHARS
        and (a == 0 or text[a - 1] not in WORD_CHARS)
        and (b == len(text) or text[b] not in WORD_CHARS)
    ]
    chosen: list[tuple[int, int, int]] = []
    for a, b, d in sorted((s for s in bounded if s[2] <= 1), key=lambda s: (s[2], s[0], s[1])):
        if all(b <= c or e <= a for c, e, _ in chosen):
            chosen.append((a, b, d))
    return sorted(chosen)


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("poland", "poland polands pоland"),  # the last with a Cyrillic o: not Latin
        ("poland", "poalnd plond polland polanb"),
        ("poland", "po land, po-land, pol and, po中land"),
        ("poland", "po  land polandd poland"),
        ("poland", "洪水在polnd和polands"),
        ("poland", "poland poland poland"),
        # One edit either way: the word without its last letter wins, being shorter.
        ("americas", "america’s americas"),
    ],
)
def test_one_word_one_edit_terms_are_found_word_by_word(term: str, text: str) -> None:
    index = PatternIndex([Pattern(term, case=False, wildcard=False, edits=1)])
    for _ in range(2):  # the second time, the words are remembered
        found, _ = index.scan(text, case=False)
        assert found.get(0, []) == _reference(term, text)


def test_remembered_words_are_forgotten_in_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.rules.words.MAX_REMEMBERED", 2)
    index = PatternIndex([Pattern("poland", case=False, wildcard=False, edits=1)])
    texts = ["a b c d e polnd", "f g h i polnd poland", "polnd"]
    first = [index.scan(text, case=False)[0].get(0) for text in texts]
    assert first == [[(10, 15, 1)], [(8, 13, 1), (14, 20, 0)], [(0, 5, 1)]]
    assert [index.scan(text, case=False)[0].get(0) for text in texts] == first


def test_long_words_are_not_remembered() -> None:
    index = PatternIndex([Pattern("poland", case=False, wildcard=False, edits=1)])
    words = [f"{n:0>40}" for n in range(50)] + ["polnd", "the"]
    assert index.scan(" ".join(words), case=False)[0][0] == [(2050, 2055, 1)]
    remembered = index._words[False]._clean  # type: ignore[union-attr]
    assert remembered == {"the"}


def test_word_shape_of_latin1_text_and_of_text_beyond_it_agree() -> None:
    for text in ("café 中国 x–y “q”", "café 中国 x–y “q” ł", "ꞌpolnd ꜥamunra 中国 😀x"):
        assert word_shape(text) == " " + "".join(c if c in WORD_CHARS else " " for c in text) + " "
