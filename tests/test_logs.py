"""No secret reaches the logs or `mediabot config`, whatever carries it."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config.settings import Settings, redact_url
from bot.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_secrets_are_scrubbed_from_messages_extras_and_tracebacks(fmt: str) -> None:
    out = io.StringIO()
    configure_logging("INFO", fmt, secrets=["123:tok", "hunter2"], stream=out)
    log = logging.getLogger("test")
    log.warning("startup", extra={"url": "https://api.telegram.org/bot123:tok/getMe"})
    try:
        raise RuntimeError("The token `123:tok` was rejected; db password hunter2")
    except RuntimeError:
        log.exception("failed")
    text = out.getvalue()
    assert "123:tok" not in text and "hunter2" not in text
    assert text.count("**********") >= 3
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines())


def test_config_hides_database_password_and_url_queries() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql://bot:hunter2@db.example/mediabot",
        llm_url="https://llm.example/v1?key=abcdefgh12345",
    )
    shown = settings.redacted()
    assert shown["MEDIABOT_DATABASE_URL"] == "postgresql://bot:***@db.example/mediabot"
    assert shown["MEDIABOT_LLM_URL"] == "https://llm.example/v1?***"
    assert {"hunter2", "abcdefgh12345"} <= set(settings.secrets())


def test_redact_url_leaves_plain_urls_alone() -> None:
    assert redact_url("sqlite:///data/mediabot.db") == "sqlite:///data/mediabot.db"
    assert redact_url("https://api.telegram.org/bot") == "https://api.telegram.org/bot"


def test_interval_bounds_must_make_sense() -> None:
    from bot.config.settings import load_settings
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"MIN_INTERVAL .* is longer than .*MAX_INTERVAL"):
        load_settings(min_interval="2h", max_interval="1h")
