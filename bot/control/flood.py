"""Per-user flood control for commands and button presses.

A user may make ``limit`` calls within any ``window`` seconds. The first call over the
limit gets one "slow down" answer; the ones after it are dropped silently until the
window has room again, so a flooding client cannot make the bot flood back.
"""

from __future__ import annotations

import enum
from collections import deque

MAX_USERS = 10_000


class Verdict(enum.Enum):
    OK = "ok"
    WARN = "warn"  # over the limit: say so once
    DROP = "drop"  # still over: say nothing


class Flood:
    def __init__(self, limit: int = 10, window: float = 20.0) -> None:
        self.limit = limit
        self.window = window
        self._calls: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, user_id: int, now: float) -> Verdict:
        calls = self._calls.setdefault(user_id, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        if len(calls) >= self.limit:
            if user_id in self._warned:
                return Verdict.DROP
            self._warned.add(user_id)
            return Verdict.WARN
        self._warned.discard(user_id)
        calls.append(now)
        if len(self._calls) > MAX_USERS:
            self._forget_idle(now)
        return Verdict.OK

    def _forget_idle(self, now: float) -> None:
        idle = [u for u, c in self._calls.items() if not c or c[-1] <= now - self.window]
        for user_id in idle:
            del self._calls[user_id]
            self._warned.discard(user_id)
