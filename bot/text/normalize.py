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
import unicodedata
from collections.abc import Callable
from functools import cache

import opencc

# A map from normalized positions to source positions; None while it is still the identity.
_Map = list[int] | None

_REMOVE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"[^\S ]")  # whitespace other than a plain space
_SPACE_RUN = re.compile(r"  +")
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
# Middle dots: Latin/Chinese interpunct, katakana and half-width katakana dots, bullets, and
# the Taiwanese hyphenation point used between the parts of transcribed names.
_MIDDLE_DOTS = "\u00b7\u30fb\uff65\u2022\u2027\u2219\u22c5"


# Code points worth scanning for the tables below: CJK ideographs (which dominate the
# space) are all NFKC-stable and none is a dash, so they are skipped to keep import fast.
_SCAN_RANGES = ((0, 0x3400), (0xA000, 0x20000), (0x2F800, 0x2FA20))


def char_class(chars: list[str]) -> str:
    """A regex character class for ``chars``, as ranges."""
    codes = sorted(ord(c) for c in chars)
    parts: list[str] = []
    i = 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        lo, hi = re.escape(chr(codes[i])), re.escape(chr(codes[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def _build_tables() -> tuple[
    re.Pattern[str], re.Pattern[str], re.Pattern[str], frozenset[str], list[int | str]
]:
    spaces = list("_" + _MIDDLE_DOTS)
    one_to_one: list[int | str] = list(range(0x10000))  # identity, but for the entries below
    reshaping: list[str] = []  # characters NFKC turns into zero or several characters
    joining = {chr(c) for c in range(0x1160, 0x1200)}  # may compose with the char before
    for lo, hi in _SCAN_RANGES:
        for code in range(lo, hi):
            c = chr(code)
            if unicodedata.category(c) == "Pd":
                spaces.append(c)
            nfkc = unicodedata.normalize("NFKC", c)
            if len(nfkc) != 1:
                reshaping.append(c)
            elif nfkc != c and code < 0x10000:
                one_to_one[code] = nfkc
            if unicodedata.combining(c):
                joining.add(c)
            parts = unicodedata.decomposition(c).split()
            if len(parts) == 2 and not parts[0].startswith("<"):
                joining.add(chr(int(parts[1], 16)))
    # A character NFKC turns into one that composes (half-width ``ﾞ`` becomes the
    # combining voiced mark: ``ｶﾞ`` is ``ガ``) composes too.
    joining.update(chr(code) for code, to in enumerate(one_to_one) if to in joining)
    reshaping.extend(joining)
    # Beyond the BMP the classes are widened to every character: a long list of ranges
    # would make each regex step slow, and a superset only sends a few characters (emoji,
    # rare ideographs) through the careful path.
    astral = "\U00010000-\U0010ffff]"
    return (
        re.compile(char_class(spaces)),
        re.compile(char_class([c for c in reshaping if c < "\U00010000"])[:-1] + astral + "+"),
        re.compile(char_class([c for c in joining if c < "\U00010000"])[:-1] + astral),
        frozenset(joining),
        one_to_one,
    )


_SPACES, _RESHAPING, _JOINING, _JOINING_SET, _ONE_TO_ONE = _build_tables()


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


def _nfkc_detailed(s: str, a: int, b: int, out: list[str], new: list[int]) -> None:
    """NFKC of ``s[a:b]`` appended to ``out``, base by base, each char mapped to its source."""
    start = a
    for i in range(a + 1, b + 1):
        if i == b or s[i] not in _JOINING_SET:
            piece = unicodedata.normalize("NFKC", s[start:i])
            out.append(piece)
            new.extend([start] * len(piece))
            start = i


def _nfkc(s: str, m: _Map, want_map: bool) -> tuple[str, _Map]:
    if unicodedata.is_normalized("NFKC", s):
        return s, m
    # Most of what NFKC changes in news text is one character becoming one other on its
    # own (full-width punctuation, letters and digits). A table indexed by code point does
    # those in one pass, twice as fast as ``unicodedata.normalize``. Each character stays
    # compatibility-equivalent to its source, so when the result is normalized it is the
    # NFKC of ``s``, char for char; when it is not (compositions, expansions, characters
    # beyond the table), the full normalization below decides.
    same_length = s.translate(_ONE_TO_ONE)
    if unicodedata.is_normalized("NFKC", same_length):
        return same_length, m
    whole = unicodedata.normalize("NFKC", s)
    if not want_map or (len(whole) == len(s) and not _JOINING.search(s)):
        # Same length and nothing that composes: one char in, one char out, in place.
        return whole, m
    # Most characters NFKC changes become exactly one other character (full-width
    # punctuation), so between runs of characters that vanish, expand or compose, the
    # output is ``whole`` char for char. Those runs are redone one base at a time, each
    # with the character before it, which a combining mark composes with.
    new: list[int] = []
    pos = 0
    for run in _RESHAPING.finditer(s):
        a = max(run.start() - 1, pos)
        new.extend(range(pos, a))
        out: list[str] = []
        _nfkc_detailed(s, a, run.end(), out, new)
        pos = run.end()
    new.extend(range(pos, len(s)))
    if len(new) != len(whole):
        # Composition across our runs (rare scripts): map proportionally, still in order.
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
    s = _WHITESPACE.sub(" ", _SPACES.sub(" ", s))  # one space per char: same length
    out = _SPACE_RUN.sub(" ", s).strip(" ")
    if len(out) == len(s) or not want_map:
        return out, m
    new: list[int] = []
    pos = 0
    for run in _SPACE_RUN.finditer(s):
        new.extend(range(pos, run.start() + 1))
        pos = run.end()
    new.extend(range(pos, len(s)))
    # Drop the positions of a leading and a trailing space that strip() removed.
    lead = 1 if s[:1] == " " else 0
    return out, _compose(m, new[lead : lead + len(out)])


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


def normalize_both(text: str) -> tuple[tuple[str, list[int]], tuple[str, list[int]]]:
    """The case-preserving and the casefolded normalized text, each with its source map.

    Cheaper than two calls: the casefolded form is folded from the case-preserving one
    (folding touches no Chinese character and makes no space or dash, so the steps
    commute); it equals ``normalize_with_map(text)``.
    """
    cased, cmap = normalize_with_map(text, casefold=False)
    folded, fmap = _casefold(cased, None, want_map=True)
    return (cased, cmap), (folded, cmap if fmap is None else [cmap[i] for i in fmap])


def source_span(text: str, index: list[int], start: int, end: int) -> tuple[int, int]:
    """The span of ``text`` that normalized ``[start, end)`` came from (``end > start``).

    Combining marks that follow the last character belong to it, so they are included.
    """
    a = index[start]
    b = index[end - 1] + 1
    while b < len(text) and unicodedata.combining(text[b]):
        b += 1
    return a, b
