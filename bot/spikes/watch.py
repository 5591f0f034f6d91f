"""What the spikes of a rule set watch, compiled once per rules version.

Each watched thing (an entity, a keyword) becomes a topic of its own with ``any`` set to
its terms, and all of them one ``Matcher``: an item counts for a watched entity exactly
when a topic with ``any: ["@entity"]`` would fire on it (DESIGN §4), with the same
normalization, word boundaries and fuzzy rules. The matcher scans the text an item was
prepared into for the rules' own topics, so watching costs one more scan, not one more
normalization.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.models import Item
from bot.rules.match import Matcher, Prepared, compile_matcher
from bot.rules.model import RuleSet, Spike, Topic, Watched


@dataclass(frozen=True, slots=True)
class Target:
    """A spike and one thing it watches."""

    spike: Spike
    watched: Watched


class SpikeWatch:
    """The spikes of a rule set and a matcher for everything they watch."""

    def __init__(self, rules: RuleSet) -> None:
        self.spikes = rules.spikes
        self.by_key: dict[str, list[Target]] = {}
        watched: dict[str, Watched] = {}
        for spike in rules.spikes:
            for w in spike.watch:
                watched.setdefault(w.key, w)
                self.by_key.setdefault(w.key, []).append(Target(spike, w))
        keys = list(watched)
        topics = tuple(
            Topic(id=f"w{n}", name=key, any=watched[key].terms) for n, key in enumerate(keys)
        )
        self._key_of = {f"w{n}": key for n, key in enumerate(keys)}
        self._matcher: Matcher | None = compile_matcher(RuleSet(topics=topics)) if topics else None

    def __bool__(self) -> bool:
        return self._matcher is not None

    @property
    def watched_count(self) -> int:
        return len(self._key_of)

    def prepare(self, item: Item) -> Prepared:
        """The item's text as every matcher reads it (for the dry run, which has no other)."""
        return (self._matcher or compile_matcher(RuleSet())).prepare(item)

    def keys_hit(self, prepared: Prepared, feed_id: str = "") -> tuple[str, ...]:
        """The watched keys (entity ids, terms) an item prepared by any ``Matcher`` hits."""
        if self._matcher is None:
            return ()
        fired = self._matcher.match_prepared(prepared, feed_id).topics
        return tuple(self._key_of[t.topic_id] for t in fired)

    def targets(self, key: str) -> list[Target]:
        return self.by_key.get(key, [])


def compile_watch(rules: RuleSet) -> SpikeWatch:
    return SpikeWatch(rules)
