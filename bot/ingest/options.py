"""What a poll is told (``AlertOptions``) and what it tells (``PollReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.feeds.policy import Notice


@dataclass(slots=True)
class PollReport:
    feed_id: str
    ok: bool
    new_items: int = 0
    alerts: int = 0
    not_modified: bool = False
    error: str | None = None
    error_kind: str | None = None
    skipped: bool = False  # not due yet: backing off, or the server asked for a pause
    due: datetime | None = None  # a skipped feed: when it is due (``error`` says why not now)
    notices: tuple[Notice, ...] = ()


@dataclass(slots=True)
class AlertOptions:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    backfill: int = 0
    max_summary: int = 600
    default_interval: float = 600.0
    min_interval: float = 30.0
    max_interval: float = 86400.0
    # How long a poll holds its feed (MEDIABOT_FEED_LEASE): longer than a whole poll takes.
    lease_seconds: float = 300.0
