"""The first five minutes, scripted: `mediabot demo` shows alerts offline, a misspelled
setting is refused with the right name, and `run` warns about the examples' chats."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bot.cli.commands import placeholder_chats, warn_placeholders
from bot.rules.load import load_rules
from tests.conftest import Cli

ROOT = Path(__file__).resolve().parents[1]


def test_demo_shows_every_kind_of_message_offline_in_under_a_minute(cli: Cli) -> None:
    started = time.monotonic()
    # A token and an API address nothing listens on: the demo must not try to send.
    result = cli(
        "demo",
        MEDIABOT_TELEGRAM_TOKEN="123:demo-never-sends",
        MEDIABOT_TELEGRAM_API_URL="http://127.0.0.1:9/bot",
        timeout=60,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert took < 60
    # a Chinese item through a Chinese topic, with its hits
    assert "🔔 俄朝关系 · Russia–North Korea" in out
    assert "普京与金正恩在平壤签署全面战略伙伴关系条约" in out
    # an English item through an entity, despite the typo
    assert "Zelenksy asks allies to speed up air defence deliveries" in out
    assert "Zelensky → Zelenksy (@zelensky · title · 1 edit)" in out
    # the Traditional copy edits the first message instead of a new one
    assert "to @demo_desk · message 1 (edited)" in out
    assert "also: 環球快訊 繁體版 (sample)" in out
    assert out.count("普京與金正恩") == 0  # never sent as its own alert
    # the held items go out as one digest
    assert "🗞 Digest" in out
    assert "• 多家企业扩大芯片产能 应对人工智能需求" in out
    assert "• Chipmakers race to add capacity as AI orders pile up" in out
    # what did not fire stays out: weather, sport, and snacks vetoed by `none`
    for quiet in ("高温", "penalty", "薯片"):
        assert quiet not in out.split("Done in")[0].split("1. Polling")[1]
    assert "2 alerts, 1 edit, 1 digest" in out
    assert "Traceback" not in result.stderr and "demo-never-sends" not in out + result.stderr
    assert not list(cli.cwd.iterdir()), "the demo leaves nothing behind"


def test_a_newcomers_typo_is_refused_with_the_right_name(cli: Cli) -> None:
    result = cli("run", MEDIABOT_ADMIN_ID="12345", MEDIABOT_TOKEN="123:abc")
    assert result.returncode == 2
    assert "MEDIABOT_ADMIN_ID (in the environment) is not a setting; did you mean " in (
        result.stderr
    )
    assert "MEDIABOT_ADMIN_IDS?" in result.stderr
    assert "did you mean MEDIABOT_TELEGRAM_TOKEN?" in result.stderr
    assert "123:abc" not in result.stderr


def test_run_warns_about_the_examples_placeholder_chats(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    shipped = load_rules(ROOT / "rules").rules
    assert "@mediabot_demo" in placeholder_chats(shipped)
    assert "surges" in placeholder_chats(shipped)["@mediabot_demo"], "the shipped spike too"
    (tmp_path / "t.yaml").write_text(
        "topics:\n"
        "  - {id: a, name: A, any: [x], channels: ['@my_newsroom', '@your_channel']}\n"
        "  - {id: b, name: B, any: [y], channels: [-1001234567890, -1002223334445]}\n",
        encoding="utf-8",
    )
    mine = load_rules(tmp_path).rules
    assert placeholder_chats(mine) == {"@your_channel": ["a"], "-1001234567890": ["b"]}
    with caplog.at_level(logging.WARNING):
        warn_placeholders(mine)
    warned = [r for r in caplog.records if r.getMessage() == "placeholder_channel"]
    assert [r.chat for r in warned] == ["@your_channel", "-1001234567890"]  # type: ignore[attr-defined]
