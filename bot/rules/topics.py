"""Reading a topic: its clauses (``@entity`` expanded), fields, scope, channels, delivery."""

from __future__ import annotations

import dataclasses
from typing import Any

from bot.models import Destination, Field
from bot.rules.model import (
    AUTO,
    EXPLICIT_MIN_LETTERS,
    MAX_WITHIN,
    Clause,
    Entity,
    Group,
    Near,
    Term,
    Topic,
)
from bot.rules.schema import (
    Context,
    as_list,
    as_text,
    check_id,
    check_keys,
    check_term,
    item_line,
    node_line,
    parse_channel,
    parse_delivery,
    parse_term_object,
    value_line,
)
from bot.text.script import is_latin_term, latin_letter_count

TOPIC_KEYS = {
    "id",
    "name",
    "any",
    "all",
    "none",
    "fields",
    "fuzzy",
    "feeds",
    "channels",
    "delivery",
}
_TERM_KEYS = {"term", "case", "fuzzy", "field"}
_NEAR_KEYS = {"near", "within", "field"}


class TopicReader:
    """Reads topics against the complete set of entities (they may live in other files)."""

    def __init__(self, ctx: Context, entities: dict[str, Entity]) -> None:
        self.ctx = ctx
        self.entities = entities

    def topic(self, node: Any, line: int | None) -> Topic | None:
        ctx = self.ctx
        if not isinstance(node, dict):
            ctx.error(line, f"a topic must be a mapping with id and any/all, got {node!r}")
            return None
        line = node_line(node, line)
        check_keys(ctx, node, TOPIC_KEYS, "topic")
        tid = check_id(ctx, node.get("id"), value_line(node, "id", line), "topic")
        name = as_text(ctx, node.get("name", tid or "?"), value_line(node, "name", line), "name")
        any_ = self._clauses(node, "any", line)
        all_ = self._groups(node, line)
        none = self._clauses(node, "none", line)
        if "any" not in node and "all" not in node:
            ctx.error(line, f"topic {tid!r} needs any or all (or both)")
        fields = self._fields(node, line)
        fuzzy = node.get("fuzzy", AUTO)
        if isinstance(fuzzy, bool) or fuzzy not in (AUTO, 0, 1, 2):
            ctx.error(value_line(node, "fuzzy", line), f"bad fuzzy {fuzzy!r}: use auto, 0, 1 or 2")
            fuzzy = AUTO
        topic = Topic(
            id=tid or "?",
            name=name or tid or "?",
            any=any_,
            all=all_,
            none=none,
            fields=fields,
            fuzzy=fuzzy,
            feeds=self._scope(node, line),
            channels=self.channels(node, line),
            delivery=parse_delivery(
                ctx, node.get("delivery", "instant"), value_line(node, "delivery", line)
            ),
            file=ctx.file,
            line=line or 0,
        )
        self._warn_inapplicable(topic)
        return topic if tid is not None else None

    def _clauses(self, node: dict[Any, Any], key: str, line: int | None) -> Group:
        if key not in node:
            return ()
        where = value_line(node, key, line)
        items = as_list(self.ctx, node[key], where, key)
        if items is None:
            return ()
        out: list[Clause] = []
        for i, value in enumerate(items):
            at = item_line(items, i, where)
            # A nested list in any/none means the same as its items: all of them are ORed.
            for v in value if isinstance(value, list) else [value]:
                out.extend(self.clause(v, at))
        return tuple(out)

    def _groups(self, node: dict[Any, Any], line: int | None) -> tuple[Group, ...]:
        if "all" not in node:
            return ()
        where = value_line(node, "all", line)
        items = as_list(self.ctx, node["all"], where, "all")
        groups: list[Group] = []
        for i, value in enumerate(items or []):
            at = item_line(items, i, where)
            if isinstance(value, list):
                if not value:
                    self.ctx.error(at, "a group in all is an empty list")
                    continue
                group = [
                    c for j, v in enumerate(value) for c in self.clause(v, item_line(value, j, at))
                ]
            else:
                group = list(self.clause(value, at))
            if group:
                groups.append(tuple(group))
        return tuple(groups)

    def clause(self, value: Any, line: int | None) -> tuple[Clause, ...]:
        """One written clause; an ``@entity`` gives one term per alias."""
        if isinstance(value, dict) and "near" in value:
            near = self._near(value, line)
            return () if near is None else (near,)
        return self.terms(value, line)

    def terms(self, value: Any, line: int | None) -> tuple[Term, ...]:
        ctx = self.ctx
        if isinstance(value, list):
            ctx.error(line, f"a list is not allowed here: {value!r}")
            return ()
        if isinstance(value, dict):
            text = value.get("term")
            if isinstance(text, str) and text.startswith("@"):
                options = dict(value)
                options.pop("term")
                check_keys(ctx, options, _TERM_KEYS, "term")
                return self._entity(text, line, options)
            term = parse_term_object(ctx, value, line, _TERM_KEYS, entity=None)
            return () if term is None else (term,)
        if isinstance(value, str) and value.startswith("@"):
            return self._entity(value, line, {})
        text = as_text(ctx, value, line, "term")
        term = None if text is None else check_term(ctx, Term(text), line)
        return () if term is None else (term,)

    def _entity(self, ref: str, line: int | None, options: dict[str, Any]) -> tuple[Term, ...]:
        entity = self.entities.get(ref[1:])
        if entity is None:
            self.ctx.error(line, f"unknown entity {ref!r}")
            return ()
        changes = {k: v for k, v in options.items() if k in ("case", "fuzzy", "field")}
        if not changes:
            return entity.terms
        probe = parse_term_object(self.ctx, {"term": "x", **changes}, line, _TERM_KEYS, None)
        if probe is None:
            return ()
        fields = {k: getattr(probe, k) for k in changes}
        return tuple(dataclasses.replace(t, **fields) for t in entity.terms)

    def _near(self, node: dict[Any, Any], line: int | None) -> Near | None:
        ctx = self.ctx
        check_keys(ctx, node, _NEAR_KEYS, "near")
        pair = node.get("near")
        if not isinstance(pair, list) or len(pair) != 2:
            ctx.error(line, f"near needs exactly two terms, got {pair!r}")
            return None
        left, right = (self.terms(v, item_line(pair, i, line)) for i, v in enumerate(pair))
        within = node.get("within")
        if isinstance(within, bool) or not isinstance(within, int) or not 0 < within <= MAX_WITHIN:
            ctx.error(
                value_line(node, "within", line),
                f"bad within {within!r}: use a number of characters from 1 to {MAX_WITHIN}",
            )
            return None
        where = node.get("field")
        if where is not None and where not in ("title", "content"):
            ctx.error(value_line(node, "field", line), f"bad field {where!r}")
            return None
        return Near(left, right, within, where) if left and right else None

    def _fields(self, node: dict[Any, Any], line: int | None) -> tuple[Field, ...]:
        if "fields" not in node:
            return ("title", "content")
        where = value_line(node, "fields", line)
        items = as_list(self.ctx, node["fields"], where, "fields") or []
        fields: list[Field] = []
        for f in items:
            if f == "title" or f == "content":
                fields.append(f)
            else:
                self.ctx.error(where, f"bad field {f!r}: use title or content")
        return tuple(fields) or ("title", "content")

    def _scope(self, node: dict[Any, Any], line: int | None) -> tuple[str, ...]:
        if "feeds" not in node:
            return ()
        where = value_line(node, "feeds", line)
        items = as_list(self.ctx, node["feeds"], where, "feeds") or []
        scope = []
        for i, value in enumerate(items):
            bare = value[1:] if isinstance(value, str) and value.startswith("#") else value
            if check_id(self.ctx, bare, item_line(items, i, where), "feed or #tag"):
                scope.append(value)
        return tuple(scope)

    def channels(self, node: dict[Any, Any], line: int | None) -> tuple[Destination, ...]:
        if "channels" not in node:
            return ()
        where = value_line(node, "channels", line)
        value = node["channels"]
        items = value if isinstance(value, list) else [value]
        found = (
            parse_channel(self.ctx, v, item_line(items, i, where)) for i, v in enumerate(items)
        )
        return tuple(d for d in found if d is not None)

    def _warn_inapplicable(self, topic: Topic) -> None:
        terms = [
            t for c in topic.clauses() for t in (c.left + c.right if isinstance(c, Near) else (c,))
        ]
        outside = sorted({t.text for t in terms if t.field and t.field not in topic.fields})
        if outside:
            self.ctx.warn(
                topic.line,
                f"topic {topic.id!r}: terms {outside} look in a field the "
                "topic does not read, so they never hit",
            )
        if topic.fuzzy in (1, 2):
            short = sorted(
                {
                    t.text
                    for t in terms
                    if t.fuzzy is None
                    and is_latin_term(t.text)
                    and latin_letter_count(t.text) < EXPLICIT_MIN_LETTERS
                }
            )
            if short:
                self.ctx.warn(
                    topic.line,
                    f"topic {topic.id!r}: fuzzy {topic.fuzzy} does not "
                    f"apply to {short}: fewer than 4 letters stay exact",
                )
