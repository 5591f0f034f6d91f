"""The watch query language: what ``/watch QUERY`` reads, compiled to the rule language.

Grammar (tokens are separated by spaces)::

    query       := part+                      (at most MAX_QUERY characters)
    part        := alternative ("OR" alternative)* | "-" alternative
    alternative := word | '"' phrase '"' | "@" entity-id

Every part is required (AND across parts); ``OR`` (upper case, between two alternatives)
joins them into one part; a part written ``-x`` excludes. ``“curly”`` quotes count as
quotes, since phones type them. The query becomes a topic of the rule language and is
matched by the same matcher as topics, so words and phrases are terms with everything
terms get (normalization, Traditional ≡ Simplified, word boundaries, typo tolerance by
length, a trailing ``*`` as a prefix wildcard), and ``@id`` stands for every alias of
the entity, as in a rule file. A query with one part is ``any: [...]``; with several,
``all: [...]``, one group per part; exclusions are ``none: [...]``.

Refused, with a reason (``QueryError.reason`` and its values): an empty query, one
longer than ``MAX_QUERY``, one with only exclusions, an unknown ``@entity`` (with the
closest ids), a term too short to be useful (a single Latin letter or digit), a quote
not closed, an ``OR`` with nothing on one side or next to an exclusion.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.rules.model import MAX_TERM, Entity, Term, Topic
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS

MAX_QUERY = 200
MIN_WORD_CHARS = 2  # a term of Latin letters and digits only needs at least this many

_OPEN = '"“„「'
_CLOSE = {'"': '"', "“": "”", "„": "“", "「": "」"}
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]")
_BARE = re.compile(r"[^\W_][\w .'’&+/-]*", re.UNICODE)
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n", "~"}


class QueryError(ValueError):
    """A query that cannot become a watch: ``reason`` names why, ``values`` fill it in."""

    def __init__(self, reason: str, **values: str) -> None:
        super().__init__(reason, values)
        self.reason = reason
        self.values = values


@dataclass(frozen=True, slots=True)
class Alternative:
    """One word, phrase or ``@entity`` as written (without quotes or the ``-``)."""

    text: str
    entity: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: required parts (each a tuple of alternatives) and exclusions."""

    text: str
    parts: tuple[tuple[Alternative, ...], ...]
    excluded: tuple[Alternative, ...]


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, quoted) pairs; a leading ``-`` stays outside the quotes: ``-"a b"``."""
    out: list[tuple[str, bool]] = []
    i, size = 0, len(text)
    while i < size:
        if text[i].isspace():
            i += 1
            continue
        minus = text[i] == "-" and i + 1 < size and text[i + 1] in _OPEN
        start = i + 1 if minus else i
        if text[start] in _OPEN:
            close = text.find(_CLOSE[text[start]], start + 1)
            if close < 0:
                raise QueryError("unclosed")
            phrase = " ".join(text[start + 1 : close].split())
            if phrase:
                out.append((("-" if minus else "") + phrase, True))
            i = close + 1
            continue
        end = i
        while end < size and not text[end].isspace() and text[end] not in _OPEN:
            end += 1
        out.append((text[i:end], False))
        i = end
    return out


def parse_query(text: str) -> Query:
    """The parts of ``text``, or ``QueryError``; entities are checked by ``compile_query``."""
    text = " ".join(text.split())
    if not text:
        raise QueryError("empty")
    if len(text) > MAX_QUERY:
        raise QueryError("too_long", limit=str(MAX_QUERY), length=str(len(text)))
    parts: list[list[Alternative]] = []
    excluded: list[Alternative] = []
    previous = ""  # what the last token was: "", "or", "part" or "exclusion"
    for word, quoted in _tokens(text):
        if word == "OR" and not quoted:
            if previous == "exclusion":
                raise QueryError("or_exclusion")
            if previous != "part":
                raise QueryError("dangling_or")
            previous = "or"
            continue
        negative = word.startswith("-") and len(word) > 1
        alt = _alternative(word[1:] if negative else word, quoted)
        if negative:
            if previous == "or":
                raise QueryError("or_exclusion")
            excluded.append(alt)
        elif previous == "or":
            parts[-1].append(alt)
        else:
            parts.append([alt])
        previous = "exclusion" if negative else "part"
    if previous == "or":
        raise QueryError("dangling_or")
    if not parts:
        raise QueryError("only_exclusions" if excluded else "empty")
    return Query(text, tuple(tuple(p) for p in parts), tuple(excluded))


def _alternative(token: str, quoted: bool) -> Alternative:
    if not quoted and token.startswith("@") and len(token) > 1:
        return Alternative(token[1:].lower(), entity=True)
    norm = normalize(token[:-1] if token.endswith("*") else token)
    if len(token) > MAX_TERM or not norm:
        raise QueryError("too_short", term=token)
    if token.endswith("*") and norm[-1] not in WORD_CHARS:
        raise QueryError("bad_wildcard", term=token)
    if not _CJK.search(norm) and sum(c in WORD_CHARS for c in norm) < MIN_WORD_CHARS:
        raise QueryError("too_short", term=token)
    return Alternative(token)


def _terms(alt: Alternative, entities: dict[str, Entity]) -> tuple[Term, ...]:
    if not alt.entity:
        return (Term(alt.text),)
    entity = entities.get(alt.text)
    if entity is None:
        closest = closest_entity(alt.text, entities)
        raise QueryError("unknown_entity", entity=alt.text, closest=closest)
    return entity.terms


def closest_entity(name: str, entities: dict[str, Entity]) -> str:
    """The ids closest to ``name`` (by id or display name), as ``@a, @b``; empty if none."""
    choices = {e.id: f"{e.id} {e.name}" for e in entities.values()}
    found = process.extract(name, choices, scorer=fuzz.WRatio, limit=3, score_cutoff=60)
    return ", ".join(f"@{key}" for _, _, key in found)


def compile_query(query: Query, entities: dict[str, Entity], *, key: str) -> Topic:
    """The query as a topic with id ``key`` (a watch's key, never a valid topic id), so
    the matcher treats it exactly as a topic."""
    groups = tuple(tuple(t for alt in part for t in _terms(alt, entities)) for part in query.parts)
    none = tuple(t for alt in query.excluded for t in _terms(alt, entities))
    if len(groups) == 1:
        return Topic(id=key, name=query.text, any=groups[0], none=none)
    return Topic(id=key, name=query.text, all=groups, none=none)


def _scalar(alt: Alternative) -> str:
    text = "@" + alt.text if alt.entity else alt.text
    if _BARE.fullmatch(text) and text.lower() not in _YAML_WORDS and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def as_rules(query: Query) -> str:
    """The query as a rule file would write it, e.g. ``all: ["@putin", [treaty, 条约]]``."""
    lines = []
    if len(query.parts) == 1:
        lines.append("any: " + _flow([_scalar(a) for a in query.parts[0]]))
    else:
        groups = [
            _scalar(p[0]) if len(p) == 1 else _flow([_scalar(a) for a in p]) for p in query.parts
        ]
        lines.append("all: " + _flow(groups))
    if query.excluded:
        lines.append("none: " + _flow([_scalar(a) for a in query.excluded]))
    return "\n".join(lines)


def meaning(query: Query) -> frozenset[object]:
    """What ``query`` asks for, regardless of order, case and script: two queries with the
    same meaning fire on the same items (``/watch`` refuses a chat the second)."""

    def alts(group: tuple[Alternative, ...]) -> frozenset[tuple[bool, str]]:
        return frozenset((a.entity, normalize(a.text)) for a in group)

    parts = frozenset(alts(p) for p in query.parts)
    return frozenset({("all", parts), ("none", alts(query.excluded))})
