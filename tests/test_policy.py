"""Poll timing and feed health: intervals, publisher hints, backoff, admin notices."""

from __future__ import annotations

import itertools
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command

from bot.feeds.policy import (
    HealthThresholds,
    cache_max_age,
    describe_duration,
    health_events,
    is_due,
    next_poll,
    seed_gap,
)
from bot.models import FeedState
from bot.store import Store
from bot.store.engine import build_engine, parse_url
from bot.store.migrate import alembic_config

T0 = datetime(2024, 6, 28, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def never_random() -> float:
    return 0.0


def always_random() -> float:
    return 0.999999


# -- next_poll: success ---------------------------------------------------------------


def test_success_uses_the_configured_interval() -> None:
    plan = next_poll(T0, interval=600)
    assert plan.delay == 600 and plan.reason == "interval"
    assert plan.not_before == T0 + timedelta(seconds=600)


@pytest.mark.parametrize(("interval", "expected"), [(5, 30), (10 * 86400, 86400)])
def test_interval_is_kept_within_bounds(interval: float, expected: float) -> None:
    assert next_poll(T0, interval=interval).delay == expected


def test_a_longer_ttl_is_honoured() -> None:
    plan = next_poll(T0, interval=600, ttl_seconds=3600)
    assert plan.delay == 3600 and plan.reason == "ttl"


def test_a_shorter_ttl_never_polls_more_often_than_configured() -> None:
    assert next_poll(T0, interval=600, ttl_seconds=60).reason == "interval"


def test_ttl_is_capped_at_the_max_interval() -> None:
    plan = next_poll(T0, interval=600, max_interval=7200, ttl_seconds=7 * 86400)
    assert plan.delay == 7200 and plan.reason == "ttl"


def test_cache_control_max_age_less_age_is_honoured() -> None:
    headers = {"Cache-Control": "public, max-age=1800", "Age": "300"}
    plan = next_poll(T0, interval=600, headers=headers)
    assert plan.delay == 1500 and plan.reason == "cache_control"


def test_the_longest_hint_wins() -> None:
    plan = next_poll(T0, interval=600, ttl_seconds=1200, headers={"cache-control": "max-age=2400"})
    assert plan.delay == 2400 and plan.reason == "cache_control"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"cache-control": "no-cache, max-age=900"}, None),
        ({"cache-control": "no-store"}, None),
        ({"cache-control": 'max-age="120"'}, 120.0),
        ({"cache-control": "max-age=abc"}, None),
        ({"cache-control": "max-age=60", "age": "600"}, 0.0),
        ({"Cache-Control": "private, MAX-AGE=90"}, 90.0),
    ],
)
def test_cache_max_age(headers: dict[str, str], expected: float | None) -> None:
    assert cache_max_age(headers) == expected


# -- next_poll: failure ---------------------------------------------------------------


def test_backoff_doubles_per_error_until_the_cap() -> None:
    delays = [
        next_poll(T0, interval=600, consecutive_errors=n, rand=never_random).delay
        for n in range(1, 10)
    ]
    assert delays[:4] == [600, 1200, 2400, 4800]
    assert delays[-1] == 86400 and max(delays) == 86400
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_backoff_cap_can_be_set_apart_from_the_max_interval() -> None:
    plan = next_poll(T0, interval=600, consecutive_errors=20, max_backoff=HOUR, rand=never_random)
    assert plan.delay == HOUR and plan.reason == "backoff"


def test_jitter_takes_off_at_most_a_quarter_and_never_exceeds_the_cap() -> None:
    low = next_poll(T0, interval=600, consecutive_errors=3, rand=always_random).delay
    assert 2400 * 0.75 <= low < 2400 * 0.76
    capped = next_poll(T0, interval=600, consecutive_errors=50, rand=always_random).delay
    assert 86400 * 0.75 <= capped <= 86400


def test_jitter_spreads_feeds_that_fail_together() -> None:
    values = iter([0.1, 0.5, 0.9])
    delays = {next_poll(T0, interval=600, consecutive_errors=2, rand=lambda: next(values)).delay}
    delays |= {next_poll(T0, interval=600, consecutive_errors=2, rand=lambda: next(values)).delay}
    delays |= {next_poll(T0, interval=600, consecutive_errors=2, rand=lambda: next(values)).delay}
    assert len(delays) == 3


def test_huge_error_counts_do_not_overflow() -> None:
    plan = next_poll(T0, interval=600, consecutive_errors=10_000, rand=never_random)
    assert plan.delay == 86400


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    plan = next_poll(T0, interval=60, consecutive_errors=1, retry_after=900, rand=never_random)
    assert plan.delay == 900 and plan.reason == "retry_after"
    shorter = next_poll(T0, interval=600, consecutive_errors=1, retry_after=5, rand=never_random)
    assert shorter.delay == 600 and shorter.reason == "backoff"


def test_retry_after_is_capped() -> None:
    plan = next_poll(T0, interval=600, consecutive_errors=1, retry_after=365 * 86400.0)
    assert plan.delay == 86400 and plan.reason == "retry_after"


def test_ttl_and_cache_hints_do_not_apply_to_failures() -> None:
    plan = next_poll(T0, interval=600, consecutive_errors=1, ttl_seconds=7200, rand=never_random)
    assert plan.delay == 600 and plan.reason == "backoff"


def test_is_due_with_tolerance_for_scheduler_jitter() -> None:
    not_before = T0 + timedelta(seconds=600)
    assert is_due(None, T0)
    assert not is_due(not_before, T0 + timedelta(seconds=570))
    assert is_due(not_before, T0 + timedelta(seconds=570), tolerance=60)
    assert is_due(not_before, not_before)


# -- health: failing and recovered ----------------------------------------------------


def failed(state: FeedState, error: str = "fetch: HTTP 503 Service Unavailable") -> FeedState:
    return replace(state, consecutive_errors=state.consecutive_errors + 1, last_error=error)


def succeeded(state: FeedState) -> FeedState:
    return replace(state, consecutive_errors=0, last_error=None)


def test_failing_is_told_once_at_the_threshold_then_recovery_once() -> None:
    state = FeedState("voa")
    told: list[str] = []
    for n in range(8):
        state = failed(state)
        state, notices = health_events(state, now=T0 + timedelta(minutes=n), name="VOA 中文")
        told += [notice.kind for notice in notices]
        if n == 4:
            assert notices[0].text == (
                "feed VOA 中文 failing (5 consecutive errors, "
                "last error: fetch: HTTP 503 Service Unavailable)"
            )
    assert told == ["failing"]
    state, notices = health_events(succeeded(state), now=T0 + timedelta(hours=1))
    assert [(n.kind, n.text) for n in notices] == [("recovered", "feed voa recovered")]
    state, notices = health_events(succeeded(state), now=T0 + timedelta(hours=2))
    assert notices == []
    assert not state.failing_notified


def test_a_few_errors_below_the_threshold_say_nothing() -> None:
    state = FeedState("voa")
    for _ in range(4):
        state, notices = health_events(failed(state), now=T0)
        assert notices == []
    state, notices = health_events(succeeded(state), now=T0)
    assert notices == []


def test_threshold_is_configurable() -> None:
    state, notices = health_events(
        failed(FeedState("voa")), now=T0, thresholds=HealthThresholds(fail_threshold=1)
    )
    assert [n.kind for n in notices] == ["failing"] and state.failing_notified


def test_the_input_state_is_not_changed() -> None:
    state = replace(FeedState("voa"), consecutive_errors=5, last_error="x")
    new_state, _ = health_events(state, now=T0)
    assert new_state.failing_notified and not state.failing_notified


# -- health: silence ------------------------------------------------------------------


def poll(state: FeedState, at: datetime, new: int = 0, **kw: object) -> tuple[FeedState, list[str]]:
    state, notices = health_events(succeeded(state), now=at, new_items=new, **kw)  # type: ignore[arg-type]
    return state, [n.text for n in notices]


def test_rhythm_is_learned_from_gaps_between_arrivals() -> None:
    state = FeedState("voa")
    for hour in range(0, 10, 2):
        state, _ = poll(state, T0 + timedelta(hours=hour), new=1)
    assert state.mean_gap_seconds == pytest.approx(2 * HOUR)
    assert state.last_new_item == T0 + timedelta(hours=8)


def test_silent_is_told_once_when_far_past_the_rhythm_and_rearmed_by_new_items() -> None:
    state = FeedState("voa")
    for hour in range(0, 20, 2):  # an item every 2 hours: silent after 10 hours
        state, _ = poll(state, T0 + timedelta(hours=hour), new=1)
    last = T0 + timedelta(hours=18)
    state, told = poll(state, last + timedelta(hours=9))
    assert told == []
    state, told = poll(state, last + timedelta(hours=10, minutes=30))
    assert told == ["feed voa silent: no new items for 10 h 30 min (usual rhythm: one every 2 h)"]
    state, told = poll(state, last + timedelta(hours=30))
    assert told == []
    state, told = poll(state, last + timedelta(hours=31), new=2)
    assert told == [] and not state.silent_notified
    assert state.mean_gap_seconds is not None and state.mean_gap_seconds > 2 * HOUR


def test_silence_has_a_floor_for_busy_feeds() -> None:
    state = FeedState("voa")
    for minute in range(0, 100, 10):  # every 10 minutes: 5x is under the 6-hour floor
        state, _ = poll(state, T0 + timedelta(minutes=minute), new=3)
    state, told = poll(state, T0 + timedelta(hours=5))
    assert told == []
    state, told = poll(state, T0 + timedelta(hours=8))
    assert len(told) == 1 and "usual rhythm: one every 10 min" in told[0]


def test_a_new_feed_rhythm_is_seeded_from_item_dates() -> None:
    dates = [T0 - timedelta(days=d) for d in range(5)]  # one a day
    state, _ = poll(FeedState("weekly"), T0, new=5, published=[*dates, None])
    assert state.mean_gap_seconds == pytest.approx(86400)
    state, told = poll(state, T0 + timedelta(days=4))
    assert told == []
    state, told = poll(state, T0 + timedelta(days=5, hours=1))
    assert told == ["feed weekly silent: no new items for 5 d 1 h (usual rhythm: one every 1 d)"]


def test_no_rhythm_no_silence_notice() -> None:
    state, _ = poll(FeedState("voa"), T0, new=1)  # one item, no dates: rhythm unknown
    assert state.mean_gap_seconds is None
    state, told = poll(state, T0 + timedelta(days=60))
    assert told == []


def test_failing_feeds_are_not_also_called_silent() -> None:
    state = replace(FeedState("voa"), last_new_item=T0, mean_gap_seconds=HOUR)
    state = replace(state, consecutive_errors=1, last_error="x")
    state, notices = health_events(state, now=T0 + timedelta(days=3))
    assert notices == [] and not state.silent_notified


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ([], None),
        ([T0, T0 + timedelta(hours=1)], None),
        ([T0, T0, T0], None),  # all the same date: says nothing
        ([T0, T0 + timedelta(hours=2), T0 + timedelta(hours=4)], 2 * HOUR),
    ],
)
def test_seed_gap(dates: list[datetime], expected: float | None) -> None:
    assert seed_gap(dates) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(10, "1 min"), (600, "10 min"), (3600, "1 h"), (5400, "1 h 30 min"), (90000, "1 d 1 h")],
)
def test_describe_duration(seconds: float, text: str) -> None:
    assert describe_duration(seconds) == text


# -- the store keeps it ---------------------------------------------------------------


def test_health_memory_round_trips_through_the_store(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        store.migrate()
        state = FeedState(
            "voa",
            failing_notified=True,
            silent_notified=True,
            last_new_item=T0,
            mean_gap_seconds=5400.5,
            next_poll_not_before=T0 + timedelta(hours=1),
        )
        store.save_feed_state(state)
        assert store.feed_state("voa") == state
        store.save_feed_state(replace(state, failing_notified=False, mean_gap_seconds=None))
        again = store.feed_state("voa")
        assert again is not None and not again.failing_notified
        assert again.mean_gap_seconds is None and again.silent_notified


def test_migration_keeps_existing_feed_rows(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    engine = build_engine(parse_url(f"sqlite:///{db}"))
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
    finally:
        engine.dispose()
    with sqlite3.connect(db) as raw:
        raw.execute("INSERT INTO feed_state (feed_id, consecutive_errors) VALUES ('bbc', 3)")
    with Store(f"sqlite:///{db}") as store:
        store.migrate()
        state = store.feed_state("bbc")
    assert state == FeedState("bbc", consecutive_errors=3)
