"""What the spike detector takes and gives: the stories it counts, the sightings (a story
and the watched keys it hits) it is handed, and the surges it finds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.rules.model import Spike, Watched

Group = tuple[str, str, datetime]  # spike id, key, window start


@dataclass(frozen=True, slots=True)
class Story:
    """One item as a spike counts it."""

    feed_id: str
    item_key: str
    at: datetime  # placed in time: published, else first seen
    title: str
    link: str
    source: str  # the feed's display name
    fingerprint: str | None = None  # ``cluster.encode`` of the item
    ident: str | int | None = None  # what the dry run reports (the input's id, else link)


@dataclass(frozen=True, slots=True)
class Sighting:
    """An item and the watched keys it hits."""

    story: Story
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Surge:
    """A window in which coverage of a watched thing surged."""

    spike: Spike
    watched: Watched
    window_start: datetime
    count: int
    mean: float  # the usual count per window
    first: bool  # the window's first alert; else its count grew since the alert
    stories: tuple[Story, ...] = field(default=(), compare=False)  # the window's, oldest first

    @property
    def window_end(self) -> datetime:
        return self.window_start + timedelta(seconds=self.spike.window)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.spike.id, self.watched.key, self.window_start)
