"""Pieces of a fuzzy pattern: short keys that every close enough string holds verbatim.

A pattern allowing ``k`` edits is cut into ``k + 1`` adjacent pieces. An alignment with at
most ``k`` edits (optimal string alignment) damages at most one piece per edit, except a
swap of two neighbours across a cut, which damages two with one edit; so for each cut the
pattern with that swap applied contributes its own pieces for ``k - 1`` edits. Either way
one key survives verbatim, at its offset give or take ``k``.

Every hit of a key costs an alignment check, so the cuts go where the pieces are least
likely to occur by chance: long, of rare letters, not common English words or endings.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations, pairwise

# Rough share of each character in English running text (space included), to prefer
# rare pieces: every hit of a piece costs an alignment check.
_SHARE = dict(
    zip(
        " etaoinshrdlcumwfgypbvkjxqz",
        (
            18,
            10.2,
            7.5,
            6.6,
            6.1,
            5.7,
            5.5,
            5.1,
            5.0,
            4.9,
            3.5,
            3.3,
            2.3,
            2.3,
            2.0,
            2.0,
            1.8,
            1.6,
            1.6,
            1.5,
            1.2,
            0.8,
            0.6,
            0.1,
            0.1,
            0.1,
            0.06,
        ),
        strict=True,
    )
)
# Pieces that hold, or are part of, very common words and endings turn up far more often than
# their letters suggest.
_COMMON = (
    " the ",
    " and ",
    " of ",
    " to ",
    " in ",
    " for ",
    " on ",
    " is ",
    " that ",
    "ing ",
    "tion",
    "ment ",
    "ers ",
    "ent ",
    "ion ",
    "ies ",
    "ate ",
    "ed ",
    "es ",
)
_COMMON_WORDS = frozenset(w.strip() for w in _COMMON[:9])


@lru_cache(maxsize=1 << 16)  # pieces repeat across patterns and swap variants
def _cost(piece: str) -> float:
    """Estimated frequency of ``piece`` in text, in arbitrary units."""
    estimate = 1.0
    for c in piece:
        estimate *= _SHARE.get(c, 0.5) / 100
    if not piece.strip():
        return 1.0
    if piece.strip() in _COMMON_WORDS or any(w in piece or piece in w for w in _COMMON):
        estimate *= 100
    return estimate


def _split(text: str, parts: int) -> list[tuple[int, str]]:
    """``parts`` adjacent pieces of ``text`` with their offsets, cut where the pieces are
    least likely to occur by chance (long, of rare letters, not common words)."""
    best: tuple[float, tuple[int, ...]] | None = None
    for cuts in combinations(range(1, len(text)), parts - 1):
        bounds = (0, *cuts, len(text))
        cost = sum(_cost(text[a:b]) for a, b in pairwise(bounds))
        if best is None or cost < best[0]:
            best = (cost, bounds)
    assert best is not None
    return [(a, text[a:b]) for a, b in pairwise(best[1])]


def fuzzy_keys(text: str, edits: int) -> set[tuple[int, str]]:
    """Keys of which every string within ``edits`` OSA edits of ``text`` holds one verbatim."""
    if edits == 0 or len(text) <= edits:
        return {(0, text)}
    pieces = _split(text, edits + 1)
    keys = set(pieces)
    for offset, _ in pieces[1:]:
        swapped = text[: offset - 1] + text[offset] + text[offset - 1] + text[offset + 1 :]
        keys |= fuzzy_keys(swapped, edits - 1)
    return keys
