"""An item's fields made ready for matching: ``PreparedField`` and ``prepare_item``.

Each field's plain text (the title as is, the content through ``html_to_text``), its
normalized forms, case kept and casefolded, with maps back to the plain text, and the
casefolded text's word shape: made once per item, for every index that scans it (the
topics', the watches', the spikes').
"""

from __future__ import annotations

import re

from bot.models import FIELDS, Field, Item
from bot.rules.shape import word_shape
from bot.text.html import html_to_text, tidy_line
from bot.text.normalize import normalize_both

MAX_FIELD_CHARS = 200_000


class PreparedField:
    """One field of an item: its plain text and normalized forms with their source maps."""

    __slots__ = ("_shape", "cased", "folded", "folded_map", "plain")

    def __init__(self, plain: str) -> None:
        self.plain = plain
        self.cased, (self.folded, self.folded_map) = normalize_both(plain)
        self._shape: str | None = None

    @classmethod
    def from_normalized(cls, text: str) -> PreparedField:
        """A field from text normalized already with its case kept (a ``cased`` text):
        what matching needs without normalizing again. Spans then index ``text`` itself;
        casefolding that is normalizing, but for a rare letter whose folded form NFKC
        would change again."""
        field = cls.__new__(cls)
        field.plain = text
        field.cased = (text, list(range(len(text))))
        field.folded = text.casefold()
        field.folded_map = list(range(len(field.folded)))
        field._shape = None
        return field

    @property
    def shape(self) -> str:
        """The casefolded text's word shape, made once for every index that scans it
        (the topics' and the watches')."""
        if self._shape is None:
            self._shape = word_shape(self.folded)
        return self._shape


Prepared = dict[Field, PreparedField]

_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(text: str) -> str:
    """``text`` with any lone surrogate (a JSON feed's ``"\\ud800"``) made U+FFFD: they
    cannot be encoded, and the automata walk the text's UTF-8."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def prepare_item(item: Item) -> Prepared:
    """The plain and normalized text of each field of ``item``.

    Fields are matched up to ``MAX_FIELD_CHARS`` characters of plain text: far beyond
    any real article, and a bound on the work a hostile feed can ask for.
    """
    texts: dict[Field, str] = {
        "title": _scrub(tidy_line(item.title)[:MAX_FIELD_CHARS]),
        "content": _scrub(html_to_text(item.content)[:MAX_FIELD_CHARS]),
    }
    return {name: PreparedField(texts[name]) for name in FIELDS}
