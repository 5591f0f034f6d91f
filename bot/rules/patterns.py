"""Finding every term of a rule set in normalized text.

Each distinct (normalized text, case, wildcard, edits) becomes one ``Pattern``. Two
Aho-Corasick automata find them in one pass each:

- exact and wildcard patterns are keys of the first, run over the normalized text (a
  wildcard's key is its prefix), with word boundaries checked at each hit;
- fuzzy patterns are represented by their pieces (``bot.rules.pieces``) in the second,
  run over the text's word shape (every non-word character a space), with the pattern's
  boundaries as spaces, so a piece turns up only where a word could start or end. Each
  piece says where the pattern would start, give or take ``k``; a common-subsequence
  screen and then a bounded optimal-string-alignment check of that small window decide.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import ahocorasick
from rapidfuzz.distance import OSA, LCSseq

from bot.rules.pieces import fuzzy_keys
from bot.text.normalize import char_class as _char_class
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS

# (start, end, edits) in normalized text
Span = tuple[int, int, int]
PROBE = -1
_WORD_RUN = re.compile(_char_class(sorted(WORD_CHARS)) + "+")
# Runs of characters that are neither word characters nor already a space.
_NON_WORD = re.compile("[^ " + _char_class(sorted(WORD_CHARS))[1:] + "+")


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str  # normalized
    case: bool
    wildcard: bool
    edits: int
    left_bound: bool = field(init=False, compare=False)  # needs a word boundary before
    right_bound: bool = field(init=False, compare=False)  # ... and after

    def __post_init__(self) -> None:
        object.__setattr__(self, "left_bound", self.text[0] in WORD_CHARS)
        object.__setattr__(self, "right_bound", self.text[-1] in WORD_CHARS)


# How a key's hit is checked: exact with no boundary to check (CJK), exact needing word
# boundaries, or a wildcard prefix. Fuzzy pieces live in their own automaton.
_PLAIN, _BOUNDED, _WILD = range(3)


def _kind(p: Pattern) -> int:
    if p.wildcard:
        return _WILD
    return _BOUNDED if p.left_bound or p.right_bound else _PLAIN


def _blank(run: re.Match[str]) -> str:
    return " " * (run.end() - run.start())


def word_shape(text: str) -> str:
    """``text`` with every character that is not a Latin letter or digit made a space,
    padded with a space at each end: where the words of a text start and end.

    Fuzzy pieces are looked for in this shape, with the pattern's word boundaries as
    spaces, so a piece such as ``ing `` only turns up at the end of a word."""
    return " " + _NON_WORD.sub(_blank, text) + " "


def _shaped(p: Pattern) -> tuple[str, int]:
    """The pattern as fuzzy pieces see it, and how many padding spaces lead it."""
    lead = 1 if p.left_bound else 0
    return " " * lead + _NON_WORD.sub(_blank, p.text) + (" " if p.right_bound else ""), lead


class PatternIndex:
    """The patterns of a rule set and the automata that find them."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self._automata: dict[bool, ahocorasick.Automaton | None] = {}
        self._fuzzy: dict[bool, ahocorasick.Automaton | None] = {}
        for case in (False, True):
            keyed: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            pieces: dict[str, list[tuple[int, int, int, int, str, int]]] = defaultdict(list)
            for pid, p in enumerate(patterns):
                if p.case == case and p.edits:
                    shaped, lead = _shaped(p)
                    for offset, key in fuzzy_keys(shaped, p.edits):
                        # Stored: how far the pattern starts before the key, in the text.
                        # How far the pattern starts before the key in the text, the
                        # window to screen (from k before to n + 2k after that start),
                        # and the common subsequence the screen needs.
                        k, n = p.edits, len(p.text)
                        back = offset - lead + 1
                        pieces[key].append((pid, back, k, n + 2 * k, p.text, n - k))
                elif p.case == case:
                    keyed[p.text].append((pid, 0, _kind(p)))
                elif not case:
                    # A probe: the case-sensitive text is only worth making when the
                    # casefolded text holds the term in some case.
                    keyed[normalize(p.text)].append((PROBE, 0, _PLAIN))
            self._automata[case] = _build(keyed)
            self._fuzzy[case] = _build(pieces)
        # A fuzzy case-sensitive term may differ from every probe: always make that text.
        self._always_case = any(p.case and p.edits for p in patterns)

    def scan(self, text: str, case: bool) -> tuple[dict[int, list[Span]], bool]:
        """Every pattern of the given case in ``text`` with its spans, and whether a
        case-sensitive pattern may occur (only reported by the casefolded scan)."""
        found: dict[int, list[Span]] = defaultdict(list)
        automaton = self._automata[case]
        if automaton is not None and text:
            self._scan_exact(automaton, text, found)
        fuzzy = self._fuzzy[case]
        if fuzzy is not None and _WORD_RUN.search(text):
            self._scan_fuzzy(fuzzy, text, found)
        probed = self._always_case or PROBE in found
        found.pop(PROBE, None)
        return {pid: _resolve(spans) for pid, spans in found.items()}, probed

    def _scan_exact(
        self, automaton: ahocorasick.Automaton, text: str, found: dict[int, list[Span]]
    ) -> None:
        patterns = self.patterns
        size = len(text)
        for end, (length, entries) in automaton.iter(text):
            start = end + 1 - length
            for pid, _, kind in entries:
                if kind == _PLAIN:
                    span = (start, end + 1, 0)
                elif kind == _BOUNDED:
                    p = patterns[pid]
                    if (p.left_bound and start and text[start - 1] in WORD_CHARS) or (
                        p.right_bound and end + 1 < size and text[end + 1] in WORD_CHARS
                    ):
                        continue
                    span = (start, end + 1, 0)
                else:
                    p = patterns[pid]
                    if p.left_bound and start and text[start - 1] in WORD_CHARS:
                        continue
                    span = (start, _word_end(text, end + 1), 0)
                found[pid].append(span)

    def _scan_fuzzy(
        self, automaton: ahocorasick.Automaton, text: str, found: dict[int, list[Span]]
    ) -> None:
        patterns = self.patterns
        similarity = LCSseq.similarity
        for end, (length, entries) in automaton.iter(word_shape(text)):
            start = end + 1 - length
            for pid, back, k, reach, ptext, need in entries:
                origin = start - back  # where the pattern would start in ``text``
                # Each edit costs at most one character of the longest common subsequence,
                # so a window holding every candidate must share n - k characters with the
                # pattern: one cheap check that rules out nearly every chance hit. (Two
                # pieces of one true match verify twice; ``_resolve`` drops the repeat.)
                window = text[origin - k if origin > k else 0 : origin + reach]
                if similarity(ptext, window, score_cutoff=need):
                    span = _verify_fuzzy(text, patterns[pid], origin)
                    if span is not None:
                        found[pid].append(span)


def _build(keyed: dict[str, list[Any]]) -> ahocorasick.Automaton | None:
    if not keyed:
        return None
    automaton = ahocorasick.Automaton()
    for key, entries in keyed.items():
        automaton.add_word(key, (len(key), tuple(entries)))
    automaton.make_automaton()
    return automaton


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in WORD_CHARS:
        pos += 1
    return pos


def _verify_fuzzy(text: str, p: Pattern, origin: int) -> Span | None:
    """The best alignment of ``p`` starting near ``origin``, if within ``p.edits``.

    The match must start and end on a word character where the pattern does (no partial
    words), never on a space, and prefers fewer edits, then a length closer to the
    pattern's, then a start closer to where the piece put it.
    """
    k, n, size = p.edits, len(p.text), len(text)
    lo = origin - k if origin > k else 0
    best: tuple[int, int, int, int, int] | None = None
    for a in range(lo, min(origin + k, size - 1) + 1):
        c = text[a]
        if c == " " or (
            p.left_bound and (c not in WORD_CHARS or (a and text[a - 1] in WORD_CHARS))
        ):
            continue
        for b in range(max(a + n - k, a + 1), min(a + n + k, size) + 1):
            c = text[b - 1]
            if c == " " or (
                p.right_bound and (c not in WORD_CHARS or (b < size and text[b] in WORD_CHARS))
            ):
                continue
            d = OSA.distance(p.text, text[a:b], score_cutoff=k)
            if d <= k:
                rank = (d, abs(b - a - n), abs(a - origin), a, b)
                if best is None or rank < best:
                    best = rank
    return None if best is None else (best[3], best[4], best[0])


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, fewest edits first, then leftmost; returned in text order."""
    if len(spans) == 1:
        return spans
    if all(s[2] == 0 for s in spans):
        # Exact spans arrive in text order; keep each that starts after the last kept.
        spans = sorted(set(spans))
        kept = [spans[0]]
        for span in spans[1:]:
            if span[0] >= kept[-1][1]:
                kept.append(span)
        return kept
    chosen: list[Span] = []  # kept in text order; they never overlap, so ends are sorted too
    for span in sorted(set(spans), key=lambda s: (s[2], s[0], -s[1])):
        i = bisect_left(chosen, span)
        if (i == 0 or chosen[i - 1][1] <= span[0]) and (
            i == len(chosen) or span[1] <= chosen[i][0]
        ):
            chosen.insert(i, span)
    return chosen
