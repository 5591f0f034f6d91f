"""Errors that say what to do: YAML indentation, repeated keys (both lines, and checking
goes on), an unknown feed id, a bad --interval, a rules directory that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import EditRefused, RulesError
from bot.rules.edit import remove_feed
from bot.rules.load import load_rules
from tests.conftest import Cli


def problems(rules: Path) -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(rules)
    return [str(p) for p in caught.value.problems]


def test_an_indentation_error_says_to_check_the_indentation(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("topics:\n  - id: a\n    name: A\n   any: [x]\n")
    (found,) = problems(tmp_path)
    assert found.startswith(f"{tmp_path / 't.yaml'}:4: error: YAML syntax: ")
    assert "check the indentation of this line and the one above" in found


def test_a_tab_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("topics:\n\t- id: a\n")
    (found,) = problems(tmp_path)
    assert "a tab: indent with spaces only" in found


def test_repeated_keys_give_both_lines_and_checking_goes_on(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "topics:\n"
        "  - id: a\n"
        "    name: A\n"
        "    name: B\n"
        "    any: [x]\n"
        "  - id: b\n"
        "    nme: typo\n"
        "    any: [y]\n"
        "    any: [z]\n"
    )
    found = problems(tmp_path)
    path = tmp_path / "t.yaml"
    assert f"{path}:4: error: duplicate key 'name' (first at line 3): keep one" in found
    assert f"{path}:9: error: duplicate key 'any' (first at line 8): keep one" in found
    assert any(f"{path}:7: error: unknown key 'nme'" in p for p in found)


def test_removing_an_unknown_feed_names_the_nearest_id(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n  - {id: voa-zh, url: 'https://e.com/a'}\n  - {id: bbc, url: 'https://e.com/b'}\n"
    )
    with pytest.raises(EditRefused, match=r"no feed with id 'voa-z'; did you mean 'voa-zh'\?"):
        remove_feed(tmp_path, "voa-z")
    with pytest.raises(EditRefused, match=r"no feed with id 'nope' \(feeds: voa-zh, bbc\)"):
        remove_feed(tmp_path, "nope")


def test_the_command_line_words_for_edits_and_missing_directories(cli: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    feeds = "feeds:\n  - {id: voa-zh, url: 'https://e.com/a'}\n"
    (rules / "feeds.yaml").write_text(feeds)

    removed = cli("feeds", "remove", "nope", "--rules", str(rules))
    assert removed.returncode == 1
    assert removed.stderr == "mediabot: no feed with id 'nope' (feeds: voa-zh)\n"

    args = ["feeds", "add", "https://e.com/b", "--interval", "5s", "--no-check"]
    added = cli(*args, "--rules", str(rules))
    assert added.returncode == 2
    assert "--interval 5s: use 30s..1d" in added.stderr and "feeds.yaml:" not in added.stderr
    assert (rules / "feeds.yaml").read_text() == feeds

    missing = cli("rules", "check", "--rules", "missing")
    assert missing.returncode == 1
    assert f"{cli.cwd / 'missing'}: error: rules directory not found" in missing.stderr
    assert "MEDIABOT_RULES_DIR" in missing.stderr and "--rules" in missing.stderr
