"""The live reload reads the rules in a worker process with a time and a memory limit."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

import bot.service.follow as follow_module
from bot.errors import RulesError
from bot.rules.bounded import load_rules_bounded
from bot.rules.load import LoadedRules, load_rules
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram
from tests.test_app import make_app
from tests.test_rules_hostile import alias_bomb

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20


# What a worker runs instead of loading the rules (module-level: the worker imports them).


def spin(rules_dir: Path) -> NoReturn:
    while True:
        pass


def hog(rules_dir: Path) -> NoReturn:
    held = []
    while True:
        held.append(bytearray(16 * MB))


def die(rules_dir: Path) -> NoReturn:
    os._exit(3)


async def bounded(rules_dir: Path, **options: Any) -> LoadedRules:
    options = {"time_limit": 60.0, "max_memory": 1024 * MB} | options
    return await load_rules_bounded(rules_dir, **options)


def message_of(info: pytest.ExceptionInfo[RulesError]) -> str:
    return str(info.value)


async def test_the_worker_gives_back_what_loading_in_process_gives() -> None:
    here = load_rules(ROOT / "rules")
    there = await bounded(ROOT / "rules")
    assert there == here


async def test_invalid_rules_come_back_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(RulesError) as info:
        await bounded(tmp_path)
    assert [(p.file, p.line) for p in info.value.problems] == [(str(path), 1)]
    assert "YAML anchor &a0 is not allowed" in message_of(info)
    assert time.monotonic() - started < 30  # the worker's start, about 0.3 s


async def test_a_worker_past_its_time_is_stopped_and_reported(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(RulesError) as info:
        await bounded(tmp_path, time_limit=1.0, work=spin)
    elapsed = time.monotonic() - started
    assert f"{tmp_path}: error: loading the rules took more than 1 s" in message_of(info)
    assert 1.0 <= elapsed < 30
    assert multiprocessing.active_children() == []


async def test_a_worker_over_its_memory_is_stopped_and_reported(tmp_path: Path) -> None:
    with pytest.raises(RulesError) as info:
        await bounded(tmp_path, max_memory=256 * MB, work=hog)
    assert "loading the rules needed more than 256 MB of memory" in message_of(info)
    assert multiprocessing.active_children() == []


async def test_a_worker_that_dies_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"stopped without an answer \(exit code 3; "):
        await bounded(tmp_path, work=die)


async def test_cancelling_the_load_kills_the_worker_at_once(tmp_path: Path) -> None:
    """The service stopping mid-reload does not wait for the worker."""
    task = asyncio.create_task(bounded(tmp_path, work=spin))
    await asyncio.sleep(0)  # the task starts the worker, then waits for its answer
    assert len(multiprocessing.active_children()) == 1
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 10
    assert multiprocessing.active_children() == []


GOOD = """
entities:
  putin: {name: Putin, aliases: [普京, Putin]}
topics:
  - {id: putin, name: Putin watch, any: ["@putin"]}
"""


async def test_a_reload_of_an_alias_bomb_keeps_the_rules_tells_admins_and_takes_the_fix(
    tmp_path: Path, feed_server: FeedServer, telegram: FakeTelegram
) -> None:
    """Before: 7.4 GB, no notice, and the watcher stuck, so the fix was never read."""
    app = make_app(tmp_path, feed_server, telegram, GOOD)
    rules_file = tmp_path / "rules" / "t.yaml"
    good_text = rules_file.read_text(encoding="utf-8")
    kept = app.rules.current().version
    try:
        rules_file.write_text(alias_bomb() + good_text.replace("topics:\n", ""), encoding="utf-8")
        error = await app.reload_rules()
        assert isinstance(error, RulesError)
        assert app.rules.current().version == kept
        await app.sender.drain()  # admin notes go out through the outbox
        notice = "\n".join(telegram.texts(1))
        assert "last good rules stay" in notice and "t.yaml:1" in notice
        assert "YAML anchor &a0" in notice

        rules_file.write_text(good_text.replace("Putin watch", "Putin"), encoding="utf-8")
        assert await app.reload_rules() is None
        assert app.rules.current().version != kept
        topic = app.rules.current().rules.topic("putin")
        assert topic is not None and topic.name == "Putin"
    finally:
        await app.aclose()


async def test_a_reload_past_the_time_limit_keeps_the_rules_and_tells_admins(
    tmp_path: Path,
    feed_server: FeedServer,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The service's reload runs with the limits from its settings."""
    app = make_app(tmp_path, feed_server, telegram, GOOD, rules_reload_timeout=1.0)
    seen: dict[str, Any] = {}

    async def slow_worker(rules_dir: Path, **limits: Any) -> LoadedRules:
        seen.update(limits)
        return await load_rules_bounded(rules_dir, work=spin, **limits)

    monkeypatch.setattr(follow_module, "load_rules_bounded", slow_worker)
    kept = app.rules.current()
    try:
        error = await app.reload_rules()
        await app.sender.drain()  # admin notes go out through the outbox
    finally:
        await app.aclose()
    assert seen == {"time_limit": 1.0, "max_memory": 1024 * MB}
    assert isinstance(error, RulesError)
    assert app.rules.current() is kept
    assert "loading the rules took more than 1 s" in "\n".join(telegram.texts(1))


def killed(rules_dir: Path) -> NoReturn:
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


async def test_a_worker_killed_by_a_signal_is_reported_as_maybe_out_of_memory(
    tmp_path: Path,
) -> None:
    """The system's OOM killer ends a process with SIGKILL, before any limit of ours."""
    with pytest.raises(RulesError, match="stopped by signal 9 without an answer; it may have"):
        await bounded(tmp_path, work=killed)
