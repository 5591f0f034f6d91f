"""The one HTML builder: a Telegram message and its plain-text fallback, side by side.

Every value shown, from a feed, the rules or a command, goes through ``clean`` (control
characters and bidirectional overrides dropped) and ``html.escape`` with one quoting rule
(quotes too, so a value is safe in an attribute as in text). Because the plain text is
built from the very same pieces, ``Message.plain`` is exactly the text Telegram shows after
parsing ``Message.text``, and that is what Telegram measures against its 4,096-unit limit
(UTF-16 code units).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from bot.models import Button, Message

__all__ = [
    "MAX_MESSAGE_UNITS",
    "Buttons",
    "Doc",
    "clean",
    "escape",
    "one_line",
    "safe_url",
    "utf16_len",
]

MAX_MESSAGE_UNITS = 4096
Buttons = tuple[tuple[Button, ...], ...]

# C0/C1 controls (except tab and newline), lone surrogates and non-characters break the
# Bot API's JSON or UTF-8 handling; they never carry meaning in a news item. Bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows
# them, up to the end of the line: a title could make itself, a link or a source read
# as something else ("Trojan Source"). The marks U+200E/U+200F/U+061C are kept: they change
# the direction of neighbouring punctuation only, and right-to-left text needs them.
_UNSAFE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
_SPACES = re.compile(r"\s+")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
_MORE = "\n…"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """``text`` without what must never reach a chat (see ``_UNSAFE``)."""
    return _UNSAFE.sub("", text)


def escape(text: str) -> str:
    """The one quoting rule: safe in text and in a double-quoted attribute alike."""
    return html.escape(text, quote=True)


def one_line(text: str, limit: int) -> str:
    """``text`` cleaned, on one line, at most ``limit`` characters (cut with "…")."""
    line = _SPACES.sub(" ", clean(text)).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def safe_url(url: str) -> str | None:
    """The link if Telegram will accept it in an href and a button, else None."""
    url = url.strip()
    if not url or _UNSAFE.search(url) or any(ch.isspace() for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Non-ASCII paths (Chinese slugs) are percent-encoded so buttons take them; existing
    # escapes are kept as they are, never encoded twice.
    return quote(url, safe=_URL_SAFE)


@dataclass(slots=True)
class Doc:
    """HTML and plain text built together from (html, plain) pieces.

    ``whole`` is the message as built (alerts fit themselves, shortening their parts);
    ``message`` cuts a long one at a piece boundary with "…", so no tag is left open.
    """

    pieces: list[tuple[str, str]] = field(default_factory=list)

    def add(self, text: str) -> Doc:
        text = clean(text)
        self.pieces.append((escape(text), text))
        return self

    def tag(self, name: str, text: str, href: str | None = None) -> Doc:
        text = clean(text)
        attrs = f' href="{escape(href)}"' if href else ""
        self.pieces.append((f"<{name}{attrs}>{escape(text)}</{name}>", text))
        return self

    def raw(self, html_text: str, plain_text: str) -> Doc:
        """Markup made elsewhere from the same pieces (or an opening/closing tag alone)."""
        self.pieces.append((html_text, plain_text))
        return self

    def extend(self, other: Doc) -> Doc:
        self.pieces += other.pieces
        return self

    def bold(self, text: str) -> Doc:
        return self.tag("b", text)

    def italic(self, text: str) -> Doc:
        return self.tag("i", text)

    def code(self, text: str) -> Doc:
        return self.tag("code", text)

    def line(self, text: str = "") -> Doc:
        return self.add(text + "\n")

    def plain_len(self) -> int:
        return utf16_len("".join(plain for _, plain in self.pieces))

    def whole(self, buttons: Buttons = ()) -> Message:
        text = "".join(piece for piece, _ in self.pieces)
        plain = "".join(plain for _, plain in self.pieces)
        return Message(text=text, plain=plain, buttons=buttons)

    def message(self, buttons: Buttons = ()) -> Message:
        """The message cut to Telegram's limit, trailing newlines dropped."""
        html_parts: list[str] = []
        plain_parts: list[str] = []
        used = utf16_len(_MORE)
        for html_piece, plain_piece in self.pieces:
            size = utf16_len(plain_piece)
            if used + size > MAX_MESSAGE_UNITS:
                html_parts.append(escape(_MORE))
                plain_parts.append(_MORE)
                break
            used += size
            html_parts.append(html_piece)
            plain_parts.append(plain_piece)
        text_html = "".join(html_parts).rstrip("\n")
        text_plain = "".join(plain_parts).rstrip("\n")
        return Message(text=text_html, plain=text_plain, buttons=buttons)
