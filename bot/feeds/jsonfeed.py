"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1), which feedparser does not read."""

from __future__ import annotations

import json
from typing import Any

from bot.errors import ParseError
from bot.feeds.dates import parse_date
from bot.feeds.entries import RawEntry, bounded_title, build_items, duplicate_guids
from bot.models import ParsedFeed
from bot.text.html import html_to_line

JSON_FEED_VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(body: bytes, *, feed_id: str) -> ParsedFeed:
    """Parse a JSON Feed document. Raises ``ParseError`` for other JSON or broken JSON."""
    try:
        doc = json.loads(body.decode("utf-8-sig", "replace"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"not a feed: JSON parse error ({exc})") from None
    if not isinstance(doc, dict) or not _is_json_feed(doc):
        raise ParseError("not a feed: JSON without a JSON Feed version and items list")
    raw = [_entry(item) for item in doc["items"] if isinstance(item, dict)]
    warnings = [f"duplicate guid {g!r}" for g in duplicate_guids(raw)]
    skipped = len(doc["items"]) - len(raw)
    if skipped:
        warnings.append(f"{skipped} items are not JSON objects")
    title = doc.get("title")
    return ParsedFeed(
        title=bounded_title(html_to_line(title, unescape=False))
        if isinstance(title, str)
        else None,
        items=build_items(raw, feed_id=feed_id),
        warnings=tuple(warnings),
    )


def _is_json_feed(doc: dict[str, Any]) -> bool:
    version = doc.get("version")
    has_items = isinstance(doc.get("items"), list)
    if isinstance(version, str) and version.startswith(JSON_FEED_VERSION_PREFIX):
        return has_items
    # Some generators omit the version; a title plus an items list is clear enough.
    return has_items and isinstance(doc.get("title"), str)


def _entry(item: dict[str, Any]) -> RawEntry:
    content = _text(item, "content_html") or _text(item, "content_text") or _text(item, "summary")
    guid = item.get("id")
    return RawEntry(
        title=html_to_line(_text(item, "title"), unescape=False),
        link=_text(item, "url") or _text(item, "external_url"),
        content=content,
        published=parse_date(_text(item, "date_published") or _text(item, "date_modified")),
        guid=str(guid) if isinstance(guid, str | int) and not isinstance(guid, bool) else None,
        author=_author(item),
    )


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    return value if isinstance(value, str) else ""


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    names = [
        a["name"] for a in candidates if isinstance(a, dict) and isinstance(a.get("name"), str)
    ]
    return ", ".join(names) or None
