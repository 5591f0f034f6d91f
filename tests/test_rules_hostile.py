"""Rule files that would cost minutes or gigabytes are refused at once, with file and line."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from bot.errors import Problem, RulesError
from bot.models import Item
from bot.rules import evaluate
from bot.rules.edit import NewFeed, add_feed
from bot.rules.evaluate import RawHit, TermHit, _pairs, new_tuple
from bot.rules.load import load_rules
from bot.rules.match import compile_matcher
from bot.rules.model import MAX_TERM, MAX_WITHIN, Near, RuleSet, Term, Topic
from bot.rules.safeyaml import MAX_DEPTH
from tests.conftest import Cli


def write(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(root: Path) -> list[Problem]:
    with pytest.raises(RulesError) as info:
        load_rules(root)
    return info.value.problems


def alias_bomb(levels: int = 9) -> str:
    """The YAML "billion laughs": ``levels`` lines of nine aliases each, 9**levels leaves,
    used where the loader walks the value (a topic's ``none`` list)."""
    lines = ["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    lines += ["topics:", "  - id: t", "    any: [a]", f"    none: *a{levels}"]
    return "\n".join(lines) + "\n"


def test_rules_check_refuses_an_alias_bomb_at_once_naming_file_and_line(
    cli: Cli, tmp_path: Path
) -> None:
    rules = tmp_path / "bomb"
    path = write(rules, "topics.yaml", alias_bomb())
    started = time.monotonic()
    # Before: no message, 3.9 GB of memory after a minute.
    result = cli("rules", "check", "--rules", str(rules), timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert f"{path}:1: error: YAML anchor &a0 is not allowed" in result.stderr
    assert "write the value out in full" in result.stderr
    assert elapsed < 30  # the interpreter's start-up, mostly: the refusal itself takes ms


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param("x: &lol [a, b]\ntopics: []\n", 1, "YAML anchor &lol", id="anchor"),
        pytest.param(
            "topics:\n  - id: t\n    any: [a, *lol]\n", 3, "YAML alias *lol", id="undefined-alias"
        ),
        pytest.param(
            "topics:\n  - id: t\n    any: [a]\n  - id: u\n    any: [b]\n    <<: *t\n",
            6,
            "YAML alias *t",
            id="merge-key",
        ),
    ],
)
def test_anchors_and_aliases_are_refused_with_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, "t.yaml", text)
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), line)], found
    assert found[0].message.startswith(message), found


def test_an_aliased_value_that_would_load_is_refused_too(tmp_path: Path) -> None:
    """Even a harmless alias: rule files have no need of them, and refusing every one is
    what keeps the loader from ever walking a shared value twice."""
    write(
        tmp_path,
        "t.yaml",
        "entities:\n  a: {aliases: &names [甲, 乙]}\n  b: {aliases: *names}\n"
        'topics:\n  - {id: t, any: ["@a"]}\n',
    )
    found = problems(tmp_path)
    assert [p.line for p in found] == [2]
    assert "anchor &names" in found[0].message


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # Before: RecursionError out of ruamel.yaml, a traceback instead of a message.
    path = write(tmp_path, "t.yaml", "topics: " + "[" * 5000 + "]" * 5000 + "\n")
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), 1)]
    assert f"nested more than {MAX_DEPTH} levels deep" in found[0].message


def test_a_number_python_will_not_build_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # Before: ValueError (int of more than 4,300 digits) out of the loader.
    path = write(
        tmp_path,
        "t.yaml",
        "topics:\n  - {id: t, any: [{near: [a, b], within: " + "9" * 5000 + "}]}\n",
    )
    found = problems(tmp_path)
    assert [p.file for p in found] == [str(path)]
    assert "YAML value cannot be read" in found[0].message


def test_editing_a_file_with_an_anchor_is_refused(tmp_path: Path) -> None:
    """``/addfeed`` reads the file itself: it must not walk a bomb either."""
    write(tmp_path, "feeds.yaml", "feeds:\n  - &f {id: a, url: 'https://a.example/rss'}\n")
    before = (tmp_path / "feeds.yaml").read_text(encoding="utf-8")
    with pytest.raises(RulesError, match="anchor &f"):
        add_feed(tmp_path, NewFeed("b", "https://b.example/rss"))
    assert (tmp_path / "feeds.yaml").read_text(encoding="utf-8") == before


def test_a_term_longer_than_the_cap_is_refused(tmp_path: Path) -> None:
    # Before: a 3,000-letter term took 36 s to compile, 200,000 letters over a minute.
    long_term = "ab " * 999 + "ab"
    path = write(tmp_path, "t.yaml", f"topics:\n  - id: t\n    any: [ok, '{long_term}']\n")
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), 3)]
    assert f"is too long ({len(long_term)} characters; at most {MAX_TERM})" in found[0].message


def test_a_term_at_the_cap_loads_and_compiles_quickly(tmp_path: Path) -> None:
    term = "abcdefghij" * (MAX_TERM // 10)
    write(tmp_path, "t.yaml", f"topics:\n  - id: t\n    any: [{term}]\n    fuzzy: 2\n")
    started = time.monotonic()
    compile_matcher(load_rules(tmp_path).rules)
    assert time.monotonic() - started < 20  # about 0.1 s


def test_within_above_the_cap_is_refused_naming_the_cap(tmp_path: Path) -> None:
    path = write(
        tmp_path, "t.yaml", "topics:\n  - id: t\n    any: [{near: [a, b], within: 1000000}]\n"
    )
    found = problems(tmp_path)
    assert [(p.file, p.line) for p in found] == [(str(path), 3)]
    assert f"bad within 1000000: use a number of characters from 1 to {MAX_WITHIN}" in str(found[0])
    write(
        tmp_path,
        "t.yaml",
        f"topics:\n  - {{id: t, any: [{{near: [a, b], within: {MAX_WITHIN}}}]}}\n",
    )
    assert load_rules(tmp_path).rules.topics[0].any[0] == Near(
        (Term("a"),), (Term("b"),), MAX_WITHIN
    )


def _evaluator_lines(topic: Topic, item: Item) -> int:
    """How many lines of ``bot.rules.evaluate`` matching ``item`` runs: the evaluator's
    work, counted the same on any machine."""
    matcher = compile_matcher(RuleSet(topics=(topic,)))
    lines = 0

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        nonlocal lines
        if frame.f_code.co_filename != evaluate.__file__:
            return None
        lines += event == "line"
        return trace

    sys.settrace(trace)
    try:
        result = matcher.match(item)
    finally:
        sys.settrace(None)
    assert [t.topic_id for t in result.topics] == [topic.id]
    return lines


def test_near_at_the_cap_checks_each_hit_once_on_a_big_item() -> None:
    """A near clause is checked in one sorted pass over its hits, not pair by pair: on an
    item full of hits, at ``within`` at the cap, a few lines run per hit. (Before: every
    pair in reach, about 120 partners for each hit here, 14 times the cost of matching the
    two terms alone; at ``within: 1000000``, ``mediabot match`` was killed after 100 s.)"""
    item = Item("f", "k", "t", "", ("alpha beta gamma " * 5_000)[:70_000])
    near = Topic("near", "near", any=(Near((Term("alpha"),), (Term("beta"),), MAX_WITHIN),))
    hits = 2 * item.content.count("alpha")
    assert _evaluator_lines(near, item) < 60 * hits  # about 28 a hit; pair by pair over 300


def _hit(start: int, length: int) -> RawHit:
    hit: RawHit = new_tuple(RawHit, ("content", start, start + length, 0, start, start + length))
    return hit


def _brute_force(left: list[TermHit], right: list[TermHit], within: int) -> set[tuple[str, int]]:
    found = set()
    for lt, lh in left:
        for rt, rh in right:
            if max(lh.nstart, rh.nstart) - min(lh.nend, rh.nend) <= within:
                found |= {(lt.text, lh.start), (rt.text, rh.start)}
    return found


def test_near_pairs_are_exactly_those_within_reach() -> None:
    """The sorted pass finds the same hits as checking every pair, overlaps included."""
    rng = random.Random(17)  # noqa: S311 -- test data, not security
    a, b = Term("a"), Term("b")
    for _ in range(300):
        within = rng.randint(1, 30)
        left = [
            (a, _hit(rng.randint(0, 200), rng.randint(0, 12))) for _ in range(rng.randint(1, 8))
        ]
        right = [
            (b, _hit(rng.randint(0, 200), rng.randint(0, 12))) for _ in range(rng.randint(1, 8))
        ]
        got = {(t.text, h.start) for t, h in _pairs(left, right, within)}
        assert got == _brute_force(left, right, within), (left, right, within)
