"""Sentence splitting for mixed Chinese and English news text.

``split_sentences`` returns ``(start, end)`` spans into the text it was given, so callers can
map match offsets onto sentences without copying. Spans never include the whitespace around
a sentence. The rules, in order:

- a newline always ends a sentence (paragraphs arrive one per line);
- CJK terminators ``。！？；…`` end a sentence wherever they stand, together with any closing
  quotes or brackets right after them (``他说：“好。”`` is one sentence);
- ``.``, ``!`` and ``?`` end a sentence only when followed by whitespace, the end of the text
  or a CJK character, and ``.`` not after a known abbreviation (``Mr.``, ``U.S.``, ``Jan.``),
  a single initial (``J. Smith``) or before a lowercase word (``e.g. this``).
"""

from __future__ import annotations

import re
from collections.abc import Container

__all__ = ["split_sentences"]

_CJK_TERMINATORS = frozenset("。！？；…｡")
_LATIN_TERMINATORS = frozenset(".!?")
_CLOSERS = frozenset("\"'”’」』）)》】〕]〉»›")

# Lowercased, without the final dot. Dotted forms (u.s, e.g) are matched whole.
_ABBREVIATION_LIST = """
    mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep pres rev hon
    vs etc al approx dept est fig no nos vol pp inc ltd co corp bros jan feb mar apr jun
    jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k u.n e.u e.g i.e a.m
    p.m u.s.a d.c ph.d
"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_LIST.split())
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x3000 <= code <= 0x9FFF  # punctuation, kana, CJK unified
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x3FFFF
    )


def _skip_closers(text: str, i: int) -> int:
    while i < len(text) and text[i] in _CLOSERS:
        i += 1
    return i


def _is_abbreviation(text: str, dot: int) -> bool:
    m = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    if not m:
        return False
    word = m.group(1)
    if len(word) == 1 and word.isupper():
        return True  # an initial: "J. Smith"
    return word.lower().strip(".") in _ABBREVIATIONS


def _latin_break(text: str, term: int, after: int) -> bool:
    """Whether the Latin terminator at ``term`` (closers end at ``after``) ends a sentence."""
    if after < len(text):
        nxt = text[after]
        if not (nxt.isspace() or _is_cjk(nxt)):
            return False
    if text[term] != ".":
        return True
    if _is_abbreviation(text, term):
        return False
    rest = text[after : after + 40].lstrip(" \t")
    return not (rest[:1].islower())


def _sentence_ends(text: str) -> list[int]:
    """Indices just past each sentence end (closers included), in order."""
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            ends.append(i)
            i += 1
            continue
        if ch in _CJK_TERMINATORS:
            j = _skip_closers(text, _run_end(text, i, _CJK_TERMINATORS))
            ends.append(j)
            i = j
            continue
        if ch in _LATIN_TERMINATORS:
            k = _run_end(text, i, _LATIN_TERMINATORS)
            j = _skip_closers(text, k)
            if _latin_break(text, k - 1, j):
                ends.append(j)
            i = j
            continue
        i += 1
    return ends


def _run_end(text: str, i: int, terminators: Container[str]) -> int:
    """Past the run of terminators at ``i``: "！？", "……", "?!" and "..." end once."""
    i += 1
    while i < len(text) and text[i] in terminators:
        i += 1
    return i


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split ``text`` into sentence spans ``(start, end)``, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for end in [*_sentence_ends(text), len(text)]:
        span = _trimmed(text, start, end)
        if span:
            spans.append(span)
        start = end
    return spans
