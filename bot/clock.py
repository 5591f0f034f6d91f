"""The one clock: aware UTC time. Everything that needs "now" takes a ``Clock`` (tests pass
their own) and defaults to ``utc_now``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
