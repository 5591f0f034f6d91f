"""The rules shipped in rules/ load clean and do what their comments promise."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.models import Item
from bot.rules.load import load_rules
from bot.rules.match import compile_matcher

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "voa-2024-06-28.md"
_SEED_LAYOUT = re.compile(
    r"<!--[^>]*-->\s*\n\[(?P<title>.*)\]\((?P<link>[^)]*)\)\s*\n-+\s*\n", re.S
)


def read_seed(path: Path) -> Item:
    """The relay-archive layout: <!--epoch-ms-->, [title](link), a ------ line, HTML body."""
    text = path.read_text(encoding="utf-8")
    m = _SEED_LAYOUT.match(text)
    assert m is not None
    return Item("voa-zh", m["link"], m["title"], m["link"], text[m.end() :])


def test_shipped_rules_load_clean() -> None:
    loaded = load_rules(ROOT / "rules")
    assert loaded.warnings == []
    rules = loaded.rules
    assert len(rules.entities) >= 40
    for eid in (
        "putin",
        "kim-jong-un",
        "xi-jinping",
        "biden",
        "trump",
        "north-korea",
        "russia",
        "china",
        "united-states",
        "taiwan",
        "ukraine",
    ):
        assert eid in rules.entities
    assert {"zh", "en"} <= {t for f in rules.feeds for t in f.tags}


@pytest.fixture
def seed() -> Item:
    if not SEED.exists():
        pytest.skip("../shared/seed is not here")
    return read_seed(SEED)


def test_russia_dprk_fires_on_the_seed_item(seed: Item) -> None:
    matcher = compile_matcher(load_rules(ROOT / "rules").rules)
    result = matcher.match(seed)
    topics = {t.topic_id: t for t in result.topics}
    assert "russia-dprk" in topics
    hits = topics["russia-dprk"].hits
    seen = {(h.term, h.entity, h.matched, h.edits) for h in hits}
    assert ("Vladimir Putin", "putin", "Vladmir Putin", 1) in seen
    assert ("普京", "putin", "普京", 0) in seen
    assert ("金正恩", "kim-jong-un", "金正恩", 0) in seen
    assert ("朝鲜", "north-korea", "朝鲜", 0) in seen
    assert hits[0].field == "title" and hits[0].matched == "俄朝"
    assert hits[-1].edits == 1  # the only fuzzy hit comes last
