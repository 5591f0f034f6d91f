"""Read one item archived by a feed relay (the ``*.md`` relay-archive format).

Three layouts occur, all handled here::

    ---                                  optional YAML front matter (jekyll)
    title: "…"
    date: 2021-09-24T06:52:09.092Z
    ---
    <!--1719536343000-->                 crawl time in ms (or NaN); absent in the cdt layout
    [title, which may hold [brackets]](https://link)
    ------
    日期：Fri, 19 Jun 2020 21:48:55 +0000  cdt layout only
    <blank>
    <div><i>Fri, 28 Jun 2024 00:53:03 GMT</i></div>…HTML body…

The publication time comes from the date line at the top of the body
(``<div><i>…</i></div>``, possibly ``author<br>date``), else the ``日期：`` line, else the
front matter's ``date``. The ``<!--…-->`` value is the relay's crawl time, not a
publication time, so it is not used.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from bot.errors import InputError
from bot.feeds.dates import parse_date
from bot.feeds.identity import item_key
from bot.models import Item
from bot.text.html import html_to_line

_CRAWL_STAMP = re.compile(r"^<!--\s*(?:\d+|NaN)?\s*-->\s*$")
_RULE = re.compile(r"^-{3,}\s*$")
_DATE_LABEL = re.compile(r"^\s*日期\s*[:：]\s*(.+?)\s*$")
_DATE_DIV = re.compile(r"^\s*(?:<div>\s*)?<div>\s*<i>(.*?)</i>\s*</div>", re.S | re.I)
_BR = re.compile(r"<br\s*/?>", re.I)
_MAX_HEADER_LINES = 60


def read_archive_item(path: Path, *, feed_id: str | None = None) -> Item:
    """Read ``path``; raises ``InputError`` naming the file and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return _parse(text, feed_id=feed_id or path.parent.name or "archive")
    except ValueError as exc:
        raise InputError(f"{path}: not a relay-archive item: {exc}") from None


def _parse(text: str, *, feed_id: str) -> Item:
    lines = text.replace("\r\n", "\n").split("\n")
    front, start = _front_matter(lines)
    title_at = _title_line(lines, start)
    title, link = _title_and_link(lines[title_at])
    if title_at + 1 >= len(lines) or not _RULE.match(lines[title_at + 1]):
        raise ValueError(f"line {title_at + 2}: expected a '------' line after the title")
    body_at = title_at + 2
    label_date = None
    while body_at < len(lines) and not lines[body_at].strip():
        body_at += 1
    if body_at < len(lines) and (m := _DATE_LABEL.match(lines[body_at])):
        label_date = m.group(1)
        body_at += 1
    body = "\n".join(lines[body_at:]).strip()
    published = _published(body, label_date, front.get("date"))
    return Item(
        feed_id=feed_id,
        key=item_key(guid=None, link=link, title=title, published=published),
        title=title,
        link=link,
        content=body,
        published=published,
        author=front.get("author") or None,
    )


def _front_matter(lines: list[str]) -> tuple[dict[str, str], int]:
    """Simple ``key: value`` pairs of a leading ``---`` block, and the line after it."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    fields: dict[str, str] = {}
    for index in range(1, min(len(lines), _MAX_HEADER_LINES)):
        line = lines[index]
        if line.strip() == "---":
            return fields, index + 1
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    raise ValueError("front matter opened with '---' is never closed")


def _title_line(lines: list[str], start: int) -> int:
    for index in range(start, min(len(lines), start + _MAX_HEADER_LINES)):
        line = lines[index].strip()
        if not line or _CRAWL_STAMP.match(line):
            continue
        if line.startswith("["):
            return index
        raise ValueError(f"line {index + 1}: expected '[title](link)', got {line[:40]!r}")
    raise ValueError("no '[title](link)' line")


def _title_and_link(line: str) -> tuple[str, str]:
    """``[title](link)``; the title may itself hold brackets: ``[[專題] …](…)``."""
    line = line.strip()
    split = line.rfind("](")
    if not line.startswith("[") or not line.endswith(")") or split < 1:
        raise ValueError(f"expected '[title](link)', got {line[:60]!r}")
    title = html_to_line(line[1:split], collapse=False)
    link = line[split + 2 : -1].strip().strip("<>")
    if not link:
        raise ValueError("the title line has no link")
    return title, link


def _published(body: str, label: str | None, front_date: str | None) -> datetime | None:
    m = _DATE_DIV.match(body)
    if m is not None:
        # "author<br>2020-07-02 15:16:04": the date is the last line of the block.
        candidate = html_to_line(_BR.split(m.group(1))[-1])
        value = parse_date(candidate)
        if value is not None:
            return value
    for fallback in (label, front_date):
        value = parse_date(fallback)
        if value is not None:
            return value
    return None
