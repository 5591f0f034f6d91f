"""What the spikes of a rule set watch, compiled once per rules version.

Each watched thing (an entity, a keyword) becomes a topic of its own with ``any`` set to
its terms: an item counts for a watched entity exactly when a topic with ``any:
["@entity"]`` would fire on it (DESIGN §4), with the same normalization, word boundaries
and fuzzy rules. The service compiles these topics into the rules' own matcher as
watched topics (``Matcher.watched_fired``), so watching costs no second scan of an item;
the dry run compiles a matcher of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import Item
from bot.rules.match import Matcher, compile_matcher
from bot.rules.model import RuleSet, Spike, Topic, Watched
from bot.rules.prepare import Prepared


@dataclass(frozen=True, slots=True)
class Target:
    """A spike and one thing it watches."""

    spike: Spike
    watched: Watched


def watched_topics(rules: RuleSet) -> tuple[Topic, ...]:
    """One topic per watched key (its ``name``), in the order the spikes name them."""
    watched: dict[str, Watched] = {}
    for spike in rules.spikes:
        for w in spike.watch:
            watched.setdefault(w.key, w)
    return tuple(
        Topic(id=f"w{n}", name=key, any=w.terms) for n, (key, w) in enumerate(watched.items())
    )


class SpikeWatch:
    """The spikes of a rule set, and the matcher that knows what they watch."""

    def __init__(self, rules: RuleSet, matcher: Matcher | None = None) -> None:
        self.spikes = rules.spikes
        self.by_key: dict[str, list[Target]] = {}
        for spike in rules.spikes:
            for w in spike.watch:
                self.by_key.setdefault(w.key, []).append(Target(spike, w))
        self.topics = watched_topics(rules)
        self._key_of = {t.id: t.name for t in self.topics}
        self.matcher = matcher if matcher is not None else compile_matcher(RuleSet(), self.topics)

    def __bool__(self) -> bool:
        return bool(self.topics)

    @property
    def watched_count(self) -> int:
        return len(self.topics)

    def prepare(self, item: Item) -> Prepared:
        return self.matcher.prepare(item)

    def keys_hit(self, prepared: Prepared) -> tuple[str, ...]:
        """The watched keys (entity ids, terms) an item through ``prepare`` hits."""
        return self.keys_of(self.matcher.watched_fired(self.matcher.hits(prepared)))

    def keys_of(self, fired: Sequence[str]) -> tuple[str, ...]:
        """The watched keys of the watched topics ``Matcher.watched_fired`` says fired."""
        return tuple(self._key_of[t] for t in fired)

    def targets(self, key: str) -> list[Target]:
        return self.by_key.get(key, [])


def compile_watch(rules: RuleSet) -> SpikeWatch:
    """The spikes' watch with a matcher of its own (the dry run)."""
    return SpikeWatch(rules)
