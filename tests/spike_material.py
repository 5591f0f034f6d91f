"""Real news items for spike timelines: bodies from ``../shared/data/archive`` that mention
Donald Trump, no two of them near-duplicates (so each counts as its own item)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from bot.text import cluster
from bot.text.html import html_to_text

ITEMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "archive" / "items.jsonl"

ENTITIES = """
entities:
  trump:
    name: Donald Trump
    aliases: [特朗普, 川普, Donald Trump, Trump]
  putin:
    name: Vladimir Putin
    aliases: [普京, 普丁, Vladimir Putin, Putin]
"""


@dataclass(frozen=True, slots=True)
class Body:
    title: str
    html: str


@cache
def _bodies() -> tuple[Body, ...]:
    if not ITEMS.is_file():
        return ()
    found: list[Body] = []
    prints: list[cluster.Fingerprint] = []
    with ITEMS.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            title, body = row.get("title") or "", row.get("html") or ""
            if "特朗普" not in title + body or len(body) < 400:
                continue
            fp = cluster.fingerprint(title, html_to_text(body))
            if any(cluster.near_duplicate(fp, other) for other in prints):
                continue  # the same story twice in the archive: keep one
            prints.append(fp)
            found.append(Body(title, body))
    return tuple(found)


def trump_bodies(count: int) -> list[Body]:
    """``count`` distinct real items about Trump (skips the test when the archive is away)."""
    bodies = _bodies()
    if not bodies:
        pytest.skip("../shared/data/archive is not beside this checkout")
    assert len(bodies) >= count, f"only {len(bodies)} distinct Trump items in the archive"
    return list(bodies[:count])
