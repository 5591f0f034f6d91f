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

Spike stories (``bot.spikes``) are fingerprinted on their title and lead only, many per
poll, with :func:`lead_fingerprint`: the same sketch, its shingles hashed by CRC-32 (scheme
2, about twice as fast as BLAKE2b). Sketches of two schemes are never compared: two such
items are judged as title-only ones.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import struct
import zlib
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.text.normalize import normalize

__all__ = [
    "Fingerprint",
    "body_similarity",
    "decode",
    "encode",
    "fingerprint",
    "lead_fingerprint",
    "near_duplicate",
    "title_similarity",
]

SHINGLE = 4
SKETCH = 64
BLAKE, CRC = 1, 2  # the hashing schemes of sketches
_MIX = 0x9E3779B1  # an odd multiplier: CRC-32 values reordered, none merged
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

    ``size`` is the number of distinct shingles of the body (0 for an empty body);
    ``scheme`` how shingles were hashed: ``BLAKE`` (:func:`fingerprint`) or ``CRC``
    (:func:`lead_fingerprint`).
    """

    title: str
    sketch: tuple[int, ...]
    size: int
    scheme: int = 1


def _hash(shingle: str) -> int:
    """A shingle's hash: the first 4 bytes of its BLAKE2b digest, big-endian."""
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=4).digest(), "big")


def _shingles(compact: str) -> set[str]:
    """The distinct ``SHINGLE``-character runs of ``compact``."""
    return {compact[i : i + SHINGLE] for i in range(max(0, len(compact) - SHINGLE + 1))}


def _sketch(compact: str) -> tuple[tuple[int, ...], int]:
    """The ``SKETCH`` smallest shingle hashes of ``compact`` and how many distinct there
    are: the values of ``_hash``, computed in bulk. A 4-byte big-endian digest sorts as its
    number does, so the digests are compared as bytes and only the sketch becomes numbers."""
    blake2b = hashlib.blake2b
    digests = {blake2b(s.encode(), digest_size=4).digest() for s in _shingles(compact)}
    smallest = sorted(digests)[:SKETCH]
    return tuple(int.from_bytes(d, "big") for d in smallest), len(digests)


def _crc_sketch(compact: str) -> tuple[tuple[int, ...], int]:
    """``_sketch`` with each shingle hashed by CRC-32 times ``_MIX`` (modulo 2**32): the
    multiplication keeps distinct values distinct and breaks CRC's bit-linear order."""
    crc = zlib.crc32
    hashes = {(crc(s.encode()) * _MIX) & 0xFFFFFFFF for s in _shingles(compact)}
    return tuple(sorted(hashes)[:SKETCH]), len(hashes)


def _compact(text: str) -> str:
    return _NOT_WORD.sub("", normalize(text))


def _plain_title(title: str) -> str:
    return " ".join(normalize(_TITLE_TAG.sub("", title)).split())[:TITLE_CHARS]


def fingerprint(title: str, body: str) -> Fingerprint:
    """The fingerprint of an item from its plain-text title and body (footer already cut)."""
    sketch, size = _sketch(_compact(body))
    return Fingerprint(title=_plain_title(title), sketch=sketch, size=size)


def lead_fingerprint(title: str, normalized_lead: str) -> Fingerprint:
    """A quick fingerprint (scheme ``CRC``) of a plain-text title and the beginning of a
    body already through ``normalize``; comparable with fingerprints of its own scheme."""
    sketch, size = _crc_sketch(_NOT_WORD.sub("", normalized_lead))
    return Fingerprint(title=_plain_title(title), sketch=sketch, size=size, scheme=CRC)


def body_similarity(a: Fingerprint, b: Fingerprint) -> float | None:
    """Estimated Jaccard similarity of the bodies, or None when either is too short (or
    their sketches were hashed differently)."""
    if min(a.size, b.size) < MIN_SHINGLES or a.scheme != b.scheme:
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
    data: dict[str, object] = {"t": fp.title, "n": fp.size, "h": sketch}
    if fp.scheme != BLAKE:
        data["s"] = fp.scheme
    return json.dumps(data, ensure_ascii=False)


def decode(text: str) -> Fingerprint | None:
    """The fingerprint stored by :func:`encode`; None for anything unreadable."""
    try:
        data = json.loads(text)
        raw = bytes.fromhex(str(data["h"]))
        sketch = struct.unpack(f">{len(raw) // 4}I", raw)
        scheme = int(data.get("s", BLAKE))
        return Fingerprint(str(data["t"]), sketch, int(data["n"]), scheme)
    except (ValueError, KeyError, TypeError, struct.error):
        return None
