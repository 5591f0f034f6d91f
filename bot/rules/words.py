"""Fuzzy terms of one word with one edit, found word by word.

Most fuzzy terms are a single Latin word of 6 to 11 letters, which allow one edit. Their
pieces (``bot.rules.pieces``) would be two or three letters long, and such pieces turn up
in most words of English text, each costing a check. These terms are found another way:

- a match that is one word of the text: each distinct word of the text is looked up in a
  table of the terms and their one-deletion variants (a word and a term within one edit,
  a swap of neighbours included, always share one of these), and the few candidates get
  an optimal-string-alignment check. What a word is near to does not change, so words are
  remembered: a word seen before, and near no term, is set aside as the text is split
  (news vocabulary repeats). The terms themselves, where they stand exactly, are keys of
  the word-shape automaton, so this lookup only reports words one edit away.
- a match across words (``po land`` or ``po and`` for ``Poland``: the one edit is the
  character between them): the term with a space inserted, or put in place of one of its
  letters, is an exact key of the word-shape automaton (see ``split_keys``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import filterfalse

from rapidfuzz.distance import OSA

# (start, end, edits) in normalized text
Span = tuple[int, int, int]

# How many distinct words to remember, each way, before starting afresh: a bound on memory
# (a few tens of MB: only words no longer than the longest term and one letter are kept)
# for a long-running process; news vocabulary is far smaller.
MAX_REMEMBERED = 200_000


def split_keys(text: str) -> list[str]:
    """``text`` with one separator inserted, or in place of one letter, inside it."""
    inserted = [text[:i] + " " + text[i:] for i in range(1, len(text))]
    replaced = [text[:i] + " " + text[i + 1 :] for i in range(1, len(text) - 1)]
    return inserted + replaced


def _with_deletions(text: str) -> set[str]:
    """``text`` and every string it makes with one character deleted: a word and a term
    within one edit of each other always share one of these."""
    return {text} | {text[:i] + text[i + 1 :] for i in range(len(text))}


class WordIndex:
    """Single-word terms allowing one edit, by pattern id, and the words known near them."""

    def __init__(self, terms: dict[int, str]) -> None:
        self._terms = terms
        self._variants: dict[str, list[int]] = defaultdict(list)
        for pid, text in terms.items():
            for variant in _with_deletions(text):
                self._variants[variant].append(pid)
        sizes = [len(text) for text in terms.values()]
        self._shortest, self._longest = min(sizes) - 1, max(sizes) + 1
        self._near: dict[str, tuple[tuple[int, int], ...]] = {}  # word -> (pid, edits)
        self._clean: set[str] = set()  # words near no term

    def scan(self, shape: str, found: dict[int, list[Span]]) -> None:
        """Every whole word of ``shape`` (a ``word_shape``) within one edit of a term."""
        near, clean = self._near, self._clean
        words = set(filterfalse(clean.__contains__, shape.split()))
        if not words:
            return
        if len(near) > MAX_REMEMBERED or len(clean) > MAX_REMEMBERED:
            near.clear()
            clean.clear()
        present: dict[str, tuple[tuple[int, int], ...]] = {}
        for word in words:
            hits = near.get(word)
            if hits is None:
                hits = self._lookup(word)
                if not hits:
                    if len(word) <= self._longest:  # what is remembered stays small
                        clean.add(word)
                    continue
                near[word] = hits
            present[word] = hits
        if not present:
            return
        # Where they stand: one pass over the shape for all of them. A match starts on the
        # space before the word, which is where the word starts in the text (the shape has
        # one more character in front).
        alternatives = "|".join(map(re.escape, present))
        for m in re.finditer(f" ({alternatives})(?= )", shape):
            at, word = m.start(), m.group(1)
            for pid, edits in present[word]:
                found[pid].append((at, at + len(word), edits))

    def _lookup(self, word: str) -> tuple[tuple[int, int], ...]:
        if not self._shortest <= len(word) <= self._longest:
            return ()
        variants = self._variants
        candidates: set[int] = set()
        for variant in _with_deletions(word):
            if variant in variants:
                candidates.update(variants[variant])
        hits = []
        for pid in sorted(candidates):
            if OSA.distance(self._terms[pid], word, score_cutoff=1) == 1:
                hits.append((pid, 1))
        return tuple(hits)
