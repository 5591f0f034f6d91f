"""Conventions users rely on: every setting documented, every command with a useful --help."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.arguments import build_parser
from bot.config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(MEDIABOT_[A-Z_]+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def test_every_setting_is_in_env_example() -> None:
    documented = env_example()
    for name in Settings.model_fields:
        assert f"MEDIABOT_{name.upper()}" in documented, f"MEDIABOT_{name.upper()} undocumented"


def test_env_example_names_only_real_settings() -> None:
    known = {f"MEDIABOT_{n.upper()}" for n in Settings.model_fields}
    assert set(env_example()) <= known


def test_env_example_defaults_are_the_real_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading .env.example as it stands gives exactly the built-in defaults."""
    for key in list(__import__("os").environ):
        if key.startswith("MEDIABOT_"):
            monkeypatch.delenv(key)
    from_file = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_file.redacted() == defaults.redacted()


def test_config_prints_the_defaults_as_env_example_writes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("MEDIABOT_"):
            monkeypatch.delenv(key)
    shown = Settings(_env_file=None).redacted()  # type: ignore[call-arg]
    for key, value in env_example().items():
        assert shown[key] == value, key


def test_design_settings_exist() -> None:
    design = {
        "telegram_token",
        "telegram_api_url",
        "admin_ids",
        "database_url",
        "rules_dir",
        "allow_private_networks",
        "backfill",
        "log_level",
        "log_format",
        "timezone",
        "metrics_addr",
    }
    assert design <= set(Settings.model_fields)


def _commands() -> list[list[str]]:
    parser = build_parser()
    found: list[list[str]] = []

    def walk(p: object, prefix: list[str]) -> None:
        for action in getattr(p, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, sub in choices.items():
                    found.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(parser, [])
    return found


def test_design_commands_exist() -> None:
    names = {" ".join(c) for c in _commands()}
    assert {"run", "once", "rules check", "match", "config", "send-test"} <= names


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help(command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: mediabot" in proc.stdout
    description = proc.stdout.split("\n\n")[1].strip()
    assert len(description) > 10, f"'{' '.join(command)} --help' says too little"


def test_readme_names_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".ci/run" in readme or "pytest" in readme
