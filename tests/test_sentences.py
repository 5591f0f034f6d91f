"""Sentence splitting on Chinese, English and mixed news text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.text.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_chinese_terminators_keep_closing_quotes() -> None:
    text = "普京说：“我们会回应。”他还说，条约有效！真的吗？是的……好"
    assert sentences(text) == [
        "普京说：“我们会回应。”",
        "他还说，条约有效！",
        "真的吗？",
        "是的……",
        "好",
    ]


def test_semicolon_and_brackets_close_a_chinese_sentence() -> None:
    assert sentences("第一条；（第二条。）第三条") == ["第一条；", "（第二条。）", "第三条"]


def test_english_abbreviations_do_not_end_sentences() -> None:
    text = "Mr. Smith met Dr. Jones in the U.S. Capitol on Jan. 5. They talked. J. Doe left."
    assert sentences(text) == [
        "Mr. Smith met Dr. Jones in the U.S. Capitol on Jan. 5.",
        "They talked.",
        "J. Doe left.",
    ]


def test_decimals_urls_and_lowercase_continuations_stay_whole() -> None:
    text = "Prices rose 3.5% at example.com/a?b=1 today, e.g. in shops. Next one"
    assert sentences(text) == [
        "Prices rose 3.5% at example.com/a?b=1 today, e.g. in shops.",
        "Next one",
    ]


def test_newlines_end_sentences_and_blank_lines_vanish() -> None:
    assert sentences("标题一\n\n  Second line without stop  \n第三段。") == [
        "标题一",
        "Second line without stop",
        "第三段。",
    ]


def test_latin_stop_before_chinese_text_ends_the_sentence() -> None:
    assert sentences("He agreed.他没有回答。") == ["He agreed.", "他没有回答。"]


def test_quoted_english_sentence() -> None:
    assert sentences('He said "stop." Then he left?! Fine.') == [
        'He said "stop."',
        "Then he left?!",
        "Fine.",
    ]


@given(st.text())
def test_spans_are_ordered_trimmed_and_inside_the_text(text: str) -> None:
    previous_end = 0
    for start, end in split_sentences(text):
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end


@given(st.text(alphabet="abc 。.!?\n”U.S"))
def test_every_non_space_character_is_in_some_sentence(text: str) -> None:
    covered = set()
    for start, end in split_sentences(text):
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
