"""Metrics: record events, scrape /metrics over real HTTP, and /healthz with a driven clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.errors import ConfigError
from bot.metrics import Metrics, MetricsServer, NullMetrics, label_value, split_addr


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def http(port: int, path: str, method: str = "GET", raw: bytes | None = None) -> Response:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw or f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return Response(int(lines[0].split(" ")[1]), {k.lower(): v for k, v in headers.items()}, body)


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> dict[str, object]:
        data = json.loads(self.body)
        assert isinstance(data, dict)
        return data


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def metrics(clock: FakeClock) -> Metrics:
    return Metrics(clock=clock, wall_clock=lambda: 1_700_000_000.0)


@pytest.fixture
async def server(metrics: Metrics) -> AsyncIterator[MetricsServer]:
    async with metrics.server("127.0.0.1:0") as srv:
        yield srv


async def test_recorded_events_appear_in_the_scrape(
    metrics: Metrics, server: MetricsServer
) -> None:
    metrics.feed_polled("voa-zh", ok=True, new_items=3)
    metrics.feed_polled("voa-zh", ok=True, not_modified=True)
    metrics.feed_polled("rfa", ok=False, error_kind="parse")
    metrics.feed_polled("rfa", ok=False, error_kind="unsafe_url")
    metrics.topic_matched("russia-dprk")
    metrics.topic_matched("russia-dprk", 2)
    metrics.alert_sent(latency_seconds=12.0)
    metrics.alert_sent(latency_seconds=400.0)
    metrics.alert_failed("PermanentSendError")
    metrics.alert_failed("chat_gone", 4)
    metrics.rules_reloaded(ok=True)
    metrics.rules_reloaded(ok=False)
    depth = iter([7])
    metrics.set_outbox_depth_source(lambda: next(depth))

    response = await http(server.port, "/metrics")

    assert response.status == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = samples(response.body.decode())
    expected = {
        ("mediabot_feed_polls_total", (("feed", "voa-zh"), ("result", "ok"))): 1,
        ("mediabot_feed_polls_total", (("feed", "voa-zh"), ("result", "not_modified"))): 1,
        ("mediabot_feed_polls_total", (("feed", "rfa"), ("result", "error"))): 2,
        ("mediabot_fetch_errors_total", (("feed", "rfa"), ("kind", "parse"))): 1,
        ("mediabot_fetch_errors_total", (("feed", "rfa"), ("kind", "unsafe_url"))): 1,
        ("mediabot_new_items_total", (("feed", "voa-zh"),)): 3,
        ("mediabot_feed_last_success_timestamp_seconds", (("feed", "voa-zh"),)): 1.7e9,
        ("mediabot_last_successful_poll_timestamp_seconds", ()): 1.7e9,
        ("mediabot_topic_matches_total", (("topic", "russia-dprk"),)): 3,
        ("mediabot_alerts_sent_total", ()): 2,
        ("mediabot_alerts_failed_total", (("reason", "permanent_send_error"),)): 1,
        ("mediabot_alerts_failed_total", (("reason", "chat_gone"),)): 4,
        ("mediabot_alert_latency_seconds_count", ()): 2,
        ("mediabot_alert_latency_seconds_sum", ()): 412.0,
        ("mediabot_alert_latency_seconds_bucket", (("le", "15.0"),)): 1,
        ("mediabot_alert_latency_seconds_bucket", (("le", "600.0"),)): 2,
        ("mediabot_outbox_depth", ()): 7,
        ("mediabot_rules_reloads_total", (("result", "ok"),)): 1,
        ("mediabot_rules_reloads_total", (("result", "error"),)): 1,
        ("mediabot_rules_last_reload_success", ()): 0,
    }
    for key, value in expected.items():
        assert got.get(key) == value, key
    assert not [key for key in got if key[0] == "mediabot_fetch_errors_total" and "voa" in str(key)]


async def test_every_series_is_named_mediabot_snake_case(metrics: Metrics) -> None:
    metrics.watch_loop("sender", within=60)
    names = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    ours = {n for n in names if not n.startswith(("process_", "python_"))}
    assert ours and all(n.startswith("mediabot_") and n == n.lower() for n in ours)


async def test_label_values_stay_bounded() -> None:
    assert label_value("ChatGone") == "chat_gone"
    assert label_value("timeout") == "timeout"
    assert label_value("Bad Request: can't parse entities at byte 12") == "other"
    assert label_value("https://example.com/item?id=1") == "other"
    assert label_value(None, "feed") == "feed"


async def test_a_failing_depth_source_does_not_break_the_scrape(
    metrics: Metrics, server: MetricsServer
) -> None:
    def broken() -> int:
        raise RuntimeError("database is locked")

    metrics.set_outbox_depth_source(broken)
    response = await http(server.port, "/metrics")
    assert response.status == 200
    assert "mediabot_outbox_depth NaN" in response.body.decode()


async def test_outbox_depth_from_a_real_store(metrics: Metrics, tmp_path: Path) -> None:
    from bot.store import Store

    with Store(f"sqlite:///{tmp_path / 'm.db'}") as store:
        store.migrate()
        metrics.set_outbox_depth_source(store.outbox_depth)
        async with metrics.server("127.0.0.1:0") as srv:
            response = await http(srv.port, "/metrics")
    assert samples(response.body.decode())[("mediabot_outbox_depth", ())] == 0


async def test_healthz_turns_503_naming_the_loop_that_stopped_beating(
    metrics: Metrics, server: MetricsServer, clock: FakeClock
) -> None:
    metrics.watch_loop("scheduler", within=60)
    metrics.watch_loop("sender", within=180)

    first = await http(server.port, "/healthz")
    assert first.status == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json()["status"] == "ok"

    clock.now += 100  # the scheduler beats, the sender does too: still healthy
    metrics.heartbeat("scheduler")
    metrics.heartbeat("sender")
    clock.now += 59
    assert (await http(server.port, "/healthz")).status == 200

    clock.now += 2  # 61 s since the scheduler's last tick
    metrics.heartbeat("sender")
    stuck = await http(server.port, "/healthz")
    assert stuck.status == 503
    body = stuck.json()
    assert body["status"] == "stuck"
    assert body["stuck"] == ["scheduler"]
    loops = body["loops"]
    assert isinstance(loops, dict)
    assert loops["scheduler"] == {"ok": False, "age_seconds": 61.0, "within_seconds": 60}
    assert loops["sender"]["ok"] is True

    scrape = samples((await http(server.port, "/metrics")).body.decode())
    assert scrape[("mediabot_loop_heartbeat_age_seconds", (("loop", "scheduler"),))] == 61

    metrics.heartbeat("scheduler")  # it recovers
    assert (await http(server.port, "/healthz")).status == 200


async def test_healthz_without_watched_loops_is_ok(server: MetricsServer) -> None:
    response = await http(server.port, "/healthz")
    assert response.status == 200
    assert response.json() == {
        "status": "ok",
        "loops": {},
        "last_successful_poll_timestamp": None,
    }


async def test_a_loop_that_never_beats_is_stuck_after_its_interval(
    metrics: Metrics, clock: FakeClock
) -> None:
    metrics.watch_loop("sender", within=30)
    assert metrics.health()[0]
    clock.now += 31
    healthy, body = metrics.health()
    assert not healthy
    assert body["stuck"] == ["sender"]


async def test_a_loop_that_reports_failing_is_down_until_it_beats_again(
    metrics: Metrics, server: MetricsServer
) -> None:
    metrics.watch_loop("updates", within=60)
    metrics.loop_failing("updates", "InvalidToken: the token was rejected")
    down = await http(server.port, "/healthz")
    assert down.status == 503
    body = down.json()
    assert body["status"] == "down" and body["down"] == ["updates"] and "stuck" not in body
    assert body["loops"] == {
        "updates": {
            "ok": False,
            "age_seconds": 0.0,
            "within_seconds": 60,
            "error": "InvalidToken: the token was rejected",
        }
    }
    scrape = samples((await http(server.port, "/metrics")).body.decode())
    assert scrape[("mediabot_loop_down", (("loop", "updates"),))] == 1

    metrics.heartbeat("updates")  # a poll was answered
    assert (await http(server.port, "/healthz")).status == 200
    scrape = samples((await http(server.port, "/metrics")).body.decode())
    assert scrape[("mediabot_loop_down", (("loop", "updates"),))] == 0


async def test_a_check_that_names_a_problem_is_down_until_it_stops(
    metrics: Metrics, server: MetricsServer
) -> None:
    problem: list[str] = ["the database file data/m.db was deleted"]
    metrics.watch_check("store", lambda: problem[0] if problem else None)
    down = await http(server.port, "/healthz")
    assert down.status == 503
    body = down.json()
    assert body["status"] == "down" and body["down"] == ["store"]
    assert body["checks"] == {
        "store": {"ok": False, "error": "the database file data/m.db was deleted"}
    }
    scrape = samples((await http(server.port, "/metrics")).body.decode())
    assert scrape[("mediabot_check_down", (("check", "store"),))] == 1

    problem.clear()
    up = await http(server.port, "/healthz")
    assert up.status == 200 and up.json()["checks"] == {"store": {"ok": True}}
    scrape = samples((await http(server.port, "/metrics")).body.decode())
    assert scrape[("mediabot_check_down", (("check", "store"),))] == 0


async def test_a_check_that_raises_counts_as_failing(metrics: Metrics) -> None:
    def broken() -> str | None:
        raise RuntimeError("boom")

    metrics.watch_check("store", broken)
    healthy, body = metrics.health()
    assert not healthy and body["checks"]["store"]["error"] == "the check failed: RuntimeError"


async def test_other_paths_and_methods(server: MetricsServer) -> None:
    assert (await http(server.port, "/")).status == 404
    post = await http(server.port, "/metrics", method="POST")
    assert post.status == 405
    assert post.headers["allow"] == "GET, HEAD"
    head = await http(server.port, "/metrics?x=1", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert int(head.headers["content-length"]) > 0
    assert (await http(server.port, "", raw=b"garbage\r\n\r\n")).status == 400


async def test_a_silent_client_does_not_hold_up_shutdown(metrics: Metrics) -> None:
    srv = metrics.server("127.0.0.1:0")
    await srv.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    writer.write(b"GET /metr")  # never finishes its request
    await writer.drain()
    await asyncio.wait_for(srv.aclose(), timeout=5)
    # Closed on it: an end of stream, or a reset since its request went unread.
    with contextlib.suppress(ConnectionResetError):
        assert await reader.read() == b""
    writer.close()
    with contextlib.suppress(ConnectionResetError):
        await writer.wait_closed()


async def test_serve_runs_until_stop() -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(Metrics(process_metrics=False).serve("127.0.0.1:0", stop))
    await asyncio.sleep(0)  # one turn of the loop: it binds
    assert not task.done()
    stop.set()
    await asyncio.wait_for(task, timeout=5)


async def test_a_taken_port_is_a_clear_error(server: MetricsServer) -> None:
    with pytest.raises(ConfigError, match=r"cannot serve metrics on 127\.0\.0\.1:\d+"):
        await Metrics(process_metrics=False).start_server(f"127.0.0.1:{server.port}")


def test_addresses() -> None:
    assert split_addr("0.0.0.0:9464") == ("0.0.0.0", 9464)
    assert split_addr("[::1]:9464") == ("::1", 9464)
    assert split_addr(":9464") == (None, 9464)
    with pytest.raises(ConfigError):
        split_addr("localhost")


def test_registries_are_independent() -> None:
    a, b = Metrics(process_metrics=False), Metrics(process_metrics=False)
    a.alert_sent(1.0)
    assert b"mediabot_alerts_sent_total 0.0" in b.render()
    assert b"mediabot_alerts_sent_total 1.0" in a.render()


def test_null_metrics_accepts_every_call() -> None:
    null = NullMetrics()
    null.feed_polled("f", ok=False, error_kind="fetch")
    null.topic_matched("t")
    null.alert_sent(1.0)
    null.alert_failed("x", 2)
    null.rules_reloaded(ok=True)
    null.set_outbox_depth_source(lambda: 1)
    null.watch_loop("sender", 10)
    null.heartbeat("sender")
    null.loop_failing("updates", "down")
    null.watch_check("store", lambda: "down")
    public = {n for n in dir(NullMetrics) if not n.startswith("_")}
    assert public <= {n for n in dir(Metrics) if not n.startswith("_")}
