"""An alert's body (``bot.delivery.kinds``) as JSON in the outbox's ``parts`` column.

Any body is stored the same way: its kind and its fields, nested dataclasses and named
tuples as objects and lists, times as ISO 8601, each value within ``Bounds``. Reading goes
by the field types, so a new kind of body needs nothing here. A field missing from a stored
body takes its default; an unknown kind or a body that does not fit its type is a
``StoreError`` naming the row.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from bot.delivery.kinds import BODIES, Body
from bot.errors import StoreError
from bot.text.clip import clip

__all__ = ["Bounds", "body_from_json", "body_to_json"]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a stored body may hold (the store's second line behind the parser's limits):
    a text is cut to ``text``, a name or a text in a list (a title, a source, a hit's
    term) to ``name``; a longer link is dropped; a list keeps its first ``items`` (the
    hits: ``hits``, of which "Why:" shows five and counts the rest)."""

    text: int = 65_536
    name: int = 1_000
    link: int = 2_000
    items: int = 1_000
    hits: int = 50


_NAMES = frozenset({"title", "source", "topic_name", "tz", "was"})


def body_to_json(body: Body, bounds: Bounds = Bounds()) -> str:
    return json.dumps({"kind": body.tag, **_encode(body, bounds)}, ensure_ascii=False)


def _encode(value: Any, bounds: Bounds, name: str = "") -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return {f.name: _encode(getattr(value, f.name), bounds, f.name) for f in fields}
    if isinstance(value, tuple):  # named tuples too: as lists, in field order
        kept = value[: bounds.hits if name == "hits" else bounds.items]
        return [_encode(v, bounds, "item") for v in kept]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and name == "link":
        return value if len(value) <= bounds.link else None
    if isinstance(value, str):
        return clip(value, bounds.name if name in _NAMES or name == "item" else bounds.text)
    return value


def body_from_json(text: str, where: str = "an outbox row") -> Body:
    try:
        data = json.loads(text)
        cls = BODIES[data.pop("kind")]
        body: Body = _decode(cls, data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(
            f"{where}: its parts cannot be read ({type(exc).__name__}: {exc})"
        ) from exc
    return body


@functools.cache
def _fields(cls: type) -> dict[str, Any]:
    """A dataclass's or named tuple's fields and their types (worked out once per type)."""
    hints = get_type_hints(cls)
    if dataclasses.is_dataclass(cls):
        return {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return {name: hints[name] for name in cls._fields}  # type: ignore[attr-defined]


def _decode(tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        return _decode(next(a for a in get_args(tp) if a is not type(None)), value)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is Literal or tp is Any:
        return value
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _fields(tp)
        return tp(**{k: _decode(hints[k], v) for k, v in value.items() if k in hints})
    if isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields"):
        hints = _fields(tp)
        return tp(*(_decode(hints[name], v) for name, v in zip(tp._fields, value, strict=True)))
    if tp is datetime:
        return datetime.fromisoformat(value)
    if tp is float and isinstance(value, int):
        return float(value)
    if tp in (str, int, float, bool) and not isinstance(value, tp):
        raise TypeError(f"{value!r} is not a {tp.__name__}")
    return value
