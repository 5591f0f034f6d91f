"""Extractive summaries: the hit's sentence in bold, the lead, boilerplate out, length kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import Field, Hit
from bot.text.summarize import Summary, summarize

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEED = SHARED / "seed" / "voa-2024-06-28.md"
ARCHIVE = SHARED / "data" / "archive" / "items.jsonl"


def to_text(html_body: str) -> str:
    try:
        from bot.text.html import html_to_text
    except ImportError:  # the HTML stage may not be there; a crude stripper serves the test
        text = re.sub(r"<(br|/p|/div|p|div)[^>]*>", "\n", html_body, flags=re.I)
        return re.sub(r"<[^>]+>", "", text)
    return html_to_text(html_body)


def hit_at(content: str, word: str, nth: int = 0, field: Field = "content") -> Hit:
    start = -1
    for _ in range(nth + 1):
        start = content.index(word, start + 1)
    return Hit(
        term=word,
        entity=None,
        matched=word,
        field=field,
        edits=0,
        start=start,
        end=start + len(word),
    )


def bolded(summary: Summary) -> list[str]:
    return [summary.text[start:end] for start, end in summary.bold]


def seed_content() -> str:
    if not SEED.exists():
        pytest.skip("shared seed item not available")
    return to_text(SEED.read_text(encoding="utf-8").split("------", 1)[1])


def test_seed_item_summary_holds_the_hit_sentence_and_the_lead() -> None:
    content = seed_content()
    hits = [hit_at(content, "普京", 0), hit_at(content, "金正恩", 1), hit_at(content, "普京", 1)]
    summary = summarize({"title": "俄朝关系趋于密切或为美中两国创造机会", "content": content}, hits)
    assert len(summary.text) <= 600
    assert summary.text.startswith("专家表示")  # the lead, not the photo caption above it
    assert "签署了一项全面战略伙伴关系条约" in summary.text
    assert bolded(summary) == ["普京", "金正恩"]
    assert "GMT" not in summary.text and "会谈。" not in summary.text


def test_lead_alone_when_only_the_title_hit() -> None:
    content = "首段介绍了背景情况。\n第二段说了别的事情。"
    title_hit = Hit("背景", None, "背景", "title", 0, 0, 2)
    summary = summarize({"title": "背景", "content": content}, [title_hit])
    assert summary.text == "首段介绍了背景情况。"
    assert summary.bold == ()


def test_lead_that_repeats_the_title_is_skipped() -> None:
    content = (
        "Russia and North Korea sign pact\nThe leaders met in Pyongyang on Wednesday. Putin smiled."
    )
    summary = summarize(
        {"title": "Russia and North Korea sign pact", "content": content},
        [hit_at(content, "Putin")],
    )
    assert summary.text == "The leaders met in Pyongyang on Wednesday. Putin smiled."
    assert bolded(summary) == ["Putin"]


def test_boilerplate_lines_are_never_summary() -> None:
    content = (
        "图片来源：路透社 资料照片\n点击这里订阅我们的频道\n\n"
        "外交部长今天访问了北京。\n他在会谈中提到了贸易问题。\nClick here to read more"
    )
    summary = summarize({"title": "", "content": content}, [hit_at(content, "贸易")])
    assert summary.text == "外交部长今天访问了北京。他在会谈中提到了贸易问题。"
    assert bolded(summary) == ["贸易"]


def test_distant_sentences_are_joined_with_an_ellipsis() -> None:
    content = "Lead sentence is here. Middle sentence. Another one.\nFinal words about Kim today."
    summary = summarize({"title": "", "content": content}, [hit_at(content, "Kim")])
    assert summary.text == "Lead sentence is here. … Final words about Kim today."


def test_long_sentence_is_cut_around_the_hit_at_word_boundaries() -> None:
    content = (
        " ".join(f"word{i}" for i in range(600)) + " Putin " + " ".join("tail" for _ in range(200))
    )
    summary = summarize(
        {"title": "", "content": content}, [hit_at(content, "Putin")], max_chars=200
    )
    assert len(summary.text) <= 200
    assert summary.text.startswith("…") and summary.text.endswith("…")
    assert bolded(summary) == ["Putin"]
    words = summary.text.strip("…").split()
    assert all(re.fullmatch(r"word\d+|Putin|tail", w) for w in words)  # no word cut in half


def test_long_chinese_body_stays_within_the_limit() -> None:
    content = "。".join(["这是一个很长的句子" * 30] * 20) + "。"
    at = content.index("句子", 4000)
    hit = Hit("句子", None, "句子", "content", 0, at, at + 2)
    summary = summarize({"title": "", "content": content}, [hit], max_chars=600)
    assert 0 < len(summary.text) <= 600
    assert bolded(summary) == ["句子"]


def test_cut_never_splits_an_emoji_sequence() -> None:
    family = "👨\u200d👩\u200d👧"
    content = "开头" + family * 400
    summary = summarize({"title": "", "content": content}, [], max_chars=50)
    assert len(summary.text) <= 50
    body = summary.text.removesuffix("…").removeprefix("开头")
    assert body == family * (len(body) // len(family))


def test_empty_content_gives_an_empty_summary() -> None:
    assert summarize({"title": "Only a title", "content": ""}, []) == Summary("")


@given(
    st.text(alphabet=st.sampled_from(list("ab 中文。.!?\n👍é")), max_size=400),
    st.integers(min_value=2, max_value=120),
    st.data(),
)
def test_any_text_any_hits_within_limits(content: str, limit: int, data: st.DataObject) -> None:
    hits = []
    for _ in range(data.draw(st.integers(0, 3))):
        if content:
            start = data.draw(st.integers(0, len(content) - 1))
            end = data.draw(st.integers(start + 1, len(content)))
            hits.append(Hit("t", None, content[start:end], "content", 0, start, end))
    summary = summarize({"title": "", "content": content}, hits, max_chars=limit)
    assert len(summary.text) <= limit
    for start, end in summary.bold:
        assert 0 <= start < end <= len(summary.text)


@pytest.mark.slow
def test_archive_items_summarise_within_600_characters() -> None:
    if not ARCHIVE.exists():
        pytest.skip("shared archive not available")
    checked = 0
    with ARCHIVE.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            content = to_text(record.get("html") or "")
            words = re.findall(r"[\u4e00-\u9fff]{2}|[A-Za-z]{4,}", content)
            if not words:
                continue
            word = words[len(words) * 2 // 3]
            hit = hit_at(content, word, content.count(word, 0, content.rindex(word)) // 2)
            summary = summarize({"title": record["title"], "content": content}, [hit])
            assert len(summary.text) <= 600, record["file"]
            assert "获取更多RSS" not in summary.text, record["file"]
            assert all(summary.text[s:e] in word for s, e in summary.bold), record["file"]
            checked += 1
    assert checked > 500


def test_timestamps_bylines_and_credits_are_not_the_lead() -> None:
    content = (
        "ALAN FEUER,ALAN FEUER\n2020-07-08 15:38:28\n2020-07-20T01:26:12.447Z\n"
        "会谈现场。Francois Walschaerts/Pool via REUTERS\n"
        "（欢迎点击此处订阅NYT简报。）\n"
        "特朗普的侄女计划下周出版一本家族回忆录。\n据报道，回忆录描述了特朗普家族的往事。"
    )
    summary = summarize({"title": "", "content": content}, [hit_at(content, "家族", 1)])
    assert (
        summary.text
        == "特朗普的侄女计划下周出版一本家族回忆录。据报道，回忆录描述了特朗普家族的往事。"
    )
