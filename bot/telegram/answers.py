"""A command's ``Reply`` as Bot API calls: a message or photo in the same chat and forum
thread, or an edit of the message a button was under.

A reply Telegram refuses as HTML is sent once more as plain text. Never log a Bot API
URL: it carries the token.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, CallbackQuery, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.models import Destination, Message
from bot.telegram.protocol import Reply
from bot.telegram.send import NOT_MODIFIED, is_html_refusal, markup

# The updates reader's events (reply_failed, chat_admin_check_failed, …) keep the one
# logger name they have always had, whichever module logs them.
log = logging.getLogger("bot.telegram.updates")

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


async def send_reply(bot: Bot, dest: Destination, reply: Reply) -> None:
    """The reply's message, then its photo, to ``dest``."""
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


async def edit_reply(query: CallbackQuery, message: Message) -> None:
    """Put ``message`` in place of the one the pressed button was under (unchanged: fine)."""
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
