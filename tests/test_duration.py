"""One duration grammar: settings, a feed's interval in the rule files and ``/mute`` read
the same forms with the same units, each within its own range, and each refusal names
what was given and what is accepted."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.control.args import BadArgs, duration
from bot.errors import ConfigError
from bot.rules.schema import Context, parse_interval
from bot.text.duration import format_duration, parse_duration


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("MEDIABOT_") and not key.startswith("MEDIABOT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("10m", 600.0),
        ("10 m", 600.0),
        (" 2h ", 7200.0),
        ("1.5h", 5400.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("90min", 5400.0),
        ("250ms", 0.25),
        ("2H", 7200.0),
        ("90", 90.0),
        (90, 90.0),
        (2.5, 2.5),
    ],
)
def test_the_grammar(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["soon", "", "-5s", "5.", "1e3s", "10y", True, None, float("nan"), 10**400, "9" * 400]
)
def test_what_is_not_a_duration(text: object) -> None:
    assert parse_duration(text) is None


def test_a_command_needs_the_unit() -> None:
    assert parse_duration("90", bare=False) is None and parse_duration(90, bare=False) is None
    assert parse_duration("90m", bare=False) == 5400.0


@pytest.mark.parametrize("text", ["30s", "10m", "2h", "1d", "1.5h", "90", "1w", "10M"])
def test_settings_read_the_grammar(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("MEDIABOT_FETCH_TIMEOUT", text)
    assert load_settings().fetch_timeout == parse_duration(text)


def test_a_setting_that_is_not_a_duration_says_what_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIABOT_FETCH_TIMEOUT", "1 fortnight")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "MEDIABOT_FETCH_TIMEOUT=1 fortnight: not a duration: use e.g. 30s, 10m, 2h, 1d" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90s", 90.0), ("10m", 600.0), (600, 600.0), ("1d", 86400.0), ("0.5h", 1800.0)],
)
def test_a_feed_interval_reads_the_grammar_within_30s_to_1d(value: object, seconds: float) -> None:
    assert parse_interval(Context("f.yaml"), value, 3) == seconds


@pytest.mark.parametrize("value", ["10s", "2d", "1w", "often", 10**400, True])
def test_a_feed_interval_outside_the_range_names_it_and_the_range(value: object) -> None:
    ctx = Context("f.yaml")
    assert parse_interval(ctx, value, 3) is None
    [problem] = ctx.problems
    assert problem.line == 3
    assert problem.message.startswith(f"bad interval {value!r}: use 30s..1d")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("30m", timedelta(minutes=30)),
        ("30 min", timedelta(minutes=30)),
        ("2H", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1.5h", timedelta(minutes=90)),
        ("120s", timedelta(minutes=2)),
    ],
)
def test_mute_reads_the_grammar_within_a_minute_to_30_days(text: str, span: timedelta) -> None:
    assert duration(text) == span


@pytest.mark.parametrize("text", ["30", "forever", "90d", "30s", "9" * 400 + "m"])
def test_mute_refuses_a_bare_number_and_what_is_out_of_range(text: str) -> None:
    with pytest.raises(BadArgs) as caught:
        duration(text)
    assert caught.value.key == "bad.duration" and caught.value.values["value"] == text[:20]


def test_durations_are_written_in_their_largest_whole_unit() -> None:
    assert [format_duration(s) for s in (600, 90, 86400, 7200, 0.5, 604800)] == [
        "10m",
        "90s",
        "1d",
        "2h",
        "0.5s",
        "7d",
    ]
