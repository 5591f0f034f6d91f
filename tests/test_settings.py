"""Settings refuse what they cannot use, and say which variable, what was given and what
is accepted; a misspelled name is an error with the nearest real name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.settings import load_settings
from bot.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("MEDIABOT_") and not key.startswith("MEDIABOT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def refusal(**overrides: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    return str(caught.value)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("MEDIABOT_ADMIN_ID", "MEDIABOT_ADMIN_IDS"),
        ("MEDIABOT_TOKEN", "MEDIABOT_TELEGRAM_TOKEN"),
        ("MEDIABOT_RULE_DIR", "MEDIABOT_RULES_DIR"),
        ("MEDIABOT_TIME_ZONE", "MEDIABOT_TIMEZONE"),
    ],
)
def test_a_misspelled_name_in_the_environment_is_refused_with_the_nearest_name(
    monkeypatch: pytest.MonkeyPatch, typo: str, meant: str
) -> None:
    monkeypatch.setenv(typo, "1")
    message = refusal()
    assert f"{typo} (in the environment) is not a setting; did you mean {meant}?" in message


def test_a_misspelled_name_in_the_env_file_is_refused(tmp_path: Path) -> None:
    env = tmp_path / "my.env"
    env.write_text("MEDIABOT_BACKFIL=3\nOTHER_TOOL_SETTING=1\n", encoding="utf-8")
    message = refusal(_env_file=env)
    assert f"MEDIABOT_BACKFIL (in {env}) is not a setting; did you mean MEDIABOT_BACKFILL?" in (
        message
    )
    assert "OTHER_TOOL" not in message


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIABOT_ADMIN_ID", "1")
    monkeypatch.setenv("MEDIABOT_BACKFILL", "-1")
    message = refusal()
    assert "MEDIABOT_ADMIN_ID " in message
    assert "MEDIABOT_BACKFILL=-1: Input should be greater than or equal to 0" in message


def test_the_test_suites_own_variables_are_not_settings_but_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIABOT_TEST_SOMETHING", "1")
    assert load_settings().backfill == 0


@pytest.mark.parametrize(
    ("name", "given", "says"),
    [
        ("MEDIABOT_ADMIN_IDS", "@alice", "'@alice' is not a numeric Telegram user id"),
        ("MEDIABOT_ALLOW_PRIVATE_NETWORKS", "maybe", "use true or false"),
        ("MEDIABOT_MAX_CONCURRENCY", "ten", "use a whole number"),
        ("MEDIABOT_LOG_LEVEL", "loud", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("MEDIABOT_FETCH_TIMEOUT", "0", "greater than 0"),
        ("MEDIABOT_FEED_LEASE", "soon", "not a duration: use e.g. 30s, 10m, 2h, 1d"),
        ("MEDIABOT_TIMEZONE", "Mars/Base", "use an IANA name such as Asia/Shanghai"),
        ("MEDIABOT_METRICS_ADDR", "9100", "expected host:port"),
    ],
)
def test_an_invalid_value_names_the_variable_the_value_and_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, given: str, says: str
) -> None:
    monkeypatch.setenv(name, given)
    message = refusal()
    assert f"{name}={given}: " in message
    assert says in message
    assert "invalid literal" not in message


def test_the_default_interval_keeps_the_documented_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEDIABOT_DEFAULT_INTERVAL", "5")
    message = refusal()
    assert "MEDIABOT_DEFAULT_INTERVAL=5s: must be between MEDIABOT_MIN_INTERVAL (30s)" in message
    monkeypatch.setenv("MEDIABOT_MIN_INTERVAL", "1s")
    assert load_settings().default_interval == 5.0


def test_a_secret_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIABOT_LLM_API_KEY", "sk-very-secret")
    monkeypatch.setenv("MEDIABOT_TELEGRAM_TOKEN", "123:secret-token")
    monkeypatch.setenv("MEDIABOT_LOG_LEVEL", "loud")
    message = refusal()
    assert "secret" not in message


def test_the_command_refuses_a_typo_before_doing_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIABOT_")}
    env["MEDIABOT_ADMIN_ID"] = "12345"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "did you mean MEDIABOT_ADMIN_IDS?" in proc.stderr
    assert proc.stdout == ""
