"""Refuse hostile XML prologs, and hand the parsers a document that declares nothing.

feedparser hands documents to expat and, when that fails, to its own loose parser; both
expand the entities a doctype declares. A "billion laughs" document nests entity
definitions so that a few kilobytes expand to gigabytes; flat ones do it too (a 1 kB
entity referenced 300,000 times is 300 MB); an external entity (``SYSTEM
"file:///etc/passwd"``) asks the parser to read a file or URL. Real feeds need none of it.

``safe_xml`` reads the prolog (everything before the root element) with a scanner that
only moves forward, so it takes time linear in the document whatever its shape (a
regular expression that rescans from every ``<!ENTITY`` of an unterminated prolog took
minutes on one megabyte), and:

- refuses the shapes of an attack with a clear error: external and parameter entities,
  entities that refer to other entities (bombs), more than 64 declarations, values over
  1 kB, and a prolog that never ends (an unterminated comment, declaration or literal);
- returns the document with everything before the root element, except the XML
  declaration, replaced by its line breaks (so line numbers in parse errors still match):
  no doctype, no internal subset, no comment hiding one. No parser can expand an entity
  that is not declared. References to declared entities stay as text; the HTML names
  (``&copy;``, ``&nbsp;``) still read as their characters in feedparser's loose parser.

Comments are read as comments, so ``<!-- <!DOCTYPE x> -->`` hides nothing; an
``<!ENTITY`` outside any doctype is checked (and dropped) like one inside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import ParseError

_SPACE = re.compile(r"[ \t\r\n]*")
# The first element: what feedparser's own prolog handling takes for it (``<\w``) and more.
_ELEMENT_START = re.compile(r"<[\w:]")
_XML_DECLARATION = re.compile(r"<\?xml[ \t\r\n?]")
_DOCTYPE = re.compile(r"<!DOCTYPE", re.I)
_ENTITY = re.compile(r"<!ENTITY", re.I)
_ENTITY_HEAD = re.compile(r"<!ENTITY[ \t\r\n]+(%[ \t\r\n]+)?([^ \t\r\n%&<>\"']+)[ \t\r\n]*", re.I)
_EXTERNAL_ID = re.compile(r"(?:SYSTEM|PUBLIC)\b", re.I)
_PE_REFERENCE = re.compile(r"%[^ \t\r\n%;<>]{0,64};?")
_DOCTYPE_STOP = re.compile(r"[\[>\"']")
_DECLARATION_STOP = re.compile(r"[>\"']")
_ENTITY_REF = re.compile(r"&[A-Za-z_][\w.\-]*;|%[A-Za-z_][\w.\-]*;")
_PREDEFINED = frozenset({"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
_MAX_ENTITIES = 64
_MAX_ENTITY_VALUE = 1024


@dataclass(frozen=True, slots=True)
class _Entity:
    name: str
    value: str
    parameter: bool
    external: bool


def safe_xml(text: str) -> str:
    """``text`` with its prolog reduced to the XML declaration; ``ParseError`` if hostile."""
    scanner = _Scanner(text)
    declaration = scanner.declaration()
    root = scanner.prolog()
    _check_entities(scanner.entities)
    if root == len(declaration):
        return text  # nothing between the declaration and the root element but spaces
    return declaration + "\n" * text.count("\n", len(declaration), root) + text[root:]


class _Scanner:
    """A cursor over the prolog; every step moves it forward (never a rescan)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.entities: list[_Entity] = []

    def declaration(self) -> str:
        """The XML declaration, when the document starts with one."""
        if _XML_DECLARATION.match(self.text):
            self.past("?>", "XML declaration")
        return self.text[: self.pos]

    def prolog(self) -> int:
        """Read up to the root element; its position (the end when there is none)."""
        text = self.text
        while True:
            self.pos = _SPACE.match(text, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(text) or _ELEMENT_START.match(text, self.pos):
                return self.pos
            if text.startswith("<!--", self.pos):
                self.past("-->", "comment")
            elif text.startswith("<?", self.pos):
                self.past("?>", "processing instruction")
            elif _DOCTYPE.match(text, self.pos):
                self.doctype()
            elif _ENTITY.match(text, self.pos):
                self.entity()
            elif text.startswith("<!", self.pos):
                self.markup_declaration()
            else:  # stray text before the root: not XML, and dropped with the prolog
                found = text.find("<", self.pos + 1)
                self.pos = found if found != -1 else len(text)

    def doctype(self) -> None:
        self.pos += len("<!DOCTYPE")
        while True:
            stop = self.next_of(_DOCTYPE_STOP, "doctype")
            if stop == ">":
                return
            if stop == "[":
                self.internal_subset()
            else:
                self.past(stop, "quoted literal in the doctype")

    def internal_subset(self) -> None:
        text = self.text
        while True:
            self.pos = _SPACE.match(text, self.pos).end()  # type: ignore[union-attr]
            if self.pos >= len(text):
                raise self.unterminated("doctype", self.pos)
            if text.startswith("]", self.pos):
                self.pos += 1
                return
            if text.startswith("<!--", self.pos):
                self.past("-->", "comment")
            elif text.startswith("<?", self.pos):
                self.past("?>", "processing instruction")
            elif _ENTITY.match(text, self.pos):
                self.entity()
            elif text.startswith("<!", self.pos):
                self.markup_declaration()
            elif reference := _PE_REFERENCE.match(text, self.pos):
                raise ParseError(
                    f"unsafe XML: parameter entity reference {reference.group()} in the doctype"
                    f" (line {self.line()})"
                )
            else:
                raise ParseError(f"not a feed: malformed doctype (line {self.line()})")

    def entity(self) -> None:
        start = self.pos
        head = _ENTITY_HEAD.match(self.text, self.pos)
        if head is None:
            raise self.malformed_entity(start)
        self.pos = head.end()
        name, parameter = head.group(2), head.group(1) is not None
        quote = self.text[self.pos : self.pos + 1]
        if quote in ('"', "'"):
            self.pos += 1
            value_start = self.pos
            self.past(quote, "entity value")
            value = self.text[value_start : self.pos - 1]
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if not self.text.startswith(">", self.pos):
                raise self.malformed_entity(start)
            self.pos += 1
            self.entities.append(_Entity(name, value, parameter, external=False))
        elif _EXTERNAL_ID.match(self.text, self.pos):
            self.markup_declaration()
            self.entities.append(_Entity(name, "", parameter, external=True))
        else:
            raise self.malformed_entity(start)

    def markup_declaration(self) -> None:
        """Skip ``<!…>``, quoted literals included (they may hold a ``>``)."""
        self.pos += 2
        while (stop := self.next_of(_DECLARATION_STOP, "declaration")) != ">":
            self.past(stop, "quoted literal")

    def next_of(self, stops: re.Pattern[str], what: str) -> str:
        found = stops.search(self.text, self.pos)
        if found is None:
            raise self.unterminated(what, self.pos)
        self.pos = found.end()
        return found.group()

    def past(self, end: str, what: str) -> None:
        found = self.text.find(end, self.pos)
        if found == -1:
            raise self.unterminated(what, self.pos)
        self.pos = found + len(end)

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def unterminated(self, what: str, pos: int) -> ParseError:
        return ParseError(f"not a feed: the {what} from line {self.line(pos)} never ends")

    def malformed_entity(self, pos: int) -> ParseError:
        return ParseError(f"unsafe XML: malformed entity declaration (line {self.line(pos)})")


def _check_entities(entities: list[_Entity]) -> None:
    if len(entities) > _MAX_ENTITIES:
        raise ParseError(f"unsafe XML: {len(entities)} entity declarations (limit {_MAX_ENTITIES})")
    for entity in entities:
        name = entity.name
        if entity.parameter:
            raise ParseError(f"unsafe XML: parameter entity %{name} in the doctype")
        if entity.external:
            raise ParseError(f"unsafe XML: external entity &{name}; in the doctype")
        if any(ref not in _PREDEFINED for ref in _ENTITY_REF.findall(entity.value)):
            raise ParseError(f"unsafe XML: entity &{name}; refers to other entities (entity bomb)")
        if len(entity.value) > _MAX_ENTITY_VALUE:
            raise ParseError(f"unsafe XML: entity &{name}; is {len(entity.value)} characters long")
