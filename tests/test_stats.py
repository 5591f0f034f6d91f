"""Store queries behind /status, /stats and alert audiences; the chart they feed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from bot.control import merge_destinations
from bot.control.flood import Flood, Verdict
from bot.delivery.kinds import Rendered
from bot.models import Alert, Destination, FeedState, Item, Message
from bot.store import Store
from bot.telegram.chart import StatsData, draw_stats

T0 = datetime(2024, 6, 28, 8, 0, tzinfo=UTC)
ME, GROUP = Destination(2002), Destination(-100123, 7)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'stats.db'}") as s:
        s.migrate()
        yield s


def test_mutes_hold_until_their_time_per_chat_and_thread(store: Store) -> None:
    store.mute(GROUP, "taiwan", T0 + timedelta(hours=2))
    assert store.muted("taiwan", T0) == {GROUP}
    assert store.muted("taiwan", T0 + timedelta(hours=2)) == set()
    assert store.muted("other", T0) == set()
    assert store.mutes_of(Destination(-100123), T0) == {}  # the group itself, not the thread
    store.mute(GROUP, "taiwan", T0 + timedelta(minutes=5))  # a new mute replaces the old
    assert store.mutes_of(GROUP, T0) == {"taiwan": T0 + timedelta(minutes=5)}
    assert store.unmute(GROUP, "taiwan", T0) is True
    assert store.unmute(GROUP, "taiwan", T0) is False


def test_subscribers_and_a_chats_topics(store: Store) -> None:
    store.subscribe(ME, "taiwan")
    store.subscribe(GROUP, "taiwan")
    store.subscribe(ME, "tech")
    assert store.subscribers("taiwan") == [ME, GROUP]
    assert store.topics_of(ME) == ["taiwan", "tech"]


def test_an_alert_goes_to_channels_and_subscribers_once_and_never_to_muted_chats() -> None:
    channel = Destination("@kp_watch")
    got = merge_destinations([channel, ME], [ME, GROUP], muted={GROUP})
    assert got == (channel, ME)


def test_counts_and_times_for_status_and_stats(store: Store) -> None:
    items = [Item("voa", f"k{n}", "t", "https://x", "") for n in range(3)]
    alert = Alert("voa", "k0", "taiwan", ME, Rendered(Message("x", "x")), T0)
    store.record_poll(FeedState("voa"), items, T0 - timedelta(hours=3), [alert])
    [entry] = store.due(T0)
    store.mark_sent(entry.id, 9, T0 - timedelta(minutes=10))
    assert store.items_seen_since(T0 - timedelta(hours=1)) == 0
    assert store.items_seen_since(T0 - timedelta(days=1)) == 3
    assert store.alerts_sent_since(T0 - timedelta(hours=1)) == 1
    assert store.alert_times(T0 - timedelta(days=1)) == [("taiwan", T0 - timedelta(minutes=10))]
    assert len(store.item_times(T0 - timedelta(days=1))) == 3


def test_the_chart_is_a_png_even_with_no_data_and_many_series() -> None:
    days = tuple(f"06-{d:02d}" for d in range(1, 31))
    alerts = {f"topic-{n}": [n % 3] * 30 for n in range(12)}
    feeds = [(f"feed-{n}", 100 - n) for n in range(20)]
    for data in (StatsData("empty", ("06-28",), {}, []), StatsData("busy", days, alerts, feeds)):
        image = Image.open(io.BytesIO(draw_stats(data)))
        assert image.format == "PNG" and image.size[0] == 960


def test_flood_warns_once_then_drops_until_the_window_has_room(store: Store) -> None:
    flood = Flood(store, limit=2, window=10)
    assert [flood.check(1, t).value for t in (0, 1, 2, 3)] == ["ok", "ok", "warn", "drop"]
    assert flood.check(2, 3) is Verdict.OK  # other users are not affected
    assert flood.check(1, 10.5) is Verdict.OK
    assert flood.check(1, 10.6) is Verdict.WARN  # a new flood is told again, once
    assert flood.check(1, 10.7) is Verdict.DROP


def test_a_flood_count_outlives_the_process_that_kept_it(store: Store) -> None:
    first = Flood(store, limit=2, window=10)
    assert [first.check(1, t).value for t in (0, 1, 2)] == ["ok", "ok", "warn"]
    takeover = Flood(store, limit=2, window=10)  # another updates reader, same database
    assert takeover.check(1, 3) is Verdict.DROP  # still over, and already told
    assert takeover.check(1, 10.5) is Verdict.OK
    epoch = datetime.fromtimestamp(0, UTC)
    assert store.command_calls(1, epoch - timedelta(seconds=1)) == 3
    Flood(store, limit=2, window=10).check(2, 30)  # prunes what the window has left
    assert store.command_calls(1, epoch - timedelta(seconds=1)) == 0
