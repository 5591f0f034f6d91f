"""A hostile feed cannot make the store grow without bound: every stored text is capped."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.delivery.kinds import ItemPart, TopicAlert
from bot.feeds.entries import (
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_CHARS,
    MAX_GUID_CHARS,
    MAX_TITLE_CHARS,
)
from bot.feeds.parse import parse_feed
from bot.models import Alert, Destination, FeedState, Hit, Item
from bot.store import Store
from bot.store.codec import MAX_ERROR, MAX_KEY, MAX_LINK, MAX_MESSAGE, MAX_TITLE
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram import FakeTelegram
from tests.test_app import make_app

MB = 1 << 20
T0 = datetime(2024, 6, 28, 8, 0, tzinfo=UTC)
# One item of about 8 MB, under the fetcher's 10 MB cap on a feed document.
HUGE_TITLE = "Putin " * 500_000  # 3 MB
HUGE_LINK = "https://x.example/" + "a" * MB
HUGE_GUID = "urn:x:" + "g" * MB
HUGE_BODY = "<p>" + "普京 " * (MB // 4) + "</p>"  # 1.8 MB
HUGE_FEED_TITLE = "Feed " * 100_000


def hostile_item() -> dict[str, str | datetime | None]:
    return {
        "title": HUGE_TITLE,
        "link": HUGE_LINK,
        "guid": HUGE_GUID,
        "description": HUGE_BODY,
        "author": "a" * (MB // 2),
    }


def test_items_are_bounded_where_they_are_parsed() -> None:
    doc = rss_document([hostile_item()], title=HUGE_FEED_TITLE)
    assert len(doc) < 10_000_000
    parsed = parse_feed(doc, feed_id="f")
    [item] = parsed.items
    assert len(item.title) == MAX_TITLE_CHARS and item.title.endswith("…")
    assert item.title.startswith("Putin Putin")
    assert item.link == ""  # no browser or button takes a 3 MB link: dropped
    assert item.guid is not None and item.guid.startswith("sha256:") and len(item.guid) == 71
    assert item.key == "g:" + item.guid
    assert len(item.content) == MAX_CONTENT_CHARS
    assert item.author is not None and len(item.author) == MAX_AUTHOR_CHARS
    assert parsed.title is not None and len(parsed.title) == MAX_TITLE_CHARS
    # The same guid gives the same key on the next poll; another one, another key.
    again = parse_feed(rss_document([hostile_item()]), feed_id="f")
    other = parse_feed(rss_document([{**hostile_item(), "guid": HUGE_GUID + "!"}]), feed_id="f")
    assert again.items[0].key == item.key != other.items[0].key


def test_a_long_author_costs_no_more_than_a_short_one() -> None:
    """feedparser searches an author's text for an e-mail address with a backtracking
    pattern: before, 16 kB took 1.4 s and 100 kB about a minute (1 MB: over an hour)."""
    doc = rss_document([{"title": "t", "link": "https://x.example/1", "author": "a" * 100_000}])
    started = time.monotonic()
    [item] = parse_feed(doc, feed_id="f").items
    assert time.monotonic() - started < 10  # about 0.03 s
    assert item.author == "a" * (MAX_AUTHOR_CHARS - 1) + "…"


def test_json_feed_items_are_bounded_the_same_way() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "T" * MB,
        "items": [
            {"id": HUGE_GUID, "title": HUGE_TITLE, "url": HUGE_LINK, "content_html": HUGE_BODY}
        ],
    }
    parsed = parse_feed(json.dumps(doc).encode(), feed_id="f")
    [item] = parsed.items
    assert len(item.title) == MAX_TITLE_CHARS and item.link == ""
    assert item.guid is not None and len(item.guid) <= MAX_GUID_CHARS
    assert len(item.content) == MAX_CONTENT_CHARS
    assert parsed.title is not None and len(parsed.title) == MAX_TITLE_CHARS


def test_ordinary_items_are_stored_as_they_are() -> None:
    """The limits are far above real feeds: nothing ordinary is cut."""
    title = "普京访问朝鲜 " * 40
    link = "https://x.example/news/" + "a" * 1500
    parsed = parse_feed(rss_document([{"title": title, "link": link, "guid": "id-1"}]), feed_id="f")
    assert parsed.items[0].title == title.strip() and parsed.items[0].link == link


def row_bytes(db: Path, table: str) -> list[int]:
    """The size of each row of ``table``: the sum of its columns' lengths in bytes."""
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        total = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
        query = f"SELECT {total} FROM {table}"  # noqa: S608 -- the table's own columns
        return [size for (size,) in conn.execute(query)]


async def test_a_feed_with_a_multi_megabyte_item_makes_small_rows(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    """Before: the 4 MB title was stored about five times (seen item, outbox title,
    fingerprint, rendered text...); 256 MB after four polls of one such feed."""
    first = {"title": "普京 1", "link": "https://x.example/1", "guid": "1"}
    route = feed_server.route("/f.xml", rss_document([first]))
    app = make_app(tmp_path, feed_server, telegram)
    app.store.subscribe(Destination(777), "putin")
    try:
        await app.once()  # the first poll marks what is there as seen
        for n in range(2, 6):
            item = {**hostile_item(), "guid": f"{HUGE_GUID}{n}"}
            route.body = rss_document([item, first], title=HUGE_FEED_TITLE)
            await app.once()
    finally:
        await app.aclose()
    db = tmp_path / "db.sqlite"
    seen, outbox, states = (row_bytes(db, t) for t in ("seen_items", "outbox", "feed_state"))
    assert len(seen) == 5 and len(outbox) == 4
    assert telegram.texts(777)  # the alert went out (the others are near-duplicates of it)
    assert max(seen) < 5_000, seen
    assert max(states) < 5_000, states
    assert sum(seen) + sum(outbox) + sum(states) < 100_000
    assert db.stat().st_size < 2 * MB  # before: hundreds of MB


def test_the_store_bounds_what_it_is_given_whatever_made_it(tmp_path: Path) -> None:
    """A second line behind the parser: items and alerts made elsewhere are bounded too,
    and an over-long key still finds its own row, and only its own."""
    key = "g:" + "k" * (3 * MB)
    item = Item("f", key, "t" * MB, "https://x.example/" + "l" * MB, "body")
    alert = Alert(
        "f",
        key,
        "topic",
        Destination(-100),
        TopicAlert(
            ItemPart("t" * MB, "https://x.example/" + "l" * MB, "s" * MB),
            "n" * MB,
            "UTC",
            hits=(Hit("h" * MB, None, "h", "title", 0, 0, 1),) * MB,
            summary="x" * MB,
        ),
        T0,
        fingerprint="{" * MB,
        summary_input="i" * MB,
    )
    db = tmp_path / "store.db"
    with Store(f"sqlite:///{db}") as store:
        store.migrate()
        state = FeedState("f", etag="e" * MB, last_error="x" * MB, title="T" * MB)
        assert store.record_poll(state, [item], T0, [alert]) == 1
        assert store.unseen("f", [key, key + "2"]) == {key + "2"}
        assert store.seen_links("f", [key]) == {key: ""}
        [entry] = store.due(T0)
        store.mark_failed(entry.id, "e" * MB)
        assert store.original_alert("topic", Destination(-100), "f", key) is not None
        assert store.original_alert("topic", Destination(-100), "f", key + "2") is None
        kept = store.feed_state("f")
    assert kept is not None and kept.etag is None and len(kept.last_error or "") == MAX_ERROR
    assert len(entry.alert.item_key) == MAX_KEY and entry.alert.fingerprint is None
    assert entry.item_title is not None and len(entry.item_title) == MAX_TITLE
    body = entry.alert.body
    assert isinstance(body, TopicAlert) and body.item.link is None and entry.item_link is None
    assert len(body.summary) == MAX_MESSAGE and len(body.item.source) == MAX_TITLE
    assert len(body.hits) < 1000
    assert max(row_bytes(db, "seen_items")) < MAX_KEY + MAX_TITLE + MAX_LINK + 200
    assert max(row_bytes(db, "outbox")) < 5 * MAX_MESSAGE
