"""Background loops of the service are restarted when they fail, and stop when told."""

from __future__ import annotations

import asyncio

import pytest

from bot.service.supervise import supervise


async def test_a_failing_loop_is_restarted_until_it_runs(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ConnectionError("Telegram unreachable")
        stop.set()  # the third run works until the service stops

    await asyncio.wait_for(supervise("updates", flaky, stop, first_delay=0.01), 5)
    assert runs == 3
    assert [r.message for r in caplog.records].count("task_failed") == 2


async def test_a_loop_that_ends_early_is_restarted() -> None:
    stop = asyncio.Event()
    runs = 0

    async def quits() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            stop.set()

    await asyncio.wait_for(supervise("watcher", quits, stop, first_delay=0.01), 5)
    assert runs == 2


async def test_stop_ends_the_supervisor_while_it_waits_to_restart() -> None:
    stop = asyncio.Event()

    async def broken() -> None:
        stop.set()
        raise RuntimeError("bug")

    await asyncio.wait_for(supervise("x", broken, stop, first_delay=3600), 5)
