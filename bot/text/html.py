"""HTML to readable plain text (DESIGN §4 step 1): the one place markup becomes text.

Two forms, one set of rules:

- ``html_to_text``, for bodies: the result is what users read and what hit offsets point
  into, so it keeps the text as written: only tags, scripts and boilerplate go (inline
  tags vanish without a space, block tags break lines, the relay footer is cut), and
  whitespace is tidied (runs of blanks become one space, paragraphs are separated by a
  single ``\\n``);
- ``html_to_line``, for one-line values (titles, author names, a page's ``<title>``): every
  tag vanishes without a space, entities are decoded, control characters dropped and
  whitespace collapsed into one line.

Normalization for matching happens later, in ``bot.text.normalize``.
"""

from __future__ import annotations

import html as _html
import re
from html.parser import HTMLParser

# Tags that start a new line: the reader sees them as separate blocks of text.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "thead",
        "tfoot",
        "tr",
        "ul",
    }
)
# Table cells sit side by side: a space keeps "cell one" and "cell two" apart.
_CELL_TAGS = frozenset({"td", "th"})
# Content nobody reads as text: dropped together with everything inside.
_SKIP_TAGS = frozenset({"script", "style", "iframe", "noscript", "template", "object", "head"})
_VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)

# The relay footer ("获取更多RSS…" / Traditional "獲取更多RSS…") and everything after it.
_FOOTER = re.compile(r"[获獲]取更多RSS")
_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Blanks worth replacing: runs of two or more, or one that is not a plain space.
_BLANKS = re.compile(r"[^\S\n]{2,}|[^\S\n ]")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._skip_tag: str | None = None
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth:
            if tag == self._skip_tag:
                self._skip_depth += 1
            return
        if tag in _SKIP_TAGS:
            self._skip_tag, self._skip_depth = tag, 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")
            self._pre_depth += tag == "pre"
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <br/> and friends: a start tag with no content to skip.
        if not self._skip_depth and tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag == self._skip_tag:
                self._skip_depth -= 1
            return
        if tag in _BLOCK_TAGS and tag not in _VOID_TAGS:
            self.parts.append("\n")
            if tag == "pre" and self._pre_depth:
                self._pre_depth -= 1
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            # In HTML a line break in the source is just a space, except inside <pre>.
            if not self._pre_depth and ("\n" in data or "\r" in data):
                data = data.replace("\r", " ").replace("\n", " ")
            self.parts.append(data)


def tidy(text: str) -> str:
    """Collapse runs of blanks to one space and blank lines to one ``\\n``; strip the ends."""
    lines = (line.strip() for line in _BLANKS.sub(" ", text).split("\n"))
    return "\n".join(line for line in lines if line)


def tidy_line(text: str) -> str:
    """Whitespace-tidy a one-line value such as a title: every run of whitespace is a space."""
    return " ".join(text.split())


def cut_footer(text: str) -> str:
    """Remove the relay footer, from ``获取更多RSS`` to the end."""
    m = _FOOTER.search(text)
    return text[: m.start()] if m else text


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment (or of plain text, which only gets tidied)."""
    if not _TAG_LIKE.search(html):
        # Plain text: decode well-formed entities only, so "AT&T" and "R&D" stay as they are.
        text = _ENTITY.sub(lambda m: _html.unescape(m.group(0)), html)
        return tidy(cut_footer(text))
    parser = _TextCollector()
    parser.feed(html)
    parser.close()
    return tidy(cut_footer("".join(parser.parts)))


# One-line values: any tag goes; whitespace but U+3000 (CJK titles use it on purpose)
# collapses; control characters XML 1.0 forbids (lenient parsing lets a stray \x08
# through) are dropped.
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_LINE_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def html_to_line(value: str, *, unescape: bool = True, collapse: bool = True) -> str:
    """A one-line value's text: tags and comments dropped, entities decoded (when
    ``unescape``), whitespace runs collapsed to one space (when ``collapse``), trimmed."""
    text = _TAG.sub("", _drop_comments(value))
    if unescape:
        text = _html.unescape(text)
    text = _CONTROL.sub("", text)
    if collapse:
        text = _LINE_SPACE.sub(" ", text)
    return text.strip()


def page_title(page: str) -> str | None:
    """The text of an HTML page's ``<title>``, or None when it has none (or an empty one)."""
    found = _TITLE.search(page)
    return (html_to_line(found.group(1)) or None) if found else None


def _drop_comments(text: str) -> str:
    """Remove ``<!-- … -->``; an unterminated comment stays as text.

    Not a regular expression: ``<!--.*?-->`` scans to the end of the text from every
    ``<!--`` that is never closed, minutes for a title of 200 kB of them."""
    pieces: list[str] = []
    pos = 0
    while (start := text.find("<!--", pos)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        pieces.append(text[pos:start])
        pos = end + 3
    pieces.append(text[pos:])
    return "".join(pieces)
