"""Every pattern of an index found in an item's prepared fields: ``scan_fields``.

Each field is scanned casefolded; only when a case-sensitive pattern may occur (the
index's probes say so) is its case-kept text scanned too. Spans in the normalized text
are mapped back to the plain text (``RawHit``), with their place in the casefolded text
kept for ``within``.
"""

from __future__ import annotations

from bisect import bisect_left
from unicodedata import combining

from bot.models import FIELDS, Field
from bot.rules.evaluate import PatternHits, RawHit, new_tuple
from bot.rules.index import PatternIndex
from bot.rules.prepare import Prepared, PreparedField
from bot.rules.words import Span
from bot.text.normalize import source_span


def scan_fields(index: PatternIndex, prepared: Prepared, offset: int = 0) -> PatternHits:
    """Every pattern of ``index`` found in each field, keyed by its id plus ``offset``
    (so several indexes can share one id space), with plain-text offsets."""
    out: PatternHits = {}
    for name in FIELDS:
        pf = prepared[name]
        found, probed = index.scan(pf.folded, case=False, shape=pf.shape)
        _collect(out, name, pf, found, pf.folded_map, offset)
        if probed:
            text, cased_map = pf.cased
            _collect(out, name, pf, index.scan(text, case=True)[0], cased_map, offset)
    return out


def _collect(
    out: PatternHits,
    name: Field,
    pf: PreparedField,
    found: dict[int, list[Span]],
    index: list[int],
    offset: int,
) -> None:
    plain, folded = pf.plain, index is pf.folded_map
    size = len(plain)
    for pid, spans in found.items():
        raw = []
        for ns, ne, edits in spans:
            start, end = index[ns], index[ne - 1] + 1
            if end < size and combining(plain[end]):
                start, end = source_span(plain, index, ns, ne)
            if not folded:  # ``within`` is counted in the casefolded text
                ns = bisect_left(pf.folded_map, start)
                ne = bisect_left(pf.folded_map, end)
            raw.append(new_tuple(RawHit, (name, start, end, edits, ns, ne)))
        key = pid + offset
        if key in out:
            out[key][name] = raw
        else:
            out[key] = {name: raw}
