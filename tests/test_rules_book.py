"""One holder of the rules in force: whatever reads it after a swap sees the new book,
and a reader that took a book keeps a consistent one."""

from __future__ import annotations

from pathlib import Path

from bot.rules.book import RuleBook, Rules
from bot.rules.load import load_rules

TOPICS = """\
topics:
  - id: taiwan
    name: {name}
    any: [Taiwan]
"""


def book(tmp_path: Path, name: str) -> RuleBook:
    rules_dir = tmp_path / name
    rules_dir.mkdir()
    (rules_dir / "topics.yaml").write_text(TOPICS.format(name=name), encoding="utf-8")
    return RuleBook.build(load_rules(rules_dir))


def test_a_swap_puts_the_new_book_in_force(tmp_path: Path) -> None:
    first, second = book(tmp_path, "Strait"), book(tmp_path, "Taiwan-Strait")
    rules = Rules(first)
    taken = rules.current()
    assert rules.topic_name("taiwan") == "Strait"
    rules.swap(second)
    assert rules.current() is second and rules.topic_name("taiwan") == "Taiwan-Strait"
    assert taken is first and taken.rules.topic("taiwan").name == "Strait"  # type: ignore[union-attr]
    assert rules.topic_name("gone") is None
    assert first.version != second.version
