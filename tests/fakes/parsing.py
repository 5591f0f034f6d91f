"""Stand-ins for ``parse_feed`` that misbehave on purpose, for the parser workers' tests.

A test puts one in place of ``bot.feeds.workers.parse_feed``; the job sent to a worker
names it, so the worker imports this module: keep it light (a worker's time limit counts
the import).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bot.feeds.parse import parse_feed


def die(*args: object, **kwargs: object) -> None:
    """A document that kills the worker parsing it (run in the worker)."""
    os._exit(3)


def spin_or_parse(body: bytes, **kwargs: object) -> object:
    """Parses, except a document ``spin:PATH``: it touches PATH, then never ends (run in
    the worker)."""
    if body.startswith(b"spin:"):
        Path(body[5:].decode()).touch()
        while True:
            pass
    return parse_feed(body, **kwargs)  # type: ignore[arg-type]


def hog_or_parse(body: bytes, **kwargs: object) -> object:
    """Parses, except a document ``hog``: it asks for 4 GB, 16 MB at a time (run in the
    worker; the memory is reserved, not written, so it costs address space only)."""
    if body == b"hog":
        return [bytearray(16_000_000) for _ in range(250)]
    return parse_feed(body, **kwargs)  # type: ignore[arg-type]


def backtrack_or_parse(body: bytes, **kwargs: object) -> object:
    """Parses, except a document ``spin:PATH``: it touches PATH, then runs a regular
    expression that backtracks for ages inside one C call, holding the interpreter lock."""
    if body.startswith(b"spin:"):
        Path(body[5:].decode()).touch()
        return re.match(r"(a+)+$", "a" * 64 + "b")
    return parse_feed(body, **kwargs)  # type: ignore[arg-type]
