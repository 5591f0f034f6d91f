"""The rule language: schema and evaluation order.

Grammar (YAML; every ``*.yaml``/``*.yml`` under the rules directory, see docs/rules.md)::

    file      := {feeds: [feed...], entities: {id: entity...}, topics: [topic...],
                  spikes: [spike...]}                                          (any subset)
    feed      := {id, url, name?, interval?, tags?, enabled?}
    entity    := {name?, aliases: [alias...]}
    alias     := string | {term: string, case?: bool, fuzzy?: 0|1|2}
    topic     := {id, name?, any?: [clause...], all?: [group...], none?: [clause...],
                  fields?: [title|content...], fuzzy?: auto|0|1|2, feeds?: [id | "#tag"...],
                  channels?: [chat...], delivery?: instant|hourly|daily@HH:MM}
    spike     := {id, name?, watch: [term | "@*"...], window?, baseline?, factor?,
                  min_items?, channels?: [chat...], delivery?}   (see bot.rules.spikes)
    group     := clause | [clause...]                      (OR inside, AND across groups)
    clause    := term | {near: [term, term], within: 1..MAX_WITHIN, field?}
    term      := string | "@entity-id" | {term: string, case?, fuzzy?, field?}
                 (a string of at most MAX_TERM characters)
    chat      := "@channel" | int | {chat: "@channel" | int, thread?: int}

An ``@id`` term stands for every alias of entity ``id``; it is expanded when the rules
are loaded, so a compiled topic only holds ``Term`` and ``Near`` clauses.

Evaluation of one topic on one item:

1. Scope: a topic with ``feeds`` only sees items of those feeds or of feeds with one of
   those ``#tags``. Items whose feed is not in the rule set (a file in a dry run) are not
   scoped out.
2. Every term is looked for in the topic's ``fields``, narrowed by the term's own
   ``field``; each field is matched on its own, so a hit never spans title and content.
3. ``any`` holds when at least one of its clauses hits; ``all`` holds when every group
   has a clause that hits; a topic with both needs both. ``none`` vetoes: if any of its
   clauses hits, the topic does not fire.
4. A ``near`` clause hits when a hit of its first term and one of its second lie in the
   same field with at most ``within`` characters of normalized text between them.

What a term matches (see ``bot.text.normalize`` and ``bot.rules.match``): the term and
the text are normalized the same way; a term starting or ending with a Latin letter or a
digit needs a word boundary there; a trailing ``*`` on a Latin term matches the prefix
plus the rest of the word; fuzzy matching allows ``allowed_edits`` edits (optimal string
alignment) on Latin terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.models import Destination, Field
from bot.text.script import is_latin_term, latin_letter_count

FuzzySetting = str | int  # "auto" or 0, 1, 2
AUTO = "auto"
ONE_EDIT_LETTERS = 6  # auto: 6..11 Latin letters allow one edit
TWO_EDIT_LETTERS = 12  # auto: 12 or more allow two
EXPLICIT_MIN_LETTERS = 4  # explicit fuzzy: 1|2 needs at least this many letters
# "Near" means near: a paragraph or two. The cap also keeps the characters a near clause
# can look across small, whatever the size of an item.
MAX_WITHIN = 1000
# A keyword or a name, not a paragraph: the matcher's tables grow with the square of a
# fuzzy term's length, and a term of a few thousand letters took half a minute to compile.
MAX_TERM = 200


@dataclass(frozen=True, slots=True)
class FeedRule:
    id: str
    url: str
    name: str | None = None
    interval: float | None = None  # seconds, 30s..1d; None: the settings' default
    tags: tuple[str, ...] = ()
    enabled: bool = True
    file: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class Term:
    """One keyword as written in the rules (an alias when ``entity`` is set)."""

    text: str  # as written, e.g. "Vladimir Putin" or "military*"
    entity: str | None = None
    case: bool = False  # case-sensitive
    fuzzy: int | None = None  # None: the topic's setting
    field: Field | None = None  # None: every field of the topic

    @property
    def wildcard(self) -> bool:
        return self.text.endswith("*")

    @property
    def stem(self) -> str:
        """The text to look for: without the wildcard star."""
        return self.text[:-1] if self.wildcard else self.text


@dataclass(frozen=True, slots=True)
class Near:
    """Two terms (each possibly several aliases) within ``within`` characters of each other."""

    left: tuple[Term, ...]
    right: tuple[Term, ...]
    within: int
    field: Field | None = None


Clause = Term | Near
Group = tuple[Clause, ...]  # alternatives: the group hits when any clause hits


@dataclass(frozen=True, slots=True)
class Entity:
    id: str
    name: str
    aliases: tuple[str, ...]
    terms: tuple[Term, ...] = ()  # the aliases with their options, entity set


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    name: str
    any: Group = ()
    all: tuple[Group, ...] = ()
    none: Group = ()
    fields: tuple[Field, ...] = ("title", "content")
    fuzzy: FuzzySetting = AUTO
    feeds: tuple[str, ...] = ()  # scope: feed ids and "#tag"s; empty means every feed
    channels: tuple[Destination, ...] = ()
    delivery: str = "instant"  # "instant" | "hourly" | "daily@HH:MM"
    file: str = ""
    line: int = 0

    def clauses(self) -> tuple[Clause, ...]:
        """Every clause of the topic: any, all (flattened), none."""
        return self.any + tuple(c for group in self.all for c in group) + self.none


@dataclass(frozen=True, slots=True)
class Watched:
    """One thing a spike counts: an entity (every alias) or a keyword.

    ``key`` names it in counts, alerts and the dry run: the entity id (without ``@``) or
    the term as written."""

    key: str
    label: str  # what an alert shows: the entity's name, or the term
    terms: tuple[Term, ...]
    entity: str | None = None


@dataclass(frozen=True, slots=True)
class Spike:
    """A surge alert: ``count`` distinct items about one watched thing in a window,
    against the mean count per window over ``baseline`` before it (DESIGN §4 "Spikes")."""

    id: str
    name: str
    watch: tuple[Watched, ...]
    window: float = 3600.0  # seconds
    baseline: float = 7 * 86400.0  # seconds, a whole number of windows
    factor: float = 3.0
    min_items: int = 5
    channels: tuple[Destination, ...] = ()
    delivery: str = "instant"
    file: str = ""
    line: int = 0

    @property
    def baseline_windows(self) -> int:
        return round(self.baseline / self.window)


@dataclass(frozen=True, slots=True)
class RuleSet:
    feeds: tuple[FeedRule, ...] = ()
    entities: dict[str, Entity] = field(default_factory=dict)
    topics: tuple[Topic, ...] = ()
    spikes: tuple[Spike, ...] = ()

    def spike(self, spike_id: str) -> Spike | None:
        return next((s for s in self.spikes if s.id == spike_id), None)

    def feed(self, feed_id: str) -> FeedRule | None:
        return next((f for f in self.feeds if f.id == feed_id), None)

    def topic(self, topic_id: str) -> Topic | None:
        return next((t for t in self.topics if t.id == topic_id), None)


def allowed_edits(term: Term, topic_fuzzy: FuzzySetting = AUTO) -> int:
    """How many edits ``term`` may differ by (DESIGN §4 point 4 and its fine points).

    Wildcards and non-Latin terms are exact. ``auto`` allows one edit from 6 Latin letters
    and two from 12; an explicit 1 or 2 applies from 4 letters.
    """
    setting = topic_fuzzy if term.fuzzy is None else term.fuzzy
    if term.wildcard or not is_latin_term(term.text) or setting == 0:
        return 0
    letters = latin_letter_count(term.text)
    if setting == AUTO:
        if letters >= TWO_EDIT_LETTERS:
            return 2
        return 1 if letters >= ONE_EDIT_LETTERS else 0
    assert isinstance(setting, int)
    return setting if letters >= EXPLICIT_MIN_LETTERS else 0
