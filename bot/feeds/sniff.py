"""Tell a feed from what servers send instead (an HTML page, a login wall, JSON)."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

_LEADING_NOISE = re.compile(r"^(?:\s+|<\?xml[^>]*\?>|<!--.*?-->)*", re.S)
_HTML_START = re.compile(r"<!DOCTYPE\s+html\b|<html\b|<head\b|<body\b", re.I)
# "[^<>]": a "<link" that never closes stops at the next tag, not at the end of the page.
_LINK_TAG = re.compile(r"<link\b[^<>]*>", re.I)
_ATTR = re.compile(r"""([a-zA-Z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
)


def first_markup(text: str) -> str:
    """The document from its first element on (prolog, comments and whitespace skipped)."""
    return text[_LEADING_NOISE.match(text).end() :]  # type: ignore[union-attr]


def is_html_page(text: str) -> bool:
    return bool(_HTML_START.match(first_markup(text.lstrip("\ufeff"))[:1024]))


def html_page_error(text: str, *, base_url: str = "") -> str | None:
    """``"not a feed: got an HTML page"`` (naming the page's own feed link), or ``None``."""
    if not is_html_page(text):
        return None
    alternates = alternate_feed_links(text, base_url=base_url)
    if alternates:
        return f"not a feed: got an HTML page (its feed may be at {alternates[0]})"
    return "not a feed: got an HTML page"


def alternate_feed_links(text: str, *, base_url: str = "") -> list[str]:
    """``<link rel="alternate" type="application/rss+xml" href=…>`` targets, absolute."""
    found: list[str] = []
    head = text[:200_000]
    for tag in _LINK_TAG.findall(head):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(tag)}
        rel = attrs.get("rel", "").lower().split()
        kind = attrs.get("type", "").lower().split(";")[0].strip()
        href = html.unescape(attrs.get("href", "")).strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = urljoin(base_url, href) if base_url else href
            if url not in found:
                found.append(url)
    return found
