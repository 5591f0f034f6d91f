"""The examples in docs/rules.md are valid rules."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[1]
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def blocks() -> list[str]:
    return _BLOCK.findall((ROOT / "docs" / "rules.md").read_text(encoding="utf-8"))


def test_docs_have_examples() -> None:
    assert len(blocks()) >= 5


@pytest.mark.parametrize("index", range(len(blocks())))
def test_docs_example_loads(tmp_path: Path, index: int) -> None:
    example = blocks()[index]
    if example.startswith(("topics:", "spikes:")):
        # Topic and spike examples lean on the shipped feeds and entities.
        for name in ("feeds.yaml", "entities.yaml"):
            shutil.copy(ROOT / "rules" / name, tmp_path / name)
    (tmp_path / "example.yaml").write_text(example, encoding="utf-8")
    loaded = load_rules(tmp_path)
    assert loaded.warnings == []
