"""The one orchestrator: fetch → parse → identify + dedupe → match → render → outbox.

One call of :meth:`Pipeline.poll_feed` polls one feed. Whatever goes wrong with that feed
is recorded in its state and logged; it never stops the other feeds. The new items, their
"seen" marks and their alerts are written in one transaction, so a crash can neither lose
an alert nor send one twice.

The stages, each in its module: a feed's state from poll to poll (``state``), which items
are new (``fresh``), their alerts (``alerts``), what they count for the spikes
(``sightings``), and the write that takes them all (``ingest``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from bot.clock import Clock, utc_now
from bot.errors import FeedError, LeaseLost
from bot.feeds.fetch import Fetcher
from bot.feeds.policy import Notice
from bot.feeds.workers import FeedParsers
from bot.ingest.alerts import AlertMaker
from bot.ingest.ingest import Ingest
from bot.ingest.options import AlertOptions, PollReport
from bot.ingest.sightings import Sightings
from bot.ingest.state import due, interval, moved, plan, record_failure, record_success, skip_reason
from bot.metrics import NullMetrics, Recorder
from bot.models import FeedState, Lease
from bot.rules.book import Rules
from bot.rules.model import FeedRule
from bot.store import Store
from bot.store.aio import Offload, to_thread
from bot.watches import WatchBook

__all__ = ["AlertOptions", "Pipeline", "PollReport"]

log = logging.getLogger(__name__)


@dataclass
class _InFlight:
    """Bounds on polls in flight in one event loop: overall and per host."""

    loop: asyncio.AbstractEventLoop
    overall: asyncio.Semaphore
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        *,
        store: Store,
        fetcher: Fetcher,
        rules: Rules,
        options: AlertOptions | None = None,
        on_alerts: Callable[[int], None] | None = None,
        on_notice: Callable[[Notice], Awaitable[None]] | None = None,
        clock: Clock = utc_now,
        metrics: Recorder | None = None,
        parsers: FeedParsers | None = None,
        offload: Offload = to_thread,
        watches: WatchBook | None = None,
    ) -> None:
        self.metrics: Recorder = metrics or NullMetrics()
        self.watches = watches
        self.store = store
        self.fetcher = fetcher
        self.rules = rules  # the rules in force, read afresh by every poll
        self.options = options or AlertOptions()
        self._on_alerts = on_alerts
        self._on_notice = on_notice
        self._clock = clock
        # Where a poll waits for the store (one round trip or more per call on PostgreSQL):
        # never on the event loop, which goes on fetching meanwhile.
        self._io = offload
        # Where documents are parsed: worker processes, or a thread of this one.
        self.parsers = parsers or FeedParsers(0)
        # A document fetched and not yet digested waits in memory: so polls in flight, from
        # fetch to store, are bounded by what the fetcher and the parsers take at once, and
        # fetching never runs far ahead of parsing.
        waiting = 2 * max(1, self.parsers.processes)  # documents fetched, queued to parse
        self._in_flight_limit = fetcher.max_concurrency + waiting
        self._in_flight_per_host = fetcher.per_host_concurrency + waiting
        self._in_flight: _InFlight | None = None
        self.ingest = _ingest_stage(store, rules, self.options, self.metrics, watches)

    async def poll_all(
        self,
        feeds: Sequence[FeedRule] | None = None,
        *,
        on_schedule: bool = True,
        holder: str | None = None,
        force: bool = False,
    ) -> list[PollReport]:
        """Poll the given feeds (default: every enabled feed) once, concurrently.

        ``on_schedule=False`` (``mediabot once``) polls healthy feeds even before their next
        planned time; a feed that is failing, or whose server asked for a pause, still
        waits, unless ``force`` (``mediabot once --force``). With ``holder``, each feed is
        leased first, and one that another process is polling is skipped.
        """
        enabled = [f for f in self.rules.current().rules.feeds if f.enabled]
        if feeds is None:
            feeds = enabled
        leases = await self._lease(holder, feeds, enabled) if holder is not None else {}
        polls = []
        for feed in feeds:
            if holder is not None and feed.id not in leases:
                polls.append(_in_use(feed))
            else:
                lease = leases.get(feed.id)
                polls.append(
                    self.poll_feed(feed, on_schedule=on_schedule, lease=lease, force=force)
                )
        return list(await asyncio.gather(*polls))

    async def _lease(
        self, holder: str, feeds: Sequence[FeedRule], enabled: Sequence[FeedRule]
    ) -> dict[str, Lease]:
        """Lease the feeds for ``holder``: those another process is polling are left out."""
        await asyncio.to_thread(
            self.store.sync_feeds, {f.id: interval(f, self.options) for f in enabled}
        )
        at, taken = await asyncio.to_thread(
            self.store.lease_feeds,
            holder,
            [f.id for f in feeds],
            self.options.lease_seconds,
            self._clock(),
        )
        return {feed_id: Lease(holder, at) for feed_id in taken}

    @property
    def capacity(self) -> int:
        """Polls this process takes on at once: what the fetcher and the parsers hold."""
        return self._in_flight_limit

    async def poll_feed(
        self,
        feed: FeedRule,
        *,
        on_schedule: bool = True,
        lease: Lease | None = None,
        force: bool = False,
    ) -> PollReport:
        """Poll one feed. With a ``lease`` (the scheduler's tick), the store has judged it
        due and its writes are fenced by the lease; without one, it is polled if due."""
        async with self._slot(feed):
            try:
                report = await self._poll_feed(feed, on_schedule, lease, force)
            except LeaseLost as exc:
                log.warning("feed_lease_lost", extra={"feed_id": feed.id, "error": str(exc)})
                report = PollReport(feed.id, ok=False, error=str(exc), error_kind="lease_lost")
        if not report.skipped:
            self.metrics.feed_polled(
                report.feed_id,
                ok=report.ok,
                error_kind=report.error_kind,
                new_items=report.new_items,
                not_modified=report.not_modified,
            )
        for notice in report.notices:
            log.warning("feed_health", extra={"feed_id": notice.feed_id, "kind": notice.kind})
            if self._on_notice is not None:
                await self._on_notice(notice)
        return report

    async def _poll_feed(
        self, feed: FeedRule, on_schedule: bool, lease: Lease | None, force: bool = False
    ) -> PollReport:
        # Store calls block: off the event loop, so sends and commands go on meanwhile.
        state = await self._io(self.store.feed_state, feed.id)
        state = state or FeedState(feed_id=feed.id, url=feed.url)
        if state.url != feed.url:
            state = moved(state, feed)
        now = lease.at if lease is not None else self._clock()
        holder = lease.holder if lease is not None else None
        judged = lease is not None and on_schedule  # leased by the tick: the store said due
        if not (judged or force or due(state, now, on_schedule)):
            return await self._not_due(feed, state, holder)
        state.last_poll = now
        return await self._fetch(feed, state, now, holder)

    async def _not_due(self, feed: FeedRule, state: FeedState, holder: str | None) -> PollReport:
        log.debug("feed_not_due", extra={"feed_id": feed.id})
        if holder is not None:
            await self._io(self.store.release_feed, feed.id, holder)
        return PollReport(
            feed.id,
            ok=True,
            skipped=True,
            error=skip_reason(state),
            due=state.next_poll_not_before,
        )

    async def _fetch(
        self, feed: FeedRule, state: FeedState, now: datetime, holder: str | None
    ) -> PollReport:
        """Fetch and parse the feed, then ingest what it holds; a failure is recorded."""
        try:
            result = await self.fetcher.fetch(
                feed.url, etag=state.etag, last_modified=state.last_modified
            )
            if result.not_modified:
                record_success(state, now)
                notices = plan(feed, state, now, self.options, result=result)
                await self._io(self.store.save_feed_state, state, holder=holder)
                log.debug("feed_not_modified", extra={"feed_id": feed.id})
                return PollReport(feed.id, ok=True, not_modified=True, notices=notices)
            parsed = await self.parsers.parse(
                result.body,
                feed_id=feed.id,
                url=result.url,
                headers=result.headers,
                # A first poll ingests the backlog unmatched: the workers make its previews.
                previews=state.first_success is None,
            )
        except FeedError as exc:
            return await self._io(
                record_failure, self.store, self.options, state, feed, exc, now, holder
            )
        state.etag, state.last_modified = result.etag, result.last_modified
        state.title = parsed.title or state.title
        # Matching, rendering and the store's writes are CPU and blocking I/O: off the loop,
        # so sends, commands and heartbeats go on while a big feed is digested.
        report = await asyncio.to_thread(self.ingest.run, feed, state, parsed, result, now, holder)
        if report.alerts and self._on_alerts:
            self._on_alerts(report.alerts)
        return report

    @asynccontextmanager
    async def _slot(self, feed: FeedRule) -> AsyncIterator[None]:
        """A place among the polls in flight, for the running event loop."""
        loop = asyncio.get_running_loop()
        if self._in_flight is None or self._in_flight.loop is not loop:
            self._in_flight = _InFlight(loop, asyncio.Semaphore(self._in_flight_limit))
        flight = self._in_flight
        host = urlsplit(feed.url).hostname or ""
        per_host = flight.hosts.setdefault(host, asyncio.Semaphore(self._in_flight_per_host))
        # Host first, as in the fetcher: polls queued for one busy site must not hold the
        # places every other site's polls need.
        async with per_host, flight.overall:
            yield


async def _in_use(feed: FeedRule) -> PollReport:
    log.info("feed_in_use", extra={"feed_id": feed.id})
    return PollReport(feed.id, ok=True, skipped=True, error="polled by another process now")


def _ingest_stage(
    store: Store,
    rules: Rules,
    options: AlertOptions,
    metrics: Recorder,
    watches: WatchBook | None,
) -> Ingest:
    """The stages after the parse, wired to the same store, rules and options."""
    spikes = Sightings(rules=rules, options=options)
    alerts = AlertMaker(
        store=store, rules=rules, options=options, metrics=metrics, watches=watches, spikes=spikes
    )
    return Ingest(store=store, rules=rules, options=options, alerts=alerts, spikes=spikes)
