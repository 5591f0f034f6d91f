"""The dry-run sink shows what would be sent, and where."""

from __future__ import annotations

import io

from bot.models import Destination, Message
from bot.telegram.console import ConsoleSink


async def test_console_sink_prints_plain_alerts_with_destination() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    message = Message(text="<b>x</b>", plain="Topic\nR&D <b>Q3</b>", buttons=())
    assert await sink.send(Destination(-100, thread=3), message) == 1
    assert await sink.send(Destination("@chan"), message) == 2
    await sink.edit(Destination("@chan"), 2, message)
    await sink.aclose()
    text = out.getvalue()
    assert "to -100/3 · message 1" in text and "to @chan · message 2 (edited)" in text
    assert "R&D <b>Q3</b>" in text and "<b>x</b>" not in text
