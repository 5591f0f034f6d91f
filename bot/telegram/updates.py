"""Read Telegram updates (long polling, python-telegram-bot 22) and answer commands.

The one reader of updates: each command message and each button press becomes a call on
a ``CommandHandler`` (``bot.telegram.protocol``), and its ``Reply`` becomes Bot API calls:
a message or photo in the same chat and forum thread, a callback answer, an edit of the
message a button was under. The ``/`` menu is registered in English and Chinese, with the
admin commands shown only in the admins' own chats.

Messages (commands), callback queries and the bot's own membership changes
(``my_chat_member``: added to a chat, removed, blocked) are asked for; the last become
``CommandHandler.membership`` calls. A command addressed to another bot
(``/help@otherbot``) is left alone. A reply Telegram refuses as HTML is sent
once more as plain text. Never log a Bot API URL: it carries the token.

``bot.telegram.polling`` reads the updates and outlasts any failure of Telegram (reporting
the loop down meanwhile); ``bot.telegram.pacing`` keeps replies within Telegram's limits
and retries them after a 429. ``Caller.is_chat_admin`` asks getChatMember, except for a
command an anonymous admin wrote as the group itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    Chat,
    ChatMemberUpdated,
    LinkPreviewOptions,
    Update,
    User,
)
from telegram import Message as TgMessage
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.delivery.ratelimit import Limits
from bot.models import Destination, Message
from bot.telegram.pacing import ReplyPacer
from bot.telegram.polling import Backoff, Health, Poller
from bot.telegram.protocol import Caller, CommandHandler, Membership, Reply
from bot.telegram.send import NOT_MODIFIED, is_html_refusal, markup

__all__ = ["CommandHandler", "build_application", "parse_command", "run_updates"]

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds a getUpdates call may wait for news
_ADMINS = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
_PRESENT = (*_ADMINS, ChatMemberStatus.MEMBER)
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

AnyApp = Application[Any, Any, Any, Any, Any, Any]


def parse_command(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """``/sub@mybot a b`` -> ``("sub", "a b")``; None when addressed to another bot."""
    head, _, args = text.strip().partition(" ")
    if not head.startswith("/") or len(head) < 2:
        return None
    name, _, target = head[1:].partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return name, args.strip()


def _thread(message: TgMessage | None) -> int | None:
    if message is not None and message.is_topic_message:
        return message.message_thread_id
    return None


def _anonymous_admin(chat: Chat, message: TgMessage) -> bool:
    """A command an anonymous admin sent as the group itself: only a group's admins can.

    Never for a channel: every channel post carries the channel as its sender, whoever
    reads it, so there it proves nothing.
    """
    if chat.type not in (Chat.GROUP, Chat.SUPERGROUP) or message.sender_chat is None:
        return False
    return message.sender_chat.id == chat.id


def _caller(
    bot: Bot, chat: Chat, user: User, message: TgMessage | None, *, anonymous_admin: bool = False
) -> Caller:
    async def is_chat_admin() -> bool:
        if chat.type == Chat.PRIVATE or anonymous_admin:
            return True
        try:
            member = await bot.get_chat_member(chat.id, user.id)
        except TelegramError as exc:
            log.warning("chat_admin_check_failed", extra={"chat": chat.id, "error": exc.message})
            return False
        return member.status in _ADMINS

    return Caller(
        user_id=user.id,
        chat=Destination(chat.id, _thread(message)),
        chat_type=chat.type,
        language=user.language_code,
        is_chat_admin=is_chat_admin,
        username=chat.username,
    )


def _membership(change: ChatMemberUpdated) -> Membership:
    new = change.new_chat_member
    # A restricted bot may still be in the chat (``is_member``) or not.
    present = new.status in _PRESENT or (
        new.status == ChatMemberStatus.RESTRICTED and bool(getattr(new, "is_member", False))
    )
    return Membership(
        chat=change.chat.id,
        chat_type=change.chat.type,
        present=present,
        status=str(new.status),
        by=change.from_user.id,
        username=change.chat.username,
    )


async def _send(bot: Bot, dest: Destination, message: Message) -> None:
    kwargs: dict[str, Any] = {
        "chat_id": dest.chat,
        "message_thread_id": dest.thread,
        "link_preview_options": _NO_PREVIEW,
        "reply_markup": markup(message),
    }
    try:
        await bot.send_message(text=message.text, parse_mode=ParseMode.HTML, **kwargs)
    except BadRequest as exc:
        if not is_html_refusal(exc):
            raise
        log.warning("reply_html_refused", extra={"chat": str(dest), "error": exc.message})
        await bot.send_message(text=message.plain, **kwargs)


async def _deliver(bot: Bot, dest: Destination, reply: Reply) -> None:
    if reply.message is not None:
        await _send(bot, dest, reply.message)
    if reply.photo is not None:
        await bot.send_photo(
            chat_id=dest.chat,
            message_thread_id=dest.thread,
            photo=reply.photo.png,
            caption=reply.photo.caption.text,
            parse_mode=ParseMode.HTML,
        )


async def _edit(query: CallbackQuery, message: Message) -> None:
    try:
        await query.edit_message_text(
            text=message.text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup(message),
            link_preview_options=_NO_PREVIEW,
        )
    except BadRequest as exc:
        if NOT_MODIFIED not in exc.message.lower():
            raise


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
        anonymous = _anonymous_admin(chat, message)
        caller = _caller(context.bot, chat, user, message, anonymous_admin=anonymous)
        reply = await self.handler.command(caller, *parsed)
        if reply is not None:
            await _deliver(context.bot, caller.chat, reply)

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
        caller = _caller(context.bot, source.chat, query.from_user, message)
        reply = await self.handler.callback(caller, query.data)
        await query.answer(
            text=reply.notice[:200] if reply.notice else None, show_alert=reply.alert
        )
        if reply.edit is not None and message is not None:
            await _edit(query, reply.edit)
        if reply.message is not None or reply.photo is not None:
            await _deliver(context.bot, caller.chat, reply)

    async def on_membership(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.my_chat_member is not None:
            await self.handler.membership(_membership(update.my_chat_member))

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
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> AnyApp:
    """The python-telegram-bot application with our handlers (not started).

    It has no ``Updater``: ``bot.telegram.polling`` reads the updates and puts them on the
    application's queue. ``requests`` (calls, getUpdates) are the caller's to close.
    """
    calls, polls = requests or _requests()
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


def _requests() -> tuple[BaseRequest, BaseRequest]:
    # Two connections for getUpdates: the long poll abandoned at a stop may still hold one
    # while the last, confirming call is made.
    return HTTPXRequest(connection_pool_size=16), HTTPXRequest(connection_pool_size=2)


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
    requests = _requests()
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


async def _close(app: AnyApp, poller: Poller, requests: tuple[BaseRequest, BaseRequest]) -> None:
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
