"""Normalization (DESIGN §4 step 2): what terms and texts are compared in."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.normalize import (
    _nfkc,
    normalize,
    normalize_both,
    normalize_with_map,
    source_span,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Kim Jong-un", "kim jong un", id="hyphen-becomes-space"),
        pytest.param("Kim Jong—un", "kim jong un", id="em-dash-becomes-space"),
        pytest.param("Kim\u2010Jong\u2011un", "kim jong un", id="unicode-hyphens"),
        pytest.param("弗拉基米尔·普京", "弗拉基米尔 普京", id="middle-dot"),
        pytest.param("索菲・理查森", "索菲 理查森", id="katakana-middle-dot"),
        pytest.param("snake_case", "snake case", id="underscore"),
        pytest.param("Ｔｒｕｍｐ", "trump", id="full-width-latin"),
        pytest.param("２０２４年", "2024年", id="full-width-digits"),
        pytest.param("Pu\u200btin", "putin", id="zero-width-space"),
        pytest.param("Pu\u00adtin", "putin", id="soft-hyphen"),
        pytest.param("\ufeffPu\u2060tin\u200d", "putin", id="bom-and-word-joiner"),
        pytest.param(
            "普丁與金正恩簽署條約", "普丁与金正恩签署条约", id="traditional-to-simplified"
        ),
        pytest.param("臺灣", "台湾", id="tai-variant"),
        pytest.param("  a \t\n\u3000 b  ", "a b", id="whitespace-runs"),
        pytest.param("STRASSE Straße", "strasse strasse", id="casefold-eszett"),
        pytest.param("cafe\u0301", "café", id="combining-accent-composed"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_case_kept_when_asked() -> None:
    assert normalize("ＵＳ–China", casefold=False) == "US China"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("Mr Pu\u200btin said", "putin", id="zero-width-inside"),
        pytest.param("總統普丁表示", "普丁", id="traditional"),
        pytest.param("the  Ｔｒｕｍｐ\u3000camp", "trump", id="full-width"),
        pytest.param("Straße  Kim Jong-un", "kim jong un", id="after-expansion"),
        pytest.param("\n\n  lead  Putin", "putin", id="leading-blanks"),
        pytest.param("ｶﾞｽ Putin", "putin", id="after-half-width-voiced-kana"),
    ],
)
def test_map_points_back_to_the_source_span(text: str, needle: str) -> None:
    norm, index = normalize_with_map(text)
    at = norm.index(needle)
    start, end = source_span(text, index, at, at + len(needle))
    assert normalize(text[start:end]) == needle
    # The span is tight: nothing visible before or after the name is included.
    assert not text[start].isspace() and not text[end - 1].isspace()


_ALPHABET = st.sampled_from(
    [
        *"abcXYZ普丁與臺灣条約ß-—_·・ \t\n\u3000",
        *["\u200b", "\u00ad", "\ufeff", "\u0301", "ﬁ", "Ａ", "①", "Ⅻ", "İ", "ǰ", "ᾈ", "㍿"],
        "\u1160",
        *"ｶﾞﾟﾊ，１２…",
    ]
)
_TEXT = st.one_of(st.text(), st.text(alphabet=_ALPHABET))


@settings(deadline=None)
@given(_TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(deadline=None)
@given(_TEXT, st.booleans())
def test_map_agrees_with_normalize(text: str, casefold: bool) -> None:
    norm, index = normalize_with_map(text, casefold=casefold)
    assert norm == normalize(text, casefold=casefold)
    assert len(index) == len(norm)
    assert index == sorted(index)
    assert all(0 <= i < len(text) for i in index)


@settings(deadline=None)
@given(_TEXT)
def test_both_forms_agree_with_normalize(text: str) -> None:
    (cased, cmap), (folded, fmap) = normalize_both(text)
    assert (cased, cmap) == normalize_with_map(text, casefold=False)
    assert folded == normalize(text)
    assert len(fmap) == len(folded) and fmap == sorted(fmap)


@settings(deadline=None)
@given(_TEXT)
def test_nfkc_step_is_nfkc(text: str) -> None:
    # The step's table shortcut must give exactly what Unicode's NFKC gives.
    assert _nfkc(text, None, want_map=False)[0] == unicodedata.normalize("NFKC", text)
