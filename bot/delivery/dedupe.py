"""Near-duplicate alerts: the same story again, for the same topic and chat, within 72 hours.

Called by the pipeline between building a poll's alerts and writing them. An alert whose
item is a near-duplicate (``bot.text.cluster.near_duplicate``) of an alert already queued, sent
or held for a digest in the same topic and chat within ``WINDOW`` does not become a message
of its own:

- an instant alert becomes an ``also`` row pointing at the earlier alert; the sender turns
  it into an edit of that message, adding "also: <source link>" (``bot.delivery.sender``);
- a digest item stays a digest item that points at the earlier one; the digest lists it
  as "also:" on the earlier item's line (``bot.delivery.digest``);
- past ``MAX_ALSO`` duplicates of one alert, further ones are dropped (logged).

Earlier alerts of the same poll count too, so two feeds carrying the same story in one
poll give one message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.delivery.kinds import AlsoSource, TopicAlert
from bot.models import Alert, Destination, OutboxEntry
from bot.store.alerts import RecentAlerts
from bot.text import cluster

__all__ = ["MAX_ALSO", "WINDOW", "DedupeStore", "collapse_near_duplicates"]

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=72)
MAX_ALSO = 3

Scope = tuple[str, Destination]  # topic id, chat
Ref = tuple[str, str]  # feed id, item key of the first alert of a story


# What the check reads: the store, or one write transaction's view of the outbox.
DedupeStore = RecentAlerts


@dataclass(frozen=True, slots=True)
class _Earlier:
    ref: Ref
    kind: str
    fingerprint: cluster.Fingerprint


@dataclass(slots=True)
class _Batch:
    """What one poll knows: earlier alerts per scope and duplicate counts per alert."""

    store: DedupeStore
    since: datetime
    earlier: dict[Scope, list[_Earlier]] = field(default_factory=dict)
    counts: dict[tuple[Scope, Ref], int] = field(default_factory=dict)

    def originals(self, scope: Scope) -> list[_Earlier]:
        if scope not in self.earlier:
            rows = self.store.recent_alerts(scope[0], scope[1], self.since)
            self.earlier[scope] = [e for e in map(_earlier, rows) if e is not None]
        return self.earlier[scope]

    def count(self, scope: Scope, ref: Ref) -> int:
        key = (scope, ref)
        if key not in self.counts:
            self.counts[key] = len(self.store.duplicates_of(scope[0], scope[1], *ref))
        return self.counts[key]


def _earlier(entry: OutboxEntry) -> _Earlier | None:
    alert = entry.alert
    fp = cluster.decode(alert.fingerprint) if alert.fingerprint else None
    if fp is None or alert.ref_key is not None:
        return None  # only a story's first alert is compared against
    return _Earlier((alert.feed_id, alert.item_key), alert.kind, fp)


def collapse_near_duplicates(
    store: DedupeStore,
    alerts: Sequence[Alert],
    now: datetime,
    *,
    window: timedelta = WINDOW,
    max_also: int = MAX_ALSO,
) -> list[Alert]:
    """The alerts to queue: near-duplicates turned into "also" rows, or dropped past the cap."""
    batch = _Batch(store, now - window)
    out: list[Alert] = []
    for alert in alerts:
        fp = cluster.decode(alert.fingerprint) if alert.fingerprint else None
        if fp is None or alert.kind not in ("alert", "digest_item"):
            out.append(alert)
            continue
        scope: Scope = (alert.topic_id, alert.destination)
        match = next(
            (e for e in batch.originals(scope) if cluster.near_duplicate(e.fingerprint, fp)),
            None,
        )
        if match is None:
            batch.originals(scope).append(_Earlier((alert.feed_id, alert.item_key), alert.kind, fp))
            out.append(alert)
            continue
        duplicate = _as_duplicate(alert, match, batch, scope, max_also)
        if duplicate is not None:
            out.append(duplicate)
    return out


def _as_duplicate(
    alert: Alert, match: _Earlier, batch: _Batch, scope: Scope, max_also: int
) -> Alert | None:
    seen = batch.count(scope, match.ref)
    extra = {"topic_id": alert.topic_id, "chat": str(alert.destination), "item_key": alert.item_key}
    if seen >= max_also:
        log.info("near_duplicate_dropped", extra={**extra, "duplicates": seen})
        return None
    batch.counts[(scope, match.ref)] = seen + 1
    log.info("near_duplicate", extra={**extra, "of": match.ref[1], "feed_id": alert.feed_id})
    source = _source(alert)
    # A held digest item stays held (``deliver_at``): its digest line lists the source.
    return replace(
        alert, body=source, ref_feed=match.ref[0], ref_key=match.ref[1], summary_input=None
    )


def _source(alert: Alert) -> AlsoSource:
    """What the duplicate adds to the story: its source, link and title."""
    body = alert.body
    if isinstance(body, TopicAlert):
        return AlsoSource(body.item.source or alert.feed_id, body.item.link, body.item.title)
    return AlsoSource(alert.feed_id, None)
