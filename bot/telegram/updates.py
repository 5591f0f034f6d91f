"""Read Telegram updates (long polling) and answer commands until the service stops.

The one reader of updates: ``run_updates`` builds the application
(``bot.telegram.application``), registers the ``/`` menu in English and Chinese (the admin
commands shown only in the admins' own chats), and long-polls. ``bot.telegram.polling``
reads the updates and outlasts any failure of Telegram (reporting the loop down
meanwhile). Never log a Bot API URL: it carries the token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.delivery.ratelimit import Limits
from bot.telegram.application import AnyApp, Requests, build_application, new_requests
from bot.telegram.pacing import ReplyPacer
from bot.telegram.polling import Backoff, Health, Poller
from bot.telegram.protocol import CommandHandler

__all__ = ["run_updates"]

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a getUpdates call may wait for news


async def set_menus(bot: Bot, handler: CommandHandler) -> None:
    """Register the ``/`` menus; one refused scope (an admin who never wrote) is skipped."""
    for menu in handler.menus():
        commands = [BotCommand(name, description) for name, description in menu.commands]
        scopes = [BotCommandScopeChat(c) for c in menu.chat_ids] if menu.chat_ids else [None]
        for scope in scopes:
            try:
                await bot.set_my_commands(commands, scope=scope, language_code=menu.language)
            except TelegramError as exc:
                log.warning(
                    "set_commands_failed", extra={"language": menu.language, "error": exc.message}
                )


async def run_updates(
    token: str,
    api_url: str,
    handler: CommandHandler,
    stop: asyncio.Event,
    *,
    poll_timeout: int = POLL_TIMEOUT,
    health: Health | None = None,
    backoff: Backoff | None = None,
    limits: Limits | None = None,
) -> None:
    """Answer commands until ``stop`` is set: register the menus, then long-poll.

    Telegram refusing or failing (a 401 for a while, 5xx, the network) never ends this:
    each step is retried with backoff while ``health`` reports the loop down. Once ``stop``
    is set the reader stops in order: no new polls, the updates already read are answered,
    Telegram is told they are done, the connections are closed.
    """
    requests = new_requests()
    app = build_application(token, api_url, handler, ReplyPacer(limits, stop=stop), requests)
    poller = Poller(
        app.bot,
        app.update_queue,
        stop,
        timeout=poll_timeout,
        health=health,
        backoff=backoff,
        secret=token,
    )

    async def begin() -> None:
        await app.initialize()  # getMe: the bot's @username, for /help@thisbot
        await set_menus(app.bot, handler)
        await app.bot.delete_webhook()  # a webhook would make every getUpdates a 409

    try:
        if not await poller.start(begin):
            return
        await app.start()
        log.info("updates_started", extra={"bot": app.bot.username})
        await poller.poll()
    finally:
        await _finish(_close(app, poller, requests))


async def _close(app: AnyApp, poller: Poller, requests: Requests) -> None:
    if app.running:
        await app.stop()  # answers the updates already read; the pacer no longer waits
        await poller.confirm()
        log.info("updates_stopped")
    await app.shutdown()
    # Also when start-up never finished, which app.shutdown() leaves alone.
    for request in requests:
        await request.shutdown()


async def _finish(closing: Awaitable[None]) -> None:
    """Run ``closing`` to its end even when the caller is cancelled meanwhile: a shutdown
    cut in half leaves python-telegram-bot "still running" and its connections open."""
    task = asyncio.ensure_future(closing)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
