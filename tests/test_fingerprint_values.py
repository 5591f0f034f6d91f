"""Fingerprints are stored (outbox rows for "also:", spike stories): computing them faster
must not change a single value, or near-duplicates of alerts stored before an upgrade
would no longer be recognized."""

from __future__ import annotations

import hashlib
import heapq
import json
from pathlib import Path

from bot.text import cluster
from bot.text.html import html_to_text
from bot.text.normalize import normalize


def _reference(title: str, body: str) -> str:
    """The stored form as first defined: each shingle's 4-byte BLAKE2b digest as a number,
    the 64 smallest, formatted 8 hex digits apiece."""
    compact = cluster._compact(body)
    shingles = {compact[i : i + 4] for i in range(max(0, len(compact) - 3))}
    hashes = {
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=4).digest(), "big") for s in shingles
    }
    sketch = "".join(f"{h:08x}" for h in heapq.nsmallest(64, hashes))
    plain_title = " ".join(normalize(cluster._TITLE_TAG.sub("", title)).split())
    return json.dumps({"t": plain_title[:500], "n": len(hashes), "h": sketch}, ensure_ascii=False)


TEXTS = [
    ("", ""),
    ("短", "短文"),
    ("【转载】普京访华", "普京周二抵达北京，與中國領導人會談。" * 40),
    ("Update 3", "The minister said on Tuesday that talks would resume. " * 30),
    ("Mixed 混合 ñ", "Ünïcödé — dashes – and 中文 ＦＵＬＬＷＩＤＴＨ ١٢٣ 🙂 " * 20),
]


def test_fingerprints_keep_their_stored_values() -> None:
    for title, body in TEXTS:
        fp = cluster.fingerprint(title, body)
        assert cluster.encode(fp) == _reference(title, body)
        assert cluster.decode(cluster.encode(fp)) == fp


def test_fingerprints_of_real_items_keep_their_stored_values(archive_dir: Path) -> None:
    lines = (archive_dir / "items.jsonl").read_text("utf-8").split("\n")
    rows = [json.loads(line) for line in lines if line.strip()]
    for row in rows[::4]:
        title, body = row.get("title") or "", html_to_text(row.get("html") or "")
        assert cluster.encode(cluster.fingerprint(title, body)) == _reference(title, body)


def test_unreadable_fingerprints_decode_to_none() -> None:
    bad_hex = ('{"t": "a", "n": 3, "h": "zz"}', '{"t": "a", "n": 3, "h": "abc"}')
    for text in ("", "{}", "[1]", *bad_hex):
        assert cluster.decode(text) is None
