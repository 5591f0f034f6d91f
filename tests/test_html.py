"""HTML to plain text (DESIGN §4 step 1): what users read and hits point into."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text.html import html_to_line, html_to_text, page_title


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("Pom<b>peo</b> said", "Pompeo said", id="inline-tag-no-space"),
        pytest.param("<p>one</p><p>two</p>", "one\ntwo", id="paragraphs-break"),
        pytest.param("a<br>b<br/>c", "a\nb\nc", id="br-breaks"),
        pytest.param("<ul><li>x</li><li>y</li></ul>", "x\ny", id="list-items"),
        pytest.param("<h2>Head</h2>body", "Head\nbody", id="heading"),
        pytest.param("<div>a<div>b</div></div>", "a\nb", id="nested-blocks"),
        pytest.param("x<script>var a = '<p>1</p>';</script>y", "xy", id="script-dropped"),
        pytest.param("x<style>p {color: red}</style>y", "xy", id="style-dropped"),
        pytest.param('x<iframe src="v">fallback</iframe>y', "xy", id="iframe-dropped"),
        pytest.param("R&amp;D &lt;Q3&gt; &#26222;&#20140;", "R&D <Q3> 普京", id="entities"),
        pytest.param("<p>  a \n  b  </p>\n\n<p> c</p>", "a b\nc", id="whitespace-tidied"),
        pytest.param("正文<p>获取更多RSS：https://feedx.net</p>", "正文", id="relay-footer"),
        pytest.param("正文<p>獲取更多RSS：x</p><p>more</p>", "正文", id="relay-footer-trad"),
        pytest.param("AT&T and R&D", "AT&T and R&D", id="plain-text-ampersands"),
        pytest.param("plain  text\n\n\nnext", "plain text\nnext", id="plain-text-tidied"),
        pytest.param("<table><tr><td>a</td><td>b</td></tr></table>", "a b", id="table-cells"),
        pytest.param("<pre>a\nb</pre>", "a\nb", id="pre-keeps-lines"),
        pytest.param("<p>unclosed <b>bold", "unclosed bold", id="unclosed-tags"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


def test_long_chinese_body_keeps_every_character() -> None:
    body = "俄罗斯总统普京和朝鲜领导人金正恩签署条约。" * 250
    assert html_to_text(f"<div><p>{body}</p></div>") == body


_MARKUP = st.lists(
    st.sampled_from(
        [
            "<p>",
            "</p>",
            "<br/>",
            "<b>",
            "</b>",
            "<script>",
            "</script>",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&#26222;",
            "&bogus;",
            "<",
            ">",
            "&",
            "\n",
            " ",
            "\u3000",
            "普京",
            "Putin",
            "获取更多RSS",
            "<div class='x'>",
            "</div>",
            "<a href=",
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(_MARKUP, st.text()))
def test_any_input_gives_tidy_text(html: str) -> None:
    text = html_to_text(html)
    assert text == text.strip()
    assert "\n\n" not in text and "  " not in text
    assert "获取更多RSS" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("Pom<b>peo</b> said", "Pompeo said", id="inline-tag-no-space"),
        pytest.param("R&amp;D &lt;Q3&gt;", "R&D <Q3>", id="entities"),
        pytest.param("a <!-- note --> b", "a b", id="comment-dropped"),
        pytest.param("a <!-- open b", "a <!-- open b", id="unterminated-comment-stays"),
        pytest.param(" one\n\ttwo  ", "one two", id="one-line"),
        pytest.param("台湾\u3000军演", "台湾\u3000军演", id="ideographic-space-kept"),
        pytest.param("bell\x08 rings", "bell rings", id="control-character-dropped"),
        pytest.param("x < y > z", "x < y > z", id="not-a-tag"),
    ],
)
def test_html_to_line(value: str, expected: str) -> None:
    assert html_to_line(value) == expected


def test_html_to_line_can_keep_entities_and_whitespace() -> None:
    assert html_to_line("<i>AT&amp;T</i>  x", unescape=False) == "AT&amp;T x"
    assert html_to_line(" a\n b ", collapse=False) == "a\n b"


def test_a_page_title() -> None:
    page = "<html><head><TITLE lang=en>R&amp;D <b>Q3</b>\n news</TITLE></head></html>"
    assert page_title(page) == "R&D Q3 news"
    assert page_title("<html><title> </title></html>") is None
    assert page_title("<html><body>no title</body></html>") is None
