"""Fingerprints are stored (outbox rows for "also:", spike stories): computing them faster
must not change a single value, or near-duplicates of alerts stored before an upgrade
would no longer be recognized. Spike stories' quicker fingerprints are a scheme of their
own, stored as such and never compared sketch to sketch with the other scheme."""

from __future__ import annotations

import hashlib
import heapq
import itertools
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


STORY = (
    "【转载】普京访华",
    "俄罗斯总统普京周二抵达北京，开始为期两天的国事访问。这是他连任后首次出访，"
    "双方预计将签署能源、交通和金融领域的多项合作文件。分析人士认为，此次访问正值"
    "国际局势紧张之际，两国领导人将就乌克兰局势、朝鲜半岛问题以及亚太安全交换意见。"
    "中国外交部发言人在例行记者会上表示，中方愿同俄方一道，推动双边关系持续向前发展。"
    "据报道，普京还将前往哈尔滨出席中俄博览会开幕式，并与当地大学师生见面交流。"
    "西方国家密切关注此访，美国国务院表示将评估双方签署协议的内容及其影响。",
)


def test_lead_fingerprints_are_stored_as_their_own_scheme() -> None:
    title, body = STORY
    fp = cluster.lead_fingerprint(title, normalize(body[:300]))
    assert fp.scheme == cluster.CRC and fp.size >= cluster.MIN_SHINGLES
    assert json.loads(cluster.encode(fp))["s"] == cluster.CRC
    assert cluster.decode(cluster.encode(fp)) == fp
    assert fp.title == cluster.fingerprint(title, body).title  # titles alike in both
    assert "s" not in json.loads(cluster.encode(cluster.fingerprint(title, body)))


def test_sketches_of_two_schemes_are_not_compared() -> None:
    title, body = STORY
    lead = cluster.lead_fingerprint(title, normalize(body[:300]))
    whole = cluster.fingerprint(title, body[:300])
    assert cluster.body_similarity(lead, lead) == 1.0
    assert cluster.body_similarity(lead, whole) is None
    # Judged on their titles alone, as title-only items are: the same title is the same
    # story, another title another one, whatever the sketches say.
    assert cluster.near_duplicate(lead, whole)
    other = cluster.fingerprint("普京会见来访的外国领导人", body[:300])
    assert not cluster.near_duplicate(lead, other)


def test_lead_fingerprints_find_the_near_duplicates_the_other_scheme_finds(
    archive_dir: Path,
) -> None:
    """On real items: each item's lead against a Traditional edition and a syndicator's
    retitled copy of it (duplicates) and against the next item (not one)."""
    import opencc

    to_traditional = opencc.OpenCC("s2t").convert
    lines = (archive_dir / "items.jsonl").read_text("utf-8").split("\n")
    rows = [json.loads(line) for line in lines if line.strip()][::8]
    texts = [(r.get("title") or "", html_to_text(r.get("html") or "")) for r in rows]
    texts = [(t, b) for t, b in texts if len(b) >= 300]

    def lead(title: str, body: str) -> cluster.Fingerprint:
        return cluster.lead_fingerprint(title, normalize(body[:300]))

    for (title, body), (next_title, next_body) in itertools.pairwise(texts):
        fp = lead(title, body)
        assert cluster.near_duplicate(fp, lead(to_traditional(title), to_traditional(body)))
        assert cluster.near_duplicate(fp, lead("【转载】" + title, body))
        if cluster.near_duplicate(
            cluster.fingerprint(title, body[:300]), cluster.fingerprint(next_title, next_body[:300])
        ):
            continue  # the archive holds the same story twice here
        assert not cluster.near_duplicate(fp, lead(next_title, next_body))
