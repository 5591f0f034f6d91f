"""Personal watches: the ones every poller matches, kept in step with the store.

The store is the one source of truth (``bot.store.watches``). A ``WatchBook`` holds the
watches compiled into a ``WatchMatcher`` beside the current rules' matcher:

- ``refresh`` asks the store for its watch version (one row) and, when it changed, reads
  the watches and applies the difference one watch at a time (``WatchMatcher.added`` /
  ``removed``): pollers call it every ``SYNC_SECONDS``, so a watch made through the updates
  process is matched by every poller from its next sync on, at most a second later (an
  item a poller digests within that second is not matched against it);
- ``matcher`` gives the compiled watches for a rules matcher, compiling them anew once
  when the rules were reloaded (their entities may have changed); ``prepare`` does that
  when the rules load, before the new rules are swapped in, so no poller waits for it.
  Compiled anew, the watches' patterns are in one index with the topics': an item costs
  one scan (``scan``, then ``match`` on its hits);
- ``fold`` puts the watches added since into that one index again, and forgets removed
  ones' patterns: a compile as costly as the rules', so it runs in the ``watches-fold``
  job off the pollers' and the commands' paths, once ``FOLD_PATTERNS`` patterns wait or
  ``FOLD_AFTER`` seconds after the last change, and the result is swapped in as one value.
  Until then, the new watches are matched through a small index of their own.

A watch whose query no longer compiles (its ``@entity`` left the rules) is dormant: kept
in the store, logged, matched again once the entity is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.rules.evaluate import PatternHits
from bot.rules.match import Matcher, compile_matcher
from bot.rules.model import RuleSet, Topic
from bot.rules.prepare import Prepared, PreparedField
from bot.rules.query import QueryError, compile_query, parse_query
from bot.rules.watchset import WatchHit, WatchMatcher
from bot.store import RecentItem, WatchRow
from bot.telegram.i18n import EN, ZH
from bot.text.html import tidy_line

log = logging.getLogger(__name__)

# How often pollers compare the store's watch version (one single-row read): as often as
# they look for due feeds, so a watch applies to the polls that start after it is made.
SYNC_SECONDS = 1.0
PREVIEW_TITLES = 3
# A fold starts once this many watch patterns are outside the combined index, or once the
# watches have not changed for ``FOLD_AFTER`` seconds (a burst of /watch folds once).
FOLD_PATTERNS = 16
FOLD_AFTER = 5.0


def watch_key(watch_id: int) -> str:
    """What a watch's alerts, mutes and buttons name it by: never a valid topic id
    (topic ids have no dot), so it cannot collide with one."""
    return f"watch.{watch_id}"


def watch_language(query: str) -> str:
    """The language a watch's alert speaks (its mute button): Chinese when the query has
    Chinese characters in it, English otherwise. Alerts are rendered once per item, before
    any chat's language is known; the query is what the watcher wrote, so it tells."""
    return ZH if any(_is_han(c) for c in query) else EN


def _is_han(c: str) -> bool:
    return (
        "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or "\U00020000" <= c <= "\U0003134f"
    )


def watch_id_of(key: str) -> int | None:
    """The watch id in a ``watch_key``, or None if ``key`` is not one."""
    prefix, _, rest = key.partition(".")
    if prefix != "watch" or not rest.isdigit() or len(rest) > 18:
        return None
    return int(rest)


class WatchStore(Protocol):
    def watch_version(self) -> int: ...

    def all_watches(self) -> list[WatchRow]: ...


class Rules(Protocol):
    """What the watches need of the current rules (``bot.rules.book.RuleBook``)."""

    @property
    def rules(self) -> RuleSet: ...

    @property
    def matcher(self) -> Matcher: ...


def compile_watch(query: str, rules: RuleSet, watch_id: int) -> Topic:
    """A stored query as a topic; ``QueryError`` if it no longer compiles."""
    return compile_query(parse_query(query), rules.entities, key=watch_key(watch_id))


class WatchBook:
    """The watches of every chat, compiled; safe to use from the pollers' threads."""

    def __init__(self, store: WatchStore, get_rules: Callable[[], Rules]) -> None:
        self._store = store
        self._get_rules = get_rules
        self._lock = threading.Lock()
        self._version: int | None = None
        self._rows: dict[int, WatchRow] = {}
        self._compiled: WatchMatcher | None = None
        self._changed = time.monotonic()  # when the watches last changed (not folded since)
        # Compiled by ``prepare`` for rules not swapped in yet, at that watch version.
        self._next: tuple[WatchMatcher, int | None] | None = None

    def refresh(self) -> bool:
        """Pick up watches added or removed anywhere; whether anything changed. Blocking."""
        version = self._store.watch_version()
        if version == self._version:
            return False
        rows = {row.id: row for row in self._store.all_watches()}
        with self._lock:
            book = self._get_rules()
            compiled = self._compiled
            if compiled is None or compiled.base is not book.matcher:
                compiled = self._compile_all(book, rows)
            else:
                for gone in self._rows.keys() - rows.keys():
                    compiled = compiled.removed(gone)
                for watch_id in rows.keys() - self._rows.keys():
                    topic = self._compile(book.rules, rows[watch_id])
                    if topic is not None:
                        compiled = compiled.added(watch_id, topic)
            self._rows, self._compiled, self._version = rows, compiled, version
            self._changed = time.monotonic()
        log.info("watches_synced", extra={"version": version, "watches": len(rows)})
        return True

    def _compile(self, rules: RuleSet, row: WatchRow) -> Topic | None:
        try:
            return compile_watch(row.query, rules, row.id)
        except QueryError as exc:
            log.warning(
                "watch_dormant",
                extra={"watch_id": row.id, "chat": str(row.destination.chat), "why": exc.reason},
            )
            return None

    def _compile_all(self, book: Rules, rows: dict[int, WatchRow]) -> WatchMatcher:
        topics = {}
        for watch_id, row in rows.items():
            topic = self._compile(book.rules, row)
            if topic is not None:
                topics[watch_id] = topic
        return WatchMatcher(book.matcher, topics)

    def prepare(self, book: Rules) -> None:
        """Compile the watches against ``book``'s matcher now (newly loaded rules, before
        they are swapped in), rather than on the first item matched with them. Blocking."""
        rows, version = self._rows, self._version
        self._next = (self._compile_all(book, rows), version)

    def fold(self, *, now: float | None = None, force: bool = True) -> bool:
        """Compile the watches anew into one index with the topics' patterns, if watches
        were added or removed since they last were; whether it did. Unless ``force``, only
        once it is due (``FOLD_PATTERNS``, ``FOLD_AFTER``). Blocking, and as costly as a
        rules compile: matching and changes carry on meanwhile with the current matcher,
        and the fold is dropped (to be done again) if the watches changed in between."""
        compiled = self._compiled
        if compiled is None or not compiled.pending:
            return False
        if not force:
            quiet = (time.monotonic() if now is None else now) - self._changed
            if compiled.unfolded < FOLD_PATTERNS and quiet < FOLD_AFTER:
                return False
        start = time.perf_counter()
        folded = compiled.folded()
        with self._lock:
            if self._compiled is not compiled:
                return False
            self._compiled = folded
        log.info(
            "watches_folded",
            extra={
                "watches": len(folded),
                "patterns": compiled.unfolded,
                "seconds": round(time.perf_counter() - start, 3),
            },
        )
        return True

    def matcher(self, book: Rules) -> WatchMatcher:
        """The watches compiled against ``book``'s matcher (compiled anew after a reload)."""
        compiled = self._compiled
        if compiled is not None and compiled.base is book.matcher:
            return compiled
        with self._lock:
            if self._compiled is None or self._compiled.base is not book.matcher:
                ready = self._next
                if ready is not None and ready[0].base is book.matcher:
                    self._next = None
                    if ready[1] == self._version:  # no watch changed since it was made
                        self._compiled = ready[0]
                        return ready[0]
                self._compiled = self._compile_all(book, self._rows)
            return self._compiled

    def scan(self, book: Rules, prepared: Prepared) -> tuple[WatchMatcher, PatternHits]:
        """The compiled watches and every pattern's hits in an item, the topics' and the
        watches' (one scan): the topics matcher takes the hits as they are, and ``match``
        takes both."""
        compiled = self.matcher(book)
        return compiled, compiled.hits(prepared)

    def match(
        self,
        book: Rules,
        prepared: Prepared,
        hits: PatternHits,
        compiled: WatchMatcher | None = None,
    ) -> list[tuple[WatchRow, WatchHit]]:
        """The watches that fire on an item: ``compiled`` and ``hits`` from ``scan``, or
        ``hits`` the topics matcher's own (the watches' patterns are then scanned apart)."""
        if compiled is None:
            found = self.matcher(book).match(prepared, hits)
        else:
            found = compiled.fired(prepared, hits)
        rows = self._rows
        return [(rows[h.watch_id], h) for h in found if h.watch_id in rows]

    def rows(self) -> list[WatchRow]:
        return list(self._rows.values())


@dataclass(frozen=True, slots=True)
class Preview:
    """What a new watch would have caught lately: how many items, and a few of them."""

    count: int
    examples: tuple[RecentItem, ...]


def preview(topic: Topic, rules: RuleSet, items: Sequence[RecentItem]) -> Preview:
    """The items among ``items`` (newest first) on which ``topic`` fires."""
    matcher = compile_matcher(RuleSet(entities=rules.entities, topics=(topic,)))
    found: list[RecentItem] = []
    for recent in items:
        # The stored text is normalized already (``bot.store.watches``): not again.
        prepared: Prepared = {
            "title": PreparedField(tidy_line(recent.title)),
            "content": PreparedField.from_normalized(recent.text),
        }
        if matcher.match_prepared(prepared, recent.feed_id).topics:
            found.append(recent)
    return Preview(len(found), tuple(found[:PREVIEW_TITLES]))
