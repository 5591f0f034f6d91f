"""The inputs of ``mediabot match``: feed URLs, feed files, archive items, directories, JSONL.

Inputs are read as a stream (``iter_inputs``): one item at a time, so a JSON Lines
archive of any size is matched in bounded memory. A file's kind is judged by its content,
not its name (a feed saved as ``.txt`` still reads), except that ``*.jsonl`` is always JSON
Lines. An unreadable file or URL becomes one ``InputFailure`` and everything else still
loads; the unreadable lines of a JSON Lines file are summed up in one failure for the file.

A JSON Lines record may take the common shapes of exported items: the body from
``content``, ``content_html``, ``html``, ``summary``, ``description``, ``content_text`` or
``text``; the link from ``link`` or ``url``; the id from ``id`` or ``guid``, else the link,
else the file and line; the feed from ``feed`` or ``source``; the time from ``published``,
``date`` or ``updated`` (text), or ``ts_ms`` (epoch milliseconds).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from bot.errors import FeedError, InputError
from bot.feeds.archive import read_archive_item
from bot.feeds.dates import parse_date
from bot.feeds.fetch import Fetcher
from bot.feeds.parse import parse_feed
from bot.feeds.read import probe_feed
from bot.models import Item
from bot.text.html import html_to_line

DIRECTORY_SUFFIXES = frozenset({".md", ".xml", ".rss", ".atom", ".json", ".jsonl", ".rdf"})
# A feed document is parsed whole (feedparser has no streaming mode): this bounds the
# memory one document may take. JSON Lines files are streamed and have no limit.
MAX_FEED_FILE_BYTES = 100_000_000
_ARCHIVE_START = re.compile(rb"^(?:---\s*\n|<!--\s*(?:\d+|NaN)?\s*-->\s*\n|\[)")
_HEAD_BYTES = 64 * 1024
_CONTENT_FIELDS = (
    "content",
    "content_html",
    "html",
    "summary",
    "description",
    "content_text",
    "text",
)
_DATE_FIELDS = ("published", "date", "updated")
_EXAMPLES = 3  # unreadable lines quoted in a file's one failure


@dataclass(frozen=True, slots=True)
class InputFailure:
    """An input that could not be read: ``source`` is the file or URL."""

    source: str
    reason: str


Read = Item | InputFailure
Loaded = tuple[list[Item], list[InputFailure]]


async def iter_inputs(specs: Sequence[str], fetcher: Fetcher) -> AsyncIterator[Read]:
    """Every item and failure of every spec, in order, one at a time.

    Files are read on the running loop: this feeds a command that does nothing else."""
    for spec in specs:
        if re.match(r"^https?://", spec, re.I):
            items, failures = await load_url(spec, fetcher)
            for item in items:
                yield item
            for failure in failures:
                yield failure
        else:
            for read in iter_path(Path(spec)):
                yield read


async def load_inputs(specs: Sequence[str], fetcher: Fetcher) -> Loaded:
    """``iter_inputs`` gathered into lists, for a few inputs at a time."""
    items: list[Item] = []
    failures: list[InputFailure] = []
    async for read in iter_inputs(specs, fetcher):
        _sort(read, items, failures)
    return items, failures


def _sort(read: Read, items: list[Item], failures: list[InputFailure]) -> None:
    if isinstance(read, Item):
        items.append(read)
    else:
        failures.append(read)


def iter_path(path: Path) -> Iterator[Read]:
    """A file or a directory; a missing path is a failure, not an exception."""
    if path.is_dir():
        yield from iter_directory(path)
    elif path.is_file():
        yield from iter_file(path)
    else:
        yield InputFailure(str(path), "no such file or directory")


async def load_url(url: str, fetcher: Fetcher) -> Loaded:
    try:
        parsed = await probe_feed(fetcher, url, urlsplit(url).hostname or "url")
    except FeedError as exc:
        return [], [InputFailure(url, str(exc))]
    return list(parsed.items), []


def iter_directory(root: Path) -> Iterator[Read]:
    """Every item file under ``root``, recursively, in sorted path order."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() in DIRECTORY_SUFFIXES:
            yield from iter_file(path)


def iter_file(path: Path) -> Iterator[Read]:
    """One file of any supported kind."""
    try:
        with path.open("rb") as stream:
            head = stream.read(_HEAD_BYTES)
            start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
            if path.suffix.lower() == ".jsonl" or _is_jsonl(stream, start):
                stream.seek(0)
                yield from iter_jsonl(stream, source=str(path), default_feed=path.stem)
                return
            size = path.stat().st_size
    except OSError as exc:
        yield InputFailure(str(path), f"cannot read: {exc.strerror or exc}")
        return
    if _ARCHIVE_START.match(start):
        yield from _load_archive(path)
    elif size > MAX_FEED_FILE_BYTES:
        yield InputFailure(
            str(path),
            f"a feed document of {size} bytes is over the {MAX_FEED_FILE_BYTES}-byte limit "
            "for one document (JSON Lines files have none)",
        )
    else:
        yield from _load_feed_file(path)


def _load_archive(path: Path) -> Iterator[Read]:
    try:
        yield read_archive_item(path)
    except InputError as exc:
        yield InputFailure(str(path), str(exc).removeprefix(f"{path}: "))


def _load_feed_file(path: Path) -> Iterator[Read]:
    try:
        parsed = parse_feed(path.read_bytes(), feed_id=path.stem, url=path.resolve().as_uri())
    except OSError as exc:
        yield InputFailure(str(path), f"cannot read: {exc.strerror or exc}")
    except FeedError as exc:
        yield InputFailure(str(path), str(exc))
    else:
        yield from parsed.items


def _is_jsonl(stream: BinaryIO, start: bytes) -> bool:
    """Whether a file is JSON Lines: its first line is a JSON object that is not a whole
    JSON Feed document."""
    if not start.startswith(b"{"):
        return False
    stream.seek(0)
    try:
        first = json.loads(stream.readline().decode("utf-8-sig"))
    except ValueError:
        return False
    return isinstance(first, dict) and not (
        "jsonfeed" in str(first.get("version", "")) and isinstance(first.get("items"), list)
    )


def iter_jsonl(stream: BinaryIO, *, source: str, default_feed: str) -> Iterator[Read]:
    """The records of a JSON Lines stream, one at a time; blank lines are skipped, and the
    unreadable ones are summed up in one failure at the end."""
    bad = 0
    examples: list[str] = []
    number = 0
    # Binary lines end at b"\n" only: text modes would also split at U+2028 inside strings.
    for number, raw in enumerate(stream, start=1):
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8", "replace")
        if not line.strip():
            continue
        try:
            yield jsonl_item(json.loads(line), default_feed=default_feed, where=(source, number))
        except (ValueError, InputError) as exc:
            bad += 1
            if len(examples) < _EXAMPLES:
                examples.append(f"line {number}: {_reason(exc)}")
    if bad:
        more = "; …" if bad > len(examples) else ""
        yield InputFailure(
            source,
            f"{bad} of {number} lines unreadable, skipped ({'; '.join(examples)}{more})",
        )


def load_jsonl(body: bytes, *, source: str, default_feed: str) -> Loaded:
    """``iter_jsonl`` over bytes in memory, gathered into lists."""
    items: list[Item] = []
    failures: list[InputFailure] = []
    for read in iter_jsonl(BytesIO(body), source=source, default_feed=default_feed):
        _sort(read, items, failures)
    return items, failures


def jsonl_item(record: Any, *, default_feed: str, where: tuple[str, int] = ("jsonl", 0)) -> Item:
    """One JSON Lines record as an ``Item`` (the shapes read are in the module docstring).

    The key is the record's id, else its link, else ``file:line`` from ``where``."""
    if not isinstance(record, dict):
        raise InputError("expected a JSON object")
    ident = _ident(record)
    title = _string(record, "title")
    link = _first(record, ("link", "url"))
    content = _first(record, _CONTENT_FIELDS)
    if not title and not content:
        raise InputError(
            "no text: neither 'title' nor any of " + ", ".join(f"'{f}'" for f in _CONTENT_FIELDS)
        )
    return Item(
        feed_id=_first(record, ("feed", "source", "feed_id")) or default_feed,
        key=str(ident) if ident is not None else link or f"{Path(where[0]).name}:{where[1]}",
        title=html_to_line(title),
        link=link,
        content=content,
        published=_published(record),
        source_id=ident,
    )


def _ident(record: dict[str, Any]) -> str | int | None:
    for name in ("id", "guid"):
        value = record.get(name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str | int) and str(value).strip():
            return value
        if not isinstance(value, str | int):
            raise InputError(f"'{name}' must be a string or a number")
    return None


def _first(record: dict[str, Any], names: Sequence[str]) -> str:
    for name in names:
        value = _string(record, name)
        if value.strip():
            return value
    return ""


def _published(record: dict[str, Any]) -> datetime | None:
    text = _first(record, _DATE_FIELDS)
    if text:
        return parse_date(text)
    stamp = record.get("ts_ms")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            return datetime.fromtimestamp(stamp / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


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
