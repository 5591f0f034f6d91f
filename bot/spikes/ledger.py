"""The spike detector's ledger: what it asks of the counts per (spike, key, window), the
stories counted and the alerts given.

The store's ``SqlLedger`` (``bot.store.spikes``) keeps them inside the poll's write
transaction; ``bot.spikes.memory`` keeps them in dictionaries for the dry run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.spikes.model import Group, Story

MAX_COMPARED = 30  # recent stories of a window an item is compared with for near-duplicates


class Ledger(Protocol):
    """Counts per (spike, key, window), the stories counted, and the alerts given."""

    def lock(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Hold (spike, key) until the batch is written: one counter at a time for each."""

    def prefetch(self, groups: Sequence[Group], stories: Sequence[tuple[Group, Story]]) -> None:
        """What a batch will ask about, read at once (a ledger may ignore it)."""

    def flush(self) -> None:
        """Write what the batch counted (a ledger may write as it goes)."""

    def recent(self, spike_id: str, key: str, start: datetime, limit: int) -> list[Story]:
        """The newest ``limit`` stories counted in the window starting at ``start``."""

    def add(self, spike_id: str, key: str, start: datetime, story: Story) -> int | None:
        """Count ``story`` in the window; the window's new count, or None if it was counted."""

    def prefetch_totals(self, ranges: Sequence[tuple[str, str, datetime, datetime]]) -> None:
        """The (spike, key, start, end) sums ``total`` will be asked for, read at once (a
        ledger may ignore it)."""

    def total(self, spike_id: str, key: str, start: datetime, end: datetime) -> int:
        """The sum of the counts of the windows starting in [start, end)."""

    def since(self, spike_id: str) -> datetime | None:
        """The start of the first window the spike counted anything in (what it knows)."""

    def stories(self, spike_id: str, key: str, start: datetime) -> list[Story]:
        """Every story counted in the window, oldest first."""

    def shown(self, spike_id: str, key: str, start: datetime) -> int | None:
        """The count the window's alert shows, or None when it has none."""

    def show(self, spike_id: str, key: str, start: datetime, count: int, first: bool) -> bool:
        """Record the alert (``first``) or its new count; False when another got there."""
