"""Reading one URL once, outside the poll: the one fetch-and-parse path of the tools.

``/addfeed`` and ``mediabot feeds add`` vet a feed with ``probe_feed``; ``mediabot match``
reads feed URLs and ``/test`` reads a feed or an article with ``read_url``. The poll has
its own path (validators, leases, parser processes) in the pipeline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.errors import ParseError
from bot.feeds.encoding import decode_feed
from bot.feeds.fetch import Fetcher
from bot.feeds.parse import parse_feed
from bot.feeds.sniff import is_html_page
from bot.models import ParsedFeed
from bot.text.html import page_title


@dataclass(frozen=True, slots=True)
class Page:
    """An HTML page where a feed was looked for: its address, title and decoded HTML, and
    why it is not a feed."""

    url: str
    title: str | None
    html: str
    error: ParseError


async def read_url(fetcher: Fetcher, url: str, *, feed_id: str) -> ParsedFeed | Page:
    """Fetch ``url`` and parse it as a feed; an HTML page comes back as a ``Page``.

    Raises ``FeedError`` saying why anything else is unusable (an unsafe address, an HTTP
    error, an empty answer, a document that is neither feed nor page).
    """
    fetched = await fetcher.fetch(url)
    if fetched.not_modified:
        raise ParseError("the server sent no content")
    try:
        return await asyncio.to_thread(
            parse_feed, fetched.body, feed_id=feed_id, url=fetched.url, headers=fetched.headers
        )
    except ParseError as exc:
        decoded = decode_feed(fetched.body, fetched.headers.get("content-type"))
        if not is_html_page(decoded.text):
            raise
        return Page(fetched.url, page_title(decoded.text), decoded.text, exc)


async def probe_feed(fetcher: Fetcher, url: str, feed_id: str) -> ParsedFeed:
    """Fetch and parse ``url`` once, to vet it before it is added to the rules.

    Raises ``FeedError`` saying why it is not a usable feed (a page that is not a feed, an
    unsafe address, an HTTP error, an empty answer).
    """
    read = await read_url(fetcher, url, feed_id=feed_id)
    if isinstance(read, Page):
        raise read.error
    return read
