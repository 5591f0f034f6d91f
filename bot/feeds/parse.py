"""Feed bytes -> ``ParsedFeed``: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed here.

Pure CPU work (callers run it in a thread). feedparser never fetches anything: it gets
the bytes in a ``BytesIO`` (given a bare ``bytes`` value it would try it as a file name),
already decoded to UTF-8 by ``bot.feeds.encoding``, checked for entity bombs and stripped
of its doctype by ``bot.feeds.safety`` (so no parser path can expand an entity).
"""

from __future__ import annotations

import io
import xml.sax
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import feedparser

from bot.errors import ParseError
from bot.feeds.dates import from_struct_time, looks_cjk_or_slashed, parse_date
from bot.feeds.encoding import Decoded, decode_feed, to_utf8_document
from bot.feeds.entries import RawEntry, bounded_title, build_items, duplicate_guids
from bot.feeds.feedparser_tuning import tune_feedparser
from bot.feeds.jsonfeed import looks_like_json, parse_json_feed
from bot.feeds.safety import safe_xml
from bot.feeds.sniff import html_page_error
from bot.models import ParsedFeed
from bot.text.html import html_to_line
from bot.text.preview import preview_text

_DATE_KEYS = ("published", "updated", "created")
_PARSED_DATE_KEYS = ("published_parsed", "updated_parsed", "created_parsed")
_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}


tune_feedparser()


def parse_feed(
    body: bytes,
    *,
    feed_id: str,
    url: str = "",
    headers: Mapping[str, str] | None = None,
    previews: bool = False,
) -> ParsedFeed:
    """Parse one feed document. Raises ``ParseError`` when it is not a usable feed.

    With ``previews``, each item carries its watch-preview text (``Item.preview``): what
    a new feed's backlog needs, made here in the parser workers, not in the process that
    ingests it."""
    parsed = _parse(body, feed_id=feed_id, url=url, headers=headers)
    if not previews:
        return parsed
    items = tuple(replace(i, preview=preview_text(i.content)) for i in parsed.items)
    return replace(parsed, items=items)


def _parse(body: bytes, *, feed_id: str, url: str, headers: Mapping[str, str] | None) -> ParsedFeed:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise ParseError("not a feed: the document is empty")
    if looks_like_json(body):
        return parse_json_feed(body, feed_id=feed_id)
    decoded = decode_feed(body, lowered.get("content-type"))
    page_error = html_page_error(decoded.text, base_url=url)
    if page_error is not None:
        raise ParseError(page_error)
    result = feedparser.parse(
        io.BytesIO(to_utf8_document(safe_xml(decoded.text))),
        response_headers=_feedparser_headers(lowered, url),
        # Content is kept as received: it is only ever read as plain text (script and
        # style dropped there) and every output is escaped, so feedparser's sanitizer and
        # relative-link rewriting, two thirds of its time on article-sized items, buy
        # nothing. Item links are still resolved against the feed's base.
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    _raise_if_not_feed(result)
    raw = [e for e in map(_entry, result.entries) if e.title or e.link or e.content]
    return ParsedFeed(
        title=bounded_title(_title(result.feed)) or None,
        items=build_items(raw, feed_id=feed_id),
        ttl_seconds=_ttl_seconds(result.feed),
        warnings=tuple(_warnings(result, decoded, raw)),
    )


def _feedparser_headers(lowered: Mapping[str, str], url: str) -> dict[str, str]:
    # The body is UTF-8 now whatever the server said; keep only what helps parsing.
    out = {"content-type": "application/xml; charset=utf-8"}
    if url:
        out["content-location"] = url
    if "content-language" in lowered:
        out["content-language"] = lowered["content-language"]
    return out


def _raise_if_not_feed(result: Any) -> None:
    if result.entries or result.get("version"):
        return
    exc = result.get("bozo_exception")
    if isinstance(exc, xml.sax.SAXParseException):
        raise ParseError(
            f"not a feed: XML parse error at line {exc.getLineNumber()}: {exc.getMessage()}"
        )
    if exc is not None:
        raise ParseError(f"not a feed: {exc}")
    raise ParseError("not a feed: no RSS, Atom or RDF document found")


def _entry(entry: Any) -> RawEntry:
    # dict.get: FeedParserDict maps updated<->published with a DeprecationWarning.
    raw_date = next((str(v) for k in _DATE_KEYS if (v := dict.get(entry, k))), "")
    published = parse_date(raw_date)
    if published is None and raw_date and not looks_cjk_or_slashed(raw_date):
        parsed = next((v for k in _PARSED_DATE_KEYS if (v := dict.get(entry, k))), None)
        published = from_struct_time(parsed)
    return RawEntry(
        title=_title(entry),
        link=_link(entry),
        content=_content(entry),
        published=published,
        guid=entry.get("id") or None,
        author=html_to_line(entry.get("author", "")) or None,
    )


def _title(node: Any) -> str:
    value = node.get("title", "")
    detail = node.get("title_detail") or {}
    is_html = "html" in str(detail.get("type", ""))
    return html_to_line(value, unescape=is_html)


def _link(entry: Any) -> str:
    link = entry.get("link") or ""
    if link:
        return str(link)
    for candidate in entry.get("links", []):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    return ""


def _content(entry: Any) -> str:
    """The richest body: the longest of content:encoded / Atom content / summary."""
    bodies = [c.get("value", "") for c in entry.get("content", [])]
    bodies.append(entry.get("summary", ""))
    return max((str(b) for b in bodies if b), key=len, default="")


def _ttl_seconds(feed: Any) -> int | None:
    ttl = str(feed.get("ttl", "")).strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = str(feed.get("sy_updateperiod", "")).strip().lower()
    if period in _PERIOD_SECONDS:
        frequency = str(feed.get("sy_updatefrequency", "1")).strip()
        divisor = int(frequency) if frequency.isdigit() and int(frequency) > 0 else 1
        return max(_PERIOD_SECONDS[period] // divisor, 1)
    return None


def _warnings(result: Any, decoded: Decoded, raw: list[RawEntry]) -> list[str]:
    warnings: list[str] = []
    if decoded.relabelled:
        declared = decoded.declared or "nothing"
        warnings.append(f"charset: declared {declared}, decoded as {decoded.encoding}")
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        if not isinstance(exc, feedparser.CharacterEncodingOverride):
            warnings.append(f"malformed feed, read leniently: {exc}")
    empty = len(result.entries) - len(raw)
    if empty:
        warnings.append(f"{empty} entries without title, link or content were skipped")
    warnings.extend(f"duplicate guid {g!r}" for g in duplicate_guids(raw))
    return warnings
