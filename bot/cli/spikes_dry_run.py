"""``mediabot spikes``: the rules' spikes over an archive, in time order, as a dry run.

The same detector as the service (``bot.spikes.detect``), over a ledger in memory
(``bot.spikes.memory``), judging every window rather than only the current one: what the
service would have sent, had it run through those days. Inputs are those of ``mediabot
match``, in any order and size; memory stays bounded:

1. Items stream in one at a time. Each is matched against what the spikes watch; one
   that hits nothing is dropped at once. One that hits is kept as a small record (its
   time, id, title, link, source, fingerprint and the keys it hits) in a temporary SQLite
   file, which sorts them by time on disk.
2. The records are read back oldest first and counted; windows more than a baseline
   behind are forgotten as the time moves on.

A window is reported once it has closed (or at the end): ``--format jsonl`` prints one
line per (spike, entity, window) that fired, ``{"spike", "entity", "window_end", "count",
"baseline", "items"}`` (DESIGN §5), with the window's final count, the usual count per
window when it first fired, and the ids of its items. Items without a date cannot be
placed in time; they are counted and reported on stderr.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.cli.dry_run import display_id
from bot.config.settings import Settings
from bot.feeds.inputs import InputFailure, iter_inputs
from bot.models import Item
from bot.rules.load import load_rules
from bot.rules.model import RuleSet
from bot.service.parts import make_fetcher
from bot.spikes.detect import Detector
from bot.spikes.fingerprints import story_fingerprint
from bot.spikes.memory import MemoryLedger
from bot.spikes.model import Sighting, Story, Surge
from bot.spikes.watch import SpikeWatch, compile_watch
from bot.spikes.windows import window_start

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class _Sorter:
    """Records of the items that hit, in a temporary SQLite file, read back by time."""

    def __init__(self, directory: Path) -> None:
        self._db = sqlite3.connect(directory / "spikes.sqlite3")
        self._db.execute("CREATE TABLE seen (at REAL, seq INTEGER, record TEXT)")
        self._seq = 0

    def add(self, sighting: Sighting) -> None:
        story = asdict(sighting.story) | {"at": sighting.story.at.isoformat()}
        record = json.dumps({"story": story, "keys": sighting.keys}, ensure_ascii=False)
        self._db.execute(
            "INSERT INTO seen VALUES (?, ?, ?)", (sighting.story.at.timestamp(), self._seq, record)
        )
        self._seq += 1

    def __len__(self) -> int:
        return self._seq

    def sorted(self) -> Iterator[Sighting]:
        for (record,) in self._db.execute("SELECT record FROM seen ORDER BY at, seq"):
            data = json.loads(record)
            story = data["story"] | {"at": datetime.fromisoformat(data["story"]["at"])}
            yield Sighting(Story(**story), tuple(data["keys"]))

    def close(self) -> None:
        self._db.close()


class _Run:
    """Counting the sorted sightings and reporting each window that fired."""

    def __init__(self, watch: SpikeWatch, fmt: str, out: TextIO) -> None:
        self.watch, self.fmt, self.out = watch, fmt, out
        self.detector = Detector(watch)
        self.ledger = MemoryLedger()
        self.open: dict[tuple[str, str, datetime], Surge] = {}
        self.current: dict[str, datetime] = {}  # per spike: the window of the newest item
        self.reported = 0

    def sighting(self, sighting: Sighting) -> None:
        at = sighting.story.at
        self._close(at)
        for surge in self.detector.observe([sighting], self.ledger):
            first = self.open.get(surge.key)
            self.open[surge.key] = surge if first is None else replace(surge, mean=first.mean)

    def _close(self, now: datetime | None) -> None:
        """Report the windows that ended by ``now`` (every one when None), then forget
        what no later window can need."""
        for key, surge in list(self.open.items()):
            if now is None or surge.window_end <= now:
                del self.open[key]
                self._report(surge)
        if now is None:
            return
        for spike in self.watch.spikes:
            start = window_start(now, spike.window)
            if self.current.get(spike.id) == start:
                continue
            self.current[spike.id] = start
            self.ledger.forget(
                spike.id,
                counts_before=start - timedelta(seconds=spike.baseline),
                stories_before=start - timedelta(seconds=spike.window),
            )

    def _report(self, surge: Surge) -> None:
        stories = self.ledger.stories(surge.spike.id, surge.watched.key, surge.window_start)
        self.reported += 1
        if self.fmt == "jsonl":
            print(json.dumps(jsonl_row(surge, stories), ensure_ascii=False), file=self.out)
        else:
            _print_table(surge, stories, self.out)

    def finish(self) -> None:
        self._close(None)


def jsonl_row(surge: Surge, stories: Sequence[Story]) -> dict[str, Any]:
    return {
        "spike": surge.spike.id,
        "entity": surge.watched.key,
        "window_end": surge.window_end.astimezone(UTC).isoformat(),
        "count": len(stories),
        "baseline": round(surge.mean, 3),
        "items": [s.ident if s.ident is not None else s.link or s.item_key for s in stories],
    }


def _print_table(surge: Surge, stories: Sequence[Story], out: TextIO) -> None:
    start = surge.window_start.astimezone(UTC)
    end = surge.window_end.astimezone(UTC)
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%Y-%m-%d %H:%M}"
    print(
        f"▶ {surge.spike.id}  {surge.watched.key}  {start:%Y-%m-%d %H:%M}–{until} UTC  "
        f"{len(stories)} items (usual {surge.mean:.2f})",
        file=out,
    )
    for story in stories[-3:]:
        print(f"    {story.title[:80]}  [{story.source}]", file=out)
    print("", file=out)


def _story(watch: SpikeWatch, item: Item) -> Sighting | None:
    if item.published is None:
        return None
    prepared = watch.prepare(item)
    keys = watch.keys_hit(prepared)
    if not keys:
        return None
    fp = story_fingerprint(item.title, prepared["content"])
    story = Story(
        feed_id=item.feed_id,
        item_key=item.key,
        at=item.published.astimezone(UTC),
        title=item.title,
        link=item.link,
        source=item.feed_id,
        fingerprint=fp,
        ident=display_id(item),
    )
    return Sighting(story, keys)


def _chosen(rules: RuleSet, wanted: Sequence[str]) -> RuleSet | str:
    unknown = [s for s in wanted if rules.spike(s) is None]
    if not rules.spikes:
        return "the rules define no spikes (see docs/rules.md, Spikes)"
    if unknown:
        known = ", ".join(s.id for s in rules.spikes)
        return f"unknown spike id(s): {', '.join(unknown)} (spikes: {known})"
    if not wanted:
        return rules
    return replace(rules, spikes=tuple(s for s in rules.spikes if s.id in wanted))


async def spikes(
    settings: Settings, specs: Sequence[str], wanted: Sequence[str], fmt: str, out: TextIO
) -> int:
    rules = _chosen(load_rules(settings.rules_dir).rules, wanted)
    if isinstance(rules, str):
        print(f"mediabot spikes: {rules}", file=sys.stderr)
        return EXIT_USAGE
    watch = compile_watch(rules)
    items = undated = 0
    failures: list[InputFailure] = []
    with tempfile.TemporaryDirectory(prefix="mediabot-spikes-") as tmp:
        sorter = _Sorter(Path(tmp))
        try:
            async with make_fetcher(settings) as fetcher:
                async for read in iter_inputs(list(specs), fetcher):
                    if isinstance(read, InputFailure):
                        failures.append(read)
                        print(f"mediabot spikes: {read.source}: {read.reason}", file=sys.stderr)
                        continue
                    items += 1
                    undated += read.published is None
                    found = _story(watch, read)
                    if found is not None:
                        sorter.add(found)
            run = _Run(watch, fmt, out)
            for sighting in sorter.sorted():
                run.sighting(sighting)
            run.finish()
        finally:
            sorter.close()
    if undated:
        print(
            f"mediabot spikes: {undated} items have no date and were not placed in time",
            file=sys.stderr,
        )
    if fmt == "table":
        print(
            f"{items} items, {len(sorter)} counted for watched names, {run.reported} windows fired",
            file=out,
        )
    return EXIT_OK if items or not failures else EXIT_FAIL
