"""The rules in force: one holder that every reader asks, and one value it swaps.

A ``RuleBook`` is a validated rule set with its compiled matcher and version, built once
and never changed. ``Rules`` holds the current book: the composition root swaps a new
one in after a good reload, and the pipeline, the commands and the digests read
``current()`` whenever they need the rules, so all of them see one set at a time. A
reader that needs several facts from the same set takes ``current()`` once and reads
them from that value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.rules.match import Matcher, compile_matcher
from bot.rules.model import RuleSet
from bot.spikes.watch import SpikeWatch, watched_topics


class Validated(Protocol):
    """A loaded, validated rule set (``bot.rules.load.LoadedRules``)."""

    @property
    def rules(self) -> RuleSet: ...

    @property
    def version(self) -> str: ...


@dataclass(frozen=True, slots=True)
class RuleBook:
    """A validated rule set and its compiled matcher, swapped in as one value."""

    rules: RuleSet
    matcher: Matcher
    version: str
    spikes: SpikeWatch | None = None  # what the rules' spikes watch, on the matcher's scan

    @classmethod
    def build(cls, loaded: Validated) -> RuleBook:
        rules = loaded.rules
        matcher = compile_matcher(rules, watched_topics(rules))
        return cls(rules, matcher, loaded.version, SpikeWatch(rules, matcher))


class Rules:
    """The one holder of the rule book in force."""

    __slots__ = ("_book",)

    def __init__(self, book: RuleBook) -> None:
        self._book = book

    def current(self) -> RuleBook:
        return self._book

    def swap(self, book: RuleBook) -> None:
        """Put ``book`` in force: every later ``current()`` returns it."""
        self._book = book

    def topic_name(self, topic_id: str) -> str | None:
        """The current name of a topic or spike (digests hold spike alerts too), or None
        when the rules no longer have it."""
        rules = self._book.rules
        found = rules.topic(topic_id) or rules.spike(topic_id)
        return found.name if found is not None else None
