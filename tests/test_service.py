"""``mediabot run`` as a real process: polls, delivers, reloads rules, stops cleanly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cli, Service, running, wait_until
from tests.fakes.feedserver import FeedServer, archive_item_rss
from tests.fakes.telegram import FakeTelegram
from tests.test_e2e import SEED_TITLE, base_env, telegram_env, write_feeds

ADMIN = 4242


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def service(
    cli: Cli, feed_server: FeedServer, seed_path: Path, shipped_rules: Path, telegram: FakeTelegram
) -> Iterator[tuple[Service, Path]]:
    feed_server.route("/voa.xml", archive_item_rss(seed_path))
    write_feeds(shipped_rules, {"voa-zh": feed_server.url("/voa.xml")})
    env = {
        **cli.env,
        **base_env(shipped_rules),
        **telegram_env(telegram),
        "MEDIABOT_ADMIN_IDS": str(ADMIN),
        "MEDIABOT_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        "MEDIABOT_LOG_FORMAT": "json",
    }
    cli.env.update(env)  # later cli() calls in the test share the database and settings
    with running(cli, "run") as service:
        yield service, shipped_rules


def test_run_delivers_reloads_and_stops(
    service: tuple[Service, Path], telegram: FakeTelegram, cli: Cli
) -> None:
    svc, rules = service
    assert telegram.wait_for(1, "@mediabot_demo", timeout=60), svc.output()
    assert any(SEED_TITLE in m.text for m in telegram.messages("@mediabot_demo"))

    # An invalid edit: the last good rules stay, admins are told with file and line.
    topics = rules / "topics.yaml"
    good = topics.read_text(encoding="utf-8")
    topics.write_text(good + "\n  - id: broken\n    name: x\n    any: ['@no-such-entity']\n")
    assert telegram.wait_for(1, ADMIN, timeout=30), svc.output()
    notice = telegram.messages(ADMIN)[0].text
    assert "topics.yaml" in notice and "no-such-entity" in notice

    # A valid edit is picked up.
    topics.write_text(good, encoding="utf-8")
    assert wait_until(lambda: "rules_reloaded" in svc.output(), timeout=30), svc.output()

    # Observability: metrics and health over HTTP.
    metrics_url = "http://" + cli.env["MEDIABOT_METRICS_ADDR"]
    status, body = get(metrics_url + "/metrics")
    assert status == 200
    assert 'mediabot_feed_polls_total{feed="voa-zh",result="ok"}' in body
    assert 'mediabot_topic_matches_total{topic="russia-dprk"} 1.0' in body
    assert 'mediabot_rules_reloads_total{result="error"} 1.0' in body
    assert "mediabot_alerts_sent_total 1.0" in body
    assert "mediabot_alert_latency_seconds_count 1.0" in body
    status, body = get(metrics_url + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"

    # Only one process may own the database.
    second = cli("once")
    assert second.returncode == 2
    assert "in use by another mediabot" in second.stderr

    assert svc.stop() == 0
    text = svc.output()
    assert telegram.token not in text
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert {"ts", "level", "logger", "event"} <= set(records[0])
    assert any(r["event"] == "feed_polled" and r.get("feed_id") == "voa-zh" for r in records)


def test_rules_check_names_file_and_line(cli: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "bad-rules"
    rules.mkdir()
    (rules / "a.yaml").write_text(
        "entities:\n  putin:\n    name: Putin\n    aliases: [普京]\n"
        "topics:\n  - id: t1\n    name: T\n    any: ['@putin']\n    colour: red\n",
        encoding="utf-8",
    )
    (rules / "b.yaml").write_text(
        "topics:\n  - id: t1\n    name: again\n    any: ['@nobody']\n", encoding="utf-8"
    )
    (rules / "c.yml").write_text("feeds: [\n  - id: x\n", encoding="utf-8")
    result = cli("rules", "check", "--rules", str(rules))
    assert result.returncode == 1
    err = result.stderr
    assert "a.yaml:9" in err and "colour" in err  # unknown key, with its line
    assert "b.yaml:2" in err and "t1" in err  # duplicate id across files
    assert "b.yaml:4" in err and "nobody" in err  # unknown entity
    assert "c.yml:" in err  # YAML syntax error
    assert result.stdout == ""


def test_rules_check_passes_on_shipped_rules(cli: Cli) -> None:
    rules = Path(__file__).resolve().parents[1] / "rules"
    result = cli("rules", "check", "--rules", str(rules))
    assert result.returncode == 0, result.stderr
    assert "rules OK" in result.stdout


def test_run_refuses_bad_rules_at_start(cli: Cli, tmp_path: Path) -> None:
    rules = tmp_path / "r"
    rules.mkdir()
    (rules / "t.yaml").write_text("topics:\n  - id: t\n    name: T\n", encoding="utf-8")
    result = cli("run", MEDIABOT_RULES_DIR=str(rules), timeout=60)
    assert result.returncode == 1
    assert "t.yaml:2" in result.stderr


def test_python_dash_m_bot_matches_entry_point() -> None:
    exe = Path(sys.executable).with_name("mediabot")
    if not exe.exists():
        pytest.skip("the mediabot script is not installed beside this interpreter")
    out = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.startswith("mediabot ")


def test_db_upgrade(cli: Cli) -> None:
    first = cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout
    assert cli("db", "upgrade").returncode == 0  # idempotent


def test_run_refuses_a_token_telegram_rejects(
    cli: Cli, telegram: FakeTelegram, shipped_rules: Path
) -> None:
    result = cli(
        "run",
        MEDIABOT_RULES_DIR=str(shipped_rules),
        MEDIABOT_TELEGRAM_TOKEN="999:wrong",
        MEDIABOT_TELEGRAM_API_URL=telegram.url,
        timeout=60,
    )
    assert result.returncode == 2
    assert "the token was rejected: check MEDIABOT_TELEGRAM_TOKEN" in result.stderr
    assert "999:wrong" not in result.stderr


def test_send_test_with_a_rejected_token_says_so_and_nothing_else(
    cli: Cli, telegram: FakeTelegram
) -> None:
    result = cli(
        "send-test",
        "@mediabot_demo",
        MEDIABOT_TELEGRAM_TOKEN="999:wrong",
        MEDIABOT_TELEGRAM_API_URL=telegram.url,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "the token was rejected: check MEDIABOT_TELEGRAM_TOKEN" in result.stderr
    for misleading in ("hint", "network", "wait", "unauthorized:"):
        assert misleading not in result.stderr
    assert "999:wrong" not in result.stderr + result.stdout
    assert telegram.messages() == []


def test_subscriber_gets_next_alert_through_the_running_service(
    cli: Cli, feed_server: FeedServer, shipped_rules: Path
) -> None:
    from tests.fakes.feedserver import rss_document
    from tests.fakes.telegram_updates import UpdatesTelegram, message_update

    reader = 777
    old = {"title": "天气预报", "link": "https://example.com/w", "description": "晴"}
    route = feed_server.route("/f.xml", rss_document([old]))
    write_feeds(shipped_rules, {"f": feed_server.url("/f.xml")})
    with UpdatesTelegram() as tg:
        env = {
            **cli.env,
            **base_env(shipped_rules),
            **telegram_env(tg),
            "MEDIABOT_ADMIN_IDS": str(ADMIN),
            "MEDIABOT_DEFAULT_INTERVAL": "1s",
            "MEDIABOT_MIN_INTERVAL": "0.5s",
        }
        with running(cli, "run", **env) as svc:
            tg.push_update(message_update("/subscribe russia-dprk", user=reader, lang="zh"))
            assert tg.wait_for(1, reader, timeout=30), svc.output()
            assert (
                "russia-dprk" in tg.messages(reader)[0].text
                or "俄朝" in tg.messages(reader)[0].text
            )

            tg.push_update(message_update("/status", user=ADMIN))
            assert tg.wait_for(1, ADMIN, timeout=30), svc.output()

            news = {
                "title": "普京与金正恩在平壤签署条约",
                "link": "https://example.com/treaty",
                "description": "<p>俄罗斯总统普京和朝鲜领导人金正恩签署条约。</p>",
            }
            route.body = rss_document([news, old])
            assert tg.wait_for(2, reader, timeout=30), svc.output()
            assert "普京与金正恩在平壤签署条约" in tg.messages(reader)[1].text
            assert svc.stop() == 0


def test_feeds_add_and_remove_keep_comments(
    cli: Cli, feed_server: FeedServer, seed_path: Path, shipped_rules: Path
) -> None:
    feed_server.route("/voa.xml", archive_item_rss(seed_path, title="VOA relay"))
    feed_server.route(
        "/page",
        b"<html><head><title>x</title></head><body>hi</body></html>",
        content_type="text/html",
    )
    feeds = shipped_rules / "feeds.yaml"
    feeds.write_text(
        "# my feeds, hand-written\nfeeds:\n  # the first one\n"
        "  - id: keep\n    url: https://example.org/a.xml\n",
        encoding="utf-8",
    )
    env = {"MEDIABOT_RULES_DIR": str(shipped_rules), "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "1"}

    refused = cli("feeds", "add", feed_server.url("/page"), **env)
    assert refused.returncode == 1 and "not a feed" in refused.stderr

    added = cli("feeds", "add", feed_server.url("/voa.xml"), "--interval", "15m", **env)
    assert added.returncode == 0, added.stderr
    text = feeds.read_text(encoding="utf-8")
    assert "# my feeds, hand-written" in text and "# the first one" in text
    assert "127-0-0-1" in text and "interval: 15m" in text and "VOA relay" in text
    listed = cli("feeds", "list", **env)
    assert "127-0-0-1" in listed.stdout and "keep" in listed.stdout

    removed = cli("feeds", "remove", "127-0-0-1", **env)
    assert removed.returncode == 0, removed.stderr
    text = feeds.read_text(encoding="utf-8")
    assert "127-0-0-1" not in text and "# the first one" in text
    assert cli("rules", "check", **env).returncode == 0
