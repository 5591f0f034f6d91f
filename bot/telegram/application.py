"""The python-telegram-bot application (python-telegram-bot 22), with our callbacks bound
to one ``CommandHandler``.

Messages (commands), callback queries and the bot's own membership changes
(``my_chat_member``: added to a chat, removed, blocked) are asked for: each command
message and each button press becomes a call on the ``CommandHandler``
(``bot.telegram.protocol``), read by ``bot.telegram.inbound``, and its ``Reply`` becomes
Bot API calls (``bot.telegram.answers``); membership changes become
``CommandHandler.membership`` calls. ``bot.telegram.pacing`` keeps replies within
Telegram's limits and retries them after a 429.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Message as TgMessage
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.telegram.answers import edit_reply, send_reply
from bot.telegram.inbound import caller, is_anonymous_admin, membership, parse_command
from bot.telegram.pacing import ReplyPacer
from bot.telegram.protocol import CommandHandler

# The updates reader's events (reply_failed, chat_admin_check_failed, …) keep the one
# logger name they have always had, whichever module logs them.
log = logging.getLogger("bot.telegram.updates")

AnyApp = Application[Any, Any, Any, Any, Any, Any]
Requests = tuple[BaseRequest, BaseRequest]  # calls, getUpdates


class _Handlers:
    """The python-telegram-bot callbacks, bound to one ``CommandHandler``."""

    def __init__(self, handler: CommandHandler) -> None:
        self.handler = handler

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat, user = update.message, update.effective_chat, update.effective_user
        if message is None or message.text is None or chat is None or user is None:
            return
        parsed = parse_command(message.text, context.bot.username)
        if parsed is None:
            return
        anonymous = is_anonymous_admin(chat, message)
        who = caller(context.bot, chat, user, message, anonymous_admin=anonymous)
        reply = await self.handler.command(who, *parsed)
        if reply is not None:
            await send_reply(context.bot, who.chat, reply)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        source = query.message
        if source is None or not query.data:
            await query.answer()  # an inline-mode or game button: nothing of ours
            return
        message = source if isinstance(source, TgMessage) else None
        # The presser is ``from_user``; the message is the bot's own (in a channel, sent as
        # the channel): only getChatMember says whether the presser is an admin.
        who = caller(context.bot, source.chat, query.from_user, message)
        reply = await self.handler.callback(who, query.data)
        await query.answer(
            text=reply.notice[:200] if reply.notice else None, show_alert=reply.alert
        )
        if reply.edit is not None and message is not None:
            await edit_reply(query, reply.edit)
        if reply.message is not None or reply.photo is not None:
            await send_reply(context.bot, who.chat, reply)

    async def on_membership(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.my_chat_member is not None:
            await self.handler.membership(membership(update.my_chat_member))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        extra = {"error_type": type(error).__name__, "error": str(error)[:300]}
        if isinstance(error, TelegramError):
            # Telegram refused or failed a reply (after the pacer's retries): not our bug.
            log.warning("reply_failed", extra=extra, exc_info=error)
        else:
            log.error("update_failed", extra=extra, exc_info=error)


def build_application(
    token: str,
    api_url: str,
    handler: CommandHandler,
    pacer: ReplyPacer | None = None,
    requests: Requests | None = None,
) -> AnyApp:
    """The python-telegram-bot application with our handlers (not started).

    It has no ``Updater``: ``bot.telegram.polling`` reads the updates and puts them on the
    application's queue. ``requests`` (calls, getUpdates) are the caller's to close.
    """
    calls, polls = requests or new_requests()
    app = (
        Application.builder()
        .token(token)
        .base_url(api_url)
        .request(calls)
        .get_updates_request(polls)
        .updater(None)
        .job_queue(None)  # the service has its own scheduler
        .concurrent_updates(8)  # a slow /addfeed fetch must not hold up everyone else
        .rate_limiter(pacer or ReplyPacer())
        .build()
    )
    handlers = _Handlers(handler)
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, handlers.on_command)
    )
    app.add_handler(CallbackQueryHandler(handlers.on_callback))
    app.add_handler(ChatMemberHandler(handlers.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_error_handler(handlers.on_error)
    return app


def new_requests() -> Requests:
    """The connections for calls and for getUpdates."""
    # Two connections for getUpdates: the long poll abandoned at a stop may still hold one
    # while the last, confirming call is made.
    return HTTPXRequest(connection_pool_size=16), HTTPXRequest(connection_pool_size=2)
