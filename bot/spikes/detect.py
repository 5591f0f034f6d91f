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

A ledger is the store inside the poll's write transaction, or ``bot.spikes.memory``. Cost
per item: a few ledger calls per key it hits; the baseline is summed only when a count
reaches ``min_items``.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from bot.rules.model import Spike, Watched
from bot.rules.prepare import PreparedField
from bot.spikes.watch import SpikeWatch, Target
from bot.spikes.windows import window_start
from bot.text import cluster

MAX_COMPARED = 30  # recent stories of a window an item is compared with for near-duplicates
GROWTH = 0.25  # an alert is updated when its count grew by a quarter (and at least 1)
# A story is recognised by its title and the lead of its body: syndicated copies and other
# editions share the lead, and fingerprinting a 100 kB body for every item that names a
# watched entity would cost more than the rest of its ingest.
LEAD_CHARS = 300

Group = tuple[str, str, datetime]  # spike id, key, window start


@dataclass(frozen=True, slots=True)
class Story:
    """One item as a spike counts it."""

    feed_id: str
    item_key: str
    at: datetime  # placed in time: published, else first seen
    title: str
    link: str
    source: str  # the feed's display name
    fingerprint: str | None = None  # ``cluster.encode`` of the item
    ident: str | int | None = None  # what the dry run reports (the input's id, else link)


@dataclass(frozen=True, slots=True)
class Sighting:
    """An item and the watched keys it hits."""

    story: Story
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Surge:
    """A window in which coverage of a watched thing surged."""

    spike: Spike
    watched: Watched
    window_start: datetime
    count: int
    mean: float  # the usual count per window
    first: bool  # the window's first alert; else its count grew since the alert
    stories: tuple[Story, ...] = field(default=(), compare=False)  # the window's, oldest first

    @property
    def window_end(self) -> datetime:
        return self.window_start + timedelta(seconds=self.spike.window)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.spike.id, self.watched.key, self.window_start)


class Ledger(Protocol):
    """Counts per (spike, key, window), the stories counted, and the alerts given."""

    def lock(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Hold (spike, key) until the batch is written: one counter at a time for each."""

    def prefetch(self, groups: Sequence[Group], stories: Sequence[tuple[Group, Story]]) -> None:
        """What a batch will ask about, read at once (a ledger may ignore it)."""

    def flush(self) -> None:
        """Write what the batch counted (a ledger may write as it goes)."""

    def recent(self, spike_id: str, key: str, start: datetime, limit: int) -> list[Story]:
        """The newest ``limit`` stories counted in the window starting at ``start``."""

    def add(self, spike_id: str, key: str, start: datetime, story: Story) -> int | None:
        """Count ``story`` in the window; the window's new count, or None if it was counted."""

    def prefetch_totals(self, ranges: Sequence[tuple[str, str, datetime, datetime]]) -> None:
        """The (spike, key, start, end) sums ``total`` will be asked for, read at once (a
        ledger may ignore it)."""

    def total(self, spike_id: str, key: str, start: datetime, end: datetime) -> int:
        """The sum of the counts of the windows starting in [start, end)."""

    def since(self, spike_id: str) -> datetime | None:
        """The start of the first window the spike counted anything in (what it knows)."""

    def stories(self, spike_id: str, key: str, start: datetime) -> list[Story]:
        """Every story counted in the window, oldest first."""

    def shown(self, spike_id: str, key: str, start: datetime) -> int | None:
        """The count the window's alert shows, or None when it has none."""

    def show(self, spike_id: str, key: str, start: datetime, count: int, first: bool) -> bool:
        """Record the alert (``first``) or its new count; False when another got there."""


def story_fingerprint(title: str, body: PreparedField) -> str:
    """``cluster.encode`` of the fingerprint spikes compare: the title and the first
    ``LEAD_CHARS`` characters of the body, from the body's normalized text (the matcher
    made it already)."""
    lead = body.folded[: bisect.bisect_left(body.folded_map, LEAD_CHARS)]
    fp = cluster.lead_fingerprint(title, lead)
    text = cluster.encode(fp)
    _remember(text, fp)  # the batch compares it next: no need to decode what was encoded
    return text


_DECODED: dict[str, cluster.Fingerprint | None] = {}
_DECODED_MAX = 8192  # about two polls' worth of stories and their windows' recent ones


def _remember(text: str, fp: cluster.Fingerprint | None) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        del _DECODED[next(iter(_DECODED))]  # the oldest entry
    _DECODED[text] = fp


def _decoded(text: str) -> cluster.Fingerprint | None:
    if text in _DECODED:
        return _DECODED[text]
    fp = cluster.decode(text)
    _remember(text, fp)
    return fp


@lru_cache(maxsize=4096)
def _sketch(text: str) -> frozenset[int]:
    fp = _decoded(text)
    return frozenset(fp.sketch) if fp is not None else frozenset()


def _surely_apart(a: str, b: str) -> bool:
    """Two long bodies sharing fewer sketch hashes than ``cluster.BODY_WITH_TITLE`` of a
    sketch cannot reach that similarity (the estimate counts shared hashes among the
    ``SKETCH`` smallest of the union), so ``cluster.near_duplicate`` would say no: a set
    intersection instead of its sort, for most of the pairs a busy window compares."""
    fa, fb = _decoded(a), _decoded(b)
    if fa is None or fb is None or min(fa.size, fb.size) < cluster.MIN_SHINGLES:
        return False
    if fa.scheme != fb.scheme:
        return False
    k = min(cluster.SKETCH, len(fa.sketch), len(fb.sketch))
    return len(_sketch(a) & _sketch(b)) < cluster.BODY_WITH_TITLE * k


def place(published: datetime | None, first_seen: datetime) -> datetime:
    """Where an item sits in time: published, else first seen; never after first seen (a
    date in the future is a feed's error, and must not open a window not yet begun)."""
    if published is None:
        return first_seen
    return min(published, first_seen)


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
                fp = _decoded(story.fingerprint) if story.fingerprint else None
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
        known = _decoded(prior.fingerprint) if prior.fingerprint else None
        alike[ident] = (
            known is not None
            and not _surely_apart(prior.fingerprint or "", story.fingerprint or "")
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
