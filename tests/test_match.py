"""Matching semantics (DESIGN §4): one table row per point a rule author relies on."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.models import Hit, Item
from bot.rules.load import load_rules
from bot.rules.match import Matcher, compile_matcher

ENTITIES = """
entities:
  putin: {name: Vladimir Putin, aliases: [普京, 普丁, Vladimir Putin, Putin]}
  kim: {name: Kim Jong Un, aliases: [金正恩, Kim Jong Un]}
  us: {name: United States, aliases: [美国, {term: US, case: true}]}
"""

FEEDS = """
feeds:
  - {id: voa-zh, url: "https://feedx.net/rss/voa.xml", tags: [zh, us-media]}
  - {id: bbc-en, url: "https://feeds.bbci.co.uk/news/world/rss.xml", tags: [en]}
"""


def build(tmp_path: Path, topics: str) -> Matcher:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "base.yaml").write_text(ENTITIES + FEEDS, encoding="utf-8")
    (rules / "topics.yaml").write_text(textwrap.dedent(topics), encoding="utf-8")
    return compile_matcher(load_rules(rules).rules)


def run(m: Matcher, title: str = "", content: str = "", feed: str = "file") -> dict[str, list[Hit]]:
    result = m.match(Item(feed_id=feed, key="k", title=title, link="", content=content))
    return {t.topic_id: list(t.hits) for t in result.topics}


def one_term(term: str, fuzzy: str = "auto") -> str:
    return f"topics:\n  - {{id: t, any: [{term}], fuzzy: {fuzzy}}}\n"


# (id, term as written in YAML, content, matched text or None for no hit, edits)
TERM_CASES = [
    ("traditional-text-simplified-term", "台湾", "他訪問臺灣三天", "臺灣", 0),
    ("simplified-text-traditional-term", "習近平", "习近平表示", "习近平", 0),
    ("full-width-latin", "Trump", "ＴＲＵＭＰ　said", "ＴＲＵＭＰ", 0),
    ("zero-width-inside-name", "Putin", "Mr Pu\u200btin said", "Pu\u200btin", 0),
    ("soft-hyphen-inside-name", "Putin", "Mr Pu\u00adtin said", "Pu\u00adtin", 0),
    ("hyphenated-vs-spaced", "Kim Jong Un", "leader Kim Jong-un met", "Kim Jong-un", 0),
    ("spaced-vs-hyphenated", "Kim Jong-un", "leader Kim Jong Un met", "Kim Jong Un", 0),
    ("no-hit-inside-longer-word", "Trump", "a trumpet solo", None, 0),
    ("word-boundary-at-punctuation", "Trump", "(Trump)", "Trump", 0),
    ("case-insensitive-by-default", "trump", "TRUMP rally", "TRUMP", 0),
    ("case-sensitive-not-in-use", "{term: US, case: true}", "we use it", None, 0),
    ("case-sensitive-not-lowercase", "{term: US, case: true}", "tell us more", None, 0),
    ("case-sensitive-hits", "{term: US, case: true}", "the US said", "US", 0),
    ("latin-inside-chinese", "TikTok", "用户在TikTok上发布", "TikTok", 0),
    ("digits-need-boundaries", "G7", "the G77 group", None, 0),
    ("cjk-needs-no-boundary", "朝鲜", "北朝鲜半岛", "朝鲜", 0),
    ("cjk-is-never-fuzzy", "普京", "普丁说", None, 0),
    ("five-letters-exact", "Biden", "Bidan said", None, 0),
    ("six-letters-one-edit", "Pompeo", "Pompeu said", "Pompeu", 1),
    ("six-letters-not-two", "Pompeo", "Pampeu said", None, 0),
    ("swap-is-one-edit", "Pompeo", "Pompoe said", "Pompoe", 1),
    ("eleven-letters-one-edit", "Donald Trump", "Donld Trump won", "Donld Trump", 1),
    ("eleven-letters-not-two", "Donald Trump", "Donld Trmp won", None, 0),
    ("twelve-letters-two-edits", "Kamala Harris", "Kamla Haris won", "Kamla Haris", 2),
    ("twelve-letters-not-three", "Kamala Harris", "Kmla Haris won", None, 0),
    ("fuzzy-may-differ-in-spaces", "TikTok", "on tik tok today", "tik tok", 1),
    ("fuzzy-keeps-boundaries", "Pompeo", "Pompeoland", None, 0),
    ("fuzzy-off-per-term", "{term: Pompeo, fuzzy: 0}", "Pompeu said", None, 0),
    ("explicit-fuzzy-four-letters", "{term: Modi, fuzzy: 1}", "Mody said", "Mody", 1),
    ("explicit-fuzzy-two", "{term: Pompeo, fuzzy: 2}", "Pampeu said", "Pampeu", 2),
    ("explicit-fuzzy-too-short", "{term: Abe, fuzzy: 1}", "Abi said", None, 0),
    ("wildcard-suffix", "sanction*", "new sanctions on", "sanctions", 0),
    ("wildcard-bare-prefix", "sanction*", "a sanction.", "sanction", 0),
    ("wildcard-needs-left-boundary", "sanction*", "unsanctioned", None, 0),
    ("wildcard-never-fuzzy", "sanction*", "sanktions", None, 0),
    ("inline-tags-vanish", "Pompeo", "Pom<b>peo</b> said", "Pompeo", 0),
    ("block-tags-break-words", "{term: Pompeo, fuzzy: 0}", "<p>Pom</p><p>peo</p>", None, 0),
    ("relay-footer-ignored", "RSS", "正文<p>获取更多RSS：feedx</p>", None, 0),
    # Latin letters far into the BMP (saltillo, Egyptological ayin) are letters too.
    ("latin-letter-beyond-latin-1-is-no-boundary", "Poland", "ꞌpolnd news", None, 0),
    ("term-with-latin-letter-beyond-latin-1", "ꜥAmunra", "the ꜥamunrx cult", "ꜥamunrx", 1),
    ("plural-one-edit", "Pompeo", "the Pompeos said", "Pompeos", 1),
    ("one-edit-across-two-words", "Pompeo", "Pom peo said", "Pom peo", 1),
]


@pytest.mark.parametrize(
    ("term", "content", "matched", "edits"),
    [pytest.param(*case[1:], id=case[0]) for case in TERM_CASES],
)
def test_term(tmp_path: Path, term: str, content: str, matched: str | None, edits: int) -> None:
    hits = run(build(tmp_path, one_term(term)), content=content).get("t", [])
    if matched is None:
        assert hits == []
    else:
        assert [(h.matched, h.edits) for h in hits] == [(matched, edits)]


def test_topic_fuzzy_zero_turns_fuzzy_off(tmp_path: Path) -> None:
    m = build(tmp_path, one_term("Pompeo", fuzzy="0"))
    assert run(m, content="Pompeu said") == {}
    assert "t" in run(m, content="Pompeo said")


# (id, topic YAML, title, content, fires)
TOPIC_CASES = [
    ("any-one-hit", "any: [A1, B1]", "", "B1 only", True),
    ("any-and-all-need-both-all-missing", "any: [A1]\n    all: [B1]", "", "A1", False),
    ("any-and-all-need-both-any-missing", "any: [A1]\n    all: [B1]", "", "B1", False),
    ("any-and-all-both-hit", "any: [A1]\n    all: [B1]", "", "A1 B1", True),
    ("all-groups-or-inside", "all: [[A1, A2], B1]", "", "A2 B1", True),
    ("all-groups-and-across", "all: [[A1, A2], B1]", "", "A1 A2", False),
    ("none-vetoes", "any: [A1]\n    none: [V1]", "", "A1 V1", False),
    ("none-vetoes-from-title", "any: [A1]\n    none: [V1]", "V1", "A1", False),
    (
        "none-outside-fields-no-veto",
        "any: [A1]\n    none: [V1]\n    fields: [content]",
        "V1",
        "A1",
        True,
    ),
    ("none-term-field", "any: [A1]\n    none: [{term: V1, field: title}]", "", "A1 V1", True),
    ("fields-title-only", "any: [A1]\n    fields: [title]", "", "A1", False),
    ("fields-title-hit", "any: [A1]\n    fields: [title]", "A1", "", True),
    ("term-field-title", "any: [{term: A1, field: title}]", "", "A1", False),
    ("term-field-content", "any: [{term: A1, field: content}]", "", "A1", True),
    ("no-span-across-fields", "any: [Kim Jong Un]", "Kim", "Jong Un", False),
    ("near-within", "any: [{near: [A1, B1], within: 10}]", "", "A1 12345 B1", True),
    ("near-either-order", "any: [{near: [A1, B1], within: 10}]", "", "B1 12345 A1", True),
    ("near-too-far", "any: [{near: [A1, B1], within: 10}]", "", "A1 " + "x" * 20 + " B1", False),
    (
        "near-counts-normalized-chars",
        "any: [{near: [A1, B1], within: 3}]",
        "",
        "A1 \n\n  - B1",
        True,
    ),
    ("near-not-across-fields", "any: [{near: [A1, B1], within: 50}]", "A1", "B1", False),
    ("near-cjk", "any: [{near: [俄罗斯, 朝鲜], within: 4}]", "", "俄罗斯和朝鲜", True),
    ("near-entity", 'any: [{near: ["@putin", 条约], within: 5}]', "", "普丁簽署條約", True),
]


@pytest.mark.parametrize(
    ("body", "title", "content", "fires"),
    [pytest.param(*case[1:], id=case[0]) for case in TOPIC_CASES],
)
def test_topic(tmp_path: Path, body: str, title: str, content: str, fires: bool) -> None:
    m = build(tmp_path, f"topics:\n  - id: t\n    {body}\n")
    assert ("t" in run(m, title=title, content=content)) is fires


def test_entity_hit_names_alias_and_entity(tmp_path: Path) -> None:
    m = build(tmp_path, 'topics:\n  - {id: t, any: ["@putin"]}\n')
    hits = run(m, content="总统弗拉基米尔·普京(Vladmir Putin)")["t"]
    fuzzy = [h for h in hits if h.edits]
    assert [(h.term, h.entity, h.matched, h.edits) for h in fuzzy] == [
        ("Vladimir Putin", "putin", "Vladmir Putin", 1)
    ]
    assert ("普京", "putin", "普京") in [(h.term, h.entity, h.matched) for h in hits]


def test_hits_strongest_first(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: t, any: [Pompeo, 制裁]}\n")
    hits = run(m, title="谈制裁", content="Pompeu met Pompeo; 制裁")["t"]
    assert [(h.field, h.matched) for h in hits] == [
        ("title", "制裁"),
        ("content", "Pompeo"),
        ("content", "制裁"),
        ("content", "Pompeu"),
    ]


def test_hit_offsets_point_into_plain_text(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: t, any: [Pompeo]}\n")
    item = Item("f", "k", "title", "", "<p>国务卿</p><p>Pom<i>peo</i>表示</p>")
    result = m.match(item)
    (hit,) = result.topics[0].hits
    assert result.plain["content"] == "国务卿\nPompeo表示"
    assert result.plain["content"][hit.start : hit.end] == "Pompeo"


def test_topics_in_rule_file_order(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: z, any: [B1]}\n  - {id: a, any: [A1]}\n")
    assert list(run(m, content="A1 B1")) == ["z", "a"]


def test_only_requested_topics(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: z, any: [B1]}\n  - {id: a, any: [A1]}\n")
    item = Item("f", "k", "", "", "A1 B1")
    assert [t.topic_id for t in m.match(item, topics={"a"}).topics] == ["a"]


SCOPED = 'topics:\n  - {id: t, any: [A1], feeds: [voa-zh, "#en"]}\n'


@pytest.mark.parametrize(
    ("feed", "tags", "fires"),
    [
        pytest.param("voa-zh", (), True, id="listed-feed"),
        pytest.param("bbc-en", (), True, id="feed-with-listed-tag"),
        pytest.param("other", ("en",), True, id="tag-given-by-caller"),
        pytest.param("other", ("zh",), False, id="unlisted-tag-given-by-caller"),
        pytest.param("dry-run-file", (), True, id="unknown-feed-scope-ignored"),
    ],
)
def test_feed_scope(tmp_path: Path, feed: str, tags: tuple[str, ...], fires: bool) -> None:
    m = build(tmp_path, SCOPED)
    item = Item(feed, "k", "", "", "A1")
    assert bool(m.match(item, feed_tags=tags).topics) is fires


def test_known_feed_outside_scope(tmp_path: Path) -> None:
    m = build(tmp_path, 'topics:\n  - {id: t, any: [A1], feeds: ["#us-media"]}\n')
    assert run(m, content="A1", feed="bbc-en") == {}
    assert "t" in run(m, content="A1", feed="voa-zh")


def test_one_fuzzy_setting_per_topic(tmp_path: Path) -> None:
    m = build(
        tmp_path, "topics:\n  - {id: a, any: [Pompeo]}\n  - {id: b, any: [Pompeo], fuzzy: 0}\n"
    )
    assert list(run(m, content="Pompeu said")) == ["a"]


def test_case_sensitive_fuzzy_term(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: t, any: [{term: Pompeo, case: true, fuzzy: 1}]}\n")
    assert [h.matched for h in run(m, content="Mr Pompeu said")["t"]] == ["Pompeu"]
    assert run(m, content="mr pompeu said") == {}


def test_huge_repetitive_body_is_bounded(tmp_path: Path) -> None:
    m = build(tmp_path, "topics:\n  - {id: t, any: [aaaaaa, 哈哈]}\n")
    item = Item("f", "k", "", "", "aaaaa " * 20_000 + "哈" * 100_000)
    result = m.match(item)
    assert len(result.plain["content"]) == 200_000
    hits = result.topics[0].hits
    assert {h.matched for h in hits} == {"哈哈", "aaaaa"}
    assert max(h.end for h in hits) == 200_000


def test_lone_surrogates_in_a_feed_do_not_stop_matching(tmp_path: Path) -> None:
    # json.loads turns "\\ud800" into a lone surrogate, which cannot be encoded.
    m = build(tmp_path, "topics:\n  - {id: t, any: [{term: US, case: true}, 美国, Pompeo]}\n")
    result = m.match(
        Item(feed_id="f", key="k", title="US \ud800 美国", link="", content="<p>\udfff Pompeu</p>")
    )
    [topic] = result.topics
    assert sorted(h.matched for h in topic.hits) == ["Pompeu", "US", "美国"]
    for hit in topic.hits:
        assert result.plain[hit.field][hit.start : hit.end] == hit.matched
