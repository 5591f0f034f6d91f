"""The automaton behind every index of the matcher: ``Keys``.

Keys, what each stands for, and an Aho-Corasick automaton that finds them all in a text,
overlapping hits included. ``bot.rules.index`` builds one over the normalized text (terms
that need no word boundary), one over the word shape (the others) and one of probes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from ahocorasick_rs import AhoCorasick, Implementation, MatchKind

V = TypeVar("V")


class Keys(Generic[V]):
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
    def build(cls, keyed: Mapping[str, V]) -> Keys[V] | None:
        """The keys and their automaton; ``None`` when there are none to find."""
        return cls(keyed) if keyed else None

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """(key number, start, end) of every hit, overlapping ones included."""
        return self.automaton.find_matches_as_indexes(text, overlapping=True)
