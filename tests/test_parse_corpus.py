"""Chinese encodings and dates in the shared corpus.

That every file of the corpus parses to items or a clear error is checked, through the
real fetcher, by ``tests/test_peer_feeds.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feeds.parse import parse_feed

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FEEDS = SHARED / "data" / "feeds"


@pytest.mark.parametrize(
    "name",
    [
        "build_feed_2020-07.gb18030-declared-gb2312.xml",
        "build_feed_2020-07.gbk.xml",
        "by_tag_Matters_2025-02.big5.xml",
        "by_tag_Matters_2025-02.big5-nodecl.xml",
    ],
)
def test_derived_encodings_match_the_utf8_original(name: str) -> None:
    folder = FEEDS / "derived-encodings"
    original = FEEDS / "nodebe4-oped2-jekyll-feeds" / (name.split(".")[0] + ".xml")
    if not folder.is_dir() or not original.is_file():
        pytest.skip("shared feed corpus not present")
    want = parse_feed(original.read_bytes(), feed_id="x")
    got = parse_feed((folder / name).read_bytes(), feed_id="x")
    assert [i.title for i in got.items] == [i.title for i in want.items]
    # Characters Big5 lacks were re-encoded as &#NNNN; references, so bodies differ there.
    assert not any("\ufffd" in i.content for i in got.items)
    assert [len(i.content) > 0 for i in got.items] == [len(i.content) > 0 for i in want.items]
    assert got.title == want.title


def test_gb2312_feed_with_slashed_dates() -> None:
    path = FEEDS / "rsparser-netnewswire" / "Tests" / "RSParserTests" / "Resources" / "kc0011.rss"
    if not path.is_file():
        pytest.skip("shared feed corpus not present")
    feed = parse_feed(path.read_bytes(), feed_id="kc")
    first = feed.items[0]
    assert first.title == "建国35周年纪念，华表，和平鸽"
    assert first.published is not None
    assert (first.published.year, first.published.month, first.published.day) == (2020, 1, 10)
