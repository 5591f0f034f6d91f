"""Finding every term of a rule set in normalized text.

Each distinct (normalized text, case, wildcard, edits) becomes one ``Pattern``. Two
Aho-Corasick automata find them in one pass each:

- patterns that need no word boundary (Chinese terms) are keys of the first, run over the
  normalized text;
- every other pattern is a key of the second, run over the text's word shape (every
  character that is not a Latin letter or digit made a space, see ``word_shape``), with
  its word boundaries written as spaces: a key then only turns up where a word starts or
  ends, so ``an*`` is not reported, and rejected, inside every ``plan``. Exact patterns
  whose text holds other characters than word characters (``u.s.``) compare the text
  itself at each hit, since a space of the shape stands for any such character.
  A wildcard's key is its prefix. Fuzzy patterns of one word allowing one edit are
  looked up word by word instead (``bot.rules.words``); other fuzzy patterns are
  represented by their pieces (``bot.rules.pieces``); each piece says where the pattern
  would start, give or take ``k``, and a common-subsequence screen and then a bounded
  optimal-string-alignment check of that small window decide.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

from ahocorasick_rs import AhoCorasick, Implementation, MatchKind
from rapidfuzz.distance import OSA, LCSseq

from bot.rules.pieces import fuzzy_keys
from bot.rules.words import Span, WordIndex, split_keys
from bot.text.normalize import char_class as _char_class
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS

V = TypeVar("V")
_WORD_RUN = re.compile(_char_class(sorted(WORD_CHARS)) + "+")


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

# The word shape is made by C loops alone where it can be: encoded as Latin-1, every
# character beyond it becomes a ``?`` (one byte for one character, so offsets hold), and a
# byte table makes every byte that is not a word character a space. Latin letters beyond
# Latin-1 (``ł``, ``ğ``) would be lost that way; texts holding one take the slower path:
# runs of non-ASCII characters that are not word characters (Chinese, curly quotes) are
# blanked by a regex, then ASCII ones by a byte table over the UTF-8 bytes (bytes of 0x80
# and up, which is every byte of the Latin letters left, stay).
_LATIN1_SHAPE = bytes(c if chr(c) in WORD_CHARS else 0x20 for c in range(256))
_WIDE_WORD_CHAR = re.compile(_char_class([c for c in WORD_CHARS if c > "\xff"]))
# Every non-ASCII character of the BMP that is not a word character (Latin letters reach
# up to U+FB06), and everything beyond the BMP, where no Latin letter survives NFKC.
_NON_ASCII_NON_WORD = re.compile(
    _char_class([chr(c) for c in range(0x80, 0x10000) if chr(c) not in WORD_CHARS])[:-1]
    + "\U00010000-\U0010ffff]+"
)
_ASCII_SHAPE = bytes(c if c >= 0x80 or chr(c) in WORD_CHARS else 0x20 for c in range(256))


def _blank(run: re.Match[str]) -> str:
    return " " * (run.end() - run.start())


def word_shape(text: str) -> str:
    """``text`` with every character that is not a Latin letter or digit made a space,
    padded with a space at each end: where the words of a text start and end.

    Keys of patterns that need word boundaries are looked for in this shape, with the
    boundaries as spaces, so a piece such as ``ing `` only turns up at the end of a word."""
    if not _WIDE_WORD_CHAR.search(text):
        shape = text.encode("latin-1", "replace").translate(_LATIN1_SHAPE).decode("latin-1")
        return " " + shape + " "
    text = _NON_ASCII_NON_WORD.sub(_blank, text)
    return " " + text.encode().translate(_ASCII_SHAPE).decode() + " "


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
        self._plain: dict[bool, _Keys[_Plain] | None] = {}
        self._shapes: dict[bool, _Keys[_Shaped] | None] = {}
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
            self._plain[case] = _Keys.build(keyed)
            self._words[case] = WordIndex(words) if words else None
            self._shapes[case] = _Keys.build(
                {key: _rows(exact, pieces) for key, (exact, pieces) in shaped.items()}
            )
        self._probes = _Keys.build(probes)
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
        if (shapes is not None or words is not None) and _WORD_RUN.search(text):
            shape = shape if shape is not None else word_shape(text)
            if shapes is not None:
                self._scan_shape(shapes, text, shape, found)
            if words is not None:
                words.scan(shape, found)
        probed = not case and (
            self._always_case or (self._probes is not None and bool(self._probes.find(text)))
        )
        return {pid: _resolve(spans) for pid, spans in found.items()}, probed

    @staticmethod
    def _scan_plain(keys: _Keys[_Plain], text: str, found: dict[int, list[Span]]) -> None:
        values = keys.values
        for i, start, end in keys.find(text):
            for pid, kind in values[i]:
                stop = _word_end(text, end) if kind == _WILD_PLAIN else end
                found[pid].append((start, stop, 0))

    def _scan_shape(
        self, keys: _Keys[_Shaped], text: str, shape: str, found: dict[int, list[Span]]
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
                # pieces of one true match verify twice; ``_resolve`` drops the repeat.)
                lo = start - ahead
                if similarity(ptext, text[lo if lo > 0 else 0 : lo + reach], score_cutoff=need):
                    # ``start - back``: where the pattern would start in ``text``.
                    span = _verify_fuzzy(text, shape, patterns[pid], start - back)
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


class _Keys(Generic[V]):
    """Keys, what each stands for, and the automaton that finds them all, overlapping.

    The automaton (the Rust ``aho-corasick`` crate, as a DFA) walks the text's UTF-8 bytes
    in compiled code and hands back every hit at once, with character offsets: about
    twice as fast as stepping an automaton from Python, hit by hit, and its states stay
    small however many Chinese characters the keys start with."""

    __slots__ = ("automaton", "values")

    def __init__(self, keyed: Mapping[str, V]) -> None:
        self.values: list[V] = list(keyed.values())
        self.automaton = AhoCorasick(
            keyed,
            matchkind=MatchKind.Standard,
            store_patterns=False,
            implementation=Implementation.DFA,
        )

    @classmethod
    def build(cls, keyed: Mapping[str, V]) -> _Keys[V] | None:
        return cls(keyed) if keyed else None

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(key number, start, end) of every hit, overlapping ones included."""
        return self.automaton.find_matches_as_indexes(text, overlapping=True)


def _rows(exact: list[_Exact], pieces: list[_Piece]) -> _Shaped:
    return tuple((*e,) for e in exact), tuple((*p,) for p in pieces)


def _word_end(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in WORD_CHARS:
        pos += 1
    return pos


def _verify_fuzzy(text: str, shape: str, p: Pattern, origin: int) -> Span | None:
    """The best alignment of ``p`` starting near ``origin``, if within ``p.edits``.

    The match must start and end on a word character where the pattern does (no partial
    words), never on a space, and prefers fewer edits, then a length closer to the
    pattern's, then a start closer to where the piece put it. ``shape`` is the text's
    ``word_shape``.
    """
    k, n, size = p.edits, len(p.text), len(text)
    if (
        origin >= 0
        and text.startswith(p.text, origin)
        and (not p.left_bound or shape[origin] == " ")
        and (not p.right_bound or shape[origin + n + 1] == " ")
    ):
        # The pattern itself, where the piece put it, with its boundaries: nothing ranks
        # better (no edits, the same length, no shift), so the search below would pick it.
        return origin, origin + n, 0
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
    """Non-overlapping spans, fewest edits first, then leftmost, then shortest; returned in
    text order."""
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
    for span in sorted(set(spans), key=lambda s: (s[2], s[0], s[1])):
        i = bisect_left(chosen, span)
        if (i == 0 or chosen[i - 1][1] <= span[0]) and (
            i == len(chosen) or span[1] <= chosen[i][0]
        ):
            chosen.insert(i, span)
    return chosen
