"""HTML to plain text (DESIGN §4 step 1): what users read and hits point into."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.text.html import (
    _BLOCK_TAGS,
    _SKIP_TAGS,
    _VOID_TAGS,
    cut_footer,
    html_to_line,
    html_to_text,
    page_title,
    text_start,
    tidy,
)
from bot.text.preview import PREVIEW_CHARS, PREVIEW_SOURCE_CHARS


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
        pytest.param("<img alt=\"a > b\">x<p title='>'>y", "x\ny", id="quoted-gt-in-attribute"),
        pytest.param('a<a href="u" target="_blank"" rel="n">b</a>', "ab", id="stray-quote"),
        pytest.param("<P>one</P><DIV>two<BR/>three</DIV>", "one\ntwo\nthree", id="upper-case"),
        pytest.param("a<p/>b<div />c", "a\nb\nc", id="self-closing-blocks"),
        pytest.param("a<!-- <p>hidden</p> -->b", "ab", id="comment-with-tags"),
        pytest.param("a<![CDATA[x]]>b<!DOCTYPE html><?pi x?>c", "abc", id="declarations"),
        pytest.param("a<SCRIPT>x</p>y</Script >b", "ab", id="script-any-case"),
        pytest.param("a<style>p{}", "a", id="unterminated-style"),
        pytest.param(
            "a<noscript><script>x</noscript></script>b</noscript>c", "ac", id="raw-in-skip"
        ),
        pytest.param("a</ p>b</>c", "a\nbc", id="odd-end-tags"),
        pytest.param("1 < 2 and 3 > 2<p>x", "1 < 2 and 3 > 2\nx", id="lone-angles"),
        pytest.param("<pre>a\n<pre>b\n</pre>c\n</pre>d\ne", "a\nb\nc\nd e", id="nested-pre"),
        pytest.param("a<div class=", "a<div class=", id="cut-off-tag-is-text"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        # Markup that never closes is text; each of these took minutes to hours when a
        # failed tag was retried from every "<" (the old parser: seconds).
        pytest.param("<a=" * 5000, "<a=" * 5000, id="unclosed-tags"),
        pytest.param("x<b" + "b" * 50_000, "x<b" + "b" * 50_000, id="one-long-unclosed-tag"),
        pytest.param("<!--" * 20_000 + "x", "<!--" * 20_000 + "x", id="unclosed-comments"),
        pytest.param("a" + "<![CDATA[" * 20_000 + ">b", "ab", id="unclosed-cdata"),
        pytest.param("a<!-- x -- >b<!-- y", "ab<!-- y", id="comment-then-unclosed"),
        pytest.param("取更多RSS x 获取更多RSS tail", "取更多RSS x", id="footer-after-its-tail"),
    ],
)
def test_hostile_markup_is_read_in_one_pass(html: str, expected: str) -> None:
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


class _Reference(HTMLParser):
    """The same rules read by the standard library's HTML parser, for comparison."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_tag, self.skip_depth, self.pre = "", 0, 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth += 1
        elif tag in _SKIP_TAGS:
            self.skip_tag, self.skip_depth = tag, 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            if tag == "pre":
                self.pre += 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        if not self.skip_depth and tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
        elif tag in _BLOCK_TAGS and tag not in _VOID_TAGS:
            self.parts.append("\n")
            if tag == "pre" and self.pre:
                self.pre -= 1
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data if self.pre else data.replace("\r", " ").replace("\n", " "))


def _reference_text(html: str) -> str:
    parser = _Reference()
    parser.feed(html)
    parser.close()
    return tidy(cut_footer("".join(parser.parts)))


def test_real_articles_read_as_an_html_parser_reads_them(archive_dir: Path) -> None:
    # Every body of the archive, whole and cut where watch previews cut it.
    text = (archive_dir / "items.jsonl").read_text(encoding="utf-8")
    bodies = [str(json.loads(line).get("html") or "") for line in text.split("\n") if line.strip()]
    assert len(bodies) > 500
    for body in bodies + [
        b[:PREVIEW_SOURCE_CHARS] for b in bodies if len(b) > PREVIEW_SOURCE_CHARS
    ]:
        if "<" in body:
            expected = _reference_text(body)
            assert html_to_text(body) == expected
            assert text_start(body, PREVIEW_CHARS) == expected[:PREVIEW_CHARS]


@given(st.one_of(_MARKUP, st.text()), st.integers(min_value=0, max_value=60))
def test_the_start_of_the_text_is_the_start_of_the_whole_text(html: str, chars: int) -> None:
    assert text_start(html, chars) == html_to_text(html)[:chars]


def test_the_start_of_the_text_never_keeps_half_a_footer() -> None:
    # Reading stops once there is text enough; a footer split by a tag may straddle that.
    for chars in range(20, 45):
        for html in (f"<p>{'x' * 30}获取<b>更多RSS</b> tail", f"<p>{'x' * 30}</p>獲<i>取更多RSS"):
            assert text_start(html, chars) == html_to_text(html)[:chars]


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
