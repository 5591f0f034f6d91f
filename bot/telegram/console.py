"""The dry-run sink: prints alerts as plain text instead of sending them.

Used when no bot token is configured, so a rule author sees exactly what would be sent
and where. It never fails, so the delivery loop marks every entry sent.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.models import Destination, Message

__all__ = ["ConsoleSink"]

_RULE = "─" * 60


def _buttons(message: Message) -> str:
    labels = [
        f"[{b.text}: {b.url}]" if b.url else f"[{b.text}]" for row in message.buttons for b in row
    ]
    return " ".join(labels)


class ConsoleSink:
    """Writes each message to ``stream`` with its destination; ids count up from 1."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._next_id = 0

    def _write(self, header: str, message: Message) -> None:
        lines = [_RULE, header, "", message.plain]
        buttons = _buttons(message)
        if buttons:
            lines += ["", buttons]
        self._stream.write("\n".join(lines) + "\n")
        self._stream.flush()

    async def send(self, dest: Destination, message: Message, *, as_plain: bool = False) -> int:
        self._next_id += 1
        self._write(f"to {dest} · message {self._next_id}", message)
        return self._next_id

    async def edit(self, dest: Destination, message_id: int, message: Message) -> None:
        self._write(f"to {dest} · message {message_id} (edited)", message)

    async def aclose(self) -> None:
        self._stream.flush()
