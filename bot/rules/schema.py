"""Reading one rule-file value into the model, recording every problem with its line.

The YAML tree comes from ruamel.yaml's round-trip loader, whose maps and lists know the
(0-based) line of each key and item; problems are reported 1-based, as editors count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.errors import Problem
from bot.models import Destination
from bot.rules.model import EXPLICIT_MIN_LETTERS, MAX_TERM, Entity, FeedRule, Term
from bot.text.duration import parse_duration
from bot.text.normalize import normalize
from bot.text.script import WORD_CHARS, is_latin_term, latin_letter_count

ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Ids end up in hashtags, log lines and Telegram callback data (``mute:<topic id>``, at most
# 64 bytes, cut to a prefix there when longer); a cap keeps every one of them short.
MAX_ID = 64
_SHOWN_ID = 80  # how much of an over-long value an error message quotes
_DELIVERY = re.compile(r"^(instant|hourly|daily@([01]\d|2[0-3]):[0-5]\d)$")
_USERNAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,31}$")
_CHAT_ID = re.compile(r"^-?\d+$")
MIN_INTERVAL, MAX_INTERVAL = 30.0, 86400.0


@dataclass
class Context:
    """Where we are (file) and what went wrong so far."""

    file: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def warn(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message, severity="warning"))


def key_line(node: Any, key: Any, default: int | None = None) -> int | None:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return default


def value_line(node: Any, key: Any, default: int | None = None) -> int | None:
    try:
        return int(node.lc.value(key)[0]) + 1
    except (AttributeError, KeyError, TypeError):
        return default


def item_line(node: Any, index: int, default: int | None = None) -> int | None:
    try:
        return int(node.lc.item(index)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return default


def node_line(node: Any, default: int | None = None) -> int | None:
    try:
        return int(node.lc.line) + 1
    except AttributeError:
        return default


def check_keys(ctx: Context, node: dict[Any, Any], allowed: set[str], what: str) -> None:
    for key in node:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            ctx.error(key_line(node, key), f"unknown key {key!r} in {what} (known: {known})")


def check_id(ctx: Context, value: Any, line: int | None, what: str) -> str | None:
    if not isinstance(value, str) or not ID.match(value):
        ctx.error(line, f"bad {what} id {_quoted(value)}: use lowercase letters, digits, - and _")
        return None
    if len(value) > MAX_ID:
        ctx.error(
            line,
            f"{what} id {_quoted(value)} is too long ({len(value)} characters; at most {MAX_ID})",
        )
        return None
    return value


def _quoted(value: Any) -> str:
    """The value as an error message quotes it: its repr, cut when it runs long."""
    text = repr(value)
    return text if len(text) <= _SHOWN_ID else text[:_SHOWN_ID] + "…"


def as_text(ctx: Context, value: Any, line: int | None, what: str) -> str | None:
    """A non-empty string; YAML numbers such as ``2024`` are read as their text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        ctx.error(line, f"{what} must be text, got {value!r}")
        return None
    text = str(value).strip()
    if not text:
        ctx.error(line, f"{what} is empty")
        return None
    return text


def as_list(ctx: Context, value: Any, line: int | None, what: str) -> list[Any] | None:
    if not isinstance(value, list):
        ctx.error(line, f"{what} must be a list, got {value!r}")
        return None
    if not value:
        ctx.error(line, f"{what} is an empty list")
        return None
    return value


def parse_interval(ctx: Context, value: Any, line: int | None) -> float | None:
    seconds = parse_duration(value)  # a number alone is seconds
    if seconds is None or not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        ctx.error(line, f"bad interval {value!r}: use 30s..1d, e.g. 90s, 10m, 2h, 1d")
        return None
    return seconds


def parse_delivery(ctx: Context, value: Any, line: int | None) -> str:
    if not isinstance(value, str) or not _DELIVERY.match(value):
        ctx.error(line, f"bad delivery {value!r}: use instant, hourly or daily@HH:MM")
        return "instant"
    return value


def parse_chat(ctx: Context, value: Any, line: int | None) -> int | str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _CHAT_ID.match(value.strip()):
        return int(value)
    if isinstance(value, str) and _USERNAME.match(value.strip()):
        return value.strip()
    ctx.error(line, f"bad channel {value!r}: use @channelname or a numeric chat id")
    return None


def parse_channel(ctx: Context, value: Any, line: int | None) -> Destination | None:
    if not isinstance(value, dict):
        chat = parse_chat(ctx, value, line)
        return None if chat is None else Destination(chat)
    check_keys(ctx, value, {"chat", "thread"}, "channel")
    chat = parse_chat(ctx, value.get("chat"), value_line(value, "chat", line))
    thread = value.get("thread")
    if thread is not None and (isinstance(thread, bool) or not isinstance(thread, int)):
        ctx.error(value_line(value, "thread", line), f"bad thread {thread!r}: use a number")
        return None
    return None if chat is None else Destination(chat, thread)


def parse_feed(ctx: Context, node: Any, line: int | None) -> FeedRule | None:
    if not isinstance(node, dict):
        ctx.error(line, f"a feed must be a mapping with id and url, got {node!r}")
        return None
    line = node_line(node, line)
    check_keys(ctx, node, {"id", "url", "name", "interval", "tags", "enabled"}, "feed")
    fid = check_id(ctx, node.get("id"), value_line(node, "id", line), "feed")
    url = node.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        ctx.error(value_line(node, "url", line), f"bad feed url {url!r}: use an http(s) URL")
        url = None
    name = node.get("name")
    if name is not None:
        name = as_text(ctx, name, value_line(node, "name", line), "feed name")
    interval = None
    if node.get("interval") is not None:
        interval = parse_interval(ctx, node["interval"], value_line(node, "interval", line))
    tags = _parse_tags(ctx, node.get("tags", []), value_line(node, "tags", line))
    enabled = node.get("enabled", True)
    if not isinstance(enabled, bool):
        ctx.error(value_line(node, "enabled", line), f"enabled must be true or false: {enabled!r}")
    if fid is None or url is None:
        return None
    return FeedRule(fid, url, name, interval, tags, enabled is not False, ctx.file, line or 0)


def _parse_tags(ctx: Context, value: Any, line: int | None) -> tuple[str, ...]:
    if not isinstance(value, list):
        ctx.error(line, f"tags must be a list, got {value!r}")
        return ()
    tags = []
    for i, tag in enumerate(value):
        text = tag[1:] if isinstance(tag, str) and tag.startswith("#") else tag
        if check_id(ctx, text, item_line(value, i, line), "tag"):
            tags.append(text)
    return tuple(tags)


def parse_entity(ctx: Context, eid: str, node: Any, line: int | None) -> Entity | None:
    if not isinstance(node, dict):
        ctx.error(line, f"entity {eid!r} must be a mapping with name and aliases")
        return None
    check_keys(ctx, node, {"name", "aliases"}, f"entity {eid!r}")
    name = node.get("name", eid)
    name = as_text(ctx, name, value_line(node, "name", line), "entity name") or eid
    aliases = as_list(ctx, node.get("aliases"), value_line(node, "aliases", line), "aliases")
    if aliases is None:
        return None
    terms = []
    for i, value in enumerate(aliases):
        term = parse_alias(ctx, eid, value, item_line(aliases, i, line))
        if term is not None:
            terms.append(term)
    return Entity(eid, name, tuple(t.text for t in terms), tuple(terms))


def parse_alias(ctx: Context, eid: str, value: Any, line: int | None) -> Term | None:
    if isinstance(value, str) and value.startswith("@"):
        ctx.error(line, f"alias {value!r}: an entity cannot refer to another entity")
        return None
    if isinstance(value, dict):
        return parse_term_object(ctx, value, line, {"term", "case", "fuzzy"}, entity=eid)
    text = as_text(ctx, value, line, "alias")
    return None if text is None else check_term(ctx, Term(text, entity=eid), line)


def parse_term_object(
    ctx: Context, node: dict[Any, Any], line: int | None, allowed: set[str], entity: str | None
) -> Term | None:
    check_keys(ctx, node, allowed, "term")
    text = as_text(ctx, node.get("term"), value_line(node, "term", line), "term")
    case = node.get("case", False)
    if not isinstance(case, bool):
        ctx.error(value_line(node, "case", line), f"case must be true or false: {case!r}")
        case = False
    fuzzy = node.get("fuzzy")
    if fuzzy is not None and (isinstance(fuzzy, bool) or fuzzy not in (0, 1, 2)):
        ctx.error(value_line(node, "fuzzy", line), f"bad fuzzy {fuzzy!r}: use 0, 1 or 2")
        fuzzy = None
    where = node.get("field")
    if where is not None and where not in ("title", "content"):
        ctx.error(value_line(node, "field", line), f"bad field {where!r}: use title or content")
        where = None
    if text is None:
        return None
    return check_term(ctx, Term(text, entity, case, fuzzy, where), line)


def check_term(ctx: Context, term: Term, line: int | None) -> Term | None:
    """Errors for terms that can never match or are too long; warnings for options that
    cannot apply."""
    if len(term.text) > MAX_TERM:
        ctx.error(
            line,
            f"term {_quoted(term.text)} is too long ({len(term.text)} characters; "
            f"at most {MAX_TERM})",
        )
        return None
    norm = normalize(term.stem, casefold=not term.case)
    if not norm:
        ctx.error(line, f"term {term.text!r} is empty after normalization")
        return None
    if term.wildcard and norm[-1] not in WORD_CHARS:
        ctx.error(line, f"wildcard {term.text!r}: * must follow a Latin letter or digit")
        return None
    if term.fuzzy in (1, 2):
        if term.wildcard or not is_latin_term(term.text):
            ctx.warn(line, f"fuzzy on {term.text!r} ignored: only Latin words can be fuzzy")
        elif latin_letter_count(term.text) < EXPLICIT_MIN_LETTERS:
            ctx.warn(line, f"fuzzy on {term.text!r} ignored: fewer than 4 letters stay exact")
    return term
