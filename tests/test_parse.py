"""Parsing: RSS, Atom and JSON Feed; refusals; mislabelled charsets; dates; ttl."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.feeds.dates import CJK_DEFAULT_ZONE, parse_date
from bot.feeds.parse import parse_feed
from tests.fakes.feedserver import rss_document

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Atom &amp;amp; news</title>
  <entry>
    <id>tag:example.com,2024:1</id>
    <title type="html">R&amp;amp;D &lt;b&gt;Q3&lt;/b&gt; "results"</title>
    <link rel="alternate" href="https://example.com/a1"/>
    <updated>2024-05-01T12:00:00+08:00</updated>
    <summary>short</summary>
    <content type="html">&lt;p&gt;The &lt;b&gt;long&lt;/b&gt; body&lt;/p&gt;</content>
    <author><name>Li Lei</name></author>
  </entry>
</feed>"""


def test_rss_items_in_document_order() -> None:
    body = rss_document(
        [
            {
                "title": "First &amp; <b>bold</b>",
                "link": "https://example.com/1?utm_source=rss",
                "guid": "id-1",
                "description": "<p>one</p>",
                "pubDate": "Fri, 28 Jun 2024 00:53:03 GMT",
            },
            {"title": "Second", "link": "https://example.com/2", "description": "two"},
        ],
        title="Example",
    )
    feed = parse_feed(body, feed_id="ex", url="https://example.com/feed.xml")
    assert feed.title == "Example"
    first, second = feed.items
    assert first.title == "First & bold"
    assert first.key == "g:id-1" and first.guid == "id-1"
    assert first.link == "https://example.com/1?utm_source=rss"
    assert first.content == "<p>one</p>"
    assert first.published == datetime(2024, 6, 28, 0, 53, 3, tzinfo=UTC)
    assert first.feed_id == "ex"
    assert second.key == "l:https://example.com/2"
    assert second.published is None


def test_atom_takes_the_richest_body_and_plain_title() -> None:
    feed = parse_feed(ATOM, feed_id="atom")
    (item,) = feed.items
    assert feed.title == "Atom & news"
    assert item.title == 'R&D Q3 "results"'
    assert "<b>long</b>" in item.content
    assert item.link == "https://example.com/a1"
    assert item.published == datetime(2024, 5, 1, 4, 0, tzinfo=UTC)
    assert item.author == "Li Lei"
    assert item.key == "g:tag:example.com,2024:1"


def test_json_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON news",
        "items": [
            {
                "id": "j1",
                "url": "https://example.com/j1",
                "title": "普京访问朝鲜",
                "content_html": "<p>平壤</p>",
                "content_text": "平壤",
                "date_published": "2024-06-19T01:00:00Z",
                "authors": [{"name": "VOA"}],
            },
            {"id": "j2", "url": "https://example.com/j2", "content_text": "text only"},
        ],
    }
    feed = parse_feed(json.dumps(doc, ensure_ascii=False).encode(), feed_id="js")
    assert feed.title == "JSON news"
    first, second = feed.items
    assert (first.key, first.title, first.content) == ("g:j1", "普京访问朝鲜", "<p>平壤</p>")
    assert first.published == datetime(2024, 6, 19, 1, 0, tzinfo=UTC)
    assert first.author == "VOA"
    assert second.content == "text only" and second.title == ""


def test_json_that_is_not_a_feed_is_refused() -> None:
    with pytest.raises(ParseError, match=r"not a feed: JSON"):
        parse_feed(b'{"hello": "world"}', feed_id="x")


def test_html_page_is_refused_with_its_feed_link() -> None:
    page = b"""<!DOCTYPE html><html><head><title>News</title>
    <link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
    </head><body>hi</body></html>"""
    with pytest.raises(ParseError) as info:
        parse_feed(page, feed_id="x", url="https://news.example.com/world/")
    assert str(info.value) == (
        "not a feed: got an HTML page (its feed may be at https://news.example.com/rss.xml)"
    )


def test_html_page_without_feed_link() -> None:
    with pytest.raises(ParseError, match=r"^not a feed: got an HTML page$"):
        parse_feed(b"\n<html><body>Login required</body></html>", feed_id="x")


def test_broken_xml_names_the_line() -> None:
    with pytest.raises(ParseError, match=r"not a feed: XML parse error at line \d+"):
        parse_feed(b"<?xml version='1.0'?>\n<notafeed>\n<<<</notafeed>", feed_id="x")


def test_bozo_feed_with_items_is_kept_with_a_warning() -> None:
    body = rss_document([{"title": "Fine", "link": "https://example.com/f"}]).replace(
        b"<title>Fine</title>", b"<title>Fine &nbsp; &bogus;</title>"
    )
    feed = parse_feed(body, feed_id="x")
    assert [i.link for i in feed.items] == ["https://example.com/f"]
    assert any("malformed" in w for w in feed.warnings)


def test_bytes_are_never_opened_as_a_file_name(tmp_path: object) -> None:
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd", feed_id="x")


def test_billion_laughs_is_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>"""
    with pytest.raises(ParseError, match=r"unsafe XML: .*entity bomb"):
        parse_feed(bomb, feed_id="x")


def test_external_entity_is_refused() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&xxe;</title></channel></rss>"""
    with pytest.raises(ParseError, match=r"unsafe XML: external entity"):
        parse_feed(body, feed_id="x")


def test_flat_doctype_entities_are_allowed() -> None:
    body = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY copy "&#169;">]>
<rss version="2.0"><channel><title>T</title>
<item><title>A &copy; B</title><link>https://example.com/a</link></item></channel></rss>"""
    (item,) = parse_feed(body, feed_id="x").items
    assert item.title == "A © B"


CJK_TITLE = "俄朝关系趋于密切或为美中两国创造机会"
TRAD_TITLE = "國安法生效後香港民主派參選人"


def _cjk_feed(title: str, encoding: str, declared: str | None) -> bytes:
    prolog = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    text = rss_document([{"title": title, "link": "https://example.com/a", "description": title}])
    text = text.replace(b'<?xml version="1.0" encoding="utf-8"?>', prolog.encode())
    return text.decode("utf-8").encode(encoding)


@pytest.mark.parametrize(
    ("title", "encoding", "declared", "header"),
    [
        (CJK_TITLE, "gbk", "gb2312", None),  # GBK sent as gb2312
        (CJK_TITLE, "gb18030", None, "text/xml; charset=utf-8"),  # header lies
        (CJK_TITLE, "gbk", "utf-8", None),  # prolog lies
        (TRAD_TITLE, "big5", "gb2312", None),  # Big5 sent as gb2312
        (TRAD_TITLE, "big5", None, None),  # Big5, undeclared
        (CJK_TITLE, "utf-8", "big5", None),  # UTF-8 sent as Big5
    ],
)
def test_mislabelled_chinese_charsets_still_decode(
    title: str, encoding: str, declared: str | None, header: str | None
) -> None:
    body = _cjk_feed(title, encoding, declared)
    headers = {"Content-Type": header} if header else None
    (item,) = parse_feed(body, feed_id="x", headers=headers).items
    assert item.title == title
    assert item.content == title


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024年05月01日", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024年5月1日 12:00", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("2024/05/01 12:00", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("2020/1/10 14:33:00", datetime(2020, 1, 10, 6, 33, tzinfo=UTC)),
        ("Wed, 01 May 2024 12:00:00 GMT+8", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("01/05/2024", None),
        ("下周三", None),
    ],
)
def test_cjk_dates_in_feeds(raw: str, expected: datetime | None) -> None:
    body = rss_document([{"title": "t", "link": "https://example.com/a", "pubDate": raw}])
    (item,) = parse_feed(body, feed_id="x").items
    assert item.published == expected


def test_ttl_from_channel() -> None:
    body = rss_document([], extra_channel="<ttl>60</ttl>")
    assert parse_feed(body, feed_id="x").ttl_seconds == 3600


def test_ttl_from_syndication_module() -> None:
    body = (
        rss_document([])
        .replace(
            b'<rss version="2.0">',
            b'<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">',
        )
        .replace(
            b"<description>test</description>",
            b"<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>",
        )
    )
    assert parse_feed(body, feed_id="x").ttl_seconds == 1800


def test_empty_feed_is_a_feed() -> None:
    feed = parse_feed(rss_document([], title="Quiet"), feed_id="x")
    assert feed.title == "Quiet" and feed.items == ()


def test_empty_body_is_refused() -> None:
    with pytest.raises(ParseError, match=r"empty"):
        parse_feed(b"  \n", feed_id="x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2020年 7月 4日", datetime(2020, 7, 4, tzinfo=UTC)),
        ("2024年5月1日 下午3:05", datetime(2024, 5, 1, 7, 5, tzinfo=UTC)),
        ("2024年05月01日 12:00 GMT+0", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2024-05-01T12:00:00+08:00", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("Wed, 01 May 2024 12:00:00 UTC+08:00", datetime(2024, 5, 1, 4, 0, tzinfo=UTC)),
        ("2024年13月01日", None),
        ("2024/02/30 10:00", None),
        ("04/07/2020 - 14:14", None),
        ("", None),
    ],
)
def test_parse_date(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2199, 12, 30)))
def test_cjk_dates_never_shift_the_calendar_day(when: datetime) -> None:
    day_only = parse_date(f"{when.year}年{when.month}月{when.day}日")
    assert day_only is not None and day_only.date() == when.date()
    stamp = f"{when.year}/{when.month:02d}/{when.day:02d} {when.hour}:{when.minute:02d}"
    read = parse_date(stamp)
    assert read is not None
    local = read.astimezone(CJK_DEFAULT_ZONE)
    assert (local.date(), local.hour, local.minute) == (when.date(), when.hour, when.minute)


def test_control_characters_are_dropped_from_titles() -> None:
    body = rss_document([{"title": "ab\x08cd\x1f", "link": "https://example.com/a"}])
    [item] = parse_feed(body, feed_id="x").items
    assert item.title == "abcd"
