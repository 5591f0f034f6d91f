"""The spike detector: items in time order in, surges out (pure; counts live in a ledger).

For each item and each (spike, watched key) it hits:

1. Place it: the window (aligned to UTC) holding its time, ``published`` else first seen.
2. Count it once: not when it is a near-duplicate (``bot.text.cluster``) of one of the last
   ``MAX_COMPARED`` stories counted for that spike and key in that window (one story
   through five feeds is one item), nor when the same item was counted before (a retried
   poll, a second poller).
3. Judge the window: a surge when ``count >= min_items`` and ``count >= factor x mean``,
   the mean being the count per window over the ``baseline`` before the window. A spike
   that has been counting for less than the baseline (a new install, a new spike) takes
   the mean over the windows it has counted; one that began counting within this very
   window has no usual yet and does not fire. The service judges only the window it is
   in (``now``); an item published last week counts for last week's window but never
   alerts on it. The dry run judges every window.
4. Once per (spike, key, window): the first surge is recorded in the ledger (a unique key
   in the store, so across pollers and restarts); later, while the window lasts, a count
   that grew by ``GROWTH`` since the one shown gives an update of that alert, not a new one.

A ledger (``bot.spikes.ledger``) is the store inside the poll's write transaction, or
``bot.spikes.memory``. Cost per item: a few ledger calls per key it hits; the baseline is
summed only when a count reaches ``min_items``. What it takes and gives is in
``bot.spikes.model``; how stories are fingerprinted and compared, ``bot.spikes.fingerprints``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.rules.model import Spike
from bot.spikes.fingerprints import decoded, surely_apart
from bot.spikes.ledger import MAX_COMPARED, Ledger
from bot.spikes.model import Group, Sighting, Story, Surge
from bot.spikes.watch import SpikeWatch, Target
from bot.spikes.windows import window_start
from bot.text import cluster

GROWTH = 0.25  # an alert is updated when its count grew by a quarter (and at least 1)


def grown_enough(shown: int, count: int) -> bool:
    return count >= shown + max(1, math.ceil(shown * GROWTH))


class Detector:
    """One rule set's spikes; ``observe`` a batch of sightings over a ledger."""

    def __init__(self, watch: SpikeWatch) -> None:
        self.watch = watch

    def observe(
        self, sightings: Sequence[Sighting], ledger: Ledger, now: datetime | None = None
    ) -> list[Surge]:
        """Count the sightings (in the order given: oldest first) and return the surges,
        one per (spike, key, window), each with the window's count after the batch."""
        placed = self._place(sightings)
        if not placed:
            return []
        ledger.lock(sorted({(g[0], g[1]) for _, _, g in placed}))
        ledger.prefetch(sorted({g for _, _, g in placed}), [(g, s.story) for s, _, g in placed])
        touched: dict[Group, tuple[Target, int]] = {}  # the windows counted in, and their counts
        current: Sighting | None = None
        fp: cluster.Fingerprint | None = None
        alike: dict[tuple[str, str], bool] = {}  # other stories: near-duplicates or not
        for sighting, target, group in placed:
            if sighting is not current:  # the pairs of one sighting come together
                current, alike = sighting, {}
                story = sighting.story
                fp = decoded(story.fingerprint) if story.fingerprint else None
            count = _add(group, story, fp, alike, ledger)
            if count is not None:
                touched[group] = (target, count)
        ledger.flush()
        # Each window is judged once, on its count after the batch: counts only grow, so a
        # window that would have fired part-way through fires now, with that count.
        # Only a window that may fire needs its baseline, and the batch's are read at once.
        judged = [
            (t, g, n, b)
            for g, (t, n) in touched.items()
            if _in_play(t.spike, g[2], n, now) and (b := _baseline(t.spike, g[2], ledger))
        ]
        ledger.prefetch_totals([(g[0], g[1], b[0], g[2]) for _, g, _, b in judged])
        found = (_judge(t, g[2], n, b, ledger) for t, g, n, b in judged)
        return [_final(surge, ledger) for surge in found if surge is not None]

    def _place(self, sightings: Sequence[Sighting]) -> list[tuple[Sighting, Target, Group]]:
        """Each sighting with each spike target it counts for, and the window it counts in."""
        out = []
        for sighting in sightings:
            starts: dict[float, datetime] = {}  # one window start per window length
            for key in sighting.keys:
                for target in self.watch.targets(key):
                    window = target.spike.window
                    if window not in starts:
                        starts[window] = window_start(sighting.story.at, window)
                    out.append((sighting, target, (target.spike.id, key, starts[window])))
        return out


def _final(surge: Surge, ledger: Ledger) -> Surge:
    """The surge with the window's stories and count after the whole batch (what the
    alert shows, and so what the ledger records as shown)."""
    spike_id, key, start = surge.key
    stories = tuple(ledger.stories(spike_id, key, start))
    if len(stories) > surge.count:
        ledger.show(spike_id, key, start, len(stories), first=False)
    return replace(surge, count=max(surge.count, len(stories)), stories=stories)


def _duplicate(
    story: Story, fp: cluster.Fingerprint, prior: Story, alike: dict[tuple[str, str], bool]
) -> bool:
    ident = (prior.feed_id, prior.item_key)
    if ident == (story.feed_id, story.item_key):
        return False  # itself (counted under this key before): ``add`` tells
    if ident not in alike:
        known = decoded(prior.fingerprint) if prior.fingerprint else None
        alike[ident] = (
            known is not None
            and not surely_apart(prior.fingerprint or "", story.fingerprint or "")
            and cluster.near_duplicate(known, fp)
        )
    return alike[ident]


def _add(
    group: Group,
    story: Story,
    fp: cluster.Fingerprint | None,
    alike: dict[tuple[str, str], bool],
    ledger: Ledger,
) -> int | None:
    """Count a story in a (spike, key, window) unless it is counted already (itself, or a
    near-duplicate of a recent one): the window's new count."""
    spike_id, key, start = group
    if fp is not None:
        for prior in ledger.recent(spike_id, key, start, MAX_COMPARED):
            if _duplicate(story, fp, prior, alike):
                return None
    return ledger.add(spike_id, key, start, story)


def _judge(
    target: Target, start: datetime, count: int, baseline: tuple[datetime, int], ledger: Ledger
) -> Surge | None:
    """For a window in play with its ``baseline`` (``_in_play``, ``_baseline``): a surge
    when its count is ``factor`` times the usual count per window before it, the window's
    first alert or a grown count for its alert."""
    spike, key = target.spike, target.watched.key
    mean = ledger.total(spike.id, key, baseline[0], start) / max(1, baseline[1])
    if count < spike.factor * mean:
        return None
    shown = ledger.shown(spike.id, key, start)
    if shown is None:
        first = True
    elif grown_enough(shown, count):
        first = False
    else:
        return None
    if not ledger.show(spike.id, key, start, count, first):
        return None
    return Surge(spike, target.watched, start, count, mean, first)


def _in_play(spike: Spike, start: datetime, count: int, now: datetime | None) -> bool:
    """Whether a window with ``count`` may fire: it holds ``min_items`` and (with ``now``)
    is the current window, not one an old item was counted for."""
    if count < spike.min_items:
        return False
    return now is None or start <= now < start + timedelta(seconds=spike.window)


def _baseline(spike: Spike, start: datetime, ledger: Ledger) -> tuple[datetime, int] | None:
    """Where the baseline before the window at ``start`` begins, and how many windows it
    holds: the whole baseline, or the part of it the spike has counted; None when it
    counted none of it."""
    since = ledger.since(spike.id)
    if since is None or since >= start:
        return None
    counted = min(spike.baseline_windows, round((start - since).total_seconds() / spike.window))
    return start - timedelta(seconds=spike.window * counted), counted
