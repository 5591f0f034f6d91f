"""End to end, through the real command line: feeds served locally, a fake Telegram Bot API.

The seed item (a VOA Chinese article on Russia–North Korea ties) is served as an RSS feed;
``mediabot once`` must deliver exactly one alert for it to the topic's channel, and a second
``once`` must send nothing new.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.fakes.feedserver import FeedServer, archive_item_rss, rss_document
from tests.fakes.telegram import FakeTelegram

TOPIC = "russia-dprk"
TOPIC_NAME = "俄朝关系 · Russia–North Korea"
CHANNEL = "@mediabot_demo"
SEED_TITLE = "俄朝关系趋于密切或为美中两国创造机会"
SEED_LINK = (
    "https://www.voachinese.com/a/closer-russia-north-korea-ties-may-create-opportunity-"
    "for-us-and-china-20240627/7676524.html"
)


def write_feeds(rules: Path, feeds: dict[str, str]) -> None:
    lines = ["feeds:"]
    for fid, url in feeds.items():
        lines += [f"  - id: {fid}", f"    url: {url}", f"    name: Feed {fid}"]
    (rules / "feeds.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def telegram_env(tg: FakeTelegram) -> dict[str, str]:
    return {"MEDIABOT_TELEGRAM_TOKEN": tg.token, "MEDIABOT_TELEGRAM_API_URL": tg.url}


@pytest.fixture
def seed_feed(feed_server: FeedServer, seed_path: Path, shipped_rules: Path) -> Path:
    feed_server.route("/voa.xml", archive_item_rss(seed_path, title="VOA relay"))
    write_feeds(shipped_rules, {"voa-zh": feed_server.url("/voa.xml")})
    return shipped_rules


def base_env(rules: Path) -> dict[str, str]:
    return {
        "MEDIABOT_RULES_DIR": str(rules),
        "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true",
        "MEDIABOT_BACKFILL": "5",
        "MEDIABOT_TIMEZONE": "Asia/Shanghai",
    }


def test_seed_item_alerts_once_through_telegram(
    cli: Cli, seed_feed: Path, telegram: FakeTelegram
) -> None:
    env = {**base_env(seed_feed), **telegram_env(telegram)}
    first = cli("once", **env)
    assert first.returncode == 0, first.stderr

    alerts = [m for m in telegram.messages(CHANNEL) if TOPIC_NAME in m.text]
    assert len(alerts) == 1, [m.text for m in telegram.messages()]
    alert = alerts[0]
    assert SEED_TITLE in alert.text
    assert alert.parse_mode == "HTML"
    assert f'href="{SEED_LINK}"' in alert.source  # the title links to the item
    assert "普京" in alert.text and "金正恩" in alert.text  # the hits are explained
    assert "#russia_dprk" in alert.text
    assert "2024-06-28 08:53" in alert.text  # published time in Asia/Shanghai
    assert telegram.token not in first.stdout + first.stderr

    before = len(telegram.messages())
    second = cli("once", **env)
    assert second.returncode == 0, second.stderr
    assert len(telegram.messages()) == before, "a second poll must send nothing new"


def test_without_token_alerts_print_to_stdout(cli: Cli, seed_feed: Path) -> None:
    result = cli("once", **base_env(seed_feed))
    assert result.returncode == 0, result.stderr
    assert SEED_TITLE in result.stdout
    assert TOPIC_NAME in result.stdout
    assert SEED_LINK in result.stdout
    again = cli("once", **base_env(seed_feed))
    assert SEED_TITLE not in again.stdout


def test_new_feed_starts_quietly_by_default(cli: Cli, seed_feed: Path) -> None:
    env = base_env(seed_feed)
    env.pop("MEDIABOT_BACKFILL")
    result = cli("once", **env)
    assert result.returncode == 0, result.stderr
    assert SEED_TITLE not in result.stdout, "backfill 0: the first poll only marks items seen"


def test_failing_feed_is_reported_and_others_still_polled(
    cli: Cli, feed_server: FeedServer, seed_path: Path, shipped_rules: Path
) -> None:
    feed_server.route("/voa.xml", archive_item_rss(seed_path))
    feed_server.route("/gone.xml", b"not here", status=404, content_type="text/plain")
    write_feeds(
        shipped_rules,
        {"gone": feed_server.url("/gone.xml"), "voa-zh": feed_server.url("/voa.xml")},
    )
    result = cli("once", **base_env(shipped_rules))
    assert result.returncode == 1, "a failed feed makes `once` exit 1"
    assert "feed_poll_failed" in result.stderr and "gone" in result.stderr
    assert "404" in result.stderr
    assert SEED_TITLE in result.stdout, "the healthy feed was still polled and alerted"


def test_items_seen_across_polls_alert_only_when_new(
    cli: Cli, feed_server: FeedServer, shipped_rules: Path
) -> None:
    old = {"title": "天气预报", "link": "https://example.com/weather", "description": "晴"}
    route = feed_server.route("/f.xml", rss_document([old]))
    write_feeds(shipped_rules, {"f": feed_server.url("/f.xml")})
    env = {**base_env(shipped_rules), "MEDIABOT_BACKFILL": "0"}
    assert cli("once", **env).returncode == 0
    new = {
        "title": "普京与金正恩在平壤签署条约",
        "link": "https://example.com/treaty?utm_source=rss",
        "description": "<p>俄罗斯总统普京和朝鲜领导人金正恩签署全面战略伙伴关系条约。</p>",
    }
    route.body = rss_document([new, old])
    result = cli("once", **env)
    assert result.returncode == 0, result.stderr
    assert "普京与金正恩在平壤签署条约" in result.stdout
    assert "天气预报" not in result.stdout


def test_match_seed_jsonl(cli: Cli, seed_path: Path) -> None:
    rules = Path(__file__).resolve().parents[1] / "rules"
    result = cli("match", str(seed_path), "--format", "jsonl", "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    row = next(r for r in rows if r["topic"] == TOPIC)
    assert row["link"] == SEED_LINK and row["id"] == SEED_LINK
    assert row["title"] == SEED_TITLE
    hits = {(h["term"], h["matched"], h["edits"]) for h in row["hits"]}
    assert ("普京", "普京", 0) in hits
    assert ("Vladimir Putin", "Vladmir Putin", 1) in hits
    assert all(set(h) == {"term", "entity", "matched", "field", "edits"} for h in row["hits"])


def test_match_reports_unreadable_items_and_goes_on(cli: Cli, tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[1] / "rules"
    jsonl = tmp_path / "items.jsonl"
    good = {
        "id": "a1",
        "title": "普丁訪問平壤 與金正恩會談",
        "link": "https://x/a1",
        "content": "朝鮮",
    }
    # ids are reported as given, whatever they look like
    records = [good, {**good, "id": "h:1"}, {**good, "id": 42}]
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    jsonl.write_text("\n".join(lines) + "\n{not json\n", encoding="utf-8")
    result = cli(
        "match",
        str(jsonl),
        str(tmp_path / "missing.xml"),
        "--format",
        "jsonl",
        "--rules",
        str(rules),
    )
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    fired = [r["id"] for r in rows if r["topic"] == TOPIC]  # Traditional text, Simplified rules
    assert fired == ["a1", "h:1", 42]
    # one line per unreadable file, with the count and the first lines' reasons
    (bad,) = [line for line in result.stderr.splitlines() if "items.jsonl" in line]
    assert "1 of 4 lines unreadable, skipped (line 4: invalid JSON" in bad
    assert "missing.xml" in result.stderr


def test_config_redacts_the_token(cli: Cli) -> None:
    result = cli("config", MEDIABOT_TELEGRAM_TOKEN="123:very-secret")
    assert result.returncode == 0
    assert "very-secret" not in result.stdout
    assert "MEDIABOT_TELEGRAM_TOKEN=**********" in result.stdout


def test_invalid_setting_is_a_clear_error(cli: Cli) -> None:
    result = cli("config", MEDIABOT_TIMEZONE="Mars/Olympus", MEDIABOT_BACKFILL="-1")
    assert result.returncode == 2
    assert "MEDIABOT_TIMEZONE" in result.stderr and "MEDIABOT_BACKFILL" in result.stderr


def test_unusable_database_is_a_clear_start_up_error(cli: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be", encoding="utf-8")
    rules = Path(__file__).resolve().parents[1] / "rules"
    result = cli(
        "once",
        MEDIABOT_RULES_DIR=str(rules),
        MEDIABOT_DATABASE_URL=f"sqlite:///{blocker}/mediabot.db",
    )
    assert result.returncode == 1
    assert "mediabot:" in result.stderr and "not-a-dir" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_match_reads_every_archive_item(cli: Cli, archive_dir: Path) -> None:
    rules = Path(__file__).resolve().parents[1] / "rules"
    result = cli("match", str(archive_dir / "items"), "--format", "jsonl", "--rules", str(rules))
    assert result.returncode == 0
    unreadable = [line for line in result.stderr.splitlines() if line.startswith("mediabot match:")]
    assert unreadable == []
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) > 100  # the shipped topics fire on real news
    assert {r["topic"] for r in rows} >= {"russia-dprk", "us-china", "hong-kong-nsl"}


def test_match_reads_a_rules_feed_url_as_that_feed(
    cli: Cli, feed_server: FeedServer, tmp_path: Path
) -> None:
    body = rss_document([{"title": "普京访问平壤", "link": "https://x/1", "description": "朝鲜"}])
    feed_server.route("/known.xml", body)
    feed_server.route("/other.xml", body)
    rules = tmp_path / "scoped"
    rules.mkdir()
    (rules / "rules.yaml").write_text(
        f"feeds:\n  - {{id: known, url: '{feed_server.url('/known.xml')}', tags: [zh]}}\n"
        "topics:\n"
        "  - {id: en-only, name: EN, any: [普京], feeds: ['#en']}\n"
        "  - {id: anywhere, name: Any, any: [普京]}\n",
        encoding="utf-8",
    )
    env = {"MEDIABOT_ALLOW_PRIVATE_NETWORKS": "1"}
    args = ["--format", "jsonl", "--rules", str(rules)]
    known = cli("match", feed_server.url("/known.xml"), *args, **env)
    assert [json.loads(r)["topic"] for r in known.stdout.splitlines()] == ["anywhere"]
    assert json.loads(known.stdout.splitlines()[0])["feed"] == "known"
    other = cli("match", feed_server.url("/other.xml"), *args, **env)
    topics = [json.loads(r)["topic"] for r in other.stdout.splitlines()]
    assert topics == ["en-only", "anywhere"]  # not a feed of the rules: scopes do not apply
