"""The ``spikes`` entry of the rule files: read, validated with file:line, checked by
``mediabot rules check``, and alongside topics that stay exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import RulesError
from bot.rules.load import load_rules
from tests.conftest import Cli

ENTITIES = """entities:
  putin:
    name: Vladimir Putin
    aliases: [普京, 普丁, Vladimir Putin, Putin]
  kim-jong-un:
    name: Kim Jong Un
    aliases: [金正恩, Kim Jong Un]
"""

GOOD = """spikes:
  - id: surges
    name: Surges in coverage
    watch: ["@putin", "@kim-jong-un", 俄朝]
    window: 1h
    baseline: 7d
    factor: 3
    min_items: 5
    channels: ["@kp_watch"]
"""


def write(tmp_path: Path, spikes: str, extra: str = "") -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "entities.yaml").write_text(ENTITIES + extra, encoding="utf-8")
    (rules / "spikes.yaml").write_text(spikes, encoding="utf-8")
    return rules


def errors(tmp_path: Path, spikes: str, extra: str = "") -> list[str]:
    with pytest.raises(RulesError) as caught:
        load_rules(write(tmp_path, spikes, extra))
    return [str(p) for p in caught.value.problems]


def test_the_design_example_loads(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD)).rules
    (spike,) = rules.spikes
    assert (spike.id, spike.name, spike.window, spike.baseline) == (
        "surges",
        "Surges in coverage",
        3600.0,
        7 * 86400.0,
    )
    assert (spike.factor, spike.min_items, spike.baseline_windows) == (3.0, 5, 168)
    assert [w.key for w in spike.watch] == ["putin", "kim-jong-un", "俄朝"]
    assert [w.entity for w in spike.watch] == ["putin", "kim-jong-un", None]
    assert spike.watch[0].terms[0].text == "普京"
    assert str(spike.channels[0]) == "@kp_watch"


def test_defaults_and_every_entity(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, 'spikes:\n  - id: all-names\n    watch: ["@*"]\n')).rules
    (spike,) = rules.spikes
    assert [w.key for w in spike.watch] == ["kim-jong-un", "putin"]
    assert (spike.name, spike.window, spike.baseline, spike.factor, spike.min_items) == (
        "all-names",
        3600.0,
        7 * 86400.0,
        3.0,
        5,
    )


def test_an_unknown_entity_names_the_line_and_the_closest_id(tmp_path: Path) -> None:
    found = errors(tmp_path, 'spikes:\n  - id: s\n    watch:\n      - "@putin"\n      - "@putn"\n')
    assert found == [
        f"{tmp_path}/rules/spikes.yaml:5: error: unknown entity '@putn': did you mean '@putin'?"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("window: 1m", "bad window '1m': use whole minutes from 5m to 1d"),
        ("window: 2d", "bad window '2d'"),
        ("window: 90s", "bad window '90s'"),
        ("baseline: 90m", "baseline '90m' is not a whole number of windows"),
        ("baseline: 1h", "baseline '1h' is 1 windows: use 2 to 5000 windows"),
        ("baseline: 120d", "bad baseline '120d': use a duration up to 90d"),
        ("factor: 1", "bad factor 1: use a number above 1 and at most 1000"),
        ("factor: three", "bad factor 'three'"),
        ("factor: 5000", "bad factor 5000"),
        ("min_items: 1", "bad min_items 1: use a whole number from 2 to 10000"),
        ("min_items: 2.5", "bad min_items 2.5"),
        ("min_items: true", "bad min_items True"),
        ("delivery: weekly", "bad delivery 'weekly'"),
        ("colour: red", "unknown key 'colour' in spike"),
    ],
)
def test_bounds_are_checked_with_the_line(tmp_path: Path, line: str, message: str) -> None:
    found = errors(tmp_path, f'spikes:\n  - id: s\n    watch: ["@putin"]\n    {line}\n')
    assert len(found) == 1, found
    assert found[0].startswith(f"{tmp_path}/rules/spikes.yaml:4: error: {message}"), found


def test_ids_are_unique_and_apart_from_topic_ids(tmp_path: Path) -> None:
    spikes = (
        'spikes:\n  - id: s\n    watch: ["@putin"]\n'
        '  - id: s\n    watch: ["@putin"]\n'
        '  - id: putin-watch\n    watch: ["@putin"]\n'
    )
    topics = 'topics:\n  - id: putin-watch\n    any: ["@putin"]\n'
    found = errors(tmp_path, spikes, topics)
    assert any(":4: error: duplicate spike id 's' (first at" in p for p in found), found
    assert any(":6: error: spike id 'putin-watch' is a topic's id too" in p for p in found), found


def test_a_spike_needs_something_to_watch(tmp_path: Path) -> None:
    found = errors(tmp_path, "spikes:\n  - id: s\n    name: Nothing\n")
    needs = "a spike needs watch: the entities or terms it counts"
    assert found == [f"{tmp_path}/rules/spikes.yaml:2: error: {needs}"]
    found = errors(tmp_path, "spikes:\n  - id: s\n    watch: []\n")
    assert "watch is an empty list" in found[0]


def test_rules_check_counts_spikes_and_reports_their_errors(tmp_path: Path, cli: Cli) -> None:
    rules = write(tmp_path, GOOD)
    ok = cli("rules", "check", "--rules", str(rules))
    assert ok.returncode == 0, ok.stderr
    assert "0 topics, 1 spike (version" in ok.stdout
    (rules / "spikes.yaml").write_text(GOOD.replace("@kim-jong-un", "@kim-jong-on"), "utf-8")
    bad = cli("rules", "check", "--rules", str(rules))
    assert bad.returncode == 1
    assert (
        "spikes.yaml:4: error: unknown entity '@kim-jong-on': did you mean '@kim-jong-un'?"
        in bad.stderr
    )


def test_topics_and_the_matcher_are_unchanged_by_spikes(tmp_path: Path) -> None:
    topics = 'topics:\n  - id: putin-watch\n    any: ["@putin"]\n'
    with_spikes = load_rules(write(tmp_path, GOOD, topics)).rules
    (tmp_path / "rules" / "spikes.yaml").unlink()
    without = load_rules(tmp_path / "rules").rules
    assert with_spikes.topics == without.topics
    assert with_spikes.entities == without.entities
    assert without.spikes == ()
