"""Editing the feeds list in rule files: comments and layout kept, validated, atomic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.errors import RulesError
from bot.rules.edit import NewFeed, add_feed, remove_feed, set_feed_enabled
from bot.rules.load import load_rules
from tests.fakes.commands_harness import FEEDS_YAML, write_rules

SHIPPED = Path(__file__).resolve().parents[1] / "rules"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return write_rules(tmp_path / "rules")


def feeds_text(rules_dir: Path) -> str:
    return (rules_dir / "feeds.yaml").read_text(encoding="utf-8")


def test_add_appends_in_the_files_own_layout_and_keeps_every_comment(rules_dir: Path) -> None:
    path = add_feed(rules_dir, NewFeed("gamma", "https://g.example/rss", "Γ 新闻", "1h", ("zh",)))
    assert path == rules_dir / "feeds.yaml"
    expected = FEEDS_YAML + (
        "\n  - id: gamma\n    url: https://g.example/rss\n    name: Γ 新闻\n"
        "    interval: 1h\n    tags: [zh]\n"
    )
    assert feeds_text(rules_dir) == expected
    assert load_rules(rules_dir).rules.feed("gamma") is not None


def test_editing_the_shipped_rules_changes_only_the_edited_lines(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules_dir)
    before = feeds_text(rules_dir).splitlines()
    set_feed_enabled(rules_dir, "bbc-zh", False)
    after = feeds_text(rules_dir).splitlines()
    assert [line for line in after if line not in before] == ["    enabled: false"]
    assert len(after) == len(before) + 1
    set_feed_enabled(rules_dir, "bbc-zh", True)
    assert feeds_text(rules_dir).splitlines() == before


def test_remove_takes_the_item_and_leaves_the_rest(rules_dir: Path) -> None:
    remove_feed(rules_dir, "beta")
    text = feeds_text(rules_dir)
    assert "beta" not in text
    assert text.startswith(FEEDS_YAML.split("\n\n  - id: beta")[0])
    assert "# Alpha's own feed" in text


def test_pause_and_resume_round_trip(rules_dir: Path) -> None:
    set_feed_enabled(rules_dir, "alpha", False)
    assert load_rules(rules_dir).rules.feed("alpha").enabled is False  # type: ignore[union-attr]
    set_feed_enabled(rules_dir, "alpha", False)  # already paused: no change
    set_feed_enabled(rules_dir, "alpha", True)
    assert feeds_text(rules_dir) == FEEDS_YAML


def test_a_feed_is_edited_in_whichever_file_holds_it(rules_dir: Path) -> None:
    extra = rules_dir / "more" / "asia.yml"
    extra.parent.mkdir()
    extra.write_text("# Asia\nfeeds:\n- id: nhk\n  url: https://nhk.example/rss  # NHK\n")
    assert set_feed_enabled(rules_dir, "nhk", False) == extra
    assert extra.read_text() == (
        "# Asia\nfeeds:\n- id: nhk\n  url: https://nhk.example/rss  # NHK\n  enabled: false\n"
    )
    assert add_feed(rules_dir, NewFeed("new", "https://n.example/")) == rules_dir / "feeds.yaml"


def test_a_first_feed_goes_to_a_new_feeds_file(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "topics.yaml").write_text("topics:\n  - id: t\n    any: [x]\n")
    path = add_feed(rules_dir, NewFeed("first", "https://f.example/rss"))
    assert path.read_text() == "feeds:\n  - id: first\n    url: https://f.example/rss\n"


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        (NewFeed("alpha", "https://other.example/"), "a feed with id 'alpha' already exists"),
        (NewFeed("dup", "https://beta.example/rss"), "feed 'beta' already has this URL"),
        (NewFeed("fast", "https://f.example/", interval="5s"), "bad interval '5s'"),
        (NewFeed("Bad Id", "https://f.example/"), "bad feed id 'Bad Id'"),
    ],
)
def test_an_edit_that_would_break_the_rules_is_refused_and_nothing_is_written(
    rules_dir: Path, feed: NewFeed, message: str
) -> None:
    with pytest.raises(RulesError) as info:
        add_feed(rules_dir, feed)
    assert message in str(info.value)
    assert str(rules_dir) in str(info.value)  # the user's file is named, not a temp copy
    assert feeds_text(rules_dir) == FEEDS_YAML
    assert sorted(p.name for p in rules_dir.iterdir()) == ["feeds.yaml", "topics.yaml"]


def test_unknown_feed_and_unparsable_file_are_refused(rules_dir: Path) -> None:
    with pytest.raises(RulesError, match="no feed with id 'nope'"):
        remove_feed(rules_dir, "nope")
    (rules_dir / "feeds.yaml").write_text("feeds: [\n")
    with pytest.raises(RulesError, match="does not parse"):
        set_feed_enabled(rules_dir, "alpha", False)


def test_the_write_is_atomic_and_keeps_the_file_mode(rules_dir: Path) -> None:
    path = rules_dir / "feeds.yaml"
    path.chmod(0o640)
    inode = path.stat().st_ino
    remove_feed(rules_dir, "beta")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.stat().st_ino != inode  # replaced, never rewritten in place
    assert [p.name for p in rules_dir.iterdir() if p.name.startswith(".")] == []
