"""Prometheus metrics and the health check, served over plain HTTP on ``MEDIABOT_METRICS_ADDR``.

``Metrics`` owns its own registry (never prometheus_client's global one), so any number of
them can live in one process. The orchestration calls small recording methods; the service
serves ``GET /metrics`` (Prometheus text format) and ``GET /healthz`` (JSON) with a tiny
asyncio HTTP/1.1 server. ``NullMetrics`` records nothing, for code that runs without metrics.

Series (labels are feed and topic ids from the rules, loop names and error kinds: bounded;
never item keys, URLs or chats)::

    mediabot_feed_polls_total{feed,result}            result: ok | not_modified | error
    mediabot_fetch_errors_total{feed,kind}            kind: FeedError.kind (fetch, parse, ...)
    mediabot_new_items_total{feed}
    mediabot_feed_last_success_timestamp_seconds{feed}
    mediabot_last_successful_poll_timestamp_seconds
    mediabot_topic_matches_total{topic}               one per item x topic that fires
    mediabot_alerts_sent_total
    mediabot_alerts_failed_total{reason}              reason: a short snake_case class
    mediabot_alert_latency_seconds                    histogram: item first seen -> sent
    mediabot_outbox_depth                             queued alerts, read at scrape time
    mediabot_rules_reloads_total{result}              result: ok | error
    mediabot_rules_last_reload_success                1 or 0
    mediabot_loop_heartbeat_age_seconds{loop}         seconds since the loop last beat
    mediabot_loop_down{loop}                          1 while the loop reports it is failing
    mediabot_check_down{check}                        1 while a health check fails (store)
    mediabot_build_info{version}

Health: each watched loop (``watch_loop``) must ``heartbeat`` at least every ``within``
seconds; a loop that knows it is failing (Telegram refusing its polls) says so with
``loop_failing`` and is down until its next ``heartbeat``. A check (``watch_check``, such
as the store's) is asked at each probe and is down while it names a problem. ``/healthz``
answers 503 naming the stuck and the down loops and checks when there is one, else 200.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot import __version__
from bot.metrics.server import MetricsServer, split_addr

__all__ = ["Metrics", "MetricsServer", "NullMetrics", "Recorder", "label_value", "split_addr"]

log = logging.getLogger(__name__)

# The classic text format: every name here is plain snake_case, which it covers.
# Item first seen -> alert sent: seconds for instant alerts, up to a day for digests.
LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)
_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label_value(text: str | None, default: str = "other") -> str:
    """A bounded label value: ``PermanentSendError`` -> ``permanent_send_error``.

    Anything that is not a short identifier (a message, a URL) becomes ``default``, so a
    caller passing free text by mistake cannot grow the number of series without bound.
    """
    if not text:
        return default
    value = _CAMEL.sub("_", text.strip()).lower().replace("-", "_")
    return value if _LABEL.match(value) else default


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
        self._clock = clock
        self._wall_clock = wall_clock
        self._depth_source: Callable[[], int] | None = None
        self._within: dict[str, float] = {}
        self._last_beat: dict[str, float] = {}
        self._failing: dict[str, str] = {}
        self._checks: dict[str, Callable[[], str | None]] = {}
        self._last_success: float | None = None
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
        self._define(self.registry)

    def _define(self, r: CollectorRegistry) -> None:
        self.polls = Counter(
            "mediabot_feed_polls", "Feed polls by result", ["feed", "result"], registry=r
        )
        self.fetch_errors = Counter(
            "mediabot_fetch_errors", "Failed feed polls by error kind", ["feed", "kind"], registry=r
        )
        self.new_items = Counter(
            "mediabot_new_items", "Items seen for the first time", ["feed"], registry=r
        )
        self.feed_last_success = Gauge(
            "mediabot_feed_last_success_timestamp_seconds",
            "Unix time of the feed's last successful poll",
            ["feed"],
            registry=r,
        )
        self.last_success = Gauge(
            "mediabot_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful poll of any feed",
            registry=r,
        )
        self.matches = Counter(
            "mediabot_topic_matches", "Items that fired a topic", ["topic"], registry=r
        )
        self.sent = Counter("mediabot_alerts_sent", "Alerts delivered to Telegram", registry=r)
        self.failed = Counter(
            "mediabot_alerts_failed", "Alerts given up on, by reason", ["reason"], registry=r
        )
        self.latency = Histogram(
            "mediabot_alert_latency_seconds",
            "Time from an item's first sighting to its alert being sent",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_depth = Gauge(
            "mediabot_outbox_depth", "Alerts queued in the outbox", registry=r
        )
        self.outbox_depth.set_function(self._read_depth)
        self.reloads = Counter(
            "mediabot_rules_reloads", "Rules reloads by result", ["result"], registry=r
        )
        self.reload_ok = Gauge(
            "mediabot_rules_last_reload_success",
            "1 if the last rules reload succeeded, 0 if it failed",
            registry=r,
        )
        self.reload_ok.set(1)
        self.beat_age = Gauge(
            "mediabot_loop_heartbeat_age_seconds",
            "Seconds since a watched loop last reported progress",
            ["loop"],
            registry=r,
        )
        self.loop_down = Gauge(
            "mediabot_loop_down",
            "1 while a watched loop reports that it is failing, else 0",
            ["loop"],
            registry=r,
        )
        self.check_down = Gauge(
            "mediabot_check_down",
            "1 while a health check (such as the store's) fails, else 0",
            ["check"],
            registry=r,
        )
        info = Gauge("mediabot_build_info", "mediabot version", ["version"], registry=r)
        info.labels(__version__).set(1)

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
        result = "error" if not ok else "not_modified" if not_modified else "ok"
        self.polls.labels(feed_id, result).inc()
        if not ok:
            self.fetch_errors.labels(feed_id, label_value(error_kind, "feed")).inc()
            return
        self.new_items.labels(feed_id).inc(max(new_items, 0))
        now = self._last_success = self._wall_clock()
        self.feed_last_success.labels(feed_id).set(now)
        self.last_success.set(now)

    def topic_matched(self, topic_id: str, count: int = 1) -> None:
        self.matches.labels(topic_id).inc(count)

    def alert_sent(self, latency_seconds: float | None = None) -> None:
        """An alert was delivered; ``latency_seconds`` is now minus the item's first sighting."""
        self.sent.inc()
        if latency_seconds is not None and math.isfinite(latency_seconds):
            self.latency.observe(max(latency_seconds, 0.0))

    def alert_failed(self, reason: str, count: int = 1) -> None:
        """``count`` alerts were given up on; ``reason`` is a short class such as an error
        class name (``PermanentSendError``) or ``chat_gone``, never a message."""
        self.failed.labels(label_value(reason)).inc(count)

    def rules_reloaded(self, ok: bool) -> None:
        self.reloads.labels("ok" if ok else "error").inc()
        self.reload_ok.set(1 if ok else 0)

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

    # --- health ---------------------------------------------------------------------------

    def watch_loop(self, loop_name: str, within: float) -> None:
        """From now on ``loop_name`` must ``heartbeat`` at least every ``within`` seconds."""
        self._within[loop_name] = within
        self._last_beat.setdefault(loop_name, self._clock())
        self.beat_age.labels(loop_name).set_function(lambda: self._age(loop_name))
        self.loop_down.labels(loop_name).set_function(lambda: loop_name in self._failing)

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
        self.check_down.labels(name).set_function(lambda: self._problem(name) is not None)

    def _problem(self, name: str) -> str | None:
        try:
            problem = self._checks[name]()
        except Exception as exc:  # a broken check is a failing one
            problem = f"the check failed: {type(exc).__name__}"
        return problem[:300] if problem is not None else None

    def _age(self, loop_name: str) -> float:
        return max(self._clock() - self._last_beat.get(loop_name, self._clock()), 0.0)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """``(healthy, body)``: unhealthy when a watched loop has missed its interval
        (``stuck``), or a loop reports that it is failing or a check names a problem
        (``down``)."""
        loops: dict[str, dict[str, Any]] = {}
        stuck: list[str] = []
        down: list[str] = []
        for name, within in sorted(self._within.items()):
            age = self._age(name)
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
        checks: dict[str, dict[str, Any]] = {}
        for name in sorted(self._checks):
            problem = self._problem(name)
            checks[name] = {"ok": problem is None}
            if problem is not None:
                checks[name]["error"] = problem
                down.append(name)
        body: dict[str, Any] = {
            "status": "down" if down else "stuck" if stuck else "ok",
            "loops": loops,
            "last_successful_poll_timestamp": self._last_success,
        }
        if checks:
            body["checks"] = checks
        if stuck:
            body["stuck"] = stuck
        if down:
            body["down"] = down
        return not (stuck or down), body

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


if TYPE_CHECKING:  # both implementations keep to the protocol (mypy checks this)
    _full: Recorder = Metrics()
    _null: Recorder = NullMetrics()
