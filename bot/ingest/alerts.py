"""The alerts of one new item: its topics' and its watches' matches, one scan for both, each
made an alert per destination (its delivery slot, its near-duplicate fingerprint)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.delivery.audience import alert_destinations
from bot.delivery.digest import next_slot
from bot.ingest.options import AlertOptions
from bot.ingest.sightings import Sightings
from bot.metrics import Recorder
from bot.models import Alert, FeedState, Item, ItemMatch, TopicMatch
from bot.rules.book import RuleBook, Rules
from bot.rules.model import FeedRule
from bot.rules.watchset import WatchHit
from bot.spikes.model import Sighting
from bot.store import Store
from bot.store.watches import RECENT_TEXT_CHARS, WatchRow
from bot.telegram.render import topic_alert, watch_alert
from bot.text import cluster
from bot.text.summarize import machine_input
from bot.watches import WatchBook, watch_key, watch_language

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Source:
    """What every alert of one item shares."""

    feed: FeedRule
    item: Item
    feed_name: str
    match: ItemMatch
    fingerprint: str | None
    now: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertMaker:
    store: Store
    rules: Rules  # the rules in force, read afresh for every item
    options: AlertOptions
    metrics: Recorder
    watches: WatchBook | None
    spikes: Sightings

    def alerts_for(
        self,
        feed: FeedRule,
        state: FeedState,
        item: Item,
        now: datetime,
        texts: dict[str, str] | None = None,
        sightings: list[Sighting] | None = None,
    ) -> list[Alert]:
        """The item's alerts; with ``texts``, its normalized content is kept there for the
        watch previews, and with ``sightings``, what it counts for the spikes."""
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
                self.spikes.sight(feed, state, item, now, prepared, hits, sightings)
        except Exception:
            # A matcher bug on one item must not block the feed forever: log it, mark it seen.
            log.exception("item_match_failed", extra={"feed_id": feed.id, "item_key": item.key})
            return []
        content = match.plain.get("content", "")
        if texts is not None:
            texts[item.key] = prepared["content"].cased[0][:RECENT_TEXT_CHARS]
        fired = match.topics or watched
        fp = cluster.encode(cluster.fingerprint(item.title, content)) if fired else None
        source = _Source(feed, item, feed.name or state.title or feed.id, match, fp, now)
        return self._topic_alerts(book, source) + self._watch_alerts(watched, source)

    def _topic_alerts(self, book: RuleBook, source: _Source) -> list[Alert]:
        alerts: list[Alert] = []
        item, match, now = source.item, source.match, source.now
        for topic_match in match.topics:
            topic = book.rules.topic(topic_match.topic_id)
            if topic is None:
                continue
            self.metrics.topic_matched(topic.id)
            body = topic_alert(
                item=item,
                topic_id=topic.id,
                topic_name=topic.name,
                feed_name=source.feed_name,
                match=topic_match,
                plain=match.plain,
                tz=self.options.tz,
                max_summary=self.options.max_summary,
            )
            deliver_at = next_slot(topic.delivery, now, self.options.tz)
            for dest in alert_destinations(self.store, topic.id, topic.channels, now):
                alerts.append(
                    Alert(
                        source.feed.id,
                        item.key,
                        topic.id,
                        dest,
                        body,
                        now,
                        fingerprint=source.fingerprint,
                        deliver_at=deliver_at,
                        summary_input=None if deliver_at else machine_input(match.plain),
                    )
                )
        return alerts

    def _watch_alerts(
        self, watched: Sequence[tuple[WatchRow, WatchHit]], source: _Source
    ) -> list[Alert]:
        alerts: list[Alert] = []
        item, match, now = source.item, source.match, source.now
        for row, hit in watched:
            key = watch_key(row.id)
            if row.destination in self.store.muted(key, now):
                continue
            body = watch_alert(
                item=item,
                watch_key=key,
                query=row.query,
                feed_name=source.feed_name,
                match=TopicMatch(key, hit.hits),
                plain=match.plain,
                tz=self.options.tz,
                max_summary=self.options.max_summary,
                lang=watch_language(row.query),
            )
            alerts.append(
                Alert(
                    source.feed.id,
                    item.key,
                    key,
                    row.destination,
                    body,
                    now,
                    fingerprint=source.fingerprint,
                    summary_input=machine_input(match.plain),
                )
            )
        return alerts


def log_held(feed_id: str, alerts: Sequence[Alert]) -> None:
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
