"""What a poll's new items count for the spikes, and the count written with the poll.

``Sightings.sight`` records what one item counts for, from the hits of the topics' own
scan; ``Sightings.spike_count`` turns a poll's sightings into the count the store runs in
the poll's transaction (which also reads the audience of the spikes that fire).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.ingest.options import AlertOptions
from bot.models import FeedState, Item
from bot.rules.book import Rules
from bot.rules.evaluate import PatternHits
from bot.rules.model import FeedRule
from bot.rules.prepare import Prepared
from bot.spikes import surges
from bot.spikes.model import Sighting
from bot.store.store import SpikeCount


@dataclass(frozen=True, slots=True, kw_only=True)
class Sightings:
    rules: Rules  # the rules in force, read afresh by every call
    options: AlertOptions

    def sight(
        self,
        feed: FeedRule,
        state: FeedState,
        item: Item,
        now: datetime,
        prepared: Prepared,
        hits: PatternHits | None,
        sightings: list[Sighting],
    ) -> None:
        """What ``item`` counts for the spikes, from the hits of the topics' own scan."""
        book = self.rules.current()  # one read: a reload meanwhile must not mix two rule sets
        watch, matcher = book.spikes, book.matcher
        if not watch:
            return
        fired = matcher.watched_fired(hits if hits is not None else matcher.hits(prepared))
        if not fired:
            return
        source = feed.name or state.title or feed.id
        seen = surges.sighting(
            watch, item, prepared, source=source, first_seen=now, keys=watch.keys_of(fired)
        )
        if seen is not None:
            sightings.append(seen)

    def spike_count(self, sightings: Sequence[Sighting], now: datetime) -> SpikeCount | None:
        watch = self.rules.current().spikes
        if not sightings or not watch:
            return None
        return surges.counter(watch, sightings, now, self.options.tz)
