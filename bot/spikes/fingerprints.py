"""Story fingerprints for spikes: made from the title and the lead of the body, and
compared cheaply, through a cache of decoded fingerprints and their sketches.

A story is recognised by its title and the lead of its body: syndicated copies and other
editions share the lead, and fingerprinting a 100 kB body for every item that names a
watched entity would cost more than the rest of its ingest. A busy window compares each
new story with its recent ones; most pairs are told apart by a set intersection of their
sketches (``surely_apart``), before ``cluster.near_duplicate`` is asked.
"""

from __future__ import annotations

import bisect
from functools import lru_cache

from bot.rules.prepare import PreparedField
from bot.text import cluster

LEAD_CHARS = 300

_DECODED: dict[str, cluster.Fingerprint | None] = {}
_DECODED_MAX = 8192  # about two polls' worth of stories and their windows' recent ones


def story_fingerprint(title: str, body: PreparedField) -> str:
    """``cluster.encode`` of the fingerprint spikes compare: the title and the first
    ``LEAD_CHARS`` characters of the body, from the body's normalized text (the matcher
    made it already)."""
    lead = body.folded[: bisect.bisect_left(body.folded_map, LEAD_CHARS)]
    fp = cluster.lead_fingerprint(title, lead)
    text = cluster.encode(fp)
    _remember(text, fp)  # the batch compares it next: no need to decode what was encoded
    return text


def _remember(text: str, fp: cluster.Fingerprint | None) -> None:
    if len(_DECODED) >= _DECODED_MAX:
        del _DECODED[next(iter(_DECODED))]  # the oldest entry
    _DECODED[text] = fp


def decoded(text: str) -> cluster.Fingerprint | None:
    """``cluster.decode`` of ``text``, from the cache when it was seen lately."""
    if text in _DECODED:
        return _DECODED[text]
    fp = cluster.decode(text)
    _remember(text, fp)
    return fp


@lru_cache(maxsize=4096)
def _sketch(text: str) -> frozenset[int]:
    fp = decoded(text)
    return frozenset(fp.sketch) if fp is not None else frozenset()


def surely_apart(a: str, b: str) -> bool:
    """Two long bodies sharing fewer sketch hashes than ``cluster.BODY_WITH_TITLE`` of a
    sketch cannot reach that similarity (the estimate counts shared hashes among the
    ``SKETCH`` smallest of the union), so ``cluster.near_duplicate`` would say no: a set
    intersection instead of its sort, for most of the pairs a busy window compares."""
    fa, fb = decoded(a), decoded(b)
    if fa is None or fb is None or min(fa.size, fb.size) < cluster.MIN_SHINGLES:
        return False
    if fa.scheme != fb.scheme:
        return False
    k = min(cluster.SKETCH, len(fa.sketch), len(fb.sketch))
    return len(_sketch(a) & _sketch(b)) < cluster.BODY_WITH_TITLE * k
