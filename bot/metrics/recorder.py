"""What the orchestration may record (``Recorder``), and ``NullMetrics``, which records
nothing, for code that runs without metrics (``mediabot once``, tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol


class Recorder(Protocol):
    """What the orchestration may call; ``Metrics`` and ``NullMetrics`` both provide it."""

    def feed_polled(
        self,
        feed_id: str,
        *,
        ok: bool,
        error_kind: str | None = None,
        new_items: int = 0,
        not_modified: bool = False,
    ) -> None: ...

    def topic_matched(self, topic_id: str, count: int = 1) -> None: ...

    def alert_sent(self, latency_seconds: float | None = None) -> None: ...

    def alert_failed(self, reason: str, count: int = 1) -> None: ...

    def rules_reloaded(self, ok: bool) -> None: ...

    def set_outbox_depth_source(self, fn: Callable[[], int]) -> None: ...

    def watch_loop(self, loop_name: str, within: float) -> None: ...

    def heartbeat(self, loop_name: str) -> None: ...

    def loop_failing(self, loop_name: str, reason: str) -> None: ...

    def watch_check(self, name: str, check: Callable[[], str | None]) -> None: ...


class NullMetrics:
    """Records nothing: for ``mediabot once``, tests, and any code run without metrics."""

    def feed_polled(
        self,
        feed_id: str,
        *,
        ok: bool,
        error_kind: str | None = None,
        new_items: int = 0,
        not_modified: bool = False,
    ) -> None:
        pass

    def topic_matched(self, topic_id: str, count: int = 1) -> None:
        pass

    def alert_sent(self, latency_seconds: float | None = None) -> None:
        pass

    def alert_failed(self, reason: str, count: int = 1) -> None:
        pass

    def rules_reloaded(self, ok: bool) -> None:
        pass

    def set_outbox_depth_source(self, fn: Callable[[], int]) -> None:
        pass

    def watch_loop(self, loop_name: str, within: float) -> None:
        pass

    def heartbeat(self, loop_name: str) -> None:
        pass

    def loop_failing(self, loop_name: str, reason: str) -> None:
        pass

    def watch_check(self, name: str, check: Callable[[], str | None]) -> None:
        pass


if TYPE_CHECKING:  # it keeps to the protocol (mypy checks this)
    _null: Recorder = NullMetrics()
