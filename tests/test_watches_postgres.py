"""Watches with the roles split over processes on real PostgreSQL (DESIGN §9).

Two pollers and one updates + sender process run against the fake Bot API and a local
feed server. A watch made through the updates process must be matched by both running
pollers (they compare the store's watch version on every sync tick) within the rules
propagation bound, and from then on every item either poller fetches is matched against
it; its alerts reach only the chat that made it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.errors import StoreError
from bot.store import Store
from tests.conftest import Cli, wait_until
from tests.fakes.feedserver import FeedServer, rss_document
from tests.fakes.telegram_updates import UpdatesTelegram, message_update
from tests.test_scale_postgres import Fleet, _words

FEEDS = 12
USER = 4242
BOUND = 30.0  # every process runs the same rules within 30 s (DESIGN §9): watches too


def write_rules(rules: Path, server: FeedServer) -> None:
    rules.mkdir()
    feeds = "".join(f"  - id: f{n}\n    url: {server.url(f'/f{n}.xml')}\n\n" for n in range(FEEDS))
    topics = "  - id: other\n    name: Other\n    any: [nothing-here]\n    channels: [-100900]\n"
    (rules / "rules.yaml").write_text(f"feeds:\n{feeds}topics:\n{topics}", encoding="utf-8")


def item(n: int) -> dict[str, str]:
    return {
        "title": f"Watchword report {n} {_words(f't{n}', 3)}",
        "link": f"https://example.com/w/{n}",
        "description": f"<p>{_words(f'b{n}', 30)}</p>",
    }


def _records(logs: Path, name: str) -> list[dict[str, object]]:
    lines = (logs / f"{name}.log").read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def synced(logs: Path, names: list[str]) -> bool:
    """Every one of these processes has logged reading watch version 1 or later."""
    return all(
        any(
            r.get("event") == "watches_synced" and int(str(r.get("version"))) >= 1
            for r in _records(logs, name)
        )
        for name in names
    )


def pollers_that_alerted(logs: Path, names: list[str]) -> set[str]:
    """The pollers whose logs show a poll that queued an alert."""
    return {
        name
        for name in names
        for r in _records(logs, name)
        if r.get("event") == "feed_polled" and int(str(r.get("alerts", 0))) > 0
    }


def test_a_watch_made_through_the_updates_process_is_matched_by_every_poller(
    cli: Cli, postgres_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    for n in range(FEEDS):
        feed_server.route(f"/f{n}.xml", rss_document([], title=f"Feed {n}"), delay=0.2)
    rules = tmp_path / "rules"
    write_rules(rules, feed_server)
    with UpdatesTelegram() as tg:
        env = {
            "MEDIABOT_DATABASE_URL": postgres_url,
            "MEDIABOT_RULES_DIR": str(rules),
            "MEDIABOT_ALLOW_PRIVATE_NETWORKS": "true",
            "MEDIABOT_TELEGRAM_TOKEN": tg.token,
            "MEDIABOT_TELEGRAM_API_URL": tg.url,
            "MEDIABOT_PARSE_PROCESSES": "0",
            "MEDIABOT_MIN_INTERVAL": "0.5s",
            "MEDIABOT_DEFAULT_INTERVAL": "1s",
            # Few polls in flight per poller, so both pollers take part.
            "MEDIABOT_MAX_CONCURRENCY": "2",
            "MEDIABOT_PER_HOST_CONCURRENCY": "2",
            "MEDIABOT_LOG_FORMAT": "json",
            "MEDIABOT_LOG_LEVEL": "INFO",
        }
        logs = tmp_path / "logs"
        logs.mkdir()
        fleet = Fleet(cli, env, logs)
        fleet.start("poller0", "poller")
        fleet.start("poller1", "poller")
        fleet.start("front", "updates,sender")
        try:
            with Store(postgres_url) as store:

                def pollers() -> int:
                    try:
                        return sum("poller" in p.roles for p in store.running_processes())
                    except StoreError:  # not migrated yet: the processes are starting
                        return 0

                # Running: both pollers have polled, and the feeds are known (nothing new).
                assert wait_until(
                    lambda: pollers() == 2 and len(feed_server.requests) >= 3 * FEEDS, 60
                ), fleet.output()
                tg.push_update(message_update("/watch watchword", user=USER))
                assert wait_until(
                    lambda: any("Watch 1 saved" in m.text for m in tg.messages(USER)), 30
                ), fleet.output()
                made = time.monotonic()
                # Both running pollers pick the new watch up, well within the bound.
                assert wait_until(lambda: synced(logs, ["poller0", "poller1"]), BOUND)
                assert time.monotonic() - made <= BOUND
                for n in range(FEEDS):
                    feed_server.route(f"/f{n}.xml", rss_document([item(n)]), delay=0.2)

                def alerts() -> list[str]:
                    return [m.text for m in tg.messages(USER) if m.text.startswith("🔔")]

                assert wait_until(lambda: len(alerts()) == FEEDS, 60), fleet.output()
                assert all(a.startswith("🔔 👁 watchword") for a in alerts())
                assert sorted(a.split("\n")[2].split()[2] for a in alerts()) == sorted(
                    str(n) for n in range(FEEDS)
                )
                assert tg.messages(-100900) == []  # the topic's channel gets nothing
                # Which poller leases which feed is up to them (a busy machine may let one
                # take a whole round): more rounds of news until each has matched the watch.
                names = ["poller0", "poller1"]
                for round_ in range(1, 11):
                    if pollers_that_alerted(logs, names) == set(names):
                        break
                    for n in range(FEEDS):
                        fresh = item(100 * round_ + n)
                        feed_server.route(f"/f{n}.xml", rss_document([fresh]), delay=0.2)
                    expected = FEEDS * (round_ + 1)
                    assert wait_until(lambda n=expected: len(alerts()) == n, 60), fleet.output()
                assert pollers_that_alerted(logs, names) == set(names), fleet.output()
        finally:
            fleet.stop_all()
