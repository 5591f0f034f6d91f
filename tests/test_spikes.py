"""Spike detection on synthetic timelines of real item bodies (DESIGN §4 "Spikes").

Each timeline runs through the one detector over both ledgers: the dry run's memory and
the store's tables (SQLite here; PostgreSQL in ``test_spikes_postgres``), fed item by item
as the service sees them (``now`` is the item's arrival).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import opencc
import pytest

from bot.models import Item
from bot.rules.load import load_rules
from bot.rules.model import RuleSet
from bot.spikes.detect import Detector
from bot.spikes.ledger import Ledger
from bot.spikes.memory import MemoryLedger
from bot.spikes.model import Sighting, Story, Surge
from bot.spikes.surges import sighting
from bot.spikes.watch import SpikeWatch, compile_watch
from bot.store import Store
from bot.text import cluster
from tests.spike_material import ENTITIES, Body, trump_bodies

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def spike_rules(tmp_path: Path, **options: object) -> RuleSet:
    settings = {"window": "1h", "baseline": "1d", "factor": 3, "min_items": 5} | options
    lines = "".join(f"    {k}: {v}\n" for k, v in settings.items())
    text = ENTITIES + (
        "spikes:\n"
        "  - id: surges\n"
        "    name: Surges in coverage\n"
        '    watch: ["@trump", "@putin"]\n'
        f"{lines}"
        '    channels: ["@desk_watch"]\n'
    )
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "rules.yaml").write_text(text, encoding="utf-8")
    return load_rules(rules).rules


def item(body: Body, n: int, at: datetime, feed: str = "wire", **changes: str) -> Item:
    values = {
        "feed_id": feed,
        "key": f"g:{feed}-{n}",
        "title": body.title,
        "link": f"https://{feed}.example/{n}",
        "content": body.html,
        "published": at,
    } | changes
    return Item(**values)  # type: ignore[arg-type]


def seen(watch: SpikeWatch, it: Item, at: datetime | None = None) -> Sighting | None:
    prepared = watch.prepare(it)
    return sighting(watch, it, prepared, source=it.feed_id, first_seen=at or it.published or T0)


Feed = Callable[[Sequence[Sighting], datetime | None], list[Surge]]


@pytest.fixture(params=["memory", "sqlite"])
def ledger_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'spikes.db'}") as store:
        store.migrate()
        yield store


def feeder(kind: str, watch: SpikeWatch, store: Store) -> Feed:
    """Counting through the memory ledger, or through the store in one transaction per
    batch (as a poll does)."""
    detector = Detector(watch)
    memory = MemoryLedger()

    def feed(batch: Sequence[Sighting], now: datetime | None) -> list[Surge]:
        if kind == "memory":
            return detector.observe(batch, memory, now)
        found: list[Surge] = []

        def count(ledger: Ledger) -> list[tuple[object, int]]:
            found.extend(detector.observe(batch, ledger, now))
            return []

        store.count_spikes(count)  # type: ignore[arg-type]
        return found

    return feed


def warm_up(feed: Feed, watch: SpikeWatch) -> None:
    """One item in the first window: the spike has counted since then, so later windows
    have a usual rate (a spike with no history at all does not fire)."""
    first = seen(watch, item(trump_bodies(60)[-1], 999, T0 + timedelta(minutes=1)))
    assert first is not None
    assert feed([first], T0 + timedelta(minutes=1)) == []


def run(feed: Feed, watch: SpikeWatch, items: Sequence[Item]) -> list[Surge]:
    """Each item as its own poll, at its own time: what the service does."""
    out: list[Surge] = []
    for it in sorted(items, key=lambda i: i.published or T0):
        found = seen(watch, it)
        if found is not None:
            out.extend(feed([found], it.published))
    return out


def test_a_burst_fires_once_in_its_window_and_the_background_never(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(46)
    rules = spike_rules(tmp_path)
    watch = compile_watch(rules)
    # Steady background: one item about Trump every two hours for three days...
    background = [item(bodies[k], k, T0 + timedelta(hours=2 * k, minutes=17)) for k in range(36)]
    # ... and a burst of ten more within the hour from 12:00 on the third day.
    burst_start = T0 + timedelta(hours=60)
    burst = [
        item(bodies[36 + k], 36 + k, burst_start + timedelta(minutes=5 + 5 * k)) for k in range(10)
    ]
    surges = run(feeder(ledger_kind, watch, sqlite_store), watch, background + burst)
    assert surges, "the burst did not fire"
    assert {s.window_start for s in surges} == {burst_start}
    assert [s.first for s in surges].count(True) == 1
    first = next(s for s in surges if s.first)
    assert first.count == 5  # fires as soon as min_items is reached
    assert first.watched.key == "trump"
    # The usual rate: the day before holds twelve background items, 0.5 per hour.
    assert first.mean == pytest.approx(0.5)

    # Later surges of the window update the alert as the count grows by a quarter (the
    # window ends with 11: the burst and the background item of that hour).
    assert [(s.count, s.first) for s in surges] == [(5, True), (7, False), (9, False)]


def test_a_spike_without_history_does_not_fire(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(8)
    watch = compile_watch(spike_rules(tmp_path))
    feed = feeder(ledger_kind, watch, sqlite_store)
    at = T0 + timedelta(hours=4)
    # Eight items in the very first window the spike counts: there is no usual yet.
    assert (
        run(feed, watch, [item(b, k, at + timedelta(minutes=k)) for k, b in enumerate(bodies)])
        == []
    )


def test_the_background_alone_never_fires(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(40)
    watch = compile_watch(spike_rules(tmp_path, min_items=3))
    # Two or three an hour, every hour from the start: busy, but as usual (the first hour
    # has no usual rate to judge by: a spike does not fire before it has one).
    items = [item(bodies[k], k, T0 + timedelta(minutes=25 * k + 3)) for k in range(40)]
    assert run(feeder(ledger_kind, watch, sqlite_store), watch, items) == []


def test_a_syndicated_story_through_five_feeds_counts_once(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(6)
    watch = compile_watch(spike_rules(tmp_path, min_items=2))
    feed = feeder(ledger_kind, watch, sqlite_store)
    warm_up(feed, watch)
    at = T0 + timedelta(hours=5)
    story = bodies[0]
    copies = [
        item(
            story, 1, at + timedelta(minutes=3 * n), feed=f"outlet{n}", title=f"{tag}{story.title}"
        )
        for n, tag in enumerate(["", "【转载】", "[独家] ", "", "〔快讯〕"])
    ]
    assert run(feed, watch, copies) == []  # five copies of one story: one item, no spike
    # A second, different story in that window makes two items: now it fires, with 2.
    other = item(bodies[1], 2, at + timedelta(minutes=30), feed="outlet9")
    surges = run(feed, watch, [other])
    assert [(s.count, s.first) for s in surges] == [(2, True)]
    assert len(surges[0].stories) == 2


def test_a_traditional_script_copy_is_the_same_entity_and_the_same_story(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    body = trump_bodies(1)[0]
    to_traditional = opencc.OpenCC("s2t")
    traditional = Body(to_traditional.convert(body.title), to_traditional.convert(body.html))
    assert traditional.html != body.html
    watch = compile_watch(spike_rules(tmp_path, min_items=2))
    at = T0 + timedelta(hours=3)
    hant = item(traditional, 1, at, feed="rfa-hant")
    found = seen(watch, hant)
    assert found is not None and found.keys == ("trump",)  # the entity, in either script
    hans = item(body, 2, at + timedelta(minutes=10), feed="rfa-hans")
    assert run(feeder(ledger_kind, watch, sqlite_store), watch, [hant, hans]) == []
    fp_a, fp_b = (cluster.decode(s.story.fingerprint or "") for s in (found, seen(watch, hans)))  # type: ignore[union-attr]
    assert fp_a is not None and fp_b is not None and cluster.near_duplicate(fp_a, fp_b)


def test_a_window_boundary_splits_the_count(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(9)
    watch = compile_watch(spike_rules(tmp_path))
    feed = feeder(ledger_kind, watch, sqlite_store)
    warm_up(feed, watch)
    edge = T0 + timedelta(hours=11)
    before = [item(bodies[k], k, edge - timedelta(seconds=40 - k)) for k in range(4)]
    after = [item(bodies[4 + k], 4 + k, edge + timedelta(seconds=k)) for k in range(4)]
    # Eight items within a minute, but four in each hour: no window reaches five.
    assert run(feed, watch, before + after) == []
    fifth = item(bodies[8], 8, edge + timedelta(minutes=30))
    surges = run(feed, watch, [fifth])
    assert [(s.window_start, s.count) for s in surges] == [(edge, 5)]
    assert surges[0].window_end == edge + timedelta(hours=1)


def test_an_item_of_an_earlier_window_counts_there_but_never_alerts(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(6)
    watch = compile_watch(spike_rules(tmp_path))
    feed = feeder(ledger_kind, watch, sqlite_store)
    warm_up(feed, watch)
    old = T0 + timedelta(hours=2)
    now = T0 + timedelta(hours=30)
    # A new feed's backlog: six items of one old hour, arriving now.
    batch = [s for k in range(6) if (s := seen(watch, item(bodies[k], k, old), now))]
    assert feed(batch, now) == []
    # The same six arriving within their own hour would have fired.
    other = compile_watch(spike_rules(tmp_path))
    feed = feeder("memory", other, sqlite_store)
    warm_up(feed, other)
    batch = [s for k in range(6) if (s := seen(other, item(bodies[k], k, old), old))]
    assert [s.count for s in feed(batch, old)] == [6]


def test_the_same_item_counted_twice_counts_once(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    bodies = trump_bodies(5)
    watch = compile_watch(spike_rules(tmp_path))
    feed = feeder(ledger_kind, watch, sqlite_store)
    warm_up(feed, watch)
    at = T0 + timedelta(hours=7)
    first = [s for k in range(4) if (s := seen(watch, item(bodies[k], k, at)))]
    assert feed(first, at) == []
    assert feed(first, at) == []  # a retried poll: the same four items again
    fifth = seen(watch, item(bodies[4], 4, at))
    assert fifth is not None
    assert [s.count for s in feed([fifth], at)] == [5]


def test_a_story_counted_before_its_fingerprint_scheme_changed_still_counts_once(
    tmp_path: Path, ledger_kind: str, sqlite_store: Store
) -> None:
    """Stories stored by an earlier version carry the other fingerprint scheme: a copy
    arriving after the upgrade is judged on its title then, as a title-only item is."""
    bodies = trump_bodies(6)
    watch = compile_watch(spike_rules(tmp_path, min_items=2))
    feed = feeder(ledger_kind, watch, sqlite_store)
    warm_up(feed, watch)
    at = T0 + timedelta(hours=5)
    before = seen(watch, item(bodies[0], 1, at, feed="outlet1"))
    assert before is not None
    plain = watch.prepare(item(bodies[0], 1, at))["content"].plain
    old_print = cluster.encode(cluster.fingerprint(bodies[0].title, plain[:300]))
    stored = replace(before, story=replace(before.story, fingerprint=old_print))
    assert feed([stored], at) == []
    copy = item(bodies[0], 2, at + timedelta(minutes=5), feed="outlet2")
    assert run(feed, watch, [copy]) == []  # the same story: still one item
    other = item(bodies[1], 3, at + timedelta(minutes=10), feed="outlet3")
    assert [(s.count, len(s.stories)) for s in run(feed, watch, [other])] == [(2, 2)]


def test_a_window_another_process_counted_in_is_read_again(tmp_path: Path) -> None:
    """Each process remembers the newest stories of the windows it counted in; when
    another one counted there meanwhile, its stories are read from the store, so a copy
    of a story the other counted is still the same story."""
    bodies = trump_bodies(3)
    watch = compile_watch(spike_rules(tmp_path, min_items=3))
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with Store(url) as one, Store(url) as two:
        one.migrate()
        first, second = feeder("sqlite", watch, one), feeder("sqlite", watch, two)
        warm_up(first, watch)
        at = T0 + timedelta(hours=5)
        run(first, watch, [item(bodies[0], 1, at, feed="outlet1")])
        run(second, watch, [item(bodies[1], 2, at + timedelta(minutes=1), feed="outlet2")])
        # The first process remembers one story in this window; the store holds two. A
        # copy of the second process's story is no new item:
        copy = item(bodies[1], 3, at + timedelta(minutes=2), feed="outlet3")
        assert run(first, watch, [copy]) == []
        trends = one.spike_trends("surges", 3600.0, 86400.0, at + timedelta(minutes=3))
        assert [(t.key, t.window_count) for t in trends] == [("trump", 2)]
        # ... and a third story is the third item: the spike fires with all three.
        third = item(bodies[2], 4, at + timedelta(minutes=3), feed="outlet4")
        assert [(s.count, len(s.stories)) for s in run(first, watch, [third])] == [(3, 3)]


def test_a_story_counts_once_per_key_in_its_transaction_and_never_again(
    sqlite_store: Store,
) -> None:
    story = Story("wire", "g:wire-1", T0, "Trump and Putin meet", "https://w/1", "Wire")

    def first(ledger: Ledger) -> list[object]:
        assert ledger.add("surges", "trump", T0, story) == 1
        ledger.flush()  # a judge's read in between writes what was counted so far
        assert ledger.add("surges", "putin", T0, story) == 1
        assert ledger.add("surges", "putin", T0, story) is None
        ledger.flush()
        return []

    def retried(ledger: Ledger) -> list[object]:
        assert ledger.add("surges", "trump", T0, story) is None  # a retried poll
        return []

    sqlite_store.count_spikes(first)  # type: ignore[arg-type]
    sqlite_store.count_spikes(retried)  # type: ignore[arg-type]
    trends = sqlite_store.spike_trends("surges", 3600.0, 86400.0, T0)
    assert sorted((t.key, t.window_count) for t in trends) == [("putin", 1), ("trump", 1)]
