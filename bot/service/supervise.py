"""The service's background loops: restarted when they fail, stopped together on a signal.

``supervise`` keeps one loop alive until the service stops; ``stop_in_turn`` lets every
loop end itself within one grace period and cancels only the one that overstays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

RESTART_MAX_SECONDS = 60.0


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``stop``; True when stopped."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    *,
    first_delay: float = 1.0,
) -> None:
    """Run a background loop until ``stop``; restart it with backoff when it fails or ends
    early, so a Telegram outage at start or a bug in one loop never silences it for good."""
    failures = 0
    while not stop.is_set():
        try:
            await loop()
        except Exception:
            failures += 1
            log.exception("task_failed", extra={"task": name, "failures": failures})
        else:
            if stop.is_set():
                return
            failures += 1
            log.warning("task_ended", extra={"task": name, "failures": failures})
        delay = first_delay * 2.0 ** (failures - 1)
        await wait_or_stop(stop, min(delay, RESTART_MAX_SECONDS))


def start_supervised(
    loops: dict[str, Callable[[], Awaitable[None]]], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """One supervised task per loop, named after it."""
    return [
        asyncio.create_task(supervise(name, loop, stop), name=name) for name, loop in loops.items()
    ]


async def stop_in_turn(tasks: Iterable[asyncio.Task[None]], grace: float) -> None:
    """Await each task in turn, all within one ``grace`` period (their stop event is set
    already); only a task that overstays it is cancelled."""
    tasks = list(tasks)
    clock = asyncio.get_running_loop().time
    deadline = clock() + grace
    for task in tasks:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), max(deadline - clock(), 0.0))
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT stop the service (where the platform lets a loop catch them)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
