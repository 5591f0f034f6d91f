"""Telegram's HTML parse mode, as strictly as the Bot API documents it.

``parse_html`` returns the text a user would see and its entities (offsets in UTF-16 code
units), or raises ``HtmlRefused`` with the description Telegram would give. Used by the
fake Bot API so tests fail where Telegram would refuse a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HtmlRefused", "ParsedText", "parse_html", "utf16_len"]

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_-]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")


class HtmlRefused(Exception):
    """Telegram's "can't parse entities" refusal; ``str()`` is its description."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8", "surrogatepass"))


def _refuse(detail: str) -> HtmlRefused:
    return HtmlRefused(f"Bad Request: can't parse entities: {detail}")


def _decode(source: str, index: int) -> tuple[str, int]:
    m = _ENTITY.match(source, index)
    if not m:
        raise _refuse(f"Unsupported HTML entity at byte offset {_offset(source, index)}")
    if m.group(1):
        return _NAMED[m.group(1)], m.end()
    code = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise _refuse(f"Invalid HTML entity at byte offset {_offset(source, index)}")
    return chr(code), m.end()


def _attr_value(raw: str | None) -> str:
    if raw is None:
        return ""
    if raw[:1] in "\"'":
        raw = raw[1:-1]
    out, i = [], 0
    while i < len(raw):
        if raw[i] == "&":
            ch, i = _decode(raw, i)
            out.append(ch)
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


@dataclass
class _Open:
    name: str
    start: int  # UTF-16 offset in the output
    attrs: dict[str, str]


def _entity(tag: _Open, end: int) -> dict[str, Any] | None:
    if end == tag.start:
        return None  # Telegram drops empty entities
    kind = _ENTITY_TYPES[tag.name]
    entity: dict[str, Any] = {"type": kind, "offset": tag.start, "length": end - tag.start}
    if tag.name == "a":
        entity["url"] = tag.attrs.get("href", "")
    if tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    if tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.units = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.units += utf16_len(text)

    def run(self) -> ParsedText:
        i = 0
        while i < len(self.src):
            ch = self.src[i]
            if ch == "<":
                i = self.tag(i)
            elif ch == "&":
                text, i = _decode(self.src, i)
                self.emit(text)
            else:
                self.emit(ch)
                i += 1
        if self.stack:
            raise _refuse(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), self.entities)

    def tag(self, i: int) -> int:
        close = self.src.find(">", i)
        if close == -1:
            raise _refuse(f"Unclosed start tag at byte offset {_offset(self.src, i)}")
        if self.src.startswith("</", i):
            return self.end_tag(i, close)
        m = _NAME.match(self.src, i + 1)
        name = m.group(0).lower() if m else ""
        if not m or name not in _ENTITY_TYPES:
            raise _refuse(f'Unsupported start tag "{name}" at byte offset {_offset(self.src, i)}')
        attrs = {k.lower(): _attr_value(v) for k, v in _ATTR.findall(self.src[m.end() : close])}
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _refuse(f'Unsupported start tag "span" at byte offset {_offset(self.src, i)}')
        if name == "a" and "href" not in attrs:
            raise _refuse(f'Unsupported start tag "a" at byte offset {_offset(self.src, i)}')
        self.stack.append(_Open(name, self.units, attrs))
        return close + 1

    def end_tag(self, i: int, close: int) -> int:
        name = self.src[i + 2 : close].strip().lower()
        if not self.stack:
            raise _refuse(f"Unexpected end tag at byte offset {_offset(self.src, i)}")
        top = self.stack[-1]
        if name != top.name:
            raise _refuse(
                f"Unmatched end tag at byte offset {_offset(self.src, i)}, "
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.stack.pop()
        entity = _entity(top, self.units)
        if entity:
            self.entities.append(entity)
        return close + 1


def parse_html(source: str) -> ParsedText:
    """The visible text and entities of an HTML-mode message, or ``HtmlRefused``."""
    return _Parser(source).run()
