"""The inputs of ``mediabot match``: feed URLs, feed files, archive items, directories, JSONL.

A file's kind is judged by its content, not its name (a feed saved as ``.txt`` still
reads), except that ``*.jsonl`` is always JSON Lines. One unreadable file, line or URL
becomes an ``InputFailure`` and everything else still loads.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.errors import FeedError, InputError
from bot.feeds.archive import read_archive_item
from bot.feeds.dates import parse_date
from bot.feeds.fetch import Fetcher
from bot.feeds.parse import parse_feed
from bot.feeds.plain import html_to_plain
from bot.models import Item

DIRECTORY_SUFFIXES = frozenset({".md", ".xml", ".rss", ".atom", ".json", ".jsonl", ".rdf"})
MAX_FILE_BYTES = 100_000_000
_ARCHIVE_START = re.compile(rb"^(?:---\s*\n|<!--\s*(?:\d+|NaN)?\s*-->\s*\n|\[)")


@dataclass(frozen=True, slots=True)
class InputFailure:
    """An input that could not be read: ``source`` is ``file[:line]`` or the URL."""

    source: str
    reason: str


Loaded = tuple[list[Item], list[InputFailure]]


async def load_inputs(specs: Sequence[str], fetcher: Fetcher) -> Loaded:
    """Load every spec in order; never raises for a bad input (see module docstring)."""
    items: list[Item] = []
    failures: list[InputFailure] = []
    for spec in specs:
        got, failed = await _load_spec(spec, fetcher)
        items.extend(got)
        failures.extend(failed)
    return items, failures


async def _load_spec(spec: str, fetcher: Fetcher) -> Loaded:
    if re.match(r"^https?://", spec, re.I):
        return await _load_url(spec, fetcher)
    return await asyncio.to_thread(load_path, Path(spec))


def load_path(path: Path) -> Loaded:
    """A file or a directory; a missing path is a failure, not an exception."""
    if path.is_dir():
        return load_directory(path)
    if path.is_file():
        return load_file(path)
    return [], [InputFailure(str(path), "no such file or directory")]


async def _load_url(url: str, fetcher: Fetcher) -> Loaded:
    feed_id = urlsplit(url).hostname or "url"
    try:
        fetched = await fetcher.fetch(url)
        if fetched.not_modified:
            return [], [InputFailure(url, "the server sent no content")]
        parsed = await asyncio.to_thread(
            parse_feed, fetched.body, feed_id=feed_id, url=fetched.url, headers=fetched.headers
        )
    except FeedError as exc:
        return [], [InputFailure(url, str(exc))]
    return list(parsed.items), []


def load_directory(root: Path) -> Loaded:
    """Every item file under ``root``, recursively, in sorted path order."""
    items: list[Item] = []
    failures: list[InputFailure] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() in DIRECTORY_SUFFIXES:
            got, failed = load_file(path)
            items.extend(got)
            failures.extend(failed)
    return items, failures


def load_file(path: Path) -> Loaded:
    """One file of any supported kind."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [InputFailure(str(path), f"larger than {MAX_FILE_BYTES} bytes")]
        body = path.read_bytes()
    except OSError as exc:
        return [], [InputFailure(str(path), f"cannot read: {exc.strerror or exc}")]
    if path.suffix.lower() == ".jsonl":
        return load_jsonl(body, source=str(path), default_feed=path.stem)
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if _ARCHIVE_START.match(head):
        return _load_archive(path)
    return _load_feed_file(path, body, head)


def _load_archive(path: Path) -> Loaded:
    try:
        return [read_archive_item(path)], []
    except InputError as exc:
        return [], [InputFailure(str(path), str(exc).removeprefix(f"{path}: "))]


def _load_feed_file(path: Path, body: bytes, head: bytes) -> Loaded:
    try:
        parsed = parse_feed(body, feed_id=path.stem, url=path.resolve().as_uri())
    except FeedError as exc:
        if head.startswith(b"{") and _looks_like_jsonl(head):
            return load_jsonl(body, source=str(path), default_feed=path.stem)
        return [], [InputFailure(str(path), str(exc))]
    return list(parsed.items), []


def _looks_like_jsonl(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


def load_jsonl(body: bytes, *, source: str, default_feed: str) -> Loaded:
    """JSON Lines records ``{id, title, link, content, published?, feed?}``; blank lines skipped."""
    items: list[Item] = []
    failures: list[InputFailure] = []
    text = body.decode("utf-8-sig", "replace")
    # Only "\n" ends a record: str.splitlines would also split at U+2028 inside strings.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(jsonl_item(json.loads(line), default_feed=default_feed))
        except (ValueError, InputError) as exc:
            failures.append(InputFailure(f"{source}:{number}", _reason(exc)))
    return items, failures


def jsonl_item(record: Any, *, default_feed: str) -> Item:
    """One JSON Lines record as an ``Item`` whose key is the record's ``id``."""
    if not isinstance(record, dict):
        raise InputError("expected a JSON object")
    ident = record.get("id")
    if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident).strip() == "":
        raise InputError("missing or empty 'id'")
    fields = {name: _string(record, name) for name in ("title", "link", "content", "feed")}
    if not fields["title"] and not fields["content"]:
        raise InputError("neither 'title' nor 'content'")
    return Item(
        feed_id=fields["feed"] or default_feed,
        key=str(ident),
        title=html_to_plain(fields["title"]),
        link=fields["link"],
        content=fields["content"],
        published=parse_date(_string(record, "published")),
        source_id=ident,
    )


def _string(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"'{name}' must be a string")
    return value


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg} at column {exc.colno}"
    return str(exc)
