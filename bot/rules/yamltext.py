"""YAML problems in words a rule author can act on.

The parser's own words (``expected <block end>, but found '<block mapping start>'``) name
its states, not the mistake: nearly always an indentation that does not line up, a tab,
or a missing ``- ``. ``hint`` adds what to check. Duplicate keys stop ruamel.yaml at the
first one and only give the line of the second; ``duplicate_keys`` finds every one in a
file, with both lines, so checking can go on.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_INDENT = (
    "check the indentation of this line and the one above: the keys of one entry must "
    "line up under each other, and each list item starts with '- '"
)
_HINTS = (
    ("found character '\\t'", "a tab: indent with spaces only"),
    ("expected <block end>", _INDENT),
    ("did not find expected key", _INDENT),
    ("did not find expected '-' indicator", _INDENT),
    ("mapping values are not allowed here", _INDENT + ", or quote a value that holds ': '"),
    ("found undefined alias", "a value starting with '*' must be quoted"),
    ("found character '@' that cannot start", "quote a value starting with '@', e.g. \"@id\""),
    ("found character '`' that cannot start", "quote a value starting with '`'"),
    ("while scanning a quoted scalar", "a quote is not closed"),
)


def hint(reason: str) -> str:
    """What to check for a parser complaint; empty when there is nothing to add."""
    for phrase, advice in _HINTS:
        if phrase in reason:
            return advice
    return ""


def duplicate_keys(text: str) -> list[tuple[int, str, int]]:
    """``(line, key, first line)`` for every key repeated within one mapping (1-based)."""
    root = YAML(typ="rt").compose(text)
    found: list[tuple[int, str, int]] = []
    stack: list[Node] = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            first: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode):
                    line = key.start_mark.line + 1
                    if key.value in first:
                        found.append((line, str(key.value), first[key.value]))
                    else:
                        first[key.value] = line
                stack += [key, value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return sorted(found)
