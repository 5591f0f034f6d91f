"""Near-duplicate stories: fingerprints and similarity (pure; no store, no clock).

The same story arrives from several feeds, in Simplified and Traditional editions, retitled
by a syndicator, with or without a relay footer. Two items are compared on:

- the body: both are normalized (NFKC, casefold, Traditional → Simplified, see
  ``bot.text.normalize``), reduced to letters and digits, and cut into overlapping
  ``SHINGLE``-character shingles. A bottom-k MinHash sketch (the ``SKETCH`` smallest 32-bit
  shingle hashes) estimates the Jaccard similarity of two shingle sets from 64 numbers each;
- the title: ``rapidfuzz`` ratio of the normalized titles (0..1).

Decision (:func:`near_duplicate`, thresholds chosen on ``bench/dedupe.py``; see
docs/alerts.md for the precision and recall they give):

1. both bodies long enough to sketch (``MIN_SHINGLES``): a duplicate when the body
   similarity is at least ``BODY_MIN``, or at least ``BODY_WITH_TITLE`` with titles at least
   ``TITLE_MIN`` alike (an edition with a rewritten lead);
2. otherwise (a title-only or very short item): a duplicate when the titles are at least
   ``TITLE_ONLY_MIN`` alike and carry the same numbers.

A fingerprint is stored with each alert as compact JSON (:func:`encode` / :func:`decode`).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import struct
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.text.normalize import normalize

__all__ = [
    "Fingerprint",
    "body_similarity",
    "decode",
    "encode",
    "fingerprint",
    "near_duplicate",
    "title_similarity",
]

SHINGLE = 4
SKETCH = 64
MIN_SHINGLES = 24  # fewer distinct shingles than this: the body is too short to judge
BODY_MIN = 0.5
BODY_WITH_TITLE = 0.2
TITLE_MIN = 0.7
TITLE_ONLY_MIN = 0.85
# Titles are compared by edit distance (quadratic) and stored with every alert: a title is
# judged by its first 500 characters, as much as an alert shows.
TITLE_CHARS = 500

_NOT_WORD = re.compile(r"[\W_]+")
_DIGITS = re.compile(r"\d+")
# A syndicator's tag in front of a title: 【转载】, [独家], 〔快讯〕.
_TITLE_TAG = re.compile(r"^\s*(?:[【\[〔][^】\]〕]{1,8}[】\]〕]\s*)+")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """A normalized title and a bottom-k sketch of the body's shingles (sorted, ascending).

    ``size`` is the number of distinct shingles of the body (0 for an empty body).
    """

    title: str
    sketch: tuple[int, ...]
    size: int


def _hash(shingle: str) -> int:
    """A shingle's hash: the first 4 bytes of its BLAKE2b digest, big-endian."""
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=4).digest(), "big")


def _sketch(compact: str) -> tuple[tuple[int, ...], int]:
    """The ``SKETCH`` smallest shingle hashes of ``compact`` and how many distinct there
    are: the values of ``_hash``, computed in bulk. A 4-byte big-endian digest sorts as its
    number does, so the digests are compared as bytes and only the sketch becomes numbers."""
    blake2b = hashlib.blake2b
    shingles = {compact[i : i + SHINGLE] for i in range(max(0, len(compact) - SHINGLE + 1))}
    digests = {blake2b(s.encode(), digest_size=4).digest() for s in shingles}
    smallest = sorted(digests)[:SKETCH]
    return tuple(int.from_bytes(d, "big") for d in smallest), len(digests)


def _compact(text: str) -> str:
    return _NOT_WORD.sub("", normalize(text))


def fingerprint(title: str, body: str) -> Fingerprint:
    """The fingerprint of an item from its plain-text title and body (footer already cut)."""
    sketch, size = _sketch(_compact(body))
    plain_title = " ".join(normalize(_TITLE_TAG.sub("", title)).split())
    plain_title = plain_title[:TITLE_CHARS]
    return Fingerprint(title=plain_title, sketch=sketch, size=size)


def body_similarity(a: Fingerprint, b: Fingerprint) -> float | None:
    """Estimated Jaccard similarity of the bodies, or None when either is too short."""
    if min(a.size, b.size) < MIN_SHINGLES:
        return None
    k = min(SKETCH, len(a.sketch), len(b.sketch))
    union = heapq.nsmallest(k, set(a.sketch) | set(b.sketch))
    both = set(a.sketch) & set(b.sketch)
    return sum(1 for h in union if h in both) / k


def title_similarity(a: Fingerprint, b: Fingerprint) -> float:
    if not a.title or not b.title:
        return 0.0
    return fuzz.ratio(a.title, b.title) / 100.0


def near_duplicate(a: Fingerprint, b: Fingerprint) -> bool:
    """Whether two items tell the same story (see the module docstring for the rule)."""
    body = body_similarity(a, b)
    title = title_similarity(a, b)
    if body is None:
        # Short templated titles ("Update 3", "Update 4") differ only in their numbers.
        same_numbers = _DIGITS.findall(a.title) == _DIGITS.findall(b.title)
        return title >= TITLE_ONLY_MIN and same_numbers
    return body >= BODY_MIN or (body >= BODY_WITH_TITLE and title >= TITLE_MIN)


def encode(fp: Fingerprint) -> str:
    """Compact text for the store: ``{"t": title, "n": size, "h": hex sketch}``."""
    sketch = struct.pack(f">{len(fp.sketch)}I", *fp.sketch).hex()  # 8 hex digits a hash
    return json.dumps({"t": fp.title, "n": fp.size, "h": sketch}, ensure_ascii=False)


def decode(text: str) -> Fingerprint | None:
    """The fingerprint stored by :func:`encode`; None for anything unreadable."""
    try:
        data = json.loads(text)
        raw = bytes.fromhex(str(data["h"]))
        sketch = struct.unpack(f">{len(raw) // 4}I", raw)
        return Fingerprint(title=str(data["t"]), sketch=sketch, size=int(data["n"]))
    except (ValueError, KeyError, TypeError, struct.error):
        return None
