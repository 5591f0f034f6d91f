"""Logging set-up for the entry point: console or JSON lines, stable keys, no secrets.

Log calls elsewhere look like ``log.warning("feed_fetch_failed", extra={"feed_id": ...})``:
the message is a stable snake_case event name and the values travel as record attributes.
This module renders those attributes as ``key=value`` pairs (console) or JSON fields.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)

# Libraries whose INFO logs carry request URLs, and Bot API URLs carry the token.
_CHATTY = ("httpx", "httpcore", "telegram", "apscheduler", "alembic")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


class _Redacting(logging.Formatter):
    """Last line of defence: replace any secret in the finished line, tracebacks included
    (python-telegram-bot puts the token in the text of some of its errors)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self._inner = inner
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self._inner.format(record)
        for secret in self._secrets:
            line = line.replace(secret, "**********")
        return line


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        parts = [when, f"{record.levelname:<7}", record.name, record.getMessage()]
        parts += [f"{k}={_quote(v)}" for k, v in _extras(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        data.update(_extras(record))
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "INFO",
    fmt: str = "console",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Route every log record to ``stream`` (stderr by default) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    inner = JsonFormatter() if fmt == "json" else ConsoleFormatter()
    handler.setFormatter(_Redacting(inner, secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
