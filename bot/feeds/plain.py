"""Small HTML -> plain text for titles and author names (not for bodies: bodies stay HTML)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(?:[A-Za-z][^<>]*|/[A-Za-z][^<>]*|!--.*?--)>", re.DOTALL)
_SPACE = re.compile(r"\s+")


def html_to_plain(value: str, *, unescape: bool = True) -> str:
    """Drop tags, decode entities (when ``unescape``), collapse whitespace to one space."""
    text = _TAG.sub("", value)
    if unescape:
        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()
