"""feedparser as ``bot.feeds.parse`` tunes it: faster, and the same output.

The Windows-1252 repair (C1 controls U+0080..U+009F read as the characters Windows-1252
puts there) runs only on text that has one; every other text is left as it was.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import feedparser
import feedparser.mixin
import pytest

import bot.feeds.parse  # noqa: F401 - applies the tuning

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
_POP = feedparser.mixin._FeedParserMixin.pop


class _CountingTable(list[Any]):
    """The repair table, counting the characters looked up in it."""

    lookups = 0

    def __getitem__(self, code: Any) -> Any:
        _CountingTable.lookups += 1
        return super().__getitem__(code)


def _rss(title: str, body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><description>{body}</description></item>"
        "</channel></rss>"
    ).encode()


def test_the_repair_runs_only_where_there_is_something_to_repair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = _CountingTable(feedparser.mixin._cp1252)
    monkeypatch.setattr(feedparser.mixin, "_cp1252", table)
    monkeypatch.setattr(_CountingTable, "lookups", 0)

    clean = feedparser.parse(io.BytesIO(_rss("普京访问朝鲜", "&lt;p&gt;正文 " * 500)))
    assert clean.entries[0].title == "普京访问朝鲜"
    assert _CountingTable.lookups == 0

    # A character reference to a C1 control, as Windows-1252 authors write a dash and quotes.
    broken = feedparser.parse(io.BytesIO(_rss("a &#150; &#147;b&#148;", "x")))
    assert broken.entries[0].title == "a \u2013 \u201cb\u201d"
    assert _CountingTable.lookups > 0


def _files() -> list[Path]:
    if not FEEDS.is_dir():
        pytest.skip("../shared/data/feeds is not beside this checkout")
    wanted = {".xml", ".rss", ".atom", ".rdf", ".feed"}
    return sorted(p for p in FEEDS.rglob("*") if p.suffix in wanted and p.stat().st_size < 500_000)


def _entries(document: bytes) -> list[tuple[Any, ...]]:
    parsed = feedparser.parse(io.BytesIO(document), sanitize_html=False)
    return [
        (e.get("title"), e.get("summary"), [c.get("value") for c in e.get("content", [])])
        for e in parsed.entries
    ]


def test_tuned_feedparser_reads_every_peer_feed_as_feedparser_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = _files()
    assert len(files) > 1000
    tuned = [_entries(p.read_bytes()) for p in files]
    assert sum(map(len, tuned)) > 1000
    with monkeypatch.context() as m:
        m.setattr(feedparser.mixin._FeedParserMixin, "pop", _POP.__wrapped__)
        shipped = [_entries(p.read_bytes()) for p in files]
    assert tuned == shipped
