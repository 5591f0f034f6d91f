"""Small HTML -> plain text for titles and author names (not for bodies: bodies stay HTML)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_SPACE = re.compile(r"[ \t\r\n\f\v]+")  # not U+3000: CJK titles use it on purpose
# Control characters XML 1.0 forbids; lenient parsing lets them through (a stray \x08).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def html_to_plain(value: str, *, unescape: bool = True, collapse: bool = True) -> str:
    """Drop tags, decode entities (when ``unescape``), collapse whitespace runs to one
    space (when ``collapse``) and trim."""
    text = _TAG.sub("", _drop_comments(value))
    if unescape:
        text = html.unescape(text)
    text = _CONTROL.sub("", text)
    if collapse:
        text = _SPACE.sub(" ", text)
    return text.strip()


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
