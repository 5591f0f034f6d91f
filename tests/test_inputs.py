"""Inputs of `mediabot match`: every kind, and failures that do not stop the rest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.feeds.fetch import Fetcher
from bot.feeds.inputs import InputFailure, load_inputs
from tests.fakes.feedserver import FeedServer, archive_item_rss, rss_document

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "voa-2024-06-28.md"

ARCHIVE_ITEM = """<!--1593874013000-->
[普京访问平壤](https://www.voachinese.com/a/putin-pyongyang/1.html)
------

<div><i>Wed, 19 Jun 2024 01:00:00 GMT</i></div><p>俄朝签署条约</p>
"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><id>urn:a1</id><title>Atom item</title><link href="https://e.com/atom1"/>
<updated>2024-05-01T00:00:00Z</updated><content type="html">&lt;p&gt;x&lt;/p&gt;</content></entry>
</feed>"""
JSON_FEED = {
    "version": "https://jsonfeed.org/version/1",
    "title": "J",
    "items": [{"id": "j1", "url": "https://e.com/j1", "title": "JSON item", "content_text": "y"}],
}


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(allow_private_networks=True, timeout=5) as f:
        yield f


def _rss(title: str = "RSS item", link: str = "https://e.com/rss1") -> bytes:
    return rss_document([{"title": title, "link": link, "guid": link, "description": "z"}])


async def test_feed_files_are_sniffed_not_named(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "saved.txt").write_bytes(_rss())
    (tmp_path / "atom.data").write_text(ATOM, encoding="utf-8")
    (tmp_path / "feed.xml").write_text(json.dumps(JSON_FEED), encoding="utf-8")
    specs = [str(tmp_path / n) for n in ("saved.txt", "atom.data", "feed.xml")]
    items, failures = await load_inputs(specs, fetcher)
    assert failures == []
    assert [(i.title, i.feed_id) for i in items] == [
        ("RSS item", "saved"),
        ("Atom item", "atom"),
        ("JSON item", "feed"),
    ]


async def test_archive_item_file(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "voa").mkdir()
    path = tmp_path / "voa" / "voa_0001.md"
    path.write_text(ARCHIVE_ITEM, encoding="utf-8")
    items, failures = await load_inputs([str(path)], fetcher)
    assert failures == []
    (item,) = items
    assert (item.title, item.feed_id) == ("普京访问平壤", "voa")
    assert item.published == datetime(2024, 6, 19, 1, 0, tzinfo=UTC)


async def test_jsonl_records(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "batch.jsonl"
    lines = [
        {
            "id": "r1",
            "title": "One",
            "link": "https://e.com/1",
            "content": "<p>a</p>",
            "published": "2024-05-01T08:00:00+08:00",
            "feed": "voa",
        },
        {"id": 2, "title": "Two", "link": "https://e.com/2", "content": "b"},
    ]
    text = "\n".join(json.dumps(r) for r in lines) + "\n\n{broken\n" + '{"id": "no text"}\n'
    path.write_text(text, encoding="utf-8")
    items, failures = await load_inputs([str(path)], fetcher)
    assert [(i.key, i.feed_id) for i in items] == [("r1", "voa"), ("2", "batch")]
    assert items[0].published == datetime(2024, 5, 1, tzinfo=UTC)
    # One failure for the file, however many lines: with the count and the first reasons.
    (failure,) = failures
    assert failure.source == str(path)
    assert failure.reason.startswith("2 of 5 lines unreadable, skipped (line 4: invalid JSON")
    assert "line 5: no text" in failure.reason


async def test_jsonl_reads_the_common_item_shapes(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "export.jsonl"
    records = [
        # an archive export: no id (the link is), html, source, epoch milliseconds
        {
            "source": "voa",
            "title": "A",
            "link": "https://e.com/a",
            "html": "<p>俄朝</p>",
            "ts_ms": 1719536343000,
        },
        {"guid": "g-2", "url": "https://e.com/b", "summary": "sum", "date": "2024-05-01"},
        {"title": "no id, no link", "content_text": "plain"},
        {"id": "d", "title": "D", "description": "desc", "content": ""},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    items, failures = await load_inputs([str(path)], fetcher)
    assert failures == []
    assert [(i.key, i.feed_id, i.content, i.link) for i in items] == [
        ("https://e.com/a", "voa", "<p>俄朝</p>", "https://e.com/a"),
        ("g-2", "export", "sum", "https://e.com/b"),
        ("export.jsonl:3", "export", "plain", ""),
        ("d", "export", "desc", ""),
    ]
    assert items[0].published == datetime(2024, 6, 28, 0, 59, 3, tzinfo=UTC)
    assert [i.source_id for i in items] == [None, "g-2", None, "d"]


async def test_a_jsonl_file_is_sniffed_but_a_one_line_json_feed_stays_a_feed(
    tmp_path: Path, fetcher: Fetcher
) -> None:
    (tmp_path / "items.txt").write_text('{"id": 1, "title": "x"}\n{"id": 2, "title": "y"}\n')
    (tmp_path / "feed.json").write_text(json.dumps(JSON_FEED), encoding="utf-8")
    items, failures = await load_inputs(
        [str(tmp_path / "items.txt"), str(tmp_path / "feed.json")], fetcher
    )
    assert failures == []
    assert [i.title for i in items] == ["x", "y", "JSON item"]


async def test_directory_recursive_sorted_with_failures(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "deep" / "item.md").write_text(ARCHIVE_ITEM, encoding="utf-8")
    (tmp_path / "a" / "feed.rss").write_bytes(_rss("First"))
    (tmp_path / "a" / "zz.jsonl").write_text('{"id": "x", "title": "Last of a"}\n', "utf-8")
    (tmp_path / "a" / "broken.md").write_text("not an item\n", encoding="utf-8")
    (tmp_path / "a" / "page.xml").write_text("<html><body>hi</body></html>", encoding="utf-8")
    (tmp_path / "a" / "notes.txt").write_text("ignored in directories", encoding="utf-8")
    items, failures = await load_inputs([str(tmp_path)], fetcher)
    assert [i.title for i in items] == ["First", "Last of a", "普京访问平壤"]
    reasons = {Path(f.source).name: f.reason for f in failures}
    assert set(reasons) == {"broken.md", "page.xml"}
    assert "not a feed: got an HTML page" in reasons["page.xml"]


async def test_missing_path_is_a_failure(tmp_path: Path, fetcher: Fetcher) -> None:
    (tmp_path / "ok.xml").write_bytes(_rss())
    missing = str(tmp_path / "missing.xml")
    items, failures = await load_inputs([missing, str(tmp_path / "ok.xml")], fetcher)
    assert len(items) == 1
    assert failures == [InputFailure(missing, "no such file or directory")]


async def test_feed_urls(fetcher: Fetcher) -> None:
    async with FeedServer() as srv:
        srv.route("/feed.xml", _rss("Served"))
        srv.route("/page", b"<!DOCTYPE html><html></html>", content_type="text/html")
        urls = [srv.url("/feed.xml"), srv.url("/gone"), srv.url("/page")]
        items, failures = await load_inputs(urls, fetcher)
    assert [(i.title, i.feed_id) for i in items] == [("Served", "127.0.0.1")]
    assert failures == [
        InputFailure(urls[1], "HTTP 404 Not Found"),
        InputFailure(urls[2], "not a feed: got an HTML page"),
    ]


async def test_seed_item_served_as_a_feed(fetcher: Fetcher) -> None:
    if not SEED.is_file():
        pytest.skip("shared seed item not present")
    async with FeedServer() as srv:
        srv.route("/voa.xml", archive_item_rss(SEED))
        items, failures = await load_inputs([srv.url("/voa.xml"), str(SEED)], fetcher)
    assert failures == []
    served, archived = items
    assert (served.title, served.link, served.published) == (
        archived.title,
        archived.link,
        archived.published,
    )
    assert served.published == datetime(2024, 6, 28, 0, 53, 3, tzinfo=UTC)
    assert "普京" in served.content
