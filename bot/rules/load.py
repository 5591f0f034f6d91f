"""Loading the rules directory: every ``*.yaml``/``*.yml`` under it, validated as one set.

Any error rejects the whole set: ``load_rules`` raises ``RulesError`` listing every
problem it found (file, line, what is wrong), so one run of ``mediabot rules check``
shows them all. Warnings ride along in ``LoadedRules.warnings``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import YAMLError

from bot.errors import Problem, RulesError
from bot.rules.model import Entity, FeedRule, RuleSet, Spike, Topic
from bot.rules.safeyaml import Refused, rule_yaml
from bot.rules.schema import (
    Context,
    check_id,
    item_line,
    key_line,
    node_line,
    parse_entity,
    parse_feed,
    value_line,
)
from bot.rules.spikes import SpikeReader
from bot.rules.topics import TopicReader
from bot.rules.yamltext import duplicate_keys, hint

log = logging.getLogger(__name__)

_TOP_KEYS = ("feeds", "entities", "topics", "spikes")


@dataclass(frozen=True, slots=True)
class LoadedRules:
    rules: RuleSet
    warnings: list[Problem]
    files: list[Path]
    version: str  # short hash of the files' names and contents


@dataclass
class _File:
    ctx: Context
    doc: Any


def rule_files(rules_dir: Path) -> list[Path]:
    """Every rule file under ``rules_dir``, sorted so loading is deterministic."""
    found = [p for p in rules_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found, key=lambda p: p.relative_to(rules_dir).as_posix())


def load_rules(rules_dir: Path) -> LoadedRules:
    """Read and validate the rules under ``rules_dir``; raise ``RulesError`` on any error."""
    if not rules_dir.is_dir():
        where = rules_dir.absolute()
        raise RulesError(
            [
                Problem(
                    str(where),
                    None,
                    "rules directory not found (set MEDIABOT_RULES_DIR or pass --rules DIR; "
                    "relative paths start from the current directory)",
                )
            ]
        )
    try:
        paths = rule_files(rules_dir)
    except OSError as exc:
        raise RulesError([Problem(str(rules_dir), None, f"cannot read: {exc}")]) from None
    digest = hashlib.sha256()
    files: list[_File] = []
    for path in paths:
        ctx = Context(str(path))
        data = _read(ctx, path)
        digest.update(path.relative_to(rules_dir).as_posix().encode() + b"\0" + data + b"\0")
        files.append(_File(ctx, _parse(ctx, data)))
    rules = _assemble(files)
    problems = [p for f in files for p in f.ctx.problems]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise RulesError(errors)
    version = digest.hexdigest()[:12]
    log.info(
        "rules_loaded",
        extra={
            "rules_dir": str(rules_dir),
            "files": len(paths),
            "topics": len(rules.topics),
            "spikes": len(rules.spikes),
            "version": version,
        },
    )
    warnings = [p for p in problems if p.severity != "error"]
    return LoadedRules(rules, warnings, paths, version)


def _read(ctx: Context, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        ctx.error(None, f"cannot read: {exc.strerror or exc}")
        return b""


def _parse(ctx: Context, data: bytes) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        ctx.error(None, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        return None
    try:
        try:
            doc = rule_yaml().load(text)
        except DuplicateKeyError:
            doc = _load_with_duplicates(ctx, text)  # may still meet a refused anchor
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, Refused):
            ctx.error(line, reason)
        else:
            advice = hint(reason)
            ctx.error(line, f"YAML syntax: {reason}" + (f": {advice}" if advice else ""))
        return None
    except ValueError as exc:  # a value Python will not build, e.g. an int of 5,000 digits
        ctx.error(None, f"YAML value cannot be read: {exc}")
        return None
    if doc is not None and not isinstance(doc, dict):
        ctx.error(node_line(doc, 1), "a rule file must be a mapping of feeds, entities, topics")
        return None
    for key in doc or {}:
        if key not in _TOP_KEYS:
            ctx.error(
                key_line(doc, key),
                f"unknown top-level key {key!r} (known: {', '.join(_TOP_KEYS)})",
            )
    return doc


def _load_with_duplicates(ctx: Context, text: str) -> Any:
    """Report every repeated key with both lines, then check the rest of the file (the
    first value of each key is the one read)."""
    for line, key, first in duplicate_keys(text):
        ctx.error(line, f"duplicate key {key!r} (first at line {first}): keep one")
    yaml = rule_yaml()  # anchors and aliases are refused here too
    yaml.allow_duplicate_keys = True
    return yaml.load(text)


class _Unique:
    """Ids must be unique across files within each of feeds, entities and topics."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.seen: dict[str, str] = {}

    def add(self, ctx: Context, ident: str, line: int | None) -> bool:
        first = self.seen.get(ident)
        if first is not None:
            ctx.error(line, f"duplicate {self.what} id {ident!r} (first at {first})")
            return False
        self.seen[ident] = f"{ctx.file}:{line}"
        return True


def _assemble(files: list[_File]) -> RuleSet:
    feeds: list[FeedRule] = []
    entities: dict[str, Entity] = {}
    unique = {k: _Unique(k.rstrip("s").replace("entitie", "entity")) for k in _TOP_KEYS}
    for f in files:
        for node, line in _items(f, "feeds"):
            feed = parse_feed(f.ctx, node, line)
            if feed is not None and unique["feeds"].add(f.ctx, feed.id, feed.line):
                feeds.append(feed)
        for eid, node, line in _entities(f):
            entity = parse_entity(f.ctx, eid, node, line)
            if entity is not None and unique["entities"].add(f.ctx, eid, line):
                entities[eid] = entity
    topics: list[Topic] = []
    for f in files:
        reader = TopicReader(f.ctx, entities)
        for node, line in _items(f, "topics"):
            topic = reader.topic(node, line)
            if topic is not None and unique["topics"].add(f.ctx, topic.id, topic.line):
                topics.append(topic)
    spikes = _spikes(files, entities, unique["spikes"], {t.id: t for t in topics})
    rules = RuleSet(tuple(feeds), entities, tuple(topics), spikes)
    _warn_scope(files, rules)
    return rules


def _spikes(
    files: list[_File], entities: dict[str, Entity], unique: _Unique, topics: dict[str, Topic]
) -> tuple[Spike, ...]:
    """Spikes share the topics' id space: a spike's id is what its alerts' mute button and
    subscriptions name, so it must not be a topic's too."""
    spikes: list[Spike] = []
    for f in files:
        reader = SpikeReader(f.ctx, entities)
        for node, line in _items(f, "spikes"):
            spike = reader.spike(node, line)
            if spike is None or not unique.add(f.ctx, spike.id, spike.line):
                continue
            topic = topics.get(spike.id)
            if topic is not None:
                f.ctx.error(
                    spike.line,
                    f"spike id {spike.id!r} is a topic's id too "
                    f"(topic at {topic.file}:{topic.line}): choose another",
                )
                continue
            spikes.append(spike)
    return tuple(spikes)


def _items(f: _File, key: str) -> list[tuple[Any, int | None]]:
    if not isinstance(f.doc, dict) or f.doc.get(key) is None:
        return []
    value = f.doc[key]
    if not isinstance(value, list):
        f.ctx.error(value_line(f.doc, key), f"{key} must be a list")
        return []
    return [(node, item_line(value, i)) for i, node in enumerate(value)]


def _entities(f: _File) -> list[tuple[str, Any, int | None]]:
    if not isinstance(f.doc, dict) or f.doc.get("entities") is None:
        return []
    value = f.doc["entities"]
    if not isinstance(value, dict):
        f.ctx.error(value_line(f.doc, "entities"), "entities must be a mapping of id: entity")
        return []
    out = []
    for eid, node in value.items():
        line = key_line(value, eid)
        if check_id(f.ctx, eid, line, "entity"):
            out.append((str(eid), node, line))
    return out


def _warn_scope(files: list[_File], rules: RuleSet) -> None:
    """A scope naming no known feed or tag is likely a typo; the topic still loads."""
    ids = {f.id for f in rules.feeds}
    tags = {t for f in rules.feeds for t in f.tags}
    by_file = {f.ctx.file: f.ctx for f in files}
    for topic in rules.topics:
        for scope in topic.feeds:
            known = scope[1:] in tags if scope.startswith("#") else scope in ids
            if not known:
                by_file[topic.file].warn(
                    topic.line,
                    f"topic {topic.id!r}: feeds scope {scope!r} matches no feed in the rules",
                )
