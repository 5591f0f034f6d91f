"""Benchmark: precision and recall of the near-duplicate test on pairs built from the archive.

Positive pairs (the same story, as it arrives from another feed), for every archive item
with a body:

- ``traditional``: title and body converted to Traditional Chinese (OpenCC ``s2t``);
- ``retitled``: a syndicator's title (the body's first sentence, or a tagged, shortened
  title) over the same body;
- ``no-footer``: the relay footer removed, or for items without one the last paragraph
  dropped and a "read more" line added;
- ``combined``: Traditional, retitled and without the footer at once.

Negative pairs (different stories that a topic would put side by side): items that fire
the same shipped topic on the same day, plus items of the same source on the same day
(which share a house style and boilerplate). Pairs with the same link or the same
normalized title are left out: those are real duplicates in the archive.

Prints precision and recall for the chosen rule (``bot.text.cluster.near_duplicate``), per
variant, and for the alternatives it was chosen over (SimHash over the same shingles,
title similarity alone). Usage: ``python bench/dedupe.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import opencc

from bot.models import Item
from bot.rules.load import load_rules
from bot.rules.match import compile_matcher
from bot.text import cluster
from bot.text.html import html_to_text
from bot.text.normalize import normalize
from bot.text.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[1]
ARCHIVE = ROOT.parent / "shared" / "data" / "archive" / "items.jsonl"
MAX_NEGATIVES_PER_GROUP = 60
FOOTER = re.compile(r"获取更多RSS")


@dataclass(frozen=True)
class Doc:
    title: str
    body: str  # plain text, as the pipeline has it (html_to_text cuts the relay footer)
    html: str
    link: str
    source: str
    day: str | None


@dataclass(frozen=True)
class Pair:
    a: Doc
    b: Doc
    kind: str
    duplicate: bool


def load() -> list[Doc]:
    docs = []
    with ARCHIVE.open(encoding="utf-8") as lines:
        for line in lines:
            r = json.loads(line)
            body_html = r["html"] or ""
            day = (
                datetime.fromtimestamp(r["ts_ms"] / 1000, UTC).strftime("%Y-%m-%d")
                if r["ts_ms"]
                else None
            )
            docs.append(
                Doc(r["title"], html_to_text(body_html), body_html, r["link"], r["source"], day)
            )
    return docs


def doc_from_html(base: Doc, title: str, body_html: str) -> Doc:
    return Doc(title, html_to_text(body_html), body_html, base.link + "#v", base.source, base.day)


def _retitle(doc: Doc, rng: random.Random) -> str:
    spans = split_sentences(doc.body) if doc.body else []
    if spans and rng.random() < 0.5:
        start, end = spans[0]
        return doc.body[start:end][:40]
    return f"【转载】{doc.title[: max(6, len(doc.title) * 2 // 3)]}"


def _no_footer(doc: Doc) -> str:
    m = FOOTER.search(doc.html)
    if m:
        return doc.html[: m.start()]
    paragraphs = doc.html.split("</p>")
    kept = "</p>".join(paragraphs[:-2] + paragraphs[-1:]) if len(paragraphs) > 3 else doc.html
    return kept + "<p>阅读原文 Read more</p>"


def positives(docs: list[Doc], rng: random.Random) -> list[Pair]:
    s2t = opencc.OpenCC("s2t")
    pairs = []
    for doc in docs:
        if not doc.title:
            continue
        trad = doc_from_html(doc, s2t.convert(doc.title), s2t.convert(doc.html))
        retitled = doc_from_html(doc, _retitle(doc, rng), doc.html)
        bare = doc_from_html(doc, doc.title, _no_footer(doc))
        combined = doc_from_html(doc, s2t.convert(_retitle(doc, rng)), s2t.convert(_no_footer(doc)))
        for kind, other in (
            ("traditional", trad),
            ("retitled", retitled),
            ("no-footer", bare),
            ("combined", combined),
        ):
            pairs.append(Pair(doc, other, kind, True))
    return pairs


def _topics(docs: list[Doc]) -> list[set[str]]:
    loaded = load_rules(ROOT / "rules")
    matcher = compile_matcher(loaded.rules)
    out = []
    for n, doc in enumerate(docs):
        item = Item("bench", str(n), doc.title, doc.link, doc.html)
        out.append({t.topic_id for t in matcher.match(item).topics})
    return out


def negatives(docs: list[Doc], rng: random.Random) -> list[Pair]:
    groups: dict[tuple[str, str, str], list[Doc]] = defaultdict(list)
    for doc, topics in zip(docs, _topics(docs), strict=True):
        if doc.day is None or not doc.title:
            continue
        for topic in sorted(topics):  # in order: the same pairs under any hash seed
            groups[("topic", topic, doc.day)].append(doc)
        groups[("source", doc.source, doc.day)].append(doc)
    pairs: dict[tuple[str, str], Pair] = {}
    for (kind, _name, _day), members in groups.items():
        combos = list(itertools.combinations(members, 2))
        rng.shuffle(combos)
        for a, b in combos[:MAX_NEGATIVES_PER_GROUP]:
            same_title = (
                cluster.fingerprint(a.title, "").title == cluster.fingerprint(b.title, "").title
            )
            if a.link == b.link or same_title:
                continue
            key = tuple(sorted((a.link, b.link)))
            pairs.setdefault((key[0], key[1]), Pair(a, b, f"same-{kind}-day", False))
    return list(pairs.values())


# -- the alternative it was chosen over: SimHash (64 bits) over the same shingles ----------


def simhash(body: str) -> tuple[int, int]:
    compact = re.sub(r"[\W_]+", "", normalize(body))
    shingles = {compact[i : i + cluster.SHINGLE] for i in range(max(0, len(compact) - 3))}
    # Count byte values per byte position, then bits from those: 8 steps per shingle, not 64.
    tables = [[0] * 256 for _ in range(8)]
    for s in shingles:
        h = int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
        for i in range(8):
            tables[i][h >> (8 * i) & 255] += 1
    value, half = 0, len(shingles) / 2
    for i, table in enumerate(tables):
        for bit in range(8):
            ones = sum(n for v, n in enumerate(table) if v >> bit & 1)
            if ones > half:
                value |= 1 << (8 * i + bit)
    return value, len(shingles)


def score(pairs: list[Pair], test: Callable[[Pair], bool]) -> tuple[float, float, int, int]:
    tp = fp = fn = 0
    for pair in pairs:
        said = test(pair)
        tp += said and pair.duplicate
        fp += said and not pair.duplicate
        fn += (not said) and pair.duplicate
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp, fn


def main() -> None:
    if not ARCHIVE.exists():
        print("skipped: needs ../shared/data/archive/items.jsonl")
        return
    rng = random.Random(7)
    docs = load()
    pairs = positives(docs, rng) + negatives(docs, rng)
    fps: dict[int, cluster.Fingerprint] = {}
    start = time.process_time()
    for pair in pairs:
        for doc in (pair.a, pair.b):
            if id(doc) not in fps:
                fps[id(doc)] = cluster.fingerprint(doc.title, doc.body)
    per_fp = (time.process_time() - start) / len(fps)
    n_pos = sum(p.duplicate for p in pairs)
    print(f"pairs: {n_pos:,} duplicates, {len(pairs) - n_pos:,} different stories")
    print(f"fingerprint: {per_fp * 1e3:.2f} ms CPU per item ({len(fps):,} items)")

    def chosen(p: Pair) -> bool:
        return cluster.near_duplicate(fps[id(p.a)], fps[id(p.b)])

    def title_only(p: Pair) -> bool:
        return cluster.title_similarity(fps[id(p.a)], fps[id(p.b)]) >= cluster.TITLE_ONLY_MIN

    sims: dict[int, tuple[int, int]] = {}

    def simhash_test(p: Pair) -> bool:
        a = sims.setdefault(id(p.a), simhash(p.a.body))
        b = sims.setdefault(id(p.b), simhash(p.b.body))
        if min(a[1], b[1]) < cluster.MIN_SHINGLES:
            return title_only(p)
        return bin(a[0] ^ b[0]).count("1") <= 10

    print(f"{'rule':<42} {'precision':>9} {'recall':>7} {'FP':>5} {'FN':>5}")
    for name, test in (
        ("chosen: MinHash body + rapidfuzz title", chosen),
        ("SimHash body (Hamming <= 10) + title", simhash_test),
        ("rapidfuzz title alone (>= 0.85)", title_only),
    ):
        p, r, fp, fn = score(pairs, test)
        print(f"{name:<42} {p:>9.4f} {r:>7.4f} {fp:>5} {fn:>5}")
    print("chosen rule, per kind of pair:")
    kinds = sorted({p.kind for p in pairs})
    for kind in kinds:
        subset = [p for p in pairs if p.kind == kind]
        said = sum(chosen(p) for p in subset)
        label = "recall" if subset[0].duplicate else "false-positive rate"
        rate = said / len(subset)
        print(f"  {kind:<20} {len(subset):>6} pairs  {label} {rate:.4f}")
    if "--show" in sys.argv:
        for p in pairs:
            if chosen(p) != p.duplicate:
                a, b = fps[id(p.a)], fps[id(p.b)]
                body = cluster.body_similarity(a, b)
                title = cluster.title_similarity(a, b)
                print(f"{p.kind}: body={body} title={title:.2f} | {p.a.title} | {p.b.title}")


if __name__ == "__main__":
    main()
