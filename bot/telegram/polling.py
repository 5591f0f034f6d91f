"""The getUpdates loop of the updates reader: long polls that outlast Telegram's bad moments.

python-telegram-bot's own ``Updater`` gives up for good on a 401 ("Invalid token. Aborting
retry loop.") while the rest of the service carries on, so one refused poll used to
silence every command until a restart. Here every failure of Telegram or the network
(401 included, 5xx, timeouts, refused connections, 409) is met the same way: report the
loop down (``Health.loop_failing``, shown by ``/healthz``), wait (a 429's ``retry_after``,
else an exponential backoff up to ``Backoff.cap``), try again. Each answered poll is a
heartbeat and brings the loop back up.

Starting (getMe, deleteWebhook, the ``/`` menus) is retried the same way. Stopping
abandons the call in flight at once; ``confirm`` then tells Telegram which updates were
handed over, so a restart does not read them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from telegram import Bot, Update
from telegram.error import RetryAfter, TelegramError

from bot.telegram.send import classify, retry_seconds

__all__ = ["LOOP", "Backoff", "Health", "Poller", "Stopped"]

log = logging.getLogger(__name__)

LOOP = "updates"  # the loop's name on /healthz and in mediabot_loop_* series
# The bot's own membership changes too: a chat that removed the bot is gone at once.
ALLOWED = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER)
CONFIRM_TIMEOUT = 3.0  # seconds for the last, short getUpdates that confirms the offset
T = TypeVar("T")


class Health(Protocol):
    """What the poller reports to; ``bot.metrics.Metrics`` is one."""

    def watch_loop(self, loop_name: str, within: float) -> None: ...

    def heartbeat(self, loop_name: str) -> None: ...

    def loop_failing(self, loop_name: str, reason: str) -> None: ...


class _Silent:
    def watch_loop(self, loop_name: str, within: float) -> None:
        pass

    def heartbeat(self, loop_name: str) -> None:
        pass

    def loop_failing(self, loop_name: str, reason: str) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds to wait after the n-th failure in a row: ``first``, doubling, at most ``cap``."""

    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.first * 2.0 ** min(failures - 1, 32), self.cap)


class Stopped(Exception):
    """``stop`` was set while waiting for Telegram; the call was abandoned."""


class Poller:
    """Long-polls ``bot`` and puts each update on ``queue`` (the application's)."""

    def __init__(
        self,
        bot: Bot,
        queue: asyncio.Queue[object],
        stop: asyncio.Event,
        *,
        timeout: int,
        health: Health | None = None,
        backoff: Backoff | None = None,
        secret: str = "",
    ) -> None:
        self._bot, self._queue, self._stop = bot, queue, stop
        self._timeout = timeout
        self._health = health or _Silent()
        self._backoff = backoff or Backoff()
        self._secret = secret  # never shown on /healthz, whatever an error message says
        self._failures = 0
        self.offset = 0  # the next update id to ask for
        self._confirmed = 0  # the offset Telegram was last told
        # Polls answer at least every ``timeout`` seconds; a longer silence is a hang.
        self._health.watch_loop(LOOP, within=max(60.0, 3.0 * timeout))

    async def start(self, begin: Callable[[], Awaitable[None]]) -> bool:
        """Run ``begin`` until it succeeds (True), or until ``stop`` (False)."""
        while not self._stop.is_set():
            try:
                await self._until_stop(begin())
            except Stopped:
                return False
            except TelegramError as exc:
                await self._failed(exc, "updates_start_failed")
                continue
            self._succeeded()
            return True
        return False

    async def poll(self) -> None:
        """Read updates until ``stop``; a failed poll is retried, never the end."""
        while not self._stop.is_set():
            try:
                updates = await self._until_stop(
                    self._bot.get_updates(
                        offset=self.offset, timeout=self._timeout, allowed_updates=ALLOWED
                    )
                )
            except Stopped:
                return
            except TelegramError as exc:
                await self._failed(exc, "updates_poll_failed")
                continue
            self._confirmed = self.offset
            self._succeeded()
            await self._hand_over(updates)

    async def confirm(self) -> None:
        """Tell Telegram the updates handed over are done (one short getUpdates)."""
        if self.offset <= self._confirmed:
            return
        try:
            await self._bot.get_updates(
                offset=self.offset, timeout=0, read_timeout=CONFIRM_TIMEOUT, limit=1
            )
        except TelegramError as exc:
            log.warning("updates_confirm_failed", extra={"error": self._reason(exc)})
            return
        self._confirmed = self.offset

    async def _hand_over(self, updates: Sequence[Update]) -> None:
        for update in updates:
            await self._queue.put(update)
        if updates:
            self.offset = updates[-1].update_id + 1

    def _succeeded(self) -> None:
        if self._failures:
            log.info("updates_recovered", extra={"failures": self._failures})
        self._failures = 0
        self._health.heartbeat(LOOP)

    async def _failed(self, exc: TelegramError, event: str) -> None:
        self._failures += 1
        after = retry_seconds(exc) if isinstance(exc, RetryAfter) else None
        delay = after if after is not None else self._backoff.delay(self._failures)
        reason = self._reason(exc)
        self._health.loop_failing(LOOP, reason)
        log.warning(
            event,
            extra={"error": reason, "failures": self._failures, "retry_in": round(delay, 3)},
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)

    def _reason(self, exc: TelegramError) -> str:
        text = f"{type(exc).__name__}: {classify(exc)}"
        return text.replace(self._secret, "**********") if self._secret else text

    async def _until_stop(self, call: Awaitable[T]) -> T:
        """``call``'s result, or ``Stopped`` once ``stop`` is set first (``call`` is then
        cancelled: an abandoned long poll or start-up call loses nothing)."""
        task = asyncio.ensure_future(call)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((task, stopper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait((task,))
        if task.cancelled():
            raise Stopped
        return task.result()
