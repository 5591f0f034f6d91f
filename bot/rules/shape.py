"""The word shape of a text: where its words start and end.

A text's word shape is the text with every character that is not a Latin letter or digit
made a space, padded with a space at each end. Keys of patterns that need word boundaries
are looked for in it with their boundaries written as spaces (``bot.rules.index``), so a
key only turns up where a word starts or ends. Offsets hold: one character of the shape
for one of the text, plus the leading pad.
"""

from __future__ import annotations

import re

from bot.text.normalize import char_class as _char_class
from bot.text.script import WORD_CHARS

# Whether a text holds a word at all: without one, nothing of the shape can turn up.
WORD_RUN = re.compile(_char_class(sorted(WORD_CHARS)) + "+")

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
