"""Where a pattern stands in a text: fuzzy spans verified, overlapping spans resolved.

The index (``bot.rules.index``) reports candidates; this module decides them. A fuzzy
candidate is the place a piece says the pattern would start: ``verify_fuzzy`` finds the
best alignment near it within the pattern's edits. All the spans of one pattern in one
text are then made non-overlapping by ``resolve_spans``. A span is (start, end, edits) in
the normalized text.
"""

from __future__ import annotations

from bisect import bisect_left

from rapidfuzz.distance import OSA

from bot.rules.patterns import Pattern
from bot.rules.words import Span
from bot.text.script import WORD_CHARS


def word_end(text: str, pos: int) -> int:
    """Where the word that ``pos`` is in (or starts) ends: a wildcard's span runs there."""
    while pos < len(text) and text[pos] in WORD_CHARS:
        pos += 1
    return pos


def verify_fuzzy(text: str, shape: str, p: Pattern, origin: int) -> Span | None:
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


def resolve_spans(spans: list[Span]) -> list[Span]:
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
