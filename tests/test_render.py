"""Rendering alerts: escaped, valid for Telegram's HTML parser, within 4,096 units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import Field, Hit, Item, Message, TopicMatch
from bot.telegram import render_topic as render_module
from bot.telegram.protocol import find_topic, topic_ref
from bot.telegram.render import (
    DigestLine,
    hashtag,
    render_alert,
    render_digest,
    utf16_len,
    with_also,
)
from bot.telegram.replies import Doc
from tests.fakes.telegram_html import parse_html

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOSTILE = (
    'R&D <b>Q3</b> "results" & <unmatched &amp; \u200f\u202eRTL 🚀👨\u200d👩\u200d👧 \x00\ud800'
)


def make_item(
    title: str = "标题", link: str = "https://example.com/a?x=1&y='2'", **kw: object
) -> Item:
    fields: dict[str, object] = {
        "feed_id": "voa",
        "key": "k1",
        "title": title,
        "link": link,
        "content": "",
        "published": datetime(2024, 6, 28, 0, 53, 3, tzinfo=UTC),
    }
    fields.update(kw)
    return Item(**fields)  # type: ignore[arg-type]


def content_hit(content: str, word: str, **kw: object) -> Hit:
    start = content.index(word)
    values: dict[str, object] = {
        "term": word,
        "entity": None,
        "matched": word,
        "field": "content",
        "edits": 0,
        "start": start,
        "end": start + len(word),
    }
    values.update(kw)
    return Hit(**values)  # type: ignore[arg-type]


def render(
    item: Item,
    content: str,
    hits: list[Hit],
    *,
    topic_name: str = "俄朝关系",
    feed: str = "VOA 中文",
    **kw: object,
) -> Message:
    plain: dict[Field, str] = {"title": item.title, "content": content}
    return render_alert(
        item=item,
        topic_id="russia-dprk",
        topic_name=topic_name,
        feed_name=feed,
        match=TopicMatch("russia-dprk", tuple(hits)),
        plain=plain,
        tz=SHANGHAI,
        **kw,  # type: ignore[arg-type]
    )


def assert_telegram_accepts(message: Message) -> None:
    parsed = parse_html(message.text)  # raises where Telegram would refuse
    assert parsed.text == message.plain
    assert utf16_len(message.plain) <= 4096


def test_alert_layout() -> None:
    content = "专家表示，协议可能带来机会。\n在峰会上，普京和金正恩签署了条约。"
    hit = content_hit(content, "普京", entity="putin", term="普京")
    fuzzy = content_hit(content, "条约", term="条例", edits=1)
    message = render(make_item(title="俄朝关系趋于密切"), content, [hit, fuzzy])
    assert_telegram_accepts(message)
    lines = message.plain.split("\n")
    assert lines[0] == "🔔 俄朝关系"
    assert lines[1] == "VOA 中文 · 2024-06-28 08:53 CST"
    assert lines[2] == "俄朝关系趋于密切"
    assert "<b>普京</b>" in message.text
    assert "普京 (@putin · content)" in message.plain
    assert "条例 → 条约 (content · 1 edit)" in message.plain
    assert lines[-1] == "#russia_dprk"
    assert '<a href="https://example.com/a?x=1&amp;y=&#x27;2&#x27;">' in message.text


def test_buttons_open_the_link_and_mute_the_topic() -> None:
    message = render(make_item(), "正文。", [])
    assert [[b.text for b in row] for row in message.buttons] == [["🔗 Open"], ["🔕 Mute topic"]]
    assert message.buttons[0][0].url == "https://example.com/a?x=1&y='2'"
    assert message.buttons[1][0].callback_data == "mute:russia-dprk"


def test_a_link_telegram_would_refuse_is_not_linked() -> None:
    message = render(make_item(link="javascript:alert(1)"), "正文。", [])
    assert "<a " not in message.text
    assert [b.callback_data for row in message.buttons for b in row] == ["mute:russia-dprk"]


def test_missing_publication_time_is_left_out() -> None:
    message = render(make_item(published=None), "正文。", [])
    assert message.plain.split("\n")[1] == "VOA 中文"


def test_hostile_values_are_escaped_everywhere() -> None:
    content = f"{HOSTILE} 普京 said. Another."
    hit = content_hit(content, "普京", term='<i>"putin"</i>', matched="普京")
    message = render(
        make_item(title=HOSTILE, link="https://x.org/?q=<b>&a='1'"),
        content,
        [hit],
        topic_name=HOSTILE,
        feed=HOSTILE,
    )
    assert_telegram_accepts(message)
    assert "R&D <b>Q3</b>" in message.plain  # shown literally, never interpreted
    assert "\x00" not in message.text and "\ud800" not in message.text
    assert "<unmatched" not in message.text


def test_five_thousand_chinese_characters_fit() -> None:
    content = "中" * 5000
    hit = Hit("中", None, "中", "content", 0, 2500, 2501)
    message = render(make_item(title="长" * 5000), content, [hit] * 40, max_summary=3000)
    assert_telegram_accepts(message)
    assert "+0 more" not in message.plain


def test_emoji_heavy_summary_is_shortened_to_fit() -> None:
    content = "🚀" * 3000 + "。"
    message = render(make_item(title="🚀" * 600), content, [], max_summary=3000)
    assert_telegram_accepts(message)
    assert len(message.plain) < 4096 // 2 + 200  # every emoji counts twice


def test_why_is_deduplicated_and_capped() -> None:
    content = "Putin, putin, PUTIN; Kim Xi Lee Moon Abe Biden."
    hits = [content_hit(content, "Putin")] + [
        content_hit(content, w) for w in ["Kim", "Xi", "Lee", "Moon", "Abe", "Biden"]
    ]
    hits.insert(1, content_hit(content, "Putin"))
    message = render(make_item(), content, hits)
    why_line = next(line for line in message.plain.split("\n") if line.startswith("Why:"))
    assert why_line.count("Putin") == 1
    assert why_line.endswith("; +2 more")


@pytest.mark.parametrize(
    ("topic_id", "tag"),
    [
        ("russia-dprk", "#russia_dprk"),
        ("a--b__c", "#a_b__c"),
        ("2024", "#topic_2024"),
        ("中文-topic", "#topic"),
    ],
)
def test_hashtag_allows_letters_digits_underscore(topic_id: str, tag: str) -> None:
    assert hashtag(topic_id) == tag


def test_long_topic_id_keeps_callback_data_within_64_bytes() -> None:
    message = render_alert(
        item=make_item(),
        topic_id="t" * 100,
        topic_name="T",
        feed_name="F",
        match=TopicMatch("t" * 100, ()),
        plain={"title": "", "content": ""},
        tz=SHANGHAI,
    )
    data = message.buttons[-1][0].callback_data
    assert data is not None and len(data.encode()) <= 64


@settings(max_examples=60, deadline=None)
@given(title=st.text(max_size=300), content=st.text(max_size=3000), name=st.text(max_size=50))
def test_any_input_renders_to_html_telegram_accepts(title: str, content: str, name: str) -> None:
    hits = []
    if content:
        hits.append(Hit("x", "e<>", content[:1], "content", 2, 0, 1))
    message = render(make_item(title=title), content, hits, topic_name=name, feed=name)
    assert_telegram_accepts(message)


def test_non_ascii_links_are_percent_encoded_once() -> None:
    message = render(make_item(link="https://example.com/新闻/a%20b?q=普京"), "正文。", [])
    url = message.buttons[0][0].url
    assert url == "https://example.com/%E6%96%B0%E9%97%BB/a%20b?q=%E6%99%AE%E4%BA%AC"
    assert f'<a href="{url}">' in message.text


@pytest.fixture
def finite(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail, rather than hang, when rendering keeps recomposing the alert."""
    calls = 0
    compose = render_module._compose

    def counted(*args: Any) -> Message:
        nonlocal calls
        calls += 1
        assert calls < 50, "render_alert keeps recomposing the alert"
        return compose(*args)

    monkeypatch.setattr(render_module, "_compose", counted)


@pytest.mark.usefixtures("finite")
def test_absurdly_long_ids_and_names_still_render_within_the_limit() -> None:
    long_id = "t" * 4100
    content = "普京 " + "中" * 5000
    hits = [content_hit(content, "普京", entity="e" * 4100 + str(n)) for n in range(6)]
    message = render_alert(
        item=make_item(title="🚀" * 5000),
        topic_id=long_id,
        topic_name="名" * 5000,
        feed_name="F" * 5000,
        match=TopicMatch(long_id, tuple(hits)),
        plain={"title": "", "content": content},
        tz=SHANGHAI,
    )
    assert_telegram_accepts(message)
    assert "e" * 100 not in message.plain  # entity ids in "Why" are capped too
    data = message.buttons[-1][0].callback_data
    assert data is not None and len(data.encode()) <= 64


@pytest.mark.usefixtures("finite")
def test_an_empty_topic_name_falls_back_to_a_capped_id() -> None:
    message = render_alert(
        item=make_item(feed_id="f" * 5000),
        topic_id="t" * 5000,
        topic_name="",
        feed_name="",
        match=TopicMatch("t" * 5000, ()),
        plain={"title": "", "content": ""},
        tz=SHANGHAI,
    )
    assert_telegram_accepts(message)
    assert utf16_len(message.plain) < 500


@pytest.mark.parametrize(
    ("parts", "gone"),
    [
        ({"why": "w" * 5000}, "Why:"),
        ({"why": "w" * 5000, "tag": "#" + "t" * 5000}, "#ttt"),
        ({"why": "🚀" * 3000, "tag": "#" + "t" * 5000, "topic_name": "&<" * 3000}, "<b>"),
    ],
    ids=["why-left-out", "hashtag-left-out", "plain-text-cut"],
)
def test_a_message_too_long_without_summary_loses_its_extras(
    parts: dict[str, str], gone: str
) -> None:
    # Parts longer than render_alert ever makes them: the later cuts still end in a fit.
    fields: dict[str, str | None] = {
        "topic_name": "T",
        "feed_name": "F",
        "when": None,
        "title": "title",
        "link": None,
        "why": "",
        "tag": "#t",
    }
    fields.update(parts)
    too_long = render_module._Parts(**fields)  # type: ignore[arg-type]
    message = render_module._fit_without_summary(too_long, "t")
    assert_telegram_accepts(message)
    assert gone not in message.text
    assert message.buttons[-1][0].callback_data == "mute:t"


@pytest.mark.parametrize("topic_id", ["a" * 59, "a" * 64, "普" * 30])
def test_mute_data_of_a_long_id_is_a_digest_of_the_whole_id(topic_id: str) -> None:
    data = render_module._mute_data(topic_id)
    assert len(data.encode()) <= 64
    assert data == f"mute:{topic_ref(topic_id)}" and data.startswith("mute:~")
    assert find_topic(data.removeprefix("mute:"), [topic_id[:-1] + "b", topic_id]) == topic_id


BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_bidirectional_overrides_never_reach_telegram() -> None:
    # "Invoice for \u202egpj.exe" shows as "Invoice for exe.jpg": an override reorders the
    # rest of its line, so a title could disguise itself, its link or its source.
    title = "Putin wins \u202e!tnemesaeler sserp\u202c vote \u2067ביבי\u2069 (\u202dreal\u202c)"
    content = f"普京\u202e赢得\u202c选举。{BIDI_CONTROLS}Another\u2066 sentence."
    hit = content_hit(content, "普京")
    message = render(make_item(title=title), content, [hit], feed=f"VOA{BIDI_CONTROLS} 中文")
    also = with_also(message, [("RFA\u202e", "https://rfa.example/a")])
    digest = render_digest(
        [DigestLine("russia-dprk", "俄朝", title, "https://x.example/a", "Feed\u202e")],
        when=datetime(2024, 6, 28, tzinfo=UTC),
        tz=SHANGHAI,
    )
    reply = Doc().bold(title).add(content).message()
    for shown in (message, also, *digest, reply):
        assert_telegram_accepts(shown)
        assert not any(ch in shown.text or ch in shown.plain for ch in BIDI_CONTROLS)
    assert "Putin wins !tnemesaeler sserp vote ביבי (real)" in message.plain
    assert "<b>普京</b>赢得选举。" in message.text
    # Marks that only set the direction of neighbouring punctuation stay: Arabic and
    # Hebrew text needs them.
    marked = render(make_item(title="שלום\u200f!"), "正文。", [])
    assert "שלום\u200f!" in marked.plain
