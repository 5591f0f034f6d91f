"""Finding every term of a rule set in normalized text, in one automaton pass.

Each distinct (normalized text, case, wildcard, edits) becomes one ``Pattern``. An
Aho-Corasick automaton holds, per pattern, the keys that lead to it:

- an exact or wildcard pattern is its own key (a wildcard's key is its prefix);
- a fuzzy pattern allowing ``k`` edits is split into ``k + 1`` pieces: an alignment with
  at most ``k`` edits leaves one piece verbatim, except that a swap of two neighbours
  across a piece border damages two pieces with one edit; for each border the pattern
  with that swap applied contributes its own pieces for ``k - 1`` edits. Each key carries
  its offset in the pattern, so a hit on it says where the pattern would start (give or
  take ``k``), and a bounded optimal-string-alignment check of that small window decides.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

import ahocorasick
from rapidfuzz.distance import OSA

from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS

# (start, end, edits) in normalized text
Span = tuple[int, int, int]
PROBE = -1


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str  # normalized
    case: bool
    wildcard: bool
    edits: int

    @property
    def left_bound(self) -> bool:
        return self.text[0] in WORD_CHARS

    @property
    def right_bound(self) -> bool:
        return self.text[-1] in WORD_CHARS


def _split(text: str, parts: int) -> list[tuple[int, str]]:
    """``parts`` adjacent pieces of ``text`` of near-equal length, with their offsets."""
    size, extra = divmod(len(text), parts)
    pieces: list[tuple[int, str]] = []
    pos = 0
    for i in range(parts):
        width = size + (1 if i < extra else 0)
        pieces.append((pos, text[pos : pos + width]))
        pos += width
    return pieces


def fuzzy_keys(text: str, edits: int) -> set[tuple[int, str]]:
    """Keys of which every string within ``edits`` OSA edits of ``text`` holds one verbatim."""
    if edits == 0 or len(text) <= edits:
        return {(0, text)}
    pieces = _split(text, edits + 1)
    keys = {p for p in pieces if p[1].strip()}
    for offset, _ in pieces[1:]:
        swapped = text[: offset - 1] + text[offset] + text[offset - 1] + text[offset + 1 :]
        keys |= fuzzy_keys(swapped, edits - 1)
    if len(keys) < len(pieces):  # a piece was only spaces: fall back to the whole text
        keys.add((0, text))
    return keys


# How a key's hit is checked: exact with no boundary to check (CJK), exact needing word
# boundaries, a wildcard prefix, or a piece of a fuzzy pattern.
_PLAIN, _BOUNDED, _WILD, _FUZZY = range(4)


def _kind(p: Pattern) -> int:
    if p.edits:
        return _FUZZY
    if p.wildcard:
        return _WILD
    return _BOUNDED if p.left_bound or p.right_bound else _PLAIN


class PatternIndex:
    """The patterns of a rule set and the automata that find them."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self._automata: dict[bool, ahocorasick.Automaton | None] = {}
        for case in (False, True):
            keyed: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for pid, p in enumerate(patterns):
                if p.case == case:
                    for offset, key in fuzzy_keys(p.text, p.edits):
                        keyed[key].append((pid, offset, _kind(p)))
                elif not case:
                    # A probe: the case-sensitive text is only worth making when the
                    # casefolded text holds the term in some case.
                    keyed[normalize(p.text)].append((PROBE, 0, _PLAIN))
            self._automata[case] = _build(keyed)

    def scan(self, text: str, case: bool) -> tuple[dict[int, list[Span]], bool]:
        """Every pattern of the given case in ``text`` with its spans, and whether a
        case-sensitive pattern may occur (only reported by the casefolded scan)."""
        automaton = self._automata[case]
        if automaton is None or not text:
            return {}, False
        found: dict[int, list[Span]] = {}
        tried: set[tuple[int, int]] = set()
        patterns = self.patterns
        size = len(text)
        for end, (length, entries) in automaton.iter(text):
            start = end + 1 - length
            for pid, offset, kind in entries:
                if kind == _PLAIN:
                    span = (start, end + 1, 0)
                elif kind == _BOUNDED:
                    p = patterns[pid]
                    if (p.left_bound and start and text[start - 1] in WORD_CHARS) or (
                        p.right_bound and end + 1 < size and text[end + 1] in WORD_CHARS
                    ):
                        continue
                    span = (start, end + 1, 0)
                elif kind == _WILD:
                    p = patterns[pid]
                    if p.left_bound and start and text[start - 1] in WORD_CHARS:
                        continue
                    span = (start, _word_end(text, end + 1), 0)
                else:
                    origin = start - offset
                    if (pid, origin) in tried:
                        continue
                    tried.add((pid, origin))
                    fuzzy = _verify_fuzzy(text, patterns[pid], origin)
                    if fuzzy is None:
                        continue
                    span = fuzzy
                found.setdefault(pid, []).append(span)
        probed = PROBE in found
        found.pop(PROBE, None)
        return {pid: _resolve(spans) for pid, spans in found.items()}, probed


def _build(keyed: dict[str, list[tuple[int, int, int]]]) -> ahocorasick.Automaton | None:
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
    best: tuple[int, int, int, int, int] | None = None
    for a in range(max(origin - k, 0), min(origin + k, size - 1) + 1):
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
