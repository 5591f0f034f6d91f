"""Spike alerts in a poll: the items' sightings counted, surges made into outbox alerts.

The pipeline calls ``sightings`` for each new item (the text it already prepared for the
topics), and hands ``counter(...)`` to the store, which runs it inside the poll's write
transaction over the store's ledger (``bot.store.spikes``). A surge becomes one alert per
destination of its spike (channels and subscribers, less those that muted it), rendered by
``bot.telegram.render_spike`` when sent; the outbox row of a (spike, key, window) and chat
is one, so a grown count rewrites or edits it (``bot.store.spike_alerts.queue_spikes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.delivery.audience import AudienceStore, alert_destinations
from bot.delivery.digest import next_slot
from bot.models import Alert, Destination, Item
from bot.rules.prepare import Prepared
from bot.spikes.detect import Detector
from bot.spikes.fingerprints import story_fingerprint
from bot.spikes.ledger import Ledger
from bot.spikes.model import Sighting, Story, Surge
from bot.spikes.watch import SpikeWatch
from bot.spikes.windows import place
from bot.telegram.render_spike import spike_alert

SPIKE_FEED = "spikes:"  # the outbox's feed id for spike alerts: never a feed's id (":")


def sighting(
    watch: SpikeWatch,
    item: Item,
    prepared: Prepared,
    *,
    source: str,
    first_seen: datetime,
    keys: Sequence[str] | None = None,
) -> Sighting | None:
    """The watched keys ``item`` hits (``keys`` when the caller's match already told),
    with the story to count; None when it hits none."""
    keys = tuple(keys) if keys is not None else watch.keys_hit(prepared)
    if not keys:
        return None
    fingerprint = story_fingerprint(item.title, prepared["content"])
    story = Story(
        feed_id=item.feed_id,
        item_key=item.key,
        at=place(item.published, first_seen),
        title=item.title,
        link=item.link,
        source=source,
        fingerprint=fingerprint,
    )
    return Sighting(story, keys)


def surge_alerts(
    surges: Sequence[Surge],
    destinations: Mapping[str, Sequence[Destination]],
    now: datetime,
    tz: ZoneInfo,
) -> list[tuple[Alert, int]]:
    """Each surge as an alert to each destination of its spike, with the count it shows."""
    out: list[tuple[Alert, int]] = []
    for surge in surges:
        spike = surge.spike
        body = spike_alert(
            spike_name=spike.name,
            watched=surge.watched,
            window=spike.window,
            window_start=surge.window_start,
            window_end=surge.window_end,
            count=surge.count,
            mean=surge.mean,
            stories=surge.stories,
            tz=tz,
        )
        deliver_at = next_slot(spike.delivery, now, tz)
        for dest in destinations.get(spike.id, ()):
            alert = Alert(
                feed_id=SPIKE_FEED,
                item_key=f"{surge.watched.key}@{surge.window_start.isoformat()}",
                topic_id=spike.id,
                destination=dest,
                body=body,
                first_seen=now,
                deliver_at=deliver_at,  # held for a digest: a digest item
            )
            out.append((alert, surge.count))
    return out


class AudienceLedger(Ledger, AudienceStore, Protocol):
    """A ledger that also knows who gets a spike's alerts (the store's, in its transaction)."""


def counter(
    watch: SpikeWatch, sightings: Sequence[Sighting], now: datetime, tz: ZoneInfo
) -> Callable[[AudienceLedger], list[tuple[Alert, int]]]:
    """What the store runs in the poll's transaction: count, then alert on surges, each
    to its spike's channels and subscribers (looked up only for the spikes that fire)."""

    def count(ledger: AudienceLedger) -> list[tuple[Alert, int]]:
        surges = Detector(watch).observe(sightings, ledger, now)
        destinations = {
            s.spike.id: alert_destinations(ledger, s.spike.id, s.spike.channels, now)
            for s in surges
        }
        return surge_alerts(surges, destinations, now, tz)

    return count
