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
from collections.abc import Iterator

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
_FOOTER_HEADS, _FOOTER_TAIL = "获獲", "取更多RSS"
_FOOTER_MARGIN = 1 + len(_FOOTER_TAIL) + 1  # a footer's start and a space before it
_TAG_LIKE = re.compile(r"<[A-Za-z/!?]")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


# One piece of markup. A start tag's attributes may hold ">" inside quotes; a quote opens a
# value only after "=" (as browsers read ``target="_blank""``, a stray quote is just a
# character). Every repeat is possessive: a tag that does not close fails at once, with no
# backtracking through its name or attributes. What is not a tag follows how HTML parsers
# treat it: comments (closed by ``--`` and ``>``) and CDATA sections are found by their
# opening, and their end apart (``_CLOSERS``); declarations, processing instructions and
# bogus end tags vanish; a "<" that starts none of these is text.
_NAME = r"[a-zA-Z][^\t\n\r\f />\x00]*+"
_MARKUP = re.compile(
    r"<(?:"
    rf"({_NAME})((?:[^>=]++|=\s*+(?:\"[^\"]*+\"|'[^']*+')|=)*+)>"  # 1 start tag, 2 attributes
    rf"|/\s*({_NAME})[^>]*+>"  # 3 end tag
    r"|!(--|\[CDATA\[)"  # 4 a comment or CDATA section opens
    r"|[!?/][^>]*+>"
    r")"
)
_START, _END, _OPENS = 2, 3, 4  # ``Match.lastindex`` of each kind
_CLOSERS = {"--": re.compile(r"--\s*>"), "[CDATA[": re.compile(r"\]\]>")}
# Raw text: their content is not markup and runs to the matching end tag (or the end).
_RAW_END = {tag: re.compile(rf"</\s*{tag}\s*>", re.I) for tag in ("script", "style")}


def _pieces(html: str) -> Iterator[str]:
    """The text of ``html`` piece by piece, with a line break per block tag and a space per
    table cell.

    One regular expression finds the markup and a short loop handles the tags that
    matter, several times faster than ``html.parser`` (which also tracks line numbers
    and parses every attribute) on article-sized bodies. Linear in the length of the
    text, whatever it holds: every piece of markup ends at a ">", so the search stops at
    the last one, and a comment or CDATA section that never closes is looked for once."""
    pos = 0
    skip_tag, skip_depth, pre_depth = "", 0, 0
    search, end = _MARKUP.search, html.rfind(">") + 1
    unclosed: dict[str, int] = {}  # where looking for each closer found none to the end
    while (m := search(html, pos, end)) is not None:
        start = m.start()
        if start > pos and not skip_depth:
            yield _data(html[pos:start], pre_depth)
        pos = m.end()
        kind = m.lastindex
        if kind == _OPENS:
            pos = _past_closer(html, pos, m.group(4), unclosed)
        elif kind == _START:
            tag = m.group(1).lower()
            if m.group(2).endswith("/"):  # <br/>: nothing inside, nothing to skip
                if not skip_depth and tag in _BLOCK_TAGS:
                    yield "\n"
            elif tag in _RAW_END:
                found = _RAW_END[tag].search(html, pos)
                pos = found.end() if found else len(html)
            elif skip_depth:
                if tag == skip_tag:  # nested: <iframe><iframe>…</iframe> still skipped
                    skip_depth += 1
            elif tag in _SKIP_TAGS:
                skip_tag, skip_depth = tag, 1
            elif tag in _BLOCK_TAGS:
                yield "\n"
                pre_depth += tag == "pre"
            elif tag in _CELL_TAGS:
                yield " "
        elif kind == _END:
            tag = m.group(3).lower()
            if skip_depth:
                if tag == skip_tag:
                    skip_depth -= 1
            elif tag in _BLOCK_TAGS and tag not in _VOID_TAGS:
                yield "\n"
                if tag == "pre" and pre_depth:
                    pre_depth -= 1
            elif tag in _CELL_TAGS:
                yield " "
    if pos < len(html) and not skip_depth:
        yield _data(html[pos:], pre_depth)


def _past_closer(html: str, pos: int, opener: str, unclosed: dict[str, int]) -> int:
    """Where the comment or CDATA section opened before ``pos`` ends. One that never
    closes is a bogus declaration: it ends at the next ">" (there is one: the search
    stops at the last)."""
    if pos < unclosed.get(opener, len(html) + 1):
        found = _CLOSERS[opener].search(html, pos)
        if found is not None:
            return found.end()
        unclosed[opener] = pos
    return html.index(">", pos) + 1


def _data(text: str, pre_depth: int) -> str:
    """Text between tags: entities decoded; a line break in the source is just a space in
    HTML, except inside ``<pre>``."""
    if "&" in text:
        text = _html.unescape(text)
    if not pre_depth and ("\n" in text or "\r" in text):
        text = text.replace("\r", " ").replace("\n", " ")
    return text


def tidy(text: str) -> str:
    """Collapse runs of blanks to one space and blank lines to one ``\\n``; strip the ends."""
    # ``str.split()`` splits at exactly the characters ``str.strip()`` and ``\s`` call blank.
    return "\n".join(" ".join(words) for line in text.split("\n") if (words := line.split()))


def tidy_line(text: str) -> str:
    """Whitespace-tidy a one-line value such as a title: every run of whitespace is a space."""
    return " ".join(text.split())


def cut_footer(text: str) -> str:
    """Remove the relay footer, from ``获取更多RSS`` to the end."""
    at = text.find(_FOOTER_TAIL)
    while at != -1:
        if at and text[at - 1] in _FOOTER_HEADS:
            return text[: at - 1]
        at = text.find(_FOOTER_TAIL, at + 1)
    return text


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment (or of plain text, which only gets tidied)."""
    if not _TAG_LIKE.search(html):
        return _readable(_plain_entities(html))
    return _readable("".join(_pieces(html)))


def _plain_entities(text: str) -> str:
    """Plain text's entities: well-formed ones only, so "AT&T" and "R&D" stay as they are."""
    return _ENTITY.sub(lambda m: _html.unescape(m.group(0)), text)


def _readable(raw: str) -> str:
    """Raw text as users read it: the relay footer cut, whitespace tidied."""
    return tidy(cut_footer(raw))


def text_start(html: str, chars: int) -> str:
    """``html_to_text(html)[:chars]``, reading no further into the markup than it needs.

    Text grows piece by piece; once what is read so far, made readable, is longer than
    ``chars`` by more than a footer cut in two, the rest cannot change its start (tidying
    only ever appends, and a footer that begins in what was read is cut there)."""
    if not _TAG_LIKE.search(html):
        return _readable(_plain_entities(html))[:chars]
    parts: list[str] = []
    size = 0
    check_at = chars + _FOOTER_MARGIN
    for piece in _pieces(html):
        parts.append(piece)
        size += len(piece)
        if size >= check_at:
            text = _readable("".join(parts))
            if len(text) >= chars + _FOOTER_MARGIN:
                return text[:chars]
            check_at = size + chars + _FOOTER_MARGIN - len(text)
    return _readable("".join(parts))[:chars]


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
