"""Text normalization for matching (DESIGN §4 step 2).

Terms and texts go through the same steps, in this order:

1. zero-width characters (U+200B–U+200D, U+2060, U+FEFF) and soft hyphens are removed
   (first, so that NFKC sees the characters they were splitting);
2. NFKC;
3. casefold (skipped for case-sensitive terms), then NFKC again where folding produced
   something NFKC would change, so the result is stable;
4. Traditional -> Simplified Chinese (OpenCC ``t2s``);
5. dashes (every Unicode ``Pd`` character), underscores and middle dots become a space;
6. runs of whitespace become one space; the ends are stripped.

``normalize_with_map`` also says, for every normalized character, which character of the
input it came from, so a hit found in normalized text maps back to the exact span the
user sees.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from functools import cache

import opencc

# A map from normalized positions to source positions; None while it is still the identity.
_Map = list[int] | None

_REMOVE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
# Middle dots: Latin/Chinese interpunct, katakana and half-width katakana dots, bullets, and
# the Taiwanese hyphenation point used between the parts of transcribed names.
_MIDDLE_DOTS = "\u00b7\u30fb\uff65\u2022\u2027\u2219\u22c5"


def _build_space_table() -> dict[int, str]:
    table = {ord(c): " " for c in "_" + _MIDDLE_DOTS}
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) == "Pd":
            table[code] = " "
    return table


_SPACE_TABLE = _build_space_table()


@cache
def _t2s() -> Callable[[str], str]:
    # One converter for the process: building it reads OpenCC's dictionaries.
    converter = opencc.OpenCC("t2s")
    convert: Callable[[str], str] = converter.convert
    return convert


def _compose(old: _Map, new: list[int]) -> list[int]:
    return new if old is None else [old[i] for i in new]


def _remove_invisible(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    if not _REMOVE.search(s):
        return s, m
    kept = [i for i, c in enumerate(s) if not _REMOVE.match(c)] if want_map else []
    return _REMOVE.sub("", s), (_compose(m, kept) if want_map else None)


def _segments(s: str) -> list[tuple[int, int]]:
    """Spans of a base character plus the combining marks that follow it."""
    spans: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(s)):
        c = s[i]
        if not unicodedata.combining(c) and not "\u1160" <= c <= "\u11ff":
            spans.append((start, i))
            start = i
    if s:
        spans.append((start, len(s)))
    return spans


def _nfkc(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    if unicodedata.is_normalized("NFKC", s):
        return s, m
    whole = unicodedata.normalize("NFKC", s)
    if not want_map:
        return whole, None
    pieces: list[str] = []
    new: list[int] = []
    for a, b in _segments(s):
        out = unicodedata.normalize("NFKC", s[a:b])
        pieces.append(out)
        new.extend([a] * len(out))
    if "".join(pieces) != whole:
        # Composition across our segments (rare scripts): map proportionally, still in order.
        new = [i * len(s) // max(len(whole), 1) for i in range(len(whole))]
    return whole, _compose(m, new)


def _casefold(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    folded = s.casefold()
    if len(folded) != len(s) and want_map:
        # Some characters fold to several (ß -> ss): every output char points at its source.
        new = [i for i, c in enumerate(s) for _ in c.casefold()]
        m = _compose(m, new)
    return _nfkc(folded, m, want_map)


def _to_simplified(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    if not _CJK_RUN.search(s):
        return s, m
    convert = _t2s()
    whole = convert(s)
    if len(whole) == len(s):
        return whole, m
    # Rare: a phrase converted to a different length. Convert run by run to keep positions.
    pieces: list[str] = []
    new: list[int] = []
    pos = 0
    for run in _CJK_RUN.finditer(s):
        pieces.append(s[pos : run.start()])
        new.extend(range(pos, run.start()))
        out = convert(run.group(0))
        pieces.append(out)
        width = run.end() - run.start()
        new.extend(
            run.start() + min(k * width // max(len(out), 1), width - 1) for k in range(len(out))
        )
        pos = run.end()
    pieces.append(s[pos:])
    new.extend(range(pos, len(s)))
    return "".join(pieces), (_compose(m, new) if want_map else None)


def _squeeze_spaces(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    s = s.translate(_SPACE_TABLE)
    out = _WHITESPACE.sub(" ", s).strip(" ")
    if len(out) == len(s) or not want_map:
        return out, m
    new: list[int] = []
    pos = 0
    for ws in _WHITESPACE.finditer(s):
        new.extend(range(pos, ws.start()))
        new.append(ws.start())
        pos = ws.end()
    new.extend(range(pos, len(s)))
    # Drop the positions of a leading and a trailing space that strip() removed.
    lead = 1 if s[:1].isspace() else 0
    new = new[lead : lead + len(out)]
    return out, _compose(m, new)


def _run(text: str, casefold: bool, want_map: bool) -> tuple[str, _Map]:
    s, m = _remove_invisible(text, None, want_map)
    s, m = _nfkc(s, m, want_map)
    if casefold:
        s, m = _casefold(s, m, want_map)
    s, m = _to_simplified(s, m, want_map)
    return _squeeze_spaces(s, m, want_map)


def normalize(text: str, *, casefold: bool = True) -> str:
    """The normalized form of ``text`` that terms and texts are compared in."""
    return _run(text, casefold, want_map=False)[0]


def normalize_with_map(text: str, *, casefold: bool = True) -> tuple[str, list[int]]:
    """Normalized text plus, for each of its characters, the index of its source character."""
    s, m = _run(text, casefold, want_map=True)
    return s, (list(range(len(s))) if m is None else m)


def source_span(text: str, index: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of ``text`` that normalized ``[start, end)`` came from (``end > start``).

    Combining marks that follow the last character belong to it, so they are included.
    """
    a = index[start]
    b = index[end - 1] + 1
    while b < len(text) and unicodedata.combining(text[b]):
        b += 1
    return a, b
