"""The start of an item's text as watch previews read it (``/watch``, ``bot.watches``).

The first ``PREVIEW_CHARS`` characters of the body's plain text, normalized with their case
kept. Matching makes this text for the items it matches; for the others, a new feed's
backlog, the parser workers make it beside the parse (``bot.feeds.parse``), so the
process that ingests does not.
"""

from __future__ import annotations

from bot.text.html import text_start
from bot.text.normalize import normalize

PREVIEW_CHARS = 2000
# Enough markup for ``PREVIEW_CHARS`` of text in any article, with room for tags.
PREVIEW_SOURCE_CHARS = 20_000


def preview_text(html: str) -> str:
    """The preview text of a body (HTML or text)."""
    return normalize(text_start(html[:PREVIEW_SOURCE_CHARS], PREVIEW_CHARS), casefold=False)
