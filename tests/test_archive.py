"""Relay-archive items: the three layouts, real defects, the shared archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.feeds.archive import read_archive_item

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ARCHIVE = SHARED / "data" / "archive"
SEED = SHARED / "seed" / "voa-2024-06-28.md"

SEED_LAYOUT = """<!--1593874013000-->
[世界新闻大事集锦 本周这些震撼画面不要错过](http://www.bbc.com/zhongwen/simp/world-53291598)
------

<div><i>Fri, 03 Jul 2020 18:12:46 GMT</i></div><p>body</p>
"""
JEKYLL_LAYOUT = """---
layout: post
title: "爱德华·萨义德及其反对者"
date: 2021-09-24T06:52:09.092Z
author: 蒂莫西·布伦南
---
<!--NaN-->
[爱德华·萨义德及其反对者](https://www.allnow.com/post/614d609cefa7ce3e3869cf97)
------

<div>
<p>作者丨蒂莫西·布伦南</p></div>
"""
CDT_LAYOUT = """[英俊的龅牙赵 | 这是在保护谁？](https://chinadigitaltimes.net/chinese/2020/06/x/)
------
日期：Fri, 19 Jun 2020 21:48:55 +0000

<p>01</p>
"""
NESTED = """<!--1594170071000-->
[[專題] 國安法 [下] 之後](https://www.rti.org.tw/news/view/id/2071441)
------

<div><i>KONEY BAI<br>2020年 7月 4日</i></div><p>x</p>
"""


def _write(tmp_path: Path, text: str, name: str = "item.md", feed: str = "bbc") -> Path:
    folder = tmp_path / feed
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_layout(tmp_path: Path) -> None:
    item = read_archive_item(_write(tmp_path, SEED_LAYOUT))
    assert item.title == "世界新闻大事集锦 本周这些震撼画面不要错过"
    assert item.link == "http://www.bbc.com/zhongwen/simp/world-53291598"
    assert item.published == datetime(2020, 7, 3, 18, 12, 46, tzinfo=UTC)
    assert item.feed_id == "bbc"
    assert item.key == "l:http://www.bbc.com/zhongwen/simp/world-53291598"
    assert item.content.startswith("<div><i>") and item.content.endswith("<p>body</p>")


def test_jekyll_front_matter_layout_with_nan_stamp(tmp_path: Path) -> None:
    item = read_archive_item(_write(tmp_path, JEKYLL_LAYOUT, feed="allnow"), feed_id="mine")
    assert item.title == "爱德华·萨义德及其反对者"
    assert item.link == "https://www.allnow.com/post/614d609cefa7ce3e3869cf97"
    assert item.published == datetime(2021, 9, 24, 6, 52, 9, 92000, tzinfo=UTC)
    assert item.author == "蒂莫西·布伦南"
    assert item.feed_id == "mine"
    assert "作者丨" in item.content


def test_cdt_layout_without_stamp(tmp_path: Path) -> None:
    item = read_archive_item(_write(tmp_path, CDT_LAYOUT, feed="cdt"))
    assert item.title == "英俊的龅牙赵 | 这是在保护谁？"
    assert item.published == datetime(2020, 6, 19, 21, 48, 55, tzinfo=UTC)
    assert item.content == "<p>01</p>"


def test_nested_brackets_and_author_before_cjk_date(tmp_path: Path) -> None:
    item = read_archive_item(_write(tmp_path, NESTED, feed="rti"))
    assert item.title == "[專題] 國安法 [下] 之後"
    assert item.link == "https://www.rti.org.tw/news/view/id/2071441"
    assert item.published == datetime(2020, 7, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("just some notes\n", "expected '[title](link)'"),
        ("[title](https://e.com/a)\nno rule line\n", "expected a '------' line"),
        ("---\ntitle: x\n", "never closed"),
        ("[title without link]\n------\n", "expected '[title](link)'"),
    ],
)
def test_unreadable_items_name_file_and_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = _write(tmp_path, text, name="broken.md")
    with pytest.raises(InputError) as info:
        read_archive_item(path)
    assert str(path) in str(info.value) and reason in str(info.value)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_archive_item(tmp_path / "nope.md")


def test_the_seed_item() -> None:
    if not SEED.is_file():
        pytest.skip("shared seed item not present")
    item = read_archive_item(SEED)
    assert item.title == "俄朝关系趋于密切或为美中两国创造机会"
    assert item.link == (
        "https://www.voachinese.com/a/"
        "closer-russia-north-korea-ties-may-create-opportunity-for-us-and-china-20240627/7676524.html"
    )
    assert item.published == datetime(2024, 6, 28, 0, 53, 3, tzinfo=UTC)
    assert "普京" in item.content


@pytest.mark.slow
def test_every_shared_archive_item_reads_as_indexed() -> None:
    index = ARCHIVE / "items.jsonl"
    if not index.is_file():
        pytest.skip("shared archive not present")
    layouts: set[str] = set()
    for line in index.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        record = json.loads(line)
        item = read_archive_item(ARCHIVE / record["file"])
        assert (item.title, item.link) == (record["title"], record["link"]), record["file"]
        assert item.feed_id == record["source"]
        if item.published is not None:
            assert 2000 <= item.published.year <= 2030, record["file"]
        layouts.add(record["format"])
    assert layouts == {"seed", "jekyll-frontmatter+seed", "seed-cdt-no-ts"}
