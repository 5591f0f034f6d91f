"""One request to Telegram and what its outcome means, as a value (see ``bot.errors``).

Sends, edits and "also:" edits all go through :func:`attempt`; the sender acts on the
decision it returns, in one place:

==========================  ==============================================================
outcome                     decision
==========================  ==============================================================
accepted                    ``Sent(message_id)``
``RetryLater`` (429, net)   ``Retry(after)``: the entry waits, only its chat pauses
``ParseModeRefused``        ``Refused``: a send goes once more as plain text
``ChatMoved``               ``Moved(new_chat)``: the chat's queue follows it
``ChatGone``                ``Gone``: the chat's queue is dropped
other ``SendError``         ``Failed``: never retried
anything else (a bug)       ``Retry(0)``: logged with its traceback; delivery goes on
==========================  ==============================================================
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass

from bot.errors import ChatGone, ChatMoved, ParseModeRefused, RetryLater, SendError

__all__ = ["Decision", "Failed", "Gone", "Moved", "Refused", "Retry", "Sent", "attempt"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


@dataclass(frozen=True, slots=True)
class Retry:
    reason: str
    after: float = 0.0


@dataclass(frozen=True, slots=True)
class Refused:
    """Telegram could not parse the HTML."""

    reason: str


@dataclass(frozen=True, slots=True)
class Moved:
    reason: str
    new_chat: int


@dataclass(frozen=True, slots=True)
class Gone:
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


Decision = Sent | Retry | Refused | Moved | Gone | Failed


async def attempt(request: Awaitable[int], context: Mapping[str, object] | None = None) -> Decision:
    """Await ``request`` (it gives Telegram's message id) and say what its outcome means;
    ``context`` names the request in the log should it crash."""
    try:
        return Sent(await request)
    except RetryLater as exc:
        return Retry(str(exc), exc.after)
    except ParseModeRefused as exc:
        return Refused(str(exc))
    except ChatMoved as exc:
        return Moved(str(exc), exc.new_chat_id)
    except ChatGone as exc:
        return Gone(str(exc))
    except SendError as exc:
        return Failed(str(exc) or type(exc).__name__)
    except Exception as exc:  # a bug in a sink must not stop delivery to everyone
        log.exception("send_crashed", extra=dict(context or {}))
        return Retry(repr(exc))
