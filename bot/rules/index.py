"""The index of a rule set's patterns: ``PatternIndex``, finding every term in a text.

Two Aho-Corasick automata (``bot.rules.automaton``) find the patterns in one pass each:

- patterns that need no word boundary (Chinese terms) are keys of the first, run over the
  normalized text;
- every other pattern is a key of the second, run over the text's word shape
  (``bot.rules.shape``), with its word boundaries written as spaces: a key then only turns
  up where a word starts or ends, so ``an*`` is not reported, and rejected, inside every
  ``plan``. Exact patterns whose text holds other characters than word characters
  (``u.s.``) compare the text itself at each hit, since a space of the shape stands for
  any such character.
  A wildcard's key is its prefix. Fuzzy patterns of one word allowing one edit are
  looked up word by word instead (``bot.rules.words``); other fuzzy patterns are
  represented by their pieces (``bot.rules.pieces``); each piece says where the pattern
  would start, give or take ``k``, and a common-subsequence screen and then a bounded
  optimal-string-alignment check of that small window decide (``bot.rules.spans``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from rapidfuzz.distance import LCSseq

from bot.rules.automaton import Keys
from bot.rules.patterns import Pattern
from bot.rules.pieces import fuzzy_keys
from bot.rules.shape import WORD_RUN, word_shape
from bot.rules.spans import resolve_spans, verify_fuzzy, word_end
from bot.rules.words import Span, WordIndex, split_keys
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS

# What a key of the normalized text stands for: a pattern with no boundary to check
# (Chinese), or a wildcard without one (its span runs to the end of the word).
_PLAIN, _WILD_PLAIN = range(2)


class _Exact(NamedTuple):
    """An exact pattern or wildcard behind a key of the word shape (or a one-edit word's
    own form, or one of its two-word splits)."""

    wild: bool  # a wildcard: the span runs on to the end of the word
    pid: int
    shift: int  # where the pattern starts in the text, from the key's start in the shape
    size: int
    check: str | None  # the text to compare, where the shape's spaces may stand for others
    edits: int


class _Piece(NamedTuple):
    """A piece of a fuzzy pattern behind a key of the word shape: where the window to
    screen starts before the key (``ahead``) and how long it is (``reach``), the pattern's
    text and the common subsequence the screen needs, and how far the pattern would start
    before the key (``back``)."""

    ahead: int
    reach: int
    text: str
    need: int
    pid: int
    back: int


# The automaton's values hold each entry as a plain tuple of the same fields in the same
# order: a scan unpacks a few hundred of them per item, and CPython unpacks an exact tuple
# about twice as fast as a NamedTuple (whose unpacking takes the generic path).
_ExactRow = tuple[bool, int, int, int, str | None, int]
_PieceRow = tuple[int, int, str, int, int, int]
# What one key of the word shape stands for: its exact patterns and fuzzy pieces, apart.
_Shaped = tuple[tuple[_ExactRow, ...], tuple[_PieceRow, ...]]
_Plain = list[tuple[int, int]]  # (pattern id, _PLAIN or _WILD_PLAIN)


def _shaped(p: Pattern, right: bool) -> tuple[str, int]:
    """The pattern as it stands in a word shape, and how many padding spaces lead it;
    ``right``: whether its right boundary is written too."""
    lead = 1 if p.left_bound else 0
    tail = " " if right and p.right_bound else ""
    return " " * lead + word_shape(p.text)[1:-1] + tail, lead


class PatternIndex:
    """The patterns of a rule set and the automata that find them."""

    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self._plain: dict[bool, Keys[_Plain] | None] = {}
        self._shapes: dict[bool, Keys[_Shaped] | None] = {}
        self._words: dict[bool, WordIndex | None] = {}
        probes: dict[str, list[int]] = {}
        for case in (False, True):
            keyed: dict[str, _Plain] = defaultdict(list)
            # Each key of the word shape: the exact patterns and the fuzzy pieces behind it.
            shaped: dict[str, tuple[list[_Exact], list[_Piece]]] = defaultdict(lambda: ([], []))
            words: dict[int, str] = {}
            for pid, p in enumerate(patterns):
                if p.case != case:
                    if not case:
                        # A probe: the case-sensitive text is only worth making when the
                        # casefolded text holds the term in some case.
                        probes[normalize(p.text)] = []
                elif p.edits == 1 and all(c in WORD_CHARS for c in p.text):
                    # One word, one edit: looked up word by word (``bot.rules.words``),
                    # and across two words where the edit is the character between.
                    words[pid] = p.text
                    shaped[f" {p.text} "][0].append(_Exact(False, pid, 0, len(p.text), None, 0))
                    for split in split_keys(p.text):
                        shaped[f" {split} "][0].append(_Exact(False, pid, 0, len(split), None, 1))
                elif p.edits:
                    self._add_fuzzy(shaped, pid, p)
                elif p.left_bound or p.right_bound:
                    key, lead = _shaped(p, right=not p.wildcard)
                    # Whether it is a wildcard, where the key starts before the pattern in
                    # the text (the shape has one more character in front), and the text to
                    # compare, if the shape's spaces may stand for other characters.
                    check = None if all(c in WORD_CHARS for c in p.text) else p.text
                    exact = _Exact(p.wildcard, pid, lead - 1, len(p.text), check, 0)
                    shaped[key][0].append(exact)
                else:
                    keyed[p.text].append((pid, _WILD_PLAIN if p.wildcard else _PLAIN))
            self._plain[case] = Keys.build(keyed)
            self._words[case] = WordIndex(words) if words else None
            self._shapes[case] = Keys.build(
                {key: _rows(exact, pieces) for key, (exact, pieces) in shaped.items()}
            )
        self._probes = Keys.build(probes)
        # A fuzzy case-sensitive term may differ from every probe: always make that text.
        self._always_case = any(p.case and p.edits for p in patterns)

    @staticmethod
    def _add_fuzzy(
        shaped: dict[str, tuple[list[_Exact], list[_Piece]]], pid: int, p: Pattern
    ) -> None:
        key_text, lead = _shaped(p, right=True)
        k, n = p.edits, len(p.text)
        for offset, key in fuzzy_keys(key_text, k):
            # How far the pattern starts before the key in the text (``back``), how far the
            # window to screen starts before it and how long it is (from k before that
            # start to n + 2k after), and the common subsequence the screen needs.
            back = offset - lead + 1
            shaped[key][1].append(_Piece(back + k, n + 3 * k, p.text, n - k, pid, back))

    def scan(
        self, text: str, case: bool, shape: str | None = None
    ) -> tuple[dict[int, list[Span]], bool]:
        """Every pattern of the given case in ``text`` with its spans, and whether a
        case-sensitive pattern may occur (only reported by the casefolded scan).
        ``shape``: the text's ``word_shape``, when the caller has it already."""
        found: dict[int, list[Span]] = defaultdict(list)
        plain = self._plain[case]
        if plain is not None:
            self._scan_plain(plain, text, found)
        shapes, words = self._shapes[case], self._words[case]
        if (shapes is not None or words is not None) and WORD_RUN.search(text):
            shape = shape if shape is not None else word_shape(text)
            if shapes is not None:
                self._scan_shape(shapes, text, shape, found)
            if words is not None:
                words.scan(shape, found)
        probed = not case and (
            self._always_case or (self._probes is not None and bool(self._probes.find(text)))
        )
        return {pid: resolve_spans(spans) for pid, spans in found.items()}, probed

    @staticmethod
    def _scan_plain(keys: Keys[_Plain], text: str, found: dict[int, list[Span]]) -> None:
        values = keys.values
        for i, start, end in keys.find(text):
            for pid, kind in values[i]:
                stop = word_end(text, end) if kind == _WILD_PLAIN else end
                found[pid].append((start, stop, 0))

    def _scan_shape(
        self, keys: Keys[_Shaped], text: str, shape: str, found: dict[int, list[Span]]
    ) -> None:
        patterns = self.patterns
        similarity = LCSseq.similarity
        values = keys.values
        for i, start, _ in keys.find(shape):
            exact, pieces = values[i]  # ``start`` is in the shape: one more than in the text
            for ahead, reach, ptext, need, pid, back in pieces:
                # Each edit costs at most one character of the longest common subsequence,
                # so a window holding every candidate must share n - k characters with the
                # pattern: one cheap check that rules out nearly every chance hit. (Two
                # pieces of one true match verify twice; ``resolve_spans`` drops the repeat.)
                lo = start - ahead
                if similarity(ptext, text[lo if lo > 0 else 0 : lo + reach], score_cutoff=need):
                    # ``start - back``: where the pattern would start in ``text``.
                    span = verify_fuzzy(text, shape, patterns[pid], start - back)
                    if span is not None:
                        found[pid].append(span)
            for wild, pid, shift, size, check, edits in exact:
                a = start + shift
                b = a + size
                if check is not None and text[a:b] != check:
                    continue
                if wild:
                    # The word ends where the shape next has a space (it ends in one).
                    b = shape.find(" ", b + 1) - 1
                found[pid].append((a, b, edits))


def _rows(exact: list[_Exact], pieces: list[_Piece]) -> _Shaped:
    return tuple((*e,) for e in exact), tuple((*p,) for p in pieces)
