"""A ledger in memory, for the dry run: bounded by the spikes' reach, not by the input.

Items come in time order, so a window more than ``baseline + window`` before the newest
item can never matter again: ``forget_before`` drops its count, and stories are kept only
for the windows not yet closed. Memory is then a few counts per (spike, key, window) in
reach and the stories of the open windows, however long the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.spikes.model import Group, Story

_Pair = tuple[str, str]


@dataclass(slots=True)
class _Window:
    count: int = 0
    stories: list[Story] = field(default_factory=list)
    items: set[tuple[str, str]] = field(default_factory=set)
    shown: int | None = None


class MemoryLedger:
    """``bot.spikes.ledger.Ledger`` in dictionaries."""

    def __init__(self) -> None:
        self._windows: dict[_Pair, dict[datetime, _Window]] = {}
        self._since: dict[str, datetime] = {}  # per spike: never forgotten

    def lock(self, pairs: Sequence[_Pair]) -> None:
        return None  # one reader, one thread

    def prefetch(self, groups: Sequence[Group], stories: Sequence[tuple[Group, Story]]) -> None:
        return None  # everything is at hand

    def flush(self) -> None:
        return None  # written as it goes

    def prefetch_totals(self, ranges: Sequence[tuple[str, str, datetime, datetime]]) -> None:
        return None  # summed when asked

    def _window(self, spike_id: str, key: str, start: datetime) -> _Window:
        return self._windows.setdefault((spike_id, key), {}).setdefault(start, _Window())

    def _get(self, spike_id: str, key: str, start: datetime) -> _Window | None:
        return self._windows.get((spike_id, key), {}).get(start)

    def recent(self, spike_id: str, key: str, start: datetime, limit: int) -> list[Story]:
        found = self._get(spike_id, key, start)
        return found.stories[-limit:] if found is not None else []

    def add(self, spike_id: str, key: str, start: datetime, story: Story) -> int | None:
        window = self._window(spike_id, key, start)
        ident = (story.feed_id, story.item_key)
        if ident in window.items:
            return None
        window.items.add(ident)
        first = self._since.get(spike_id)
        if first is None or start < first:
            self._since[spike_id] = start
        window.stories.append(story)
        window.count += 1
        return window.count

    def total(self, spike_id: str, key: str, start: datetime, end: datetime) -> int:
        windows = self._windows.get((spike_id, key), {})
        return sum(w.count for at, w in windows.items() if start <= at < end)

    def since(self, spike_id: str) -> datetime | None:
        return self._since.get(spike_id)

    def stories(self, spike_id: str, key: str, start: datetime) -> list[Story]:
        found = self._get(spike_id, key, start)
        return list(found.stories) if found is not None else []

    def shown(self, spike_id: str, key: str, start: datetime) -> int | None:
        found = self._get(spike_id, key, start)
        return found.shown if found is not None else None

    def show(self, spike_id: str, key: str, start: datetime, count: int, first: bool) -> bool:
        window = self._window(spike_id, key, start)
        if first and window.shown is not None:
            return False
        window.shown = count
        return True

    def forget(self, spike_id: str, counts_before: datetime, stories_before: datetime) -> None:
        """Drop one spike's counts of windows starting before ``counts_before`` and the
        stories of those starting before ``stories_before``."""
        for (sid, _), windows in self._windows.items():
            if sid != spike_id:
                continue
            for start in [s for s in windows if s < counts_before]:
                del windows[start]
            for start, window in windows.items():
                if start < stories_before and window.stories:
                    window.stories, window.items = [], set()
        empty = [pair for pair, windows in self._windows.items() if not windows]
        for pair in empty:
            del self._windows[pair]

    @property
    def size(self) -> int:
        """Windows held: what the dry run's memory grows with."""
        return sum(len(w) for w in self._windows.values())
