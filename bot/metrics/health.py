"""What ``/healthz`` watches, and its verdict: loops that must beat, checks that must pass.

Each watched loop (``watch_loop``) must ``heartbeat`` at least every ``within`` seconds; a
loop that knows it is failing (Telegram refusing its polls) says so with ``loop_failing``
and is down until its next ``heartbeat``. A check (``watch_check``, such as the store's)
is asked at each probe and is down while it names a problem. The verdict is unhealthy,
naming the stuck and the down loops and checks, when there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HealthWatch:
    """The watched loops' heartbeats and the health checks; ``clock`` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._within: dict[str, float] = {}
        self._last_beat: dict[str, float] = {}
        self._failing: dict[str, str] = {}
        self._checks: dict[str, Callable[[], str | None]] = {}

    def watch_loop(self, loop_name: str, within: float) -> None:
        """From now on ``loop_name`` must ``heartbeat`` at least every ``within`` seconds."""
        self._within[loop_name] = within
        self._last_beat.setdefault(loop_name, self._clock())

    def heartbeat(self, loop_name: str) -> None:
        """The loop made progress (a scheduler tick, a sender round); it is up again."""
        self._last_beat[loop_name] = self._clock()
        self._failing.pop(loop_name, None)

    def loop_failing(self, loop_name: str, reason: str) -> None:
        """The loop is alive but failing (its calls are refused): down until it beats again.

        ``reason`` is shown on ``/healthz``: a short text with no secrets in it.
        """
        self._failing[loop_name] = reason[:200]

    def watch_check(self, name: str, check: Callable[[], str | None]) -> None:
        """``check()`` is asked at each health probe (on the event loop: it must be quick)
        and names what is wrong, or None; ``/healthz`` is down while it names something."""
        self._checks[name] = check

    def failing(self, loop_name: str) -> bool:
        return loop_name in self._failing

    def problem(self, name: str) -> str | None:
        """What the check ``name`` says is wrong now, or None."""
        try:
            problem = self._checks[name]()
        except Exception as exc:  # a broken check is a failing one
            problem = f"the check failed: {type(exc).__name__}"
        return problem[:300] if problem is not None else None

    def age(self, loop_name: str) -> float:
        """Seconds since the loop last beat (or was first watched)."""
        return max(self._clock() - self._last_beat.get(loop_name, self._clock()), 0.0)

    def verdict(self, last_success: float | None) -> tuple[bool, dict[str, Any]]:
        """``(healthy, body)``: unhealthy when a watched loop has missed its interval
        (``stuck``), or a loop reports that it is failing or a check names a problem
        (``down``). ``last_success`` is the Unix time of the last successful poll."""
        loops, stuck, down = self._loops()
        checks = self._check_all(down)
        body: dict[str, Any] = {
            "status": "down" if down else "stuck" if stuck else "ok",
            "loops": loops,
            "last_successful_poll_timestamp": last_success,
        }
        if checks:
            body["checks"] = checks
        if stuck:
            body["stuck"] = stuck
        if down:
            body["down"] = down
        return not (stuck or down), body

    def _loops(self) -> tuple[dict[str, dict[str, Any]], list[str], list[str]]:
        """Each watched loop's state, and the names of the stuck and the down ones."""
        loops: dict[str, dict[str, Any]] = {}
        stuck: list[str] = []
        down: list[str] = []
        for name, within in sorted(self._within.items()):
            age = self.age(name)
            failing = self._failing.get(name)
            loop: dict[str, Any] = {
                "ok": age <= within and failing is None,
                "age_seconds": round(age, 3),
                "within_seconds": within,
            }
            if failing is not None:
                loop["error"] = failing
                down.append(name)
            elif age > within:
                stuck.append(name)
            loops[name] = loop
        return loops, stuck, down

    def _check_all(self, down: list[str]) -> dict[str, dict[str, Any]]:
        """Each check's answer; the failing ones are added to ``down``."""
        checks: dict[str, dict[str, Any]] = {}
        for name in sorted(self._checks):
            problem = self.problem(name)
            checks[name] = {"ok": problem is None}
            if problem is not None:
                checks[name]["error"] = problem
                down.append(name)
        return checks
