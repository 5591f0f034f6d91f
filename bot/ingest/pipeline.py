"""The one orchestrator: fetch → parse → identify + dedupe → match → render → outbox.

One call of :meth:`Pipeline.poll_feed` polls one feed. Whatever goes wrong with that feed
is recorded in its state and logged; it never stops the other feeds. The new items, their
"seen" marks and their alerts are written in one transaction, so a crash can neither lose
an alert nor send one twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.clock import Clock, utc_now
from bot.delivery.audience import alert_destinations
from bot.delivery.dedupe import collapse_near_duplicates
from bot.delivery.digest import next_slot
from bot.errors import FeedError, LeaseLost
from bot.feeds.fetch import Fetcher
from bot.feeds.identity import canonical_link, guid_key, link_key
from bot.feeds.policy import Notice, health_events, is_due, next_poll
from bot.feeds.workers import FeedParsers
from bot.ingest.scheduler import feed_interval
from bot.metrics import NullMetrics, Recorder
from bot.models import Alert, FeedState, FetchResult, Item, Lease, ParsedFeed, TopicMatch
from bot.rules.book import Rules
from bot.rules.evaluate import PatternHits
from bot.rules.match import Prepared
from bot.rules.model import FeedRule
from bot.spikes import surges
from bot.spikes.detect import Sighting
from bot.store import Store
from bot.store.aio import Offload, to_thread
from bot.store.store import SpikeCount
from bot.store.watches import RECENT_TEXT_CHARS, RecentItem
from bot.telegram.render import topic_alert, watch_alert
from bot.text import cluster
from bot.text.html import html_to_text
from bot.text.normalize import normalize
from bot.text.summarize import machine_input
from bot.watches import WatchBook, watch_key, watch_language

log = logging.getLogger(__name__)

# A backlog item's text is made plain from this much of its HTML: what a preview keeps
# (``bot.store.watches.RECENT_TEXT_CHARS``) with room for markup.
RECENT_SOURCE_CHARS = 20_000


@dataclass(slots=True)
class PollReport:
    feed_id: str
    ok: bool
    new_items: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    skipped: bool = False  # not due yet: backing off, or the server asked for a pause
    due: datetime | None = None  # a skipped feed: when it is due (``error`` says why not now)
    notices: tuple[Notice, ...] = ()


@dataclass(slots=True)
class AlertOptions:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    backfill: int = 0
    max_summary: int = 600
    default_interval: float = 600.0
    min_interval: float = 30.0
    max_interval: float = 86400.0
    # How long a poll holds its feed (MEDIABOT_FEED_LEASE): longer than a whole poll takes.
    lease_seconds: float = 300.0


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
        leases: dict[str, Lease] = {}
        if holder is not None:
            await asyncio.to_thread(
                self.store.sync_feeds, {f.id: self._interval(f) for f in enabled}
            )
            at, taken = await asyncio.to_thread(
                self.store.lease_feeds,
                holder,
                [f.id for f in feeds],
                self.options.lease_seconds,
                self._clock(),
            )
            leases = {feed_id: Lease(holder, at) for feed_id in taken}
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

    def _interval(self, feed: FeedRule) -> float:
        o = self.options
        return feed_interval(feed, o.default_interval, o.min_interval, o.max_interval)

    @staticmethod
    def _due(state: FeedState, now: datetime, on_schedule: bool) -> bool:
        if not on_schedule and state.consecutive_errors == 0:
            return True
        return is_due(state.next_poll_not_before, now)

    async def _poll_feed(
        self, feed: FeedRule, on_schedule: bool, lease: Lease | None, force: bool = False
    ) -> PollReport:
        # Store calls block: off the event loop, so sends and commands go on meanwhile.
        state = await self._io(self.store.feed_state, feed.id)
        state = state or FeedState(feed_id=feed.id, url=feed.url)
        if state.url != feed.url:
            state = _moved(state, feed)
        now = lease.at if lease is not None else self._clock()
        holder = lease.holder if lease is not None else None
        judged = lease is not None and on_schedule  # leased by the tick: the store said due
        if not (judged or force or self._due(state, now, on_schedule)):
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
        state.last_poll = now
        try:
            result = await self.fetcher.fetch(
                feed.url, etag=state.etag, last_modified=state.last_modified
            )
            if result.not_modified:
                self._record_success(state, now)
                notices = self._plan(feed, state, now, result=result)
                await self._io(self.store.save_feed_state, state, holder=holder)
                log.debug("feed_not_modified", extra={"feed_id": feed.id})
                return PollReport(feed.id, ok=True, not_modified=True, notices=notices)
            parsed = await self.parsers.parse(
                result.body, feed_id=feed.id, url=result.url, headers=result.headers
            )
        except FeedError as exc:
            return await self._io(self._record_failure, state, feed, exc, now, holder)
        state.etag, state.last_modified = result.etag, result.last_modified
        state.title = parsed.title or state.title
        # Matching, rendering and the store's writes are CPU and blocking I/O: off the loop,
        # so sends, commands and heartbeats go on while a big feed is digested.
        report = await asyncio.to_thread(self._ingest, feed, state, parsed, result, now, holder)
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

    def _plan(
        self,
        feed: FeedRule,
        state: FeedState,
        now: datetime,
        *,
        result: FetchResult | None = None,
        parsed: ParsedFeed | None = None,
        new_items: Sequence[Item] = (),
        error: FeedError | None = None,
    ) -> tuple[Notice, ...]:
        """Set the next poll time (interval, TTL, backoff, Retry-After) and the health
        state; return the notices for admins."""
        o = self.options
        plan = next_poll(
            now,
            interval=self._interval(feed),
            min_interval=o.min_interval,
            max_interval=o.max_interval,
            consecutive_errors=state.consecutive_errors,
            ttl_seconds=parsed.ttl_seconds if parsed else None,
            headers=result.headers if result else None,
            retry_after=getattr(error, "retry_after", None),
        )
        state.next_poll_not_before = plan.not_before
        updated, notices = health_events(
            state,
            now=now,
            new_items=len(new_items),
            published=[i.published for i in new_items],
            name=feed.name or state.title or feed.id,
        )
        _copy_health(updated, state)
        return tuple(notices)

    def _ingest(
        self,
        feed: FeedRule,
        state: FeedState,
        parsed: ParsedFeed,
        result: FetchResult,
        now: datetime,
        holder: str | None = None,
    ) -> PollReport:
        items = _unique_by_key(parsed.items)
        new_items = oldest_first(self._new_items(feed.id, items))
        first_poll = state.first_success is None
        to_alert = new_items
        if first_poll:
            keep = self.options.backfill
            to_alert = new_items[-keep:] if keep else []
        texts: dict[str, str] = {}  # normalized content of the items matched, for ``recent``
        sightings: list[Sighting] = []  # what the new items count for spikes
        alerts = self._examine(feed, state, new_items, to_alert, now, texts, sightings)
        if first_poll:
            log.info(
                "feed_first_poll",
                extra={
                    "feed_id": feed.id,
                    "marked_seen": len(new_items) - len(to_alert),
                    "considered": len(to_alert),
                    "why": "a new feed alerts on at most MEDIABOT_BACKFILL of its newest items",
                },
            )
        _log_held(feed.id, alerts)
        self._record_success(state, now)
        notices = self._plan(feed, state, now, result=result, parsed=parsed, new_items=new_items)
        queued = self.store.record_poll(
            state,
            new_items,
            now,
            alerts,
            holder=holder,
            collapse=lambda view, batch: collapse_near_duplicates(view, batch, now),
            recent=_recent(new_items, texts, now),
            spike_count=self._spike_count(sightings, now),
        )
        log.info(
            "feed_polled",
            extra={
                "feed_id": feed.id,
                "items": len(items),
                "new_items": len(new_items),
                "alerts": queued,
                "first_poll": first_poll,
            },
        )
        return PollReport(
            feed.id, ok=True, new_items=len(new_items), alerts=queued, notices=notices
        )

    def _new_items(self, feed_id: str, items: Sequence[Item]) -> list[Item]:
        """The items seen for the first time, under any form of their identity.

        An item's key is its guid, or its canonical link when the guid is missing or
        repeated in the document. A guid can become repeated (or unique) between polls, so
        the key of one item can change: it counts as seen when its key, its link key, or
        its guid key recorded with the same link was seen before.
        """
        by_link = {i.key: link_key(i.link) for i in items}
        by_guid = {i.key: g for i in items if (g := _guid_fell_back(i)) is not None}
        wanted = {i.key for i in items} | {k for k in by_link.values() if k}
        unseen = self.store.unseen(feed_id, sorted(wanted))
        guid_links = self.store.seen_links(feed_id, sorted(set(by_guid.values())))
        fresh = []
        for item in items:
            by_its_link = by_link[item.key]
            recorded = guid_links.get(by_guid.get(item.key, ""))
            if (
                item.key in unseen
                and (by_its_link is None or by_its_link in unseen)
                and not (recorded is not None and _same_link(recorded, item.link))
            ):
                fresh.append(item)
        return fresh

    def _examine(
        self,
        feed: FeedRule,
        state: FeedState,
        new_items: Sequence[Item],
        to_alert: Sequence[Item],
        now: datetime,
        texts: dict[str, str],
        sightings: list[Sighting],
    ) -> list[Alert]:
        """The alerts of the items to alert on; with spikes, what every new item counts
        for them goes to ``sightings`` (a new feed's backlog too: placed in time by its
        dates, it is coverage all the same)."""
        if not self.rules.current().spikes:
            return [a for item in to_alert for a in self._alerts_for(feed, state, item, now, texts)]
        alerting = {item.key for item in to_alert}
        alerts: list[Alert] = []
        for item in new_items:
            if item.key in alerting:
                alerts.extend(self._alerts_for(feed, state, item, now, texts, sightings))
            else:
                try:
                    prepared = self.rules.current().matcher.prepare(item)
                    self._sight(feed, state, item, now, prepared, None, sightings)
                except Exception:
                    log.exception(
                        "item_match_failed", extra={"feed_id": feed.id, "item_key": item.key}
                    )
        return alerts

    def _sight(
        self,
        feed: FeedRule,
        state: FeedState,
        item: Item,
        now: datetime,
        prepared: Prepared,
        hits: PatternHits | None,
        sightings: list[Sighting],
    ) -> None:
        """What ``item`` counts for the spikes, from the hits of the topics' own scan."""
        book = self.rules.current()  # one read: a reload meanwhile must not mix two rule sets
        watch, matcher = book.spikes, book.matcher
        if not watch:
            return
        fired = matcher.watched_fired(hits if hits is not None else matcher.hits(prepared))
        if not fired:
            return
        source = feed.name or state.title or feed.id
        seen = surges.sighting(
            watch, item, prepared, source=source, first_seen=now, keys=watch.keys_of(fired)
        )
        if seen is not None:
            sightings.append(seen)

    def _spike_count(self, sightings: Sequence[Sighting], now: datetime) -> SpikeCount | None:
        watch = self.rules.current().spikes
        if not sightings or not watch:
            return None
        return surges.counter(watch, sightings, now, self.options.tz)

    def _alerts_for(
        self,
        feed: FeedRule,
        state: FeedState,
        item: Item,
        now: datetime,
        texts: dict[str, str] | None = None,
        sightings: list[Sighting] | None = None,
    ) -> list[Alert]:
        book = self.rules.current()
        try:
            prepared = book.matcher.prepare(item)
            if self.watches is not None:  # one scan for the topics and the watches
                compiled, hits = self.watches.scan(book, prepared)
            else:
                compiled, hits = None, book.matcher.hits(prepared)
            match = book.matcher.match_prepared(
                prepared, item.feed_id, feed_tags=feed.tags, hits=hits
            )
            watched = self.watches.match(book, prepared, hits, compiled) if self.watches else []
            if sightings is not None:
                self._sight(feed, state, item, now, prepared, hits, sightings)
        except Exception:
            # A matcher bug on one item must not block the feed forever: log it, mark it seen.
            log.exception("item_match_failed", extra={"feed_id": feed.id, "item_key": item.key})
            return []
        alerts: list[Alert] = []
        feed_name = feed.name or state.title or feed.id
        content = match.plain.get("content", "")
        if texts is not None:
            texts[item.key] = prepared["content"].cased[0][:RECENT_TEXT_CHARS]
        fired = match.topics or watched
        fp = cluster.encode(cluster.fingerprint(item.title, content)) if fired else None
        for topic_match in match.topics:
            topic = book.rules.topic(topic_match.topic_id)
            if topic is None:
                continue
            self.metrics.topic_matched(topic.id)
            body = topic_alert(
                item=item,
                topic_id=topic.id,
                topic_name=topic.name,
                feed_name=feed_name,
                match=topic_match,
                plain=match.plain,
                tz=self.options.tz,
                max_summary=self.options.max_summary,
            )
            deliver_at = next_slot(topic.delivery, now, self.options.tz)
            for dest in alert_destinations(self.store, topic.id, topic.channels, now):
                alerts.append(
                    Alert(
                        feed.id,
                        item.key,
                        topic.id,
                        dest,
                        body,
                        now,
                        fingerprint=fp,
                        deliver_at=deliver_at,
                        summary_input=None if deliver_at else machine_input(match.plain),
                    )
                )
        for row, hit in watched:
            key = watch_key(row.id)
            if row.destination in self.store.muted(key, now):
                continue
            body = watch_alert(
                item=item,
                watch_key=key,
                query=row.query,
                feed_name=feed_name,
                match=TopicMatch(key, hit.hits),
                plain=match.plain,
                tz=self.options.tz,
                max_summary=self.options.max_summary,
                lang=watch_language(row.query),
            )
            alerts.append(
                Alert(
                    feed.id,
                    item.key,
                    key,
                    row.destination,
                    body,
                    now,
                    fingerprint=fp,
                    summary_input=machine_input(match.plain),
                )
            )
        return alerts

    @staticmethod
    def _record_success(state: FeedState, now: datetime) -> None:
        state.last_success = now
        state.first_success = state.first_success or now
        state.consecutive_errors = 0
        state.last_error = None

    def _record_failure(
        self, state: FeedState, feed: FeedRule, exc: FeedError, now: datetime, holder: str | None
    ) -> PollReport:
        state.consecutive_errors += 1
        state.last_error = f"{exc.kind}: {exc}"
        notices = self._plan(feed, state, now, error=exc)
        self.store.save_feed_state(state, holder=holder)
        log.warning(
            "feed_poll_failed",
            extra={
                "feed_id": feed.id,
                "error_kind": exc.kind,
                "error": str(exc),
                "consecutive_errors": state.consecutive_errors,
            },
        )
        return PollReport(feed.id, ok=False, error=str(exc), error_kind=exc.kind, notices=notices)


def skip_reason(state: FeedState) -> str:
    """Why a feed that is not due waits: what ``mediabot once`` tells."""
    if state.consecutive_errors:
        last = f" (last: {state.last_error})" if state.last_error else ""
        n = state.consecutive_errors
        return f"backing off after {n} failed poll{'s' if n > 1 else ''}{last}"
    return "the server asked for a pause (Retry-After or the feed's ttl)"


def _log_held(feed_id: str, alerts: Sequence[Alert]) -> None:
    """Items held for a digest say when they go out: nothing is sent now for them."""
    held: dict[tuple[str, datetime], set[str]] = {}
    for alert in alerts:
        if alert.deliver_at is not None:
            held.setdefault((alert.topic_id, alert.deliver_at), set()).add(alert.item_key)
    for (topic_id, slot), keys in held.items():
        log.info(
            "digest_held",
            extra={
                "feed_id": feed_id,
                "topic_id": topic_id,
                "items": len(keys),
                "slot": slot.isoformat(),
            },
        )


async def _in_use(feed: FeedRule) -> PollReport:
    log.info("feed_in_use", extra={"feed_id": feed.id})
    return PollReport(feed.id, ok=True, skipped=True, error="polled by another process now")


def _moved(state: FeedState, feed: FeedRule) -> FeedState:
    """The feed's URL changed in the rules: the old URL's validators and first-poll mark do
    not carry over, so the new URL is polled at once and starts within the backfill limit."""
    if state.url is not None:
        log.info("feed_url_changed", extra={"feed_id": feed.id})
        return FeedState(feed_id=feed.id, url=feed.url, title=state.title)
    return replace(state, url=feed.url)  # a row from before URLs were recorded


def _guid_fell_back(item: Item) -> str | None:
    """The guid key of an item keyed otherwise (its guid was repeated in the document)."""
    key = guid_key(item.guid)
    return key if key is not None and item.key != key else None


def _same_link(a: str, b: str) -> bool:
    return bool(a.strip() and b.strip()) and canonical_link(a) == canonical_link(b)


def _copy_health(source: FeedState, target: FeedState) -> None:
    """``health_events`` returns an updated copy; the poll keeps working on ``target``."""
    target.failing_notified = source.failing_notified
    target.silent_notified = source.silent_notified
    target.last_new_item = source.last_new_item
    target.mean_gap_seconds = source.mean_gap_seconds


def _recent(items: Sequence[Item], texts: dict[str, str], now: datetime) -> list[RecentItem]:
    """New items with the start of their normalized text (case kept), for watch previews:
    matching normalized the matched ones already; the others, a new feed's backlog, are
    normalized here."""
    out = []
    for item in items:
        text = texts.get(item.key)
        if text is None:
            plain = html_to_text(item.content[:RECENT_SOURCE_CHARS])[:RECENT_TEXT_CHARS]
            text = normalize(plain, casefold=False)
        out.append(RecentItem(item.feed_id, item.key, item.title, item.link, text, now))
    return out


def _unique_by_key(items: Sequence[Item]) -> list[Item]:
    seen: set[str] = set()
    out: list[Item] = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out


def oldest_first(items: Sequence[Item]) -> list[Item]:
    """Feeds list newest first: walk them backwards, then order by date where every item has one."""
    ordered = list(reversed(items))
    if ordered and all(i.published is not None for i in ordered):
        ordered.sort(key=lambda i: i.published or datetime.min.replace(tzinfo=UTC))
    return ordered
