"""Item identity: canonical links, guid / link / hash keys, duplicate guids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.feeds.identity import canonical_link, item_key
from bot.feeds.parse import parse_feed
from tests.fakes.feedserver import rss_document


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "HTTPS://WWW.Example.COM:443/News/A?utm_source=rss&utm_medium=feed#comments",
            "https://www.example.com/News/A",
        ),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        (
            "https://www.bbc.com/zhongwen/articles/c2lg/trad?at_medium=RSS&at_campaign=rss",
            "https://www.bbc.com/zhongwen/articles/c2lg/trad",
        ),
        (
            "https://x.com/read.php?id=42&fbclid=abc&page=2&gclid=z",
            "https://x.com/read.php?id=42&page=2",
        ),
        # article ids survive, in their order and encoding
        (
            "http://www.kc0011.net/dispbbs.asp?BoardID=10&ID=25164257&Page=1",
            "http://www.kc0011.net/dispbbs.asp?BoardID=10&ID=25164257&Page=1",
        ),
        ("https://cn.ft.com/story/001088467?full=y", "https://cn.ft.com/story/001088467?full=y"),
        ("http://www.rfi.fr//cn/%E5%9B%BD", "http://www.rfi.fr//cn/%E5%9B%BD"),
    ],
)
def test_canonical_link(url: str, expected: str) -> None:
    assert canonical_link(url) == expected


def test_tracking_variants_share_one_key() -> None:
    plain = item_key(guid=None, link="https://e.com/a?id=1", title="t", published=None)
    tracked = item_key(
        guid=None, link="https://E.com/a?id=1&utm_campaign=x#top", title="t", published=None
    )
    assert plain == tracked == "l:https://e.com/a?id=1"


def test_guid_wins_over_link() -> None:
    assert item_key(guid=" 123 ", link="https://e.com/a", title="t", published=None) == "g:123"


def test_non_unique_guid_falls_back_to_link() -> None:
    key = item_key(guid="1", link="https://e.com/a", title="t", published=None, guid_unique=False)
    assert key == "l:https://e.com/a"


def test_hash_key_without_guid_or_link() -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    a = item_key(guid=None, link=None, title="Hello  World", published=when)
    b = item_key(guid="", link="", title="hello world", published=when)
    c = item_key(guid=None, link=None, title="hello world", published=None)
    assert a == b and a.startswith("h:") and len(a) == 42
    assert a != c


def test_duplicate_guids_in_a_feed_get_distinct_keys() -> None:
    body = rss_document(
        [
            {"title": "One", "link": "https://e.com/1", "guid": "same"},
            {"title": "Two", "link": "https://e.com/2", "guid": "same"},
            {"title": "Three", "link": "https://e.com/3", "guid": "unique"},
        ]
    )
    feed = parse_feed(body, feed_id="x")
    assert [i.key for i in feed.items] == ["l:https://e.com/1", "l:https://e.com/2", "g:unique"]
    assert any("duplicate guid 'same'" in w for w in feed.warnings)


def test_guidless_linkless_items_are_told_apart_by_title() -> None:
    body = rss_document([{"title": "Alpha"}, {"title": "Beta"}])
    keys = [i.key for i in parse_feed(body, feed_id="x").items]
    assert len(set(keys)) == 2 and all(k.startswith("h:") for k in keys)
