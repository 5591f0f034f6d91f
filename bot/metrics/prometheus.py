"""``Metrics``: the service's recorder, Prometheus series in a registry of its own, and the
health of its loops and checks, served on ``/metrics`` and ``/healthz``.

It owns its registry (never prometheus_client's global one), so any number of them can
live in one process. The series are listed in ``bot.metrics.series``; what ``/healthz``
says, in ``bot.metrics.health``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.metrics.health import HealthWatch
from bot.metrics.labels import label_value
from bot.metrics.series import Series
from bot.metrics.server import MetricsServer

if TYPE_CHECKING:
    from bot.metrics.recorder import Recorder

log = logging.getLogger("bot.metrics")  # the logger name its events have always had


class Metrics:
    """The service's metrics and loop heartbeats, in a registry of its own.

    ``clock`` (monotonic seconds) times heartbeats; ``wall_clock`` (Unix seconds) stamps
    the ``*_timestamp_seconds`` gauges. Tests pass fakes for both.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        process_metrics: bool = True,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._wall_clock = wall_clock
        self._depth_source: Callable[[], int] | None = None
        self._last_success: float | None = None
        self._watch = HealthWatch(clock)
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self.series = Series(self.registry)
        self.series.outbox_depth.set_function(self._read_depth)

    # --- recording ------------------------------------------------------------------------

    def feed_polled(
        self,
        feed_id: str,
        *,
        ok: bool,
        error_kind: str | None = None,
        new_items: int = 0,
        not_modified: bool = False,
    ) -> None:
        """One poll of one feed is over (call it once per ``PollReport``)."""
        s = self.series
        result = "error" if not ok else "not_modified" if not_modified else "ok"
        s.polls.labels(feed_id, result).inc()
        if not ok:
            s.fetch_errors.labels(feed_id, label_value(error_kind, "feed")).inc()
            return
        s.new_items.labels(feed_id).inc(max(new_items, 0))
        now = self._last_success = self._wall_clock()
        s.feed_last_success.labels(feed_id).set(now)
        s.last_success.set(now)

    def topic_matched(self, topic_id: str, count: int = 1) -> None:
        self.series.matches.labels(topic_id).inc(count)

    def alert_sent(self, latency_seconds: float | None = None) -> None:
        """An alert was delivered; ``latency_seconds`` is now minus the item's first sighting."""
        self.series.sent.inc()
        if latency_seconds is not None and math.isfinite(latency_seconds):
            self.series.latency.observe(max(latency_seconds, 0.0))

    def alert_failed(self, reason: str, count: int = 1) -> None:
        """``count`` alerts were given up on; ``reason`` is a short class such as an error
        class name (``PermanentSendError``) or ``chat_gone``, never a message."""
        self.series.failed.labels(label_value(reason)).inc(count)

    def rules_reloaded(self, ok: bool) -> None:
        self.series.reloads.labels("ok" if ok else "error").inc()
        self.series.reload_ok.set(1 if ok else 0)

    def set_outbox_depth_source(self, fn: Callable[[], int]) -> None:
        """``fn`` is called at each scrape (in a worker thread, see ``render``)."""
        self._depth_source = fn

    def _read_depth(self) -> float:
        if self._depth_source is None:
            return math.nan
        try:
            return float(self._depth_source())
        except Exception as exc:  # a scrape must not fail because the store is busy
            log.warning("metrics_outbox_depth_failed", extra={"error": str(exc)})
            return math.nan

    # --- health (``bot.metrics.health``) --------------------------------------------------

    def watch_loop(self, loop_name: str, within: float) -> None:
        """From now on ``loop_name`` must ``heartbeat`` at least every ``within`` seconds."""
        watch = self._watch
        watch.watch_loop(loop_name, within)
        self.series.beat_age.labels(loop_name).set_function(lambda: watch.age(loop_name))
        self.series.loop_down.labels(loop_name).set_function(lambda: watch.failing(loop_name))

    def heartbeat(self, loop_name: str) -> None:
        """The loop made progress (a scheduler tick, a sender round); it is up again."""
        self._watch.heartbeat(loop_name)

    def loop_failing(self, loop_name: str, reason: str) -> None:
        """The loop is alive but failing: down until it beats again (``reason`` is shown)."""
        self._watch.loop_failing(loop_name, reason)

    def watch_check(self, name: str, check: Callable[[], str | None]) -> None:
        """``check()`` is asked at each health probe; ``/healthz`` is down while it names
        something wrong."""
        watch = self._watch
        watch.watch_check(name, check)
        self.series.check_down.labels(name).set_function(lambda: watch.problem(name) is not None)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, body)`` of ``/healthz`` (``HealthWatch.verdict``)."""
        return self._watch.verdict(self._last_success)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)

    # --- serving --------------------------------------------------------------------------

    def server(self, addr: str) -> MetricsServer:
        """A server for this registry on ``addr``, not started (``async with`` starts it)."""
        return MetricsServer(self.render, self.health, addr)

    async def start_server(self, addr: str) -> MetricsServer:
        server = self.server(addr)
        await server.start()
        return server

    async def serve(self, addr: str, stop: asyncio.Event) -> None:
        """Serve ``/metrics`` and ``/healthz`` on ``addr`` (``host:port``) until ``stop``."""
        server = await self.start_server(addr)
        try:
            await stop.wait()
        finally:
            await server.aclose()


if TYPE_CHECKING:  # it keeps to the protocol (mypy checks this)
    _full: Recorder = Metrics()
