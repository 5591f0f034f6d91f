"""One fetch-and-parse path for the tools: a feed parses, an HTML page comes back as a
page (for /test) or as the reason it is no feed (for /addfeed, ``feeds add`` and
``mediabot match``); every other failure says why."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.errors import FetchError, ParseError
from bot.feeds.fetch import Fetcher
from bot.feeds.inputs import load_url
from bot.feeds.read import Page, probe_feed, read_url
from tests.fakes.feedserver import FeedServer, rss_document

PAGE = (
    b"<html><head><title>R&amp;D <b>Q3</b>\n results</title>"
    b'<link rel="alternate" type="application/rss+xml" href="/rss"></head>'
    b"<body><p>OpenAI ships.</p></body></html>"
)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(allow_private_networks=True, timeout=5, connect_timeout=5) as f:
        yield f


async def test_a_feed_is_parsed_under_the_given_id(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.route("/feed.xml", rss_document([{"title": "普京 visits", "link": "https://x/1"}]))
    read = await read_url(fetcher, feeds.url("/feed.xml"), feed_id="probe")
    assert not isinstance(read, Page)
    assert [(i.feed_id, i.title) for i in read.items] == [("probe", "普京 visits")]
    assert (await probe_feed(fetcher, feeds.url("/feed.xml"), "probe")).items == read.items


async def test_an_html_page_is_a_page_with_its_title(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.route("/article", PAGE, content_type="text/html")
    read = await read_url(fetcher, feeds.url("/article"), feed_id="probe")
    assert isinstance(read, Page)
    assert read.title == "R&D Q3 results"
    assert "OpenAI ships." in read.html
    assert f"its feed may be at {feeds.url('/rss')}" in str(read.error)


async def test_vetting_a_page_says_it_is_no_feed(feeds: FeedServer, fetcher: Fetcher) -> None:
    feeds.route("/article", PAGE, content_type="text/html")
    with pytest.raises(ParseError, match="not a feed: got an HTML page"):
        await probe_feed(fetcher, feeds.url("/article"), "probe")
    items, failures = await load_url(feeds.url("/article"), fetcher)
    assert items == [] and "not a feed: got an HTML page" in failures[0].reason


async def test_an_empty_answer_and_an_http_error_say_why(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.route("/empty", b"")
    with pytest.raises(ParseError, match="the server sent no content"):
        await read_url(fetcher, feeds.url("/empty"), feed_id="probe")
    with pytest.raises(FetchError, match="404"):
        await read_url(fetcher, feeds.url("/missing"), feed_id="probe")


async def test_a_document_that_is_neither_feed_nor_page_is_refused(
    feeds: FeedServer, fetcher: Fetcher
) -> None:
    feeds.route("/notes.txt", b"just some notes", content_type="text/plain")
    with pytest.raises(ParseError):
        await read_url(fetcher, feeds.url("/notes.txt"), feed_id="probe")
