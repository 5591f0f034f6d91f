"""What the matcher looks for: a ``Pattern``, and the one a rule term makes.

Each distinct (normalized text, case, wildcard, edits) of a rule set is one pattern,
however many topics use it; ``bot.rules.index`` finds them all in a text. A pattern knows
whether it needs a word boundary at each end (DESIGN §4, rule 3): it does where its text
starts or ends with a Latin letter or digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.rules.model import Term, Topic, allowed_edits
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS


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


def term_pattern(topic: Topic, term: Term) -> Pattern:
    """What the matcher looks for when ``term`` of ``topic`` is to be found."""
    return Pattern(
        text=normalize(term.stem, casefold=not term.case),
        case=term.case,
        wildcard=term.wildcard,
        edits=allowed_edits(term, topic.fuzzy),
    )
