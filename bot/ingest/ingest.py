"""A parsed document into the store: its new items, their alerts and what they count for
the spikes, with the feed's state, in one write transaction (``Store.record_poll``), so a
crash can neither lose an alert nor send one twice."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.dedupe import collapse_near_duplicates
from bot.ingest.alerts import AlertMaker, log_held
from bot.ingest.fresh import fresh_items, oldest_first, recent, unique_by_key
from bot.ingest.options import AlertOptions, PollReport
from bot.ingest.sightings import Sightings
from bot.ingest.state import plan, record_success
from bot.models import Alert, FeedState, FetchResult, Item, ParsedFeed
from bot.rules.book import Rules
from bot.rules.model import FeedRule
from bot.spikes.model import Sighting
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ingest:
    store: Store
    rules: Rules  # the rules in force, read afresh by every poll
    options: AlertOptions
    alerts: AlertMaker
    spikes: Sightings

    def run(
        self,
        feed: FeedRule,
        state: FeedState,
        parsed: ParsedFeed,
        result: FetchResult,
        now: datetime,
        holder: str | None = None,
    ) -> PollReport:
        """Ingest one fetched and parsed document. Blocking: matching, rendering and the
        store's writes; the caller runs it off the event loop."""
        items = unique_by_key(parsed.items)
        new_items = oldest_first(fresh_items(self.store, feed.id, items))
        first_poll = state.first_success is None
        to_alert = new_items
        if first_poll:
            keep = self.options.backfill
            to_alert = new_items[-keep:] if keep else []
        texts: dict[str, str] = {}  # normalized content of the items matched, for ``recent``
        sightings: list[Sighting] = []  # what the new items count for spikes
        alerts = self._examine(feed, state, new_items, to_alert, now, texts, sightings)
        if first_poll:
            _log_first_poll(feed.id, new_items, to_alert)
        log_held(feed.id, alerts)
        record_success(state, now)
        notices = plan(
            feed, state, now, self.options, result=result, parsed=parsed, new_items=new_items
        )
        queued = self.store.record_poll(
            state,
            new_items,
            now,
            alerts,
            holder=holder,
            collapse=lambda view, batch: collapse_near_duplicates(view, batch, now),
            recent=recent(new_items, texts, now),
            spike_count=self.spikes.spike_count(sightings, now),
        )
        _log_polled(feed.id, len(items), len(new_items), queued, first_poll)
        return PollReport(
            feed.id, ok=True, new_items=len(new_items), alerts=queued, notices=notices
        )

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
        alerts_for = self.alerts.alerts_for
        if not self.rules.current().spikes:
            return [a for item in to_alert for a in alerts_for(feed, state, item, now, texts)]
        alerting = {item.key for item in to_alert}
        alerts: list[Alert] = []
        for item in new_items:
            if item.key in alerting:
                alerts.extend(alerts_for(feed, state, item, now, texts, sightings))
            else:
                try:
                    prepared = self.rules.current().matcher.prepare(item)
                    self.spikes.sight(feed, state, item, now, prepared, None, sightings)
                except Exception:
                    log.exception(
                        "item_match_failed", extra={"feed_id": feed.id, "item_key": item.key}
                    )
        return alerts


def _log_first_poll(feed_id: str, new_items: Sequence[Item], to_alert: Sequence[Item]) -> None:
    log.info(
        "feed_first_poll",
        extra={
            "feed_id": feed_id,
            "marked_seen": len(new_items) - len(to_alert),
            "considered": len(to_alert),
            "why": "a new feed alerts on at most MEDIABOT_BACKFILL of its newest items",
        },
    )


def _log_polled(feed_id: str, items: int, new_items: int, queued: int, first_poll: bool) -> None:
    log.info(
        "feed_polled",
        extra={
            "feed_id": feed_id,
            "items": items,
            "new_items": new_items,
            "alerts": queued,
            "first_poll": first_poll,
        },
    )
