"""`mediabot once` says what it did not do: feeds it skipped (why, and when they are due),
items a first poll only marked seen, items held for a digest and the slot they go out in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.cli.commands import skipped_lines
from bot.ingest.pipeline import PollReport
from tests.conftest import Cli
from tests.fakes.feedserver import FeedServer, rss_document

ITEM = {
    "title": "Putin and Kim Jong Un sign a treaty in Pyongyang",
    "link": "https://example.com/treaty",
    "description": "<p>North Korea and Russia signed a military treaty.</p>",
}


def _rules(tmp_path: Path, url: str, delivery: str = "instant") -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(
        f"feeds:\n  - {{id: wire, url: '{url}', name: Wire}}\n"
        "topics:\n"
        "  - {id: treaty, name: Treaty, any: [treaty], channels: ['@desk'],\n"
        f"     delivery: '{delivery}'}}\n",
        encoding="utf-8",
    )
    return rules


def _env(rules: Path, **more: str) -> dict[str, str]:
    return {"MEDIABOT_RULES_DIR": str(rules), "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true", **more}


def test_a_backing_off_feed_is_listed_with_the_reason_and_due_time_and_force_polls_it(
    cli: Cli, feed_server: FeedServer, tmp_path: Path
) -> None:
    route = feed_server.route("/f.xml", b"busy", status=503, content_type="text/plain")
    env = _env(_rules(tmp_path, feed_server.url("/f.xml")), MEDIABOT_BACKFILL="5")
    assert cli("once", **env).returncode == 1
    route.status, route.body, route.content_type = 200, rss_document([ITEM]), "application/xml"

    waiting = cli("once", **env)
    assert waiting.returncode == 0, waiting.stderr
    (line,) = [x for x in waiting.stderr.splitlines() if "skipped wire" in x]
    assert "backing off after 1 failed poll (last: fetch: HTTP 503" in line
    assert "; due " in line and " (in " in line
    assert "`mediabot once --force` polls the waiting feeds now" in waiting.stderr
    assert len(feed_server.requests_to("/f.xml")) == 1
    assert "Treaty" not in waiting.stdout

    forced = cli("once", "--force", **env)
    assert forced.returncode == 0, forced.stderr
    assert "skipped" not in forced.stderr
    assert len(feed_server.requests_to("/f.xml")) == 2
    assert ITEM["title"] in forced.stdout  # the console shows the alert


def test_a_first_poll_says_how_many_items_it_marked_seen_and_why(
    cli: Cli, feed_server: FeedServer, tmp_path: Path
) -> None:
    items = [{**ITEM, "link": f"https://example.com/{n}", "guid": str(n)} for n in range(3)]
    feed_server.route("/f.xml", rss_document(items))
    result = cli("once", **_env(_rules(tmp_path, feed_server.url("/f.xml"))))
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "feed_first_poll" in x]
    assert "marked_seen=3" in line and "MEDIABOT_BACKFILL" in line


def test_items_held_for_a_digest_are_logged_with_their_slot(
    cli: Cli, feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.route("/f.xml", rss_document([ITEM]))
    rules = _rules(tmp_path, feed_server.url("/f.xml"), delivery="daily@08:00")
    result = cli("once", **_env(rules, MEDIABOT_BACKFILL="5", MEDIABOT_TIMEZONE="Asia/Shanghai"))
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stderr.splitlines() if "digest_held" in x]
    assert "topic_id=treaty" in line and "items=1" in line
    assert "T00:00:00+00:00" in line  # 08:00 in Shanghai


def test_skipped_lines_name_the_reason_the_time_and_the_wait() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    reports = [
        PollReport("a", ok=True, new_items=2),
        PollReport("b", ok=True, skipped=True, error="backing off", due=now + timedelta(hours=2)),
        PollReport("c", ok=True, skipped=True, error="polled by another process now"),
    ]
    lines = skipped_lines(reports, ZoneInfo("Asia/Shanghai"), now)
    assert lines == [
        "mediabot once: skipped b: backing off; due 2024-05-01 22:00:00 CST (in 2h)",
        "mediabot once: skipped c: polled by another process now",
        "mediabot once: `mediabot once --force` polls the waiting feeds now",
    ]
