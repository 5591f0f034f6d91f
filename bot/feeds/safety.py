"""Refuse XML that could make the parser expand or fetch without limit.

feedparser hands documents to expat (and, when that fails, to its own loose parser,
which expands the simple entities of the doctype). A "billion laughs" document nests
entity definitions so that a few kilobytes expand to gigabytes; an external entity
(``SYSTEM "file:///etc/passwd"``) asks the parser to read a file or URL. Real feeds
need neither: the doctype of a feed may define a handful of flat text entities
(``<!ENTITY copy "&#169;">``), and that is all that is allowed here.
"""

from __future__ import annotations

import re

from bot.errors import ParseError

_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.I)
_ENTITY = re.compile(r"<!ENTITY\s+(%\s*)?([^\s>]+)\s+(.*?)>", re.I | re.S)
_ENTITY_REF = re.compile(r"&[A-Za-z_][\w.\-]*;|%[A-Za-z_][\w.\-]*;")
_SUBSET_END = re.compile(r"\]\s*>")
_PREDEFINED = frozenset({"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
_MAX_ENTITIES = 64
_MAX_ENTITY_VALUE = 1024


def check_xml_safety(text: str) -> None:
    """Raise ``ParseError`` for entity bombs, external and parameter entities."""
    head = _prolog(text)
    if head is None:
        return
    entities = _ENTITY.findall(head)
    if len(entities) > _MAX_ENTITIES:
        raise ParseError(f"unsafe XML: {len(entities)} entity declarations (limit {_MAX_ENTITIES})")
    for parameter, name, definition in entities:
        _check_entity(name, definition, parameter=bool(parameter))


def _prolog(text: str) -> str | None:
    """The doctype declaration with its internal subset, if the document has one."""
    m = _DOCTYPE.search(text)
    if m is None:
        return None
    bracket, close = text.find("[", m.end()), text.find(">", m.end())
    if bracket != -1 and (close == -1 or bracket < close):
        end = _SUBSET_END.search(text, bracket)
        return text[m.start() : end.end() if end else len(text)]
    return text[m.start() : close + 1 if close != -1 else len(text)]


def _check_entity(name: str, definition: str, *, parameter: bool) -> None:
    if parameter:
        raise ParseError(f"unsafe XML: parameter entity %{name} in the doctype")
    if re.match(r"\s*(SYSTEM|PUBLIC)\b", definition, re.I):
        raise ParseError(f"unsafe XML: external entity &{name}; in the doctype")
    value = definition.strip().strip("\"'")
    if any(ref not in _PREDEFINED for ref in _ENTITY_REF.findall(value)):
        raise ParseError(f"unsafe XML: entity &{name}; refers to other entities (entity bomb)")
    if len(value) > _MAX_ENTITY_VALUE:
        raise ParseError(f"unsafe XML: entity &{name}; is {len(value)} characters long")
