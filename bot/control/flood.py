"""Per-user flood control for commands and button presses.

A user may make ``limit`` calls within any ``window`` seconds. The first call over the
limit gets one "slow down" answer; the ones after it are dropped silently until the
window has room again, so a flooding client cannot make the bot flood back.

The calls are rows in the store (``bot.store.flood``), not a dict in this process: an
updates reader that takes over (DESIGN §9) goes on counting where the last one stopped,
and does not say "slow down" a second time. ``check`` is one short transaction that
blocks: call it off the event loop.
"""

from __future__ import annotations

import enum
import math
from datetime import UTC, datetime, timedelta

from bot.store import Store


class Verdict(enum.Enum):
    OK = "ok"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # still over: say nothing


class Flood:
    def __init__(self, store: Store, limit: int = 10, window: float = 20.0) -> None:
        self.limit = limit
        self.window = window
        self._store = store
        self._pruned = -math.inf  # when this process last pruned old calls

    def check(self, user_id: int, now: float) -> Verdict:
        """The verdict on a call by ``user_id`` at ``now`` (Unix seconds)."""
        at = datetime.fromtimestamp(now, UTC)
        since = at - timedelta(seconds=self.window)
        verdict = Verdict(self._store.command_call(user_id, at, since, self.limit))
        if now - self._pruned >= self.window:
            # Calls older than the window count for nothing: keep the table that small.
            self._pruned = now
            self._store.prune_command_calls(since)
        return verdict
