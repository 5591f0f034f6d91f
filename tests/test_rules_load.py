"""Loading rule files: every problem named with file and line, all at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.errors import Problem, RulesError
from bot.models import Destination
from bot.rules.load import load_rules
from bot.rules.model import Near, Term

BASE = """\
feeds:
  - id: voa-zh
    url: https://feedx.net/rss/voa.xml
    name: VOA 中文
    interval: 10m
    tags: [zh, us-media]
entities:
  putin:
    name: Vladimir Putin
    aliases: [普京, Vladimir Putin]
"""


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(root: Path) -> list[Problem]:
    with pytest.raises(RulesError) as info:
        load_rules(root)
    return info.value.problems


def test_full_example_loads(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "topics/t.yml",
        """\
        topics:
          - id: russia-dprk
            name: 俄朝关系 · Russia–North Korea
            any: ["@putin", 俄朝, {near: [俄罗斯, 朝鲜], within: 40}]
            all: [朝鲜, [军事, 条约, treaty, military*]]
            none: [体育, football]
            fields: [title, content]
            fuzzy: auto
            feeds: [voa-zh, "#us-media"]
            channels: ["@kp_watch", -1001234567890, {chat: -1009876543210, thread: 12}]
            delivery: daily@08:00
        """,
    )
    loaded = load_rules(tmp_path)
    feed = loaded.rules.feed("voa-zh")
    assert feed is not None and feed.interval == 600 and feed.tags == ("zh", "us-media")
    topic = loaded.rules.topic("russia-dprk")
    assert topic is not None
    assert topic.any[:2] == (Term("普京", "putin"), Term("Vladimir Putin", "putin"))
    assert isinstance(topic.any[3], Near) and topic.any[3].within == 40
    assert topic.all[1][3] == Term("military*")
    assert topic.channels == (
        Destination("@kp_watch"),
        Destination(-1001234567890),
        Destination(-1009876543210, 12),
    )
    assert topic.delivery == "daily@08:00"
    assert (topic.file, topic.line) == (str(tmp_path / "topics/t.yml"), 2)
    assert loaded.warnings == []
    assert [p.name for p in loaded.files] == ["base.yaml", "t.yml"]


# (id, topics YAML body of one topic, words the message must contain, line of the problem)
ERROR_CASES = [
    ("unknown-key", "  - {id: t, any: [a], colour: red}", "unknown key 'colour'", 3),
    ("bad-id", "  - {id: Bad_ID, any: [a]}", "bad topic id", 3),
    ("unknown-entity", '  - id: t\n    any: ["@nobody"]', "unknown entity '@nobody'", 4),
    ("empty-any", "  - id: t\n    any: []", "any is an empty list", 4),
    ("empty-group", "  - id: t\n    all: [a, []]", "group in all is an empty list", 4),
    ("neither-any-nor-all", "  - id: t\n    none: [a]", "needs any or all", 3),
    ("within-zero", "  - id: t\n    any: [{near: [a, b], within: 0}]", "bad within 0", 4),
    ("within-missing", "  - id: t\n    any: [{near: [a, b]}]", "bad within None", 4),
    ("near-one-term", "  - id: t\n    any: [{near: [a], within: 3}]", "exactly two terms", 4),
    ("term-normalizes-to-nothing", "  - id: t\n    any: ['\u200b—']", "empty after normal", 4),
    ("wildcard-on-cjk", "  - id: t\n    any: [制裁*]", "must follow a Latin letter", 4),
    ("bad-delivery", "  - id: t\n    any: [a]\n    delivery: weekly", "bad delivery 'weekly'", 5),
    ("bad-daily-time", "  - id: t\n    any: [a]\n    delivery: daily@25:00", "bad delivery", 5),
    ("bad-channel", "  - id: t\n    any: [a]\n    channels: [kp_watch]", "bad channel", 5),
    (
        "bad-thread",
        "  - id: t\n    any: [a]\n    channels: [{chat: -100, thread: x}]",
        "bad thread",
        5,
    ),
    ("bad-fuzzy", "  - id: t\n    any: [a]\n    fuzzy: 3", "bad fuzzy 3", 5),
    ("bad-field", "  - id: t\n    any: [{term: a, field: body}]", "bad field 'body'", 4),
    ("bad-fields", "  - id: t\n    any: [a]\n    fields: [title, body]", "bad field 'body'", 5),
    ("case-not-bool", "  - id: t\n    any: [{term: a, case: yes}]", "case must be true", 4),
]


@pytest.mark.parametrize(
    ("topic", "message", "line"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
def test_topic_error_names_file_and_line(
    tmp_path: Path, topic: str, message: str, line: int
) -> None:
    write(tmp_path, "base.yaml", BASE)
    path = write(tmp_path, "topics.yaml", "# topics\ntopics:\n" + topic + "\n")
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), line)], found
    assert message in found[0].message
    assert f"{path}:{line}: error:" in str(found[0])


FEED_ERRORS = [
    ("bad-url", "  - {id: f, url: ftp://x}", "bad feed url"),
    ("interval-too-short", "  - {id: f, url: 'https://x', interval: 10s}", "bad interval"),
    ("interval-too-long", "  - {id: f, url: 'https://x', interval: 2d}", "bad interval"),
    ("interval-garbage", "  - {id: f, url: 'https://x', interval: often}", "bad interval"),
    ("enabled-not-bool", "  - {id: f, url: 'https://x', enabled: maybe}", "enabled must be"),
    ("bad-tag", "  - {id: f, url: 'https://x', tags: [Bad Tag]}", "bad tag id"),
    ("feed-unknown-key", "  - {id: f, url: 'https://x', every: 5m}", "unknown key 'every'"),
]


@pytest.mark.parametrize(
    ("feed", "message"), [pytest.param(*case[1:], id=case[0]) for case in FEED_ERRORS]
)
def test_feed_error_names_file_and_line(tmp_path: Path, feed: str, message: str) -> None:
    path = write(tmp_path, "feeds.yaml", "feeds:\n" + feed + "\n")
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), 2)]
    assert message in found[0].message


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        """\
        entities:
          putin: {aliases: []}
        topics:
          - {id: t1, any: ["@ghost"]}
          - {id: t2, all: [x], delivery: never}
        """,
    )
    write(tmp_path, "b.yaml", "topics:\n  - {id: t1, any: [y]}\nwidgets: []\n")
    found = problems(tmp_path)
    where = sorted((Path(p.file).name, p.line) for p in found)
    assert where == [("a.yaml", 2), ("a.yaml", 4), ("a.yaml", 5), ("b.yaml", 2), ("b.yaml", 3)]


def test_duplicate_ids_across_files_name_the_first(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "topics:\n  - {id: t, any: [x]}\n")
    write(tmp_path, "b.yaml", "topics:\n  - {id: t, any: [y]}\n")
    (problem,) = problems(tmp_path)
    assert problem.file.endswith("b.yaml") and problem.line == 2
    assert f"duplicate topic id 't' (first at {first}:2)" in problem.message


def test_same_id_in_feeds_and_topics_is_fine(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "feeds:\n  - {id: x, url: 'https://x'}\ntopics:\n  - {id: x, any: [y]}\n",
    )
    assert load_rules(tmp_path).rules.topic("x") is not None


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", "topics:\n  - {id: ok, any: [x]}\n")
    bad = write(tmp_path, "bad.yaml", "topics:\n  - id: t\n    any: [unclosed\n  - id: u\n")
    (problem,) = problems(tmp_path)
    assert problem.file == str(bad) and problem.line is not None and problem.line >= 3
    assert "YAML syntax" in problem.message


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "topics:\n  - id: t\n    any: [x]\n    any: [y]\n")
    (problem,) = problems(tmp_path)
    assert problem.line == 4


def test_unknown_top_level_key(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "topic:\n  - {id: t, any: [x]}\n")
    (problem,) = problems(tmp_path)
    assert "unknown top-level key 'topic'" in problem.message and problem.line == 1


def test_entities_in_another_file_resolve(tmp_path: Path) -> None:
    write(tmp_path, "z-entities.yaml", BASE)
    write(tmp_path, "a-topics.yaml", 'topics:\n  - {id: t, any: ["@putin"]}\n')
    topic = load_rules(tmp_path).rules.topic("t")
    assert topic is not None and {t.entity for t in topic.any} == {"putin"}


def test_entity_options_apply_to_every_alias(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "t.yaml", 'topics:\n  - {id: t, any: [{term: "@putin", field: title}]}\n')
    topic = load_rules(tmp_path).rules.topic("t")
    assert topic is not None and {t.field for t in topic.any} == {"title"}


def test_warnings_do_not_reject(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.yaml",
        """\
        topics:
          - id: t
            any: [{term: Abe, fuzzy: 1}, {term: 普京, fuzzy: 2}]
            feeds: [nowhere]
        """,
    )
    loaded = load_rules(tmp_path)
    assert {(p.file, p.line, p.severity) for p in loaded.warnings} == {
        (str(path), 3, "warning"),
        (str(path), 2, "warning"),
    }
    messages = " ".join(p.message for p in loaded.warnings)
    assert "'Abe'" in messages and "'普京'" in messages and "'nowhere'" in messages


def test_empty_dir_is_valid(tmp_path: Path) -> None:
    loaded = load_rules(tmp_path)
    assert loaded.rules.topics == () and loaded.files == []


def test_empty_file_is_valid(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", "# nothing yet\n")
    assert load_rules(tmp_path).rules.feeds == ()


def test_missing_dir(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path / "nope")
    assert problem.file == str(tmp_path / "nope") and "not found" in problem.message


def test_paths_stay_relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "rules/t.yaml", "topics:\n  - {id: t}\n")
    monkeypatch.chdir(tmp_path)
    (problem,) = problems(Path("rules"))
    assert problem.file == str(Path("rules/t.yaml"))


def test_version_follows_content(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "topics:\n  - {id: t, any: [x]}\n")
    first = load_rules(tmp_path).version
    assert load_rules(tmp_path).version == first
    path.write_text("topics:\n  - {id: t, any: [y]}\n", encoding="utf-8")
    assert load_rules(tmp_path).version != first


def test_other_files_ignored(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "topics: [oops")
    write(tmp_path, "t.yaml", "topics:\n  - {id: t, any: [x]}\n")
    assert [t.id for t in load_rules(tmp_path).rules.topics] == ["t"]


@pytest.mark.parametrize(
    ("body", "what", "line"),
    [
        ("feeds:\n  - id: {id}\n    url: https://x\n", "feed", 2),
        ("entities:\n  {id}:\n    aliases: [x]\n", "entity", 2),
        ("topics:\n  - id: {id}\n    any: [x]\n", "topic", 2),
        ("feeds:\n  - id: f\n    url: https://x\n    tags: [{id}]\n", "tag", 4),
    ],
    ids=["feed", "entity", "topic", "tag"],
)
def test_ids_longer_than_64_characters_are_refused(
    tmp_path: Path, body: str, what: str, line: int
) -> None:
    write(tmp_path, "ok.yaml", body.replace("{id}", "a" * 64))
    assert load_rules(tmp_path).files
    long_id = "a" * 64 + "b"
    path = write(tmp_path, "ok.yaml", body.replace("{id}", long_id))
    (problem,) = problems(tmp_path)
    assert (problem.file, problem.line) == (str(path), line)
    assert f"{what} id '{long_id}' is too long (65 characters; at most 64)" in problem.message


def test_a_very_long_id_is_quoted_short(tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", f"topics:\n  - id: {'t' * 4100}\n    any: [x]\n")
    (problem,) = problems(tmp_path)
    assert "(4100 characters; at most 64)" in problem.message
    assert len(problem.message) < 200
