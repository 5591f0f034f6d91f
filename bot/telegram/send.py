"""Send rendered messages through the Telegram Bot API (python-telegram-bot 22).

This is the one edge that sees python-telegram-bot's errors; each is classified once into
``bot.errors`` so the delivery loop never needs to know the library:

==========================================  =====================================
python-telegram-bot                          bot.errors
==========================================  =====================================
RetryAfter (429)                             RetryLater(after=retry_after)
ChatMigrated                                 ChatMoved(new_chat_id)
BadRequest "can't parse entities" & co       ParseModeRefused
BadRequest "chat not found" & co, Forbidden  ChatGone
other BadRequest                             PermanentSendError
TimedOut, NetworkError (5xx), Conflict       RetryLater(after=TRANSIENT_RETRY)
InvalidToken (401/404)                       TokenRejected(after=AUTH_RETRY): keep the queue
==========================================  =====================================

``BadRequest`` subclasses ``NetworkError`` in python-telegram-bot, so it is matched first.
Never log the Bot API URL: it carries the token.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.errors import (
    ChatGone,
    ChatMoved,
    ConfigError,
    ParseModeRefused,
    PermanentSendError,
    RetryLater,
    SendError,
    TokenRejected,
)
from bot.models import Destination, Message

__all__ = [
    "NOT_MODIFIED",
    "REJECTED_ADVICE",
    "TelegramSink",
    "classify",
    "is_html_refusal",
    "markup",
    "retry_seconds",
]

log = logging.getLogger(__name__)

TRANSIENT_RETRY = 1.0
AUTH_RETRY = 300.0
REJECTED_ADVICE = (
    "the token was rejected: check MEDIABOT_TELEGRAM_TOKEN "
    "(Telegram answered 401 Unauthorized; @BotFather gives the token)"
)

_PARSE_REFUSALS = (
    "can't parse entities",
    "can't find end",
    "unsupported start tag",
    "unexpected end tag",
    "entity beginning",
)
_CHAT_GONE = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "bot was kicked",
    "bot was blocked",
    "user is deactivated",
    "have no rights to send",
    "not enough rights to send",
    "need administrator rights",
    "chat_write_forbidden",
    "group chat was deactivated",
)
# What Telegram says to an edit that changes nothing: not an error for us.
NOT_MODIFIED = "message is not modified"


@contextmanager
def _quiet_durations() -> Iterator[None]:
    """Silence PTB 22's warning that durations will become timedeltas.

    PTB reads ``RetryAfter.retry_after`` itself while raising it, so the warning fires inside
    every 429; both forms are handled here, so the warning tells us nothing.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        yield


def retry_seconds(exc: RetryAfter) -> float:
    """How long Telegram asked to wait, in seconds (PTB gives an int or a timedelta)."""
    with _quiet_durations():
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def is_html_refusal(exc: BadRequest) -> bool:
    """Telegram could not parse the message's HTML (sending it as plain text will do)."""
    text = exc.message.lower()
    return any(marker in text for marker in _PARSE_REFUSALS)


def _classify_bad_request(exc: BadRequest) -> SendError:
    if is_html_refusal(exc):
        return ParseModeRefused(exc.message)
    text = exc.message.lower()
    if any(marker in text for marker in _CHAT_GONE):
        return ChatGone(exc.message)
    return PermanentSendError(exc.message)


def classify(exc: TelegramError) -> SendError:
    """Turn a python-telegram-bot error into the matching ``bot.errors.SendError``."""
    if isinstance(exc, RetryAfter):
        return RetryLater(exc.message, after=retry_seconds(exc))
    if isinstance(exc, ChatMigrated):
        return ChatMoved(exc.message, new_chat_id=int(exc.new_chat_id))
    if isinstance(exc, BadRequest):  # before NetworkError: it is a subclass
        return _classify_bad_request(exc)
    if isinstance(exc, Forbidden):
        return ChatGone(exc.message)
    if isinstance(exc, InvalidToken):
        return TokenRejected(REJECTED_ADVICE, after=AUTH_RETRY)
    if isinstance(exc, NetworkError | Conflict):
        return RetryLater(exc.message, after=TRANSIENT_RETRY)
    return PermanentSendError(exc.message)


def markup(message: Message) -> InlineKeyboardMarkup | None:
    """The message's buttons as Telegram's inline keyboard (None when it has none)."""
    if not message.buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.text, url=b.url, callback_data=b.callback_data) for b in row]
        for row in message.buttons
    ]
    return InlineKeyboardMarkup(rows)


class TelegramSink:
    """Sends and edits messages; raises only ``bot.errors.SendError`` subclasses."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org/bot",
        request: BaseRequest | None = None,
    ) -> None:
        # One request object serves both of PTB's slots so aclose() frees everything.
        self._request = request or HTTPXRequest(connection_pool_size=16)
        self._bot = telegram.Bot(
            token, base_url=api_url, request=self._request, get_updates_request=self._request
        )
        self._no_preview = LinkPreviewOptions(is_disabled=True)

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        """Send ``message`` (HTML, or its plain fallback) and return Telegram's message id."""
        try:
            with _quiet_durations():
                sent = await self._bot.send_message(
                    chat_id=dest.chat,
                    text=message.plain if as_plain else message.text,
                    parse_mode=None if as_plain else ParseMode.HTML,
                    link_preview_options=self._no_preview,
                    message_thread_id=dest.thread,
                    reply_markup=markup(message),
                )
        except TelegramError as exc:
            raise classify(exc) from exc
        return sent.message_id

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        """Replace the text of a sent message; an unchanged text is not an error."""
        try:
            with _quiet_durations():
                await self._bot.edit_message_text(
                    chat_id=dest.chat,
                    message_id=message_id,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=self._no_preview,
                    reply_markup=markup(message),
                )
        except BadRequest as exc:
            if NOT_MODIFIED in exc.message.lower():
                return
            raise classify(exc) from exc
        except TelegramError as exc:
            raise classify(exc) from exc

    async def check(self) -> str:
        """Ask Telegram who we are (getMe): the bot's @username, or ``ConfigError`` when the
        token is rejected. A network failure is not a verdict on the token: it raises
        ``RetryLater`` and the caller goes on."""
        try:
            me = await self._bot.get_me()
        except InvalidToken as exc:
            raise ConfigError(REJECTED_ADVICE) from exc
        except TelegramError as exc:
            raise classify(exc) from exc
        return f"@{me.username}"

    async def aclose(self) -> None:
        await self._request.shutdown()
