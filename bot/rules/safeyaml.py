"""The one YAML reader for rule files: round-trip, with anchors, aliases and deep nesting refused.

A YAML alias is a pointer: nine lines of ``&a`` / ``*a`` can stand for a list of a billion
items (the "billion laughs" bomb). Loading keeps the pointers, but anything that walks the
value (validation, an error message quoting it) walks every copy, and a rule file that
does that hangs ``mediabot rules check`` and the live reload for good. Rule files have no
need for them, so the first anchor (``&name``) or alias (``*name``, also in a ``<<``
merge key) in a file is an error naming its line. Nesting deeper than ``MAX_DEPTH`` is an
error too, where ruamel.yaml would otherwise recurse until Python gives up.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

__all__ = ["MAX_DEPTH", "Refused", "rule_yaml"]

# A rule file nests about eight levels at most (topics > topic > all > group > near > term);
# a generous bound still stops a file of ten thousand brackets at once.
MAX_DEPTH = 64


class Refused(MarkedYAMLError):
    """Valid YAML that rule files do not allow: an anchor, an alias, or deep nesting."""


_WRITE_OUT = "anchors and aliases are refused in rule files: write the value out in full"


class _StrictComposer(Composer):
    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            problem = f"YAML alias *{event.anchor} is not allowed ({_WRITE_OUT})"
        elif getattr(event, "anchor", None) is not None:
            problem = f"YAML anchor &{event.anchor} is not allowed ({_WRITE_OUT})"
        elif self.depth >= MAX_DEPTH:
            problem = f"nested more than {MAX_DEPTH} levels deep"
        else:
            return super().compose_node(parent, index)
        raise Refused(problem=problem, problem_mark=event.start_mark)


def rule_yaml() -> YAML:
    """A round-trip YAML (comments and line numbers kept) that raises ``Refused``, with the
    line, for anchors, aliases and nesting deeper than ``MAX_DEPTH``. One per document:
    after an error the composer is left mid-document."""
    yaml = YAML(typ="rt")
    yaml.Composer = _StrictComposer
    return yaml
