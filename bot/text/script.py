"""Character classes the rule language speaks of: Latin letters, digits, word characters.

A term that starts or ends with a Latin letter or digit needs a word boundary there, and
a boundary is any neighbour that is not one (so ``在TikTok上`` has boundaries around
``TikTok``). Fuzzy matching counts Latin letters only.
"""

from __future__ import annotations

import unicodedata


def _latin_letters() -> frozenset[str]:
    # Latin letters live in these blocks (ASCII, Latin-1, Extended A/B, IPA, Extended
    # Additional, C, D, E, ligatures); the name check keeps out signs such as × and ÷.
    blocks = [
        (0x41, 0x24F),
        (0x250, 0x2AF),
        (0x1E00, 0x1EFF),
        (0x2C60, 0x2C7F),
        (0xA720, 0xA7FF),
        (0xAB30, 0xAB6F),
        (0xFB00, 0xFB06),
    ]
    return frozenset(
        chr(code)
        for lo, hi in blocks
        for code in range(lo, hi + 1)
        if unicodedata.category(chr(code)).startswith("L")
        and unicodedata.name(chr(code), "").startswith("LATIN")
    )


LATIN_LETTERS = _latin_letters()
WORD_CHARS = LATIN_LETTERS | frozenset("0123456789")


def is_word_char(c: str) -> bool:
    """A Latin letter or an ASCII digit (text is NFKC by now, so full-width digits are ASCII)."""
    return c in WORD_CHARS


def latin_letter_count(text: str) -> int:
    """How many Latin letters ``text`` has (``Donald Trump`` has 11)."""
    return sum(1 for c in text if c in LATIN_LETTERS)


def is_latin_term(text: str) -> bool:
    """True when ``text`` is written in Latin letters, digits, spaces and light punctuation.

    Only such terms can be fuzzy: CJK and other scripts match exactly after normalization.
    """
    return any(c in LATIN_LETTERS for c in text) and all(
        c in WORD_CHARS or c in " '.&+/" for c in text
    )
